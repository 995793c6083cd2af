"""Plain data passed between the planner, the AWS adapter and the runner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .timeparse import format_instant


@dataclass(frozen=True, slots=True)
class TableInfo:
    """What DescribeTable told us about a table."""

    name: str
    arn: str
    size_bytes: int = 0
    item_count: int = 0
    status: str = "ACTIVE"


@dataclass(frozen=True, slots=True)
class PitrWindow:
    """The table's continuous-backup state (DescribeContinuousBackups)."""

    enabled: bool
    earliest: datetime | None = None
    latest: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """One ExportTableToPointInTime call, exactly as it will be sent."""

    table: str
    table_arn: str
    bucket: str
    prefix: str
    format: str
    sse: str
    export_time: datetime
    client_token: str
    kms_key: str | None = None
    bucket_owner: str | None = None
    #: From DescribeTable; feeds the polling policy's first guess of the duration.
    size_bytes: int = 0
    #: An incremental export of the writes in ``[from_time, to_time)`` (``export_time`` is then
    #: ``to_time``: the instant the export brings the chain to).
    from_time: datetime | None = None
    to_time: datetime | None = None
    view: str | None = None
    #: Incremental mode: why this export (e.g. why a full one), and the windows planned after
    #: it, which start once it has COMPLETED.
    reason: str | None = None
    later: tuple[tuple[datetime, datetime], ...] = ()
    #: A link of an incremental table's chain: its ClientToken names the export (table and
    #: time or window), not the run.
    chained: bool = False
    #: With ``[[accounts]]``: the account and region of the table (its ARN says so too).
    account: str | None = None
    region: str | None = None

    @property
    def export_type(self) -> str:
        """``INCREMENTAL_EXPORT`` for a window, else ``FULL_EXPORT``."""
        return "INCREMENTAL_EXPORT" if self.from_time is not None else "FULL_EXPORT"

    def api_kwargs(self) -> dict[str, Any]:
        """The keyword arguments for boto3's ``export_table_to_point_in_time``."""
        kwargs: dict[str, Any] = {
            "TableArn": self.table_arn,
            "ClientToken": self.client_token,
            "S3Bucket": self.bucket,
            "S3SseAlgorithm": self.sse,
            "ExportFormat": self.format,
            "ExportType": self.export_type,
        }
        if self.from_time is not None:
            kwargs["IncrementalExportSpecification"] = {
                "ExportFromTime": self.from_time,
                "ExportToTime": self.to_time,
                "ExportViewType": self.view or "NEW_AND_OLD_IMAGES",
            }
        else:
            kwargs["ExportTime"] = self.export_time
        if self.prefix:
            # No prefix means the bucket's root: S3Prefix is left out, not sent empty.
            kwargs["S3Prefix"] = self.prefix
        if self.kms_key:
            kwargs["S3SseKmsKeyId"] = self.kms_key
        if self.bucket_owner:
            kwargs["S3BucketOwner"] = self.bucket_owner
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, as ``ddbexport plan --json`` prints it."""
        return {
            "table": self.table,
            **where(self.account, self.region),
            "table_arn": self.table_arn,
            "s3_bucket": self.bucket,
            "s3_prefix": self.prefix,
            "format": self.format,
            "sse": self.sse,
            "kms_key": self.kms_key,
            "bucket_owner": self.bucket_owner,
            "export_type": self.export_type,
            "export_time": format_instant(self.export_time),
            "from_time": format_instant(self.from_time) if self.from_time else None,
            "to_time": format_instant(self.to_time) if self.to_time else None,
            "view": self.view,
            "reason": self.reason,
            "later": [
                {"from_time": format_instant(start), "to_time": format_instant(end)}
                for start, end in self.later
            ],
            "client_token": self.client_token,
        }


@dataclass(frozen=True, slots=True)
class PlanProblem:
    """A selected table that cannot be exported (missing, inaccessible …)."""

    table: str
    code: str
    message: str
    account: str | None = None
    region: str | None = None

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {
            "table": self.table,
            **where(self.account, self.region),
            "code": self.code,
            "message": self.message,
        }


def shown(table: str, account: str | None, region: str | None) -> str:
    """How a table is shown to people: its name, or ``account/region/name`` in runs with
    ``[[accounts]]`` (where two accounts may hold tables of the same name)."""
    return f"{account}/{region}/{table}" if account else table


def where(account: str | None, region: str | None) -> dict[str, str]:
    """``account`` and ``region`` keys for JSON, when known (runs with ``[[accounts]]``): a
    single-account run's output has neither."""
    found = {"account": account, "region": region}
    return {key: value for key, value in found.items() if value is not None}


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """Everything a run will do, computed before anything is started."""

    run_id: str
    export_time: datetime
    requests: tuple[ExportRequest, ...]
    problems: tuple[PlanProblem, ...] = ()
    #: Incremental tables with nothing to export this run, and why (not failures).
    waiting: tuple[PlanProblem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the plan."""
        return {
            "run_id": self.run_id,
            "export_time": format_instant(self.export_time),
            "exports": [request.to_dict() for request in self.requests],
            "problems": [problem.to_dict() for problem in self.problems],
            "waiting": [
                {"table": w.table, **where(w.account, w.region), "message": w.message}
                for w in self.waiting
            ],
        }


@dataclass(frozen=True, slots=True)
class ExportDescription:
    """The fields of DynamoDB's ExportDescription that ddbexport uses."""

    export_arn: str
    status: str
    table_arn: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    export_time: datetime | None = None
    item_count: int | None = None
    billed_size_bytes: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    client_token: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str | None = None
    export_type: str = "FULL_EXPORT"
    export_manifest: str | None = None
    from_time: datetime | None = None
    to_time: datetime | None = None
    view: str | None = None

    @property
    def duration_s(self) -> float | None:
        """How long the export ran, when both ends are known."""
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()
