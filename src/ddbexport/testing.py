"""In-memory stand-ins for AWS and time, for tests and benchmarks of code that uses ddbexport.

``FakeExportApi`` implements :class:`~ddbexport.core.ports.ExportApi` with simulated export
durations, a concurrent-export quota, client-token idempotency and error injection. ``SimClock``
supplies the ``clock``/``sleep``/``now`` a :class:`~ddbexport.running.runner.Runner` takes, so hours
pass instantly.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ddbexport.core.models import ExportDescription, ExportRequest, PitrWindow, TableInfo

from .errors import (
    AwsError,
    ExportConflict,
    ExportNotFound,
    InvalidExportTime,
    LimitExceeded,
    ParameterNotFound,
    PitrUnavailable,
    TableNotFound,
)


class SimClock:
    """A clock that only moves when something sleeps (or :meth:`advance` is called)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """Seconds since the clock was made."""
        return self._elapsed

    def now(self) -> datetime:
        """The simulated UTC wall-clock time."""
        return self._start + timedelta(seconds=self._elapsed)

    def sleep(self, seconds: float) -> None:
        """Advance the clock instead of waiting."""
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        with self._lock:
            self._elapsed += max(seconds, 0.0)


@dataclass(slots=True)
class FakeTable:
    """A table in the fake account."""

    name: str
    size_bytes: int = 1_000_000
    item_count: int = 1_000
    pitr: bool = True
    tags: dict[str, str] = field(default_factory=dict)
    #: When PITR was turned on (its window opens there); ``None`` means long ago.
    pitr_since: datetime | None = None
    #: After PITR is enabled, how many export attempts still find it off (it takes a moment).
    pitr_warmup_attempts: int = 0
    #: How far the latest restorable time trails the clock.
    pitr_lag_s: float = 300.0
    #: Errors raised by every call of an operation (e.g. ``"list_tags"``) on this table.
    errors: dict[str, AwsError] = field(default_factory=dict)
    #: How long its exports run, in simulated seconds.
    export_duration_s: float = 600.0


@dataclass(slots=True)
class _FakeExport:
    description: ExportDescription
    request: ExportRequest
    finishes_at: float
    duration_s: float
    fail_with: tuple[str, str] | None = None


