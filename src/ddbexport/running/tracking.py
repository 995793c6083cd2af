"""What the runner knows of each table: :class:`RunEvent` for progress displays, the mutable
:class:`Track` of one table, and the :class:`~.report.TableResult` a track ends up as."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ddbexport.core.models import ExportDescription, ExportRequest

from .aftercare import AftercareResult
from .polling import PollPolicy
from .report import ErrorInfo, TableResult


@dataclass(frozen=True, slots=True)
class RunEvent:
    """Something that happened to a table during a run, for progress displays and logs.

    ``kind`` is one of ``resumed``, ``started``, ``polled``, ``waiting``, ``pitr_enabled``,
    ``retrying``, ``completed``, ``failed``, ``timed_out``, ``interrupted``.
    """

    kind: str
    run_id: str
    table: str
    status: str
    export_arn: str | None = None
    item_count: int | None = None
    elapsed_s: float | None = None
    message: str = ""
    #: With ``[[accounts]]``: the table's account and region.
    account: str | None = None
    region: str | None = None


EventHandler = Callable[[RunEvent], None]


@dataclass(slots=True)
class Track:
    """The runner's mutable view of one table."""

    request: ExportRequest
    policy: PollPolicy
    status: str = "PENDING"
    export_arn: str | None = None
    description: ExportDescription | None = None
    describe_calls: int = 0
    start_attempts: int = 0
    blind_time_waits: int = 0
    pitr_waits: int = 0
    poll_errors: int = 0
    tracking_since: float = 0.0
    expected_s: float | None = None
    looked_up: bool = False
    pitr_enabled_by_run: bool = False
    time_moved: bool = False
    attempt: int = 1
    resumed: bool = False
    retried: bool = False
    error: ErrorInfo | None = None
    aftercare: AftercareResult | None = None


def table_result(track: Track) -> TableResult:
    """The report's row for a table, from its track."""
    request = track.request
    description = track.description
    return TableResult(
        table=request.table,
        table_arn=request.table_arn,
        status=track.status,
        export_time=request.export_time,
        client_token=request.client_token,
        export_arn=track.export_arn,
        s3_bucket=request.bucket,
        s3_prefix=request.prefix,
        item_count=description.item_count if description else None,
        billed_size_bytes=description.billed_size_bytes if description else None,
        start_time=description.start_time if description else None,
        end_time=description.end_time if description else None,
        describe_calls=track.describe_calls,
        error=track.error,
        verification=track.aftercare.verification if track.aftercare else None,
        catalog_key=track.aftercare.catalog_key if track.aftercare else None,
        schema_key=track.aftercare.schema_key if track.aftercare else None,
        warnings=aftercare_notes(track.aftercare) if track.aftercare else (),
        export_type=request.export_type,
        from_time=request.from_time,
        to_time=request.to_time,
    )


def aftercare_notes(result: AftercareResult) -> tuple[str, ...]:
    """Aftercare's warnings, led by a summary of the problems verification found, if any."""
    notes = list(result.warnings)
    if result.verification is not None and not result.verification.get("ok"):
        problems = result.verification.get("problems", [])
        first = problems[0] if problems else {}
        notes.insert(
            0,
            f"verification found {len(problems)} problem(s), e.g. {first.get('file')}: "
            f"{first.get('check')}: expected {first.get('expected')}, found {first.get('found')}",
        )
    return tuple(notes)
