"""The local runner: start, track and report many exports with a cap on exports in flight.

One thread drives everything from a queue of tables to start and a heap of checks that are due, so
memory and threads stay flat whatever the number of tables (exports run in AWS, not here). Time is
injected (``clock``, ``sleep``, ``now``) so tests run a whole day of exports in milliseconds.

Per table, the outcomes are:

* COMPLETED - the export finished;
* FAILED - the table is missing, PITR is off, access was denied, the export ended FAILED …;
  every other table goes on;
* TIMED_OUT - the run's timeout came first (a started export keeps running in AWS);
* INTERRUPTED - Ctrl-C: nothing new starts, the report records what is in flight, and running
  the same run id again resumes tracking it.

``LimitExceededException`` (the account's concurrent-export quota) never fails a table: the runner
stops starting exports for a growing pause and tries again.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from .api import ExportApi
from .config import RunSettings
from .errors import (
    AwsError,
    ExportConflict,
    InvalidExportTime,
    LimitExceeded,
    PitrUnavailable,
    RetryableAwsError,
)
from .journal import JournalEntry, RunJournal
from .models import ExportDescription, ExportPlan, ExportRequest
from .polling import PollPolicy, policy_from_settings
from .report import ErrorInfo, RunReport, TableResult
from .timeparse import format_instant

log = logging.getLogger(__name__)

#: Attempts at starting one export when AWS answers with throttling or a server error.
MAX_START_ATTEMPTS = 8
#: Waits for a table's PITR window to reach an export time that is only just in the past.
MAX_EXPORT_TIME_WAITS = 20


@dataclass(frozen=True, slots=True)
class RunEvent:
    """Something that happened to a table during a run, for progress displays and logs.

    ``kind`` is one of ``resumed``, ``started``, ``polled``, ``waiting``, ``pitr_enabled``,
    ``completed``, ``failed``, ``timed_out``, ``interrupted``.
    """

    kind: str
    run_id: str
    table: str
    status: str
    export_arn: str | None = None
    item_count: int | None = None
    elapsed_s: float | None = None
    message: str = ""


EventHandler = Callable[[RunEvent], None]


@dataclass(slots=True)
class _Track:
    """The runner's mutable view of one table."""

    request: ExportRequest
    policy: PollPolicy
    status: str = "PENDING"
    export_arn: str | None = None
    description: ExportDescription | None = None
    describe_calls: int = 0
    start_attempts: int = 0
    time_waits: int = 0
    poll_errors: int = 0
    tracking_since: float = 0.0
    expected_s: float | None = None
    looked_up: bool = False
    pitr_enabled: bool = False
    error: ErrorInfo | None = None


class Runner:
    """Runs an :class:`ExportPlan` against an :class:`ExportApi`.

    Args:
        api: the AWS adapter (or a fake).
        settings: concurrency, polling, timeout and retry settings.
        journal: where started exports are recorded for resuming; ``None`` keeps no journal.
        enable_pitr: turn PITR on for tables that lack it instead of failing them.
        on_event: called for every :class:`RunEvent`; must not raise.
        clock: monotonic seconds; ``sleep``: waits that many seconds; ``now``: the UTC wall clock.
    """

    def __init__(
        self,
        api: ExportApi,
        settings: RunSettings,
        *,
        journal: RunJournal | None = None,
        enable_pitr: bool = False,
        on_event: EventHandler | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._api = api
        self._settings = settings
        self._journal = journal
        self._enable_pitr = enable_pitr
        self._on_event = on_event
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._run_id = ""
        self._pending: deque[_Track] = deque()
        self._due: list[tuple[float, int, _Track]] = []
        self._seq = 0
        self._in_flight = 0
        self._peak_in_flight = 0
        self._start_blocked_until = 0.0
        self._start_backoff_s = 0.0

    @property
    def peak_in_flight(self) -> int:
        """The most exports this runner had in flight at once."""
        return self._peak_in_flight

    def run(self, plan: ExportPlan) -> RunReport:
        """Run every export of the plan to a terminal state and return the report."""
        self._run_id = plan.run_id
        started_at = self._now()
        tracks = [
            _Track(request, policy_from_settings(self._settings, request.size_bytes))
            for request in plan.requests
        ]
        journaled = self._journal.entries() if self._journal else {}
        interrupted = False
        deadline = self._clock() + self._settings.timeout_s
        for track in tracks:
            entry = journaled.get(track.request.table)
            if entry is not None and entry.table_arn == track.request.table_arn:
                self._resume(track, entry)
            else:
                self._pending.append(track)
        try:
            self._loop(deadline)
        except KeyboardInterrupt:
            interrupted = True
            for track in tracks:
                if track.status in ("PENDING", "IN_PROGRESS"):
                    self._interrupt(track)
        results = [self._result(track) for track in tracks]
        results += [
            TableResult(
                table=problem.table,
                table_arn="",
                status="FAILED",
                export_time=plan.export_time,
                client_token="",
                error=ErrorInfo(problem.code, problem.message),
            )
            for problem in plan.problems
        ]
        results.sort(key=lambda result: result.table)
        return RunReport(
            run_id=plan.run_id,
            export_time=plan.export_time,
            started_at=started_at,
            finished_at=self._now(),
            tables=tuple(results),
            interrupted=interrupted,
        )

    # ------------------------------------------------------------------ the loop

    def _loop(self, deadline: float) -> None:
        while self._pending or self._due:
            now = self._clock()
            if now >= deadline:
                self._time_out_everything()
                return
            while (
                self._pending
                and self._in_flight < self._settings.max_concurrency
                and now >= self._start_blocked_until
            ):
                self._start(self._pending.popleft())
                now = self._clock()
            while self._due and self._due[0][0] <= now:
                _, _, track = heapq.heappop(self._due)
                self._poll(track)
                now = self._clock()
            if not self._pending and not self._due:
                return
            wake = deadline
            if self._due:
                wake = min(wake, self._due[0][0])
            if self._pending and self._in_flight < self._settings.max_concurrency:
                wake = min(wake, self._start_blocked_until)
            if wake > now:
                self._sleep(wake - now)

    def _schedule(self, track: _Track, delay_s: float) -> None:
        self._seq += 1
        heapq.heappush(self._due, (self._clock() + max(delay_s, 0.0), self._seq, track))

    def _block_starts(self) -> float:
        """Pause all starts for a growing, capped time; returns the pause."""
        base = max(self._settings.poll_min_s, 1e-3)
        self._start_backoff_s = min(
            max(self._start_backoff_s * 2, base), self._settings.retry_max_s
        )
        self._start_blocked_until = self._clock() + self._start_backoff_s
        return self._start_backoff_s

    # ------------------------------------------------------------------ starting

    def _start(self, track: _Track) -> None:
        request = track.request
        track.start_attempts += 1
        if not track.looked_up and self._settings.poll.mode == "adaptive":
            track.looked_up = True  # once per table, not once per start attempt
            track.expected_s = self._previous_duration(request.table_arn)
        try:
            description = self._api.export_table(request)
        except LimitExceeded as exc:
            pause = self._block_starts()
            track.start_attempts -= 1  # the quota being full is not this table's fault
            self._pending.appendleft(track)
            self._emit(
                track, "waiting", f"export quota full ({exc.code}); retrying in {pause:.0f}s"
            )
            return
        except RetryableAwsError as exc:
            if track.start_attempts >= MAX_START_ATTEMPTS:
                self._fail(
                    track, exc.code, f"{exc} (gave up after {track.start_attempts} attempts)"
                )
                return
            pause = self._block_starts()
            self._pending.appendleft(track)
            self._emit(track, "waiting", f"{exc.code}; retrying in {pause:.0f}s")
            return
        except PitrUnavailable as exc:
            self._on_pitr_unavailable(track, exc)
            return
        except InvalidExportTime as exc:
            self._on_invalid_export_time(track, exc)
            return
        except ExportConflict as exc:
            self._fail(
                track,
                exc.code,
                f"{exc}. Run id {self._run_id!r} was already used for this table with other "
                "parameters (or another export writes to the same place); use another --run-id",
            )
            return
        except AwsError as exc:
            self._fail(track, exc.code, str(exc))
            return
        self._start_backoff_s = 0.0
        track.export_arn = description.export_arn
        track.description = description
        track.status = "IN_PROGRESS"
        track.tracking_since = self._clock()
        self._count_in_flight(+1)
        if self._journal is not None:
            self._journal.record(
                JournalEntry(
                    table=request.table,
                    table_arn=request.table_arn,
                    export_arn=description.export_arn,
                    client_token=request.client_token,
                    export_time=request.export_time,
                )
            )
        self._emit(track, "started")
        if not self._settle(track, description):
            self._schedule(track, track.policy.next_delay(0.0, track.expected_s))

    def _resume(self, track: _Track, entry: JournalEntry) -> None:
        track.request = replace(track.request, export_time=entry.export_time)
        track.export_arn = entry.export_arn
        track.status = "IN_PROGRESS"
        track.tracking_since = self._clock()
        self._count_in_flight(+1)
        self._emit(track, "resumed")
        self._schedule(track, 0.0)

    def _previous_duration(self, table_arn: str) -> float | None:
        try:
            previous = self._api.latest_completed_export(table_arn)
        except AwsError as exc:
            log.debug("no previous export duration for %s: %s", table_arn, exc)
            return None
        return previous.duration_s if previous else None

    def _on_pitr_unavailable(self, track: _Track, exc: AwsError) -> None:
        table = track.request.table
        if not self._enable_pitr or track.pitr_enabled:
            self._fail(
                track,
                exc.code,
                f"point-in-time recovery is not enabled for table {table!r}. Enable it with "
                f"`aws dynamodb update-continuous-backups --table-name {table} "
                "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true` "
                "or run again with --enable-pitr",
            )
            return
        try:
            self._api.enable_pitr(table)
        except AwsError as enable_error:
            self._fail(track, enable_error.code, f"could not enable PITR: {enable_error}")
            return
        track.pitr_enabled = True
        self._emit(track, "pitr_enabled", "point-in-time recovery enabled")
        self._move_into_pitr_window(track)
        self._pending.appendleft(track)

    def _move_into_pitr_window(self, track: _Track) -> None:
        """With --enable-pitr, export a table whose window starts late at the window's start."""
        try:
            window = self._api.describe_pitr(track.request.table)
        except AwsError:
            return
        if window.earliest is not None and window.earliest > track.request.export_time:
            earliest = window.earliest.astimezone(UTC)
            rounded = earliest.replace(microsecond=0)
            if rounded < earliest:
                rounded += timedelta(seconds=1)
            track.request = replace(track.request, export_time=rounded)

    def _on_invalid_export_time(self, track: _Track, exc: AwsError) -> None:
        request = track.request
        try:
            window = self._api.describe_pitr(request.table)
        except AwsError:
            window = None
        if window and window.earliest and request.export_time < window.earliest:
            if self._enable_pitr and not track.pitr_enabled:
                track.pitr_enabled = True
                self._move_into_pitr_window(track)
                self._pending.appendleft(track)
                return
            self._fail(
                track,
                exc.code,
                f"export time {format_instant(request.export_time)} is before the earliest "
                f"restorable time {format_instant(window.earliest)} of table {request.table!r} "
                "(its PITR window); pass a later --as-of",
            )
            return
        # Usually the export time is so recent that PITR has not caught up yet (its latest
        # restorable time trails the clock by about 5 minutes): wait for the window to move.
        if track.time_waits < MAX_EXPORT_TIME_WAITS and (
            window is None or window.latest is None or request.export_time >= window.latest
        ):
            track.time_waits += 1
            track.start_attempts -= 1
            self._pending.append(track)
            pause = self._block_starts()
            self._emit(
                track, "waiting", f"export time not yet restorable; retrying in {pause:.0f}s"
            )
            return
        self._fail(track, exc.code, str(exc))

    # ------------------------------------------------------------------ polling

    def _poll(self, track: _Track) -> None:
        assert track.export_arn is not None
        track.describe_calls += 1
        try:
            description = self._api.describe_export(track.export_arn)
        except RetryableAwsError as exc:
            track.poll_errors += 1
            delay = min(
                self._settings.poll_min_s * 2**track.poll_errors, self._settings.retry_max_s
            )
            log.info(
                "DescribeExport of %s failed (%s); next try in %.0fs", track.export_arn, exc, delay
            )
            self._schedule(track, delay)
            return
        except AwsError as exc:
            self._fail(
                track,
                exc.code,
                f"{exc}; the export may still be running in AWS: {track.export_arn}",
            )
            return
        track.poll_errors = 0
        track.description = description
        if self._settle(track, description):
            return
        elapsed = self._elapsed(track, description)
        self._emit(track, "polled")
        self._schedule(track, track.policy.next_delay(elapsed, track.expected_s))

    def _elapsed(self, track: _Track, description: ExportDescription) -> float:
        # A resumed export started before this process: measure from AWS's StartTime.
        if description.start_time is not None:
            return max((self._now() - description.start_time).total_seconds(), 0.0)
        return self._clock() - track.tracking_since

    def _settle(self, track: _Track, description: ExportDescription) -> bool:
        """Record a terminal status; returns False while the export is still running."""
        if description.status == "COMPLETED":
            track.status = "COMPLETED"
            self._count_in_flight(-1)
            self._emit(track, "completed")
            return True
        if description.status == "FAILED":
            code = description.failure_code or "ExportFailed"
            message = description.failure_message or "the export ended FAILED"
            self._fail(track, code, f"export {description.export_arn} failed: {message}")
            return True
        return False

    # ------------------------------------------------------------------ endings

    def _count_in_flight(self, delta: int) -> None:
        self._in_flight += delta
        self._peak_in_flight = max(self._peak_in_flight, self._in_flight)

    def _fail(self, track: _Track, code: str, message: str) -> None:
        # A failing track is never in the due heap: polls pop it first, starts never push it.
        if track.status == "IN_PROGRESS":
            self._count_in_flight(-1)
        track.status = "FAILED"
        track.error = ErrorInfo(code, message)
        self._emit(track, "failed", message)

    def _time_out_everything(self) -> None:
        timeout = self._settings.timeout_s
        for track in self._pending:
            track.status = "TIMED_OUT"
            track.error = ErrorInfo(
                "RunTimeout", f"not started within the run's timeout ({timeout:.0f}s)"
            )
            self._emit(track, "timed_out")
        for _, _, track in self._due:
            track.status = "TIMED_OUT"
            track.error = ErrorInfo(
                "RunTimeout",
                f"still running after the run's timeout ({timeout:.0f}s); the export goes on in "
                f"AWS: {track.export_arn}. Run again with --run-id {self._run_id} to keep tracking",
            )
            self._emit(track, "timed_out")
        self._pending.clear()
        self._due.clear()
        self._in_flight = 0

    def _interrupt(self, track: _Track) -> None:
        if track.status == "IN_PROGRESS":
            message = (
                f"interrupted; the export goes on in AWS: {track.export_arn}. Run again with "
                f"--run-id {self._run_id} to keep tracking it"
            )
        else:
            message = "interrupted before the export was started"
        track.status = "INTERRUPTED"
        track.error = ErrorInfo("Interrupted", message)
        self._emit(track, "interrupted", message)

    def _result(self, track: _Track) -> TableResult:
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
        )

    def _emit(self, track: _Track, kind: str, message: str = "") -> None:
        if self._on_event is None:
            return
        description = track.description
        elapsed = None
        if description is not None and description.start_time is not None:
            elapsed = max((self._now() - description.start_time).total_seconds(), 0.0)
        elif track.export_arn is not None:
            elapsed = self._clock() - track.tracking_since
        self._on_event(
            RunEvent(
                kind=kind,
                run_id=self._run_id,
                table=track.request.table,
                status=track.status,
                export_arn=track.export_arn,
                item_count=description.item_count if description else None,
                elapsed_s=elapsed,
                message=message,
            )
        )