class FakeExportApi:
    """An in-memory DynamoDB export service.

    Args:
        clock: the simulated clock that export durations are measured on.
        tables: the account's tables.
        buckets: buckets that exist; exports to any other bucket end FAILED.
        quota: concurrent exports allowed before ``LimitExceeded``.
        parameters: SSM parameters by name.
        account: the account id used in ARNs.
        region: the region used in ARNs.
    """

    def __init__(
        self,
        clock: SimClock,
        tables: list[FakeTable],
        *,
        buckets: set[str] | None = None,
        quota: int = 300,
        parameters: dict[str, str] | None = None,
        account: str = "123456789012",
        region: str = "eu-west-1",
    ) -> None:
        self.clock = clock
        self.tables = {table.name: table for table in tables}
        self.buckets = buckets if buckets is not None else {"exports"}
        self.quota = quota
        self.parameters = parameters or {}
        self.account = account
        self.region = region
        self.calls: Counter[str] = Counter()
        self.exports: dict[str, _FakeExport] = {}
        self.started: list[ExportRequest] = []
        self.peak_in_progress = 0
        self._by_token: dict[str, str] = {}
        self._running: set[str] = set()
        self._failures: dict[str, deque[AwsError]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ fault injection

    def fail_next(self, operation: str, *errors: AwsError) -> None:
        """Make the next calls of ``operation`` (e.g. ``"export_table"``) raise these errors."""
        self._failures.setdefault(operation, deque()).extend(errors)

    def _enter(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] += 1
            queue = self._failures.get(operation)
            if queue:
                raise queue.popleft()

    def table_arn(self, name: str) -> str:
        """The ARN of a table of this fake account."""
        return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"

    # ------------------------------------------------------------------ ExportApi

    def list_table_names(self) -> list[str]:
        """Every table name."""
        self._enter("list_table_names")
        return sorted(self.tables)

    def describe_table(self, name: str) -> TableInfo:
        """DescribeTable."""
        self._enter("describe_table")
        table = self._table(name, "describe_table")
        return TableInfo(table.name, self.table_arn(name), table.size_bytes, table.item_count)

    def list_tags(self, table_arn: str) -> dict[str, str]:
        """ListTagsOfResource."""
        self._enter("list_tags")
        return dict(self._table(table_arn.rsplit("/", 1)[-1], "list_tags").tags)

    def export_table(self, request: ExportRequest) -> ExportDescription:
        """ExportTableToPointInTime: idempotent per client token, quota-limited."""
        self._enter("export_table")
        name = request.table_arn.rsplit("/", 1)[-1]
        table = self._table(name, "export_table")
        with self._lock:
            known = self._by_token.get(request.client_token)
            if known is not None:
                existing = self.exports[known]
                if existing.request != request:
                    raise ExportConflict("client token reused with different parameters")
                return self._refresh(existing)
            warming_up = table.pitr and table.pitr_warmup_attempts > 0
            if warming_up:
                table.pitr_warmup_attempts -= 1
            if not table.pitr or warming_up:
                raise PitrUnavailable(
                    f"Point in time recovery is not enabled for table '{name}'",
                    code="PointInTimeRecoveryUnavailableException",
                )
            if table.pitr_since is not None and request.export_time < table.pitr_since:
                raise InvalidExportTime(
                    "Export time is before the earliest restorable time",
                    code="InvalidExportTimeException",
                )
            if self._in_progress() >= self.quota:
                raise LimitExceeded("too many exports in progress", code="LimitExceededException")
            now = self.clock.now()
            digest = hashlib.sha256(request.client_token.encode()).hexdigest()[:8]
            export_id = f"{int(now.timestamp() * 1000):014d}-{digest}"
            description = ExportDescription(
                export_arn=f"{request.table_arn}/export/{export_id}",
                status="IN_PROGRESS",
                table_arn=request.table_arn,
                start_time=now,
                export_time=request.export_time,
                client_token=request.client_token,
                s3_bucket=request.bucket,
                s3_prefix=request.prefix,
            )
            fail_with = None
            if request.bucket not in self.buckets:
                fail_with = ("S3NoSuchBucket", "The specified bucket does not exist")
            export = _FakeExport(
                description,
                request,
                self.clock.monotonic() + table.export_duration_s,
                table.export_duration_s,
                fail_with,
            )
            self.exports[description.export_arn] = export
            self._by_token[request.client_token] = description.export_arn
            self._running.add(description.export_arn)
            self.started.append(request)
            self.peak_in_progress = max(self.peak_in_progress, self._in_progress())
            return description

    def describe_export(self, export_arn: str) -> ExportDescription:
        """DescribeExport."""
        self._enter("describe_export")
        with self._lock:
            export = self.exports.get(export_arn)
            if export is None:
                raise ExportNotFound(f"export {export_arn} not found")
            return self._refresh(export)

    def latest_completed_export(self, table_arn: str) -> ExportDescription | None:
        """The newest COMPLETED export of the table."""
        self._enter("latest_completed_export")
        with self._lock:
            done = [
                self._refresh(export)
                for export in self.exports.values()
                if export.description.table_arn == table_arn
            ]
        completed = [d for d in done if d.status == "COMPLETED"]
        return max(completed, key=lambda d: d.export_arn) if completed else None

    def describe_pitr(self, table: str) -> PitrWindow:
        """DescribeContinuousBackups."""
        self._enter("describe_pitr")
        found = self._table(table, "describe_pitr")
        now = self.clock.now()
        if not found.pitr:
            return PitrWindow(enabled=False)
        earliest = now - timedelta(days=35)
        if found.pitr_since is not None:
            earliest = max(earliest, found.pitr_since)
        return PitrWindow(True, earliest, now - timedelta(seconds=found.pitr_lag_s))

    def enable_pitr(self, table: str) -> None:
        """UpdateContinuousBackups."""
        self._enter("enable_pitr")
        found = self._table(table, "enable_pitr")
        if not found.pitr:
            found.pitr = True
            found.pitr_since = self.clock.now()

    def service_now(self) -> datetime:
        """The simulated clock's time."""
        return self.clock.now()

    def get_parameter(self, name: str) -> str:
        """GetParameter."""
        self._enter("get_parameter")
        if name not in self.parameters:
            raise ParameterNotFound(f"parameter {name} not found", code="ParameterNotFound")
        return self.parameters[name]

    # ------------------------------------------------------------------ internals

    def _table(self, name: str, operation: str) -> FakeTable:
        table = self.tables.get(name)
        if table is None:
            raise TableNotFound(
                f"Requested resource not found: Table: {name} not found",
                code="ResourceNotFoundException",
            )
        error = table.errors.get(operation)
        if error is not None:
            raise error
        return table

    def _in_progress(self) -> int:
        for arn in list(self._running):
            self._refresh(self.exports[arn])
        return len(self._running)

    def _refresh(self, export: _FakeExport) -> ExportDescription:
        description = export.description
        if description.status != "IN_PROGRESS" or self.clock.monotonic() < export.finishes_at:
            return description
        end = (description.start_time or self.clock.now()) + timedelta(seconds=export.duration_s)
        self._running.discard(description.export_arn)
        if export.fail_with is not None:
            code, message = export.fail_with
            description = replace(
                description,
                status="FAILED",
                end_time=end,
                failure_code=code,
                failure_message=message,
            )
        else:
            table = self.tables.get(description.table_arn.rsplit("/", 1)[-1])
            items = table.item_count if table else 0
            size = table.size_bytes if table else 0
            description = replace(
                description,
                status="COMPLETED",
                end_time=end,
                item_count=items,
                billed_size_bytes=size,
            )
        export.description = description
        return description
