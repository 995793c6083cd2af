"""The sandbox's export service: AWS's ExportTableToPointInTime semantics, on the sandbox clock.

It validates requests the way AWS does (PITR at call time, the export-time window, client-token
idempotency, the concurrent-export quota), keeps exports IN_PROGRESS for ``base + rate * items``
seconds of sandbox time, and then writes the files AWS would write, holding the table as of the
export time (or the changes of an incremental window) from the write history.
"""

from __future__ import annotations

import heapq
import random
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .clock import SandboxClock
from .history import WriteHistory
from .layout import build_export_files, export_id, full_record, incremental_record, summary_fields

#: Puts one object into the sandbox's S3; returns False when the bucket does not exist.
PutObject = Callable[[str, str, str, bytes], bool]
#: Whether a bucket exists: (account, bucket) -> bool.
BucketExists = Callable[[str, str], bool]
#: Whether a KMS key (id, ARN or alias) exists and is enabled: (account, region, key) -> bool.
KeyUsable = Callable[[str, str, str], bool]

_MIN_WINDOW = timedelta(minutes=15)
_MAX_WINDOW = timedelta(hours=24)
_INCREMENTAL_MIN_BILLED = 10_000_000


class SandboxApiError(Exception):
    """An error the sandbox answers with, as AWS would (``code`` is AWS's error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class SandboxSettings:
    """How the sandbox's exports behave.

    Attributes:
        quota: concurrent exports per account before LimitExceededException (AWS: 300).
        base_duration_s: how long even an empty export stays IN_PROGRESS (AWS: about 5 min).
        seconds_per_item: extra duration per exported item.
        partitions: data files per export (empty ones included, as AWS does).
        pitr_lag_s: how far LatestRestorableDateTime trails the clock (AWS: about 5 min).
        seed: seeds export ids and file names, for reproducible layouts.
    """

    quota: int = 300
    base_duration_s: float = 300.0
    seconds_per_item: float = 0.01
    partitions: int = 4
    pitr_lag_s: float = 300.0
    seed: int | None = None


@dataclass(slots=True)
class TableState:
    """What the sandbox knows about a table beyond moto: its id and its PITR window."""

    name: str
    arn: str
    key_names: tuple[str, ...]
    table_id: str
    pitr_enabled_at: datetime | None = None
    recovery_days: int = 35


@dataclass(slots=True)
class SandboxExport:
    """One export and its lifecycle."""

    arn: str
    account: str
    table: TableState
    request: dict[str, Any]
    start: datetime
    finishes_at: datetime
    status: str = "IN_PROGRESS"
    end: datetime | None = None
    item_count: int | None = None
    billed_bytes: int | None = None
    manifest_key: str | None = None
    failure: tuple[str, str] | None = None
    forced_failure: tuple[str, str] | None = None

    @property
    def export_type(self) -> str:
        return str(self.request.get("ExportType") or "FULL_EXPORT")

    def description(self) -> dict[str, Any]:
        """The ExportDescription AWS would return now."""
        request = self.request
        description: dict[str, Any] = {
            "ExportArn": self.arn,
            "ExportStatus": self.status,
            "StartTime": self.start,
            "TableArn": self.table.arn,
            "TableId": self.table.table_id,
            "S3Bucket": request["S3Bucket"],
            "S3SseAlgorithm": request.get("S3SseAlgorithm") or "AES256",
            "ExportFormat": request.get("ExportFormat") or "DYNAMODB_JSON",
            "ExportType": self.export_type,
        }
        for source, target in (
            ("ClientToken", "ClientToken"),
            ("S3BucketOwner", "S3BucketOwner"),
            ("S3Prefix", "S3Prefix"),
            ("S3SseKmsKeyId", "S3SseKmsKeyId"),
        ):
            if request.get(source):
                description[target] = request[source]
        if self.export_type == "FULL_EXPORT":
            description["ExportTime"] = request["_export_time"]
        else:
            description["IncrementalExportSpecification"] = {
                "ExportFromTime": request["_window"][0],
                "ExportToTime": request["_window"][1],
                "ExportViewType": request["_view"],
            }
        if self.end is not None:
            description["EndTime"] = self.end
        if self.status == "COMPLETED":
            description["ExportManifest"] = self.manifest_key
            description["ItemCount"] = self.item_count
            description["BilledSizeBytes"] = self.billed_bytes
        if self.failure is not None:
            description["FailureCode"], description["FailureMessage"] = self.failure
        return description


@dataclass(slots=True)
class _Faults:
    next_errors: dict[str, deque[SandboxApiError]] = field(default_factory=dict)
    failing_tables: dict[str, tuple[str, str]] = field(default_factory=dict)
    stretch: float = 1.0


class ExportService:
    """The export half of the sandbox's DynamoDB."""

    def __init__(
        self,
        clock: SandboxClock,
        history: WriteHistory,
        settings: SandboxSettings,
        *,
        put_object: PutObject,
        bucket_exists: BucketExists,
        key_usable: KeyUsable | None = None,
    ) -> None:
        self.clock = clock
        self.history = history
        self.settings = settings
        self.tables: dict[str, TableState] = {}
        self.exports: dict[str, SandboxExport] = {}
        # Indexes that keep every call's cost independent of how many exports there have been:
        # the exports still running, by when they are due, and every export's ARN by table.
        self._due: list[tuple[datetime, int, str]] = []
        self._running: dict[str, SandboxExport] = {}
        self._by_table: dict[str, list[str]] = {}
        self._started = 0
        self.calls: Counter[str] = Counter()
        self.faults = _Faults()
        self._by_token: dict[tuple[str, str], str] = {}
        self._put_object = put_object
        self._bucket_exists = bucket_exists
        self._key_usable = key_usable
        self._rng = random.Random(settings.seed)
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ fault injection

    def fail_next(self, operation: str, code: str, message: str = "", times: int = 1) -> None:
        """Answer the next ``times`` calls of ``operation`` (``DescribeExport`` …) with an error."""
        queue = self.faults.next_errors.setdefault(operation, deque())
        for _ in range(times):
            queue.append(SandboxApiError(code, message or f"injected {code}"))

    def fail_exports_of(self, table: str, code: str = "UNKNOWN", message: str = "") -> None:
        """Make every later export of ``table`` end FAILED with this code."""
        self.faults.failing_tables[table] = (code, message or "injected export failure")

    def stretch_durations(self, factor: float) -> None:
        """Multiply the duration of exports started from now on."""
        self.faults.stretch = factor

    def check_fault(self, operation: str) -> None:
        """Raise the next injected error of ``operation``, if any; count the call."""
        with self._lock:
            self.calls[operation] += 1
            queue = self.faults.next_errors.get(operation)
            if queue:
                raise queue.popleft()

    # ------------------------------------------------------------------ tables and PITR

    def table_state(self, name: str, arn: str, key_names: tuple[str, ...]) -> TableState:
        """The sandbox's record of a table (made on first sight)."""
        with self._lock:
            state = self.tables.get(arn)
            if state is None:
                table_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
                state = self.tables[arn] = TableState(name, arn, key_names, table_id)
            return state

    def set_pitr(self, state: TableState, enabled: bool, recovery_days: int | None) -> None:
        """Turning PITR on starts a new window now; turning it off forgets the window."""
        with self._lock:
            if enabled and state.pitr_enabled_at is None:
                state.pitr_enabled_at = self.clock.now()
            if not enabled:
                state.pitr_enabled_at = None
            if recovery_days is not None:
                state.recovery_days = recovery_days

    def pitr_window(self, state: TableState) -> tuple[datetime, datetime] | None:
        """(EarliestRestorableDateTime, LatestRestorableDateTime), or None when PITR is off."""
        if state.pitr_enabled_at is None:
            return None
        now = self.clock.now()
        earliest = max(state.pitr_enabled_at, now - timedelta(days=state.recovery_days))
        latest = max(earliest, now - timedelta(seconds=self.settings.pitr_lag_s))
        return earliest, latest

    # ------------------------------------------------------------------ exports

    def start(
        self, account: str, region: str, state: TableState, body: dict[str, Any]
    ) -> dict[str, Any]:
        """ExportTableToPointInTime."""
        with self._lock:
            request = self._validated(state, body)
            token = body.get("ClientToken")
            if token:
                known = self._by_token.get((account, token))
                if known is not None:
                    existing = self.exports[known]
                    if _comparable(existing.request) != _comparable(request):
                        raise SandboxApiError(
                            "ExportConflictException",
                            "Export with the same client token but different parameters exists",
                        )
                    self._refresh(existing)
                    return existing.description()
            self._refresh_all()
            running = sum(1 for e in self._running.values() if e.account == account)
            if running >= self.settings.quota:
                raise SandboxApiError(
                    "LimitExceededException",
                    f"There are {running} exports in progress; the limit is {self.settings.quota}",
                )
            now = self.clock.now()
            identifier = export_id(now, self._rng)
            arn = f"{state.arn}/export/{identifier}"
            export = SandboxExport(arn, account, state, request, now, now)
            export.forced_failure = self.faults.failing_tables.get(state.name)
            owner = body.get("S3BucketOwner") or account
            kms_key = body.get("S3SseKmsKeyId")
            if not self._bucket_exists(owner, body["S3Bucket"]):
                export.forced_failure = ("S3NoSuchBucket", "The specified bucket does not exist")
                duration = 30.0
            elif (
                body.get("S3SseAlgorithm") == "KMS"
                and self._key_usable is not None
                and not self._key_usable(account, region, str(kms_key or ""))
            ):
                export.forced_failure = (
                    "KMSAccessDeniedException",
                    f"The KMS key {kms_key} is not accessible or not enabled",
                )
                duration = 30.0
            else:
                prefix = body.get("S3Prefix")
                key = f"{prefix.rstrip('/')}/" if prefix else ""
                self._put_object(
                    owner, body["S3Bucket"], f"{key}AWSDynamoDB/{identifier}/_started", b""
                )
                items = len(self._lines(export))
                duration = self.settings.base_duration_s + self.settings.seconds_per_item * items
            export.finishes_at = now + timedelta(seconds=duration * self.faults.stretch)
            self.exports[arn] = export
            self._running[arn] = export
            self._started += 1
            heapq.heappush(self._due, (export.finishes_at, self._started, arn))
            self._by_table.setdefault(state.arn, []).append(arn)
            if token:
                self._by_token[(account, token)] = arn
            return export.description()

    def describe(self, arn: str) -> dict[str, Any]:
        """DescribeExport."""
        with self._lock:
            export = self.exports.get(arn)
            if export is None:
                raise SandboxApiError("ExportNotFoundException", f"Export not found: {arn}")
            self._refresh(export)
            return export.description()

    def list_exports(
        self, table_arn: str | None, max_results: int, next_token: str | None
    ) -> dict[str, Any]:
        """ListExports: newest first (reverse order of ExportArn), paginated."""
        with self._lock:
            self._refresh_all()
            arns = self.exports if table_arn is None else self._by_table.get(table_arn, [])
            chosen = sorted(
                (self.exports[arn] for arn in arns),
                key=lambda e: e.arn,
                reverse=True,
            )
            start = int(next_token) if next_token else 0
            page = chosen[start : start + max_results]
            result: dict[str, Any] = {
                "ExportSummaries": [
                    {"ExportArn": e.arn, "ExportStatus": e.status, "ExportType": e.export_type}
                    for e in page
                ]
            }
            if start + max_results < len(chosen):
                result["NextToken"] = str(start + max_results)
            return result

    # ------------------------------------------------------------------ internals

    def _validated(self, state: TableState, body: dict[str, Any]) -> dict[str, Any]:
        window = self.pitr_window(state)
        if window is None:
            raise SandboxApiError(
                "PointInTimeRecoveryUnavailableException",
                f"Point in time recovery is not enabled for table '{state.name}'",
            )
        earliest, _ = window
        now = self.clock.now()
        request = dict(body)
        export_type = body.get("ExportType") or "FULL_EXPORT"
        if export_type == "FULL_EXPORT":
            export_time = _as_datetime(body.get("ExportTime")) or now
            if export_time > now or export_time < earliest:
                raise SandboxApiError(
                    "InvalidExportTimeException",
                    "The specified ExportTime is outside of the point in time recovery window",
                )
            request["_export_time"] = export_time
            return request
        spec = body.get("IncrementalExportSpecification") or {}
        start = _as_datetime(spec.get("ExportFromTime"))
        end = _as_datetime(spec.get("ExportToTime")) or now
        if start is None:
            raise SandboxApiError("ValidationException", "ExportFromTime is required")
        if start < earliest or end > now:
            raise SandboxApiError(
                "InvalidExportTimeException",
                "Incremental export window is outside of the point in time recovery window",
            )
        if not _MIN_WINDOW <= end - start <= _MAX_WINDOW:
            raise SandboxApiError(
                "ValidationException",
                "Incremental export period must be between 15 minutes and 24 hours",
            )
        request["_window"] = (start, end)
        request["_view"] = spec.get("ExportViewType") or "NEW_AND_OLD_IMAGES"
        return request

    def _lines(self, export: SandboxExport) -> list[tuple[dict[str, Any], str]]:
        request = export.request
        fmt = request.get("ExportFormat") or "DYNAMODB_JSON"
        table = export.table.arn
        if export.export_type == "FULL_EXPORT":
            micros = _micros(request["_export_time"])
            return [
                (keys, full_record(item, fmt))
                for keys, item in self.history.items_at(table, micros)
            ]
        start, end = request["_window"]
        lines = []
        for change in self.history.changes(table, _micros(start), _micros(end)):
            line = incremental_record(change, request["_view"], fmt)
            if line is not None:
                lines.append((dict(change.keys), line))
        return lines

    def refresh_all(self) -> None:
        """Finish every export whose time has come (write its files, set its status)."""
        with self._lock:
            now = self.clock.now()
            while self._due and self._due[0][0] <= now:
                _, _, arn = heapq.heappop(self._due)
                self._refresh(self.exports[arn])

    def _refresh_all(self) -> None:
        self.refresh_all()

    def _refresh(self, export: SandboxExport) -> None:
        if export.status != "IN_PROGRESS" or self.clock.now() < export.finishes_at:
            return
        self._running.pop(export.arn, None)
        export.end = export.finishes_at
        if export.forced_failure is not None:
            export.status = "FAILED"
            export.failure = export.forced_failure
            return
        request = export.request
        incremental = export.export_type == "INCREMENTAL_EXPORT"
        lines = self._lines(export)
        billed = sum(len(line) for _, line in lines)
        if incremental:
            billed = max(billed, _INCREMENTAL_MIN_BILLED)
        owner = request.get("S3BucketOwner") or export.account
        identifier = export.arn.rsplit("/", 1)[-1]
        files = build_export_files(
            lines=lines,
            summary=summary_fields(
                export_arn=export.arn,
                start=export.start,
                end=export.end,
                table_arn=export.table.arn,
                table_id=export.table.table_id,
                bucket=request["S3Bucket"],
                prefix=request.get("S3Prefix"),
                sse=request.get("S3SseAlgorithm") or "AES256",
                kms_key=request.get("S3SseKmsKeyId"),
                billed_bytes=billed,
                export_format=request.get("ExportFormat") or "DYNAMODB_JSON",
                export_time=request.get("_export_time"),
                window=request.get("_window"),
                view=request.get("_view"),
            ),
            prefix=request.get("S3Prefix"),
            export_id_value=identifier,
            export_format=request.get("ExportFormat") or "DYNAMODB_JSON",
            incremental=incremental,
            partitions=self.settings.partitions,
            rng=self._rng,
        )
        for key, data in files.objects.items():
            if not self._put_object(owner, request["S3Bucket"], key, data):
                export.status = "FAILED"
                export.failure = ("S3NoSuchBucket", "The specified bucket does not exist")
                return
        export.status = "COMPLETED"
        export.item_count = files.item_count
        export.billed_bytes = billed
        export.manifest_key = files.manifest_summary_key


def _comparable(request: dict[str, Any]) -> dict[str, Any]:
    # What the caller sent, not what the sandbox derived from it (an omitted ExportTime is "now").
    return {k: v for k, v in request.items() if k != "ClientToken" and not k.startswith("_")}


def _as_datetime(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    raise SandboxApiError("ValidationException", f"not a timestamp: {value!r}")


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond
