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

Running a run id again resumes its journaled exports; one that ended FAILED is started once more
(same export time, a client token of its own), so a re-run is how a failed table is retried.

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

from ddbexport.config.model import RunSettings
from ddbexport.core.models import ExportDescription, ExportPlan, ExportRequest
from ddbexport.core.ports import ExportApi
from ddbexport.core.timeparse import format_instant
from ddbexport.errors import (
    AwsError,
    ExportConflict,
    InvalidExportTime,
    LimitExceeded,
    PitrUnavailable,
    RetryableAwsError,
)
from ddbexport.planning.plan import client_token

from .aftercare import Aftercare, AftercareResult
from .journal import JournalEntry, JournalError, RunJournal
from .polling import PollPolicy, policy_from_settings
from .report import ErrorInfo, RunReport, TableResult

log = logging.getLogger(__name__)

#: Attempts at starting one export when AWS answers with throttling or a server error.
MAX_START_ATTEMPTS = 8
#: Tries at an export time AWS calls invalid while the table's PITR window cannot be read.
MAX_BLIND_EXPORT_TIME_WAITS = 20
#: Tries at a table whose PITR this run has just enabled, while AWS still reports it off.
MAX_PITR_WAITS = 10


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


class Runner:
    """Runs an :class:`ExportPlan` against an :class:`ExportApi`.

    Args:
        api: the AWS adapter (or a fake).
        settings: concurrency, polling, timeout and retry settings.
        journal: where started exports are recorded for resuming; ``None`` keeps no journal.
        enable_pitr: turn PITR on for tables that lack it instead of failing them.
        aftercare: verifies, describes and catalogues each export once it has ended.
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
        aftercare: Aftercare | None = None,
        on_event: EventHandler | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._api = api
        self._settings = settings
        self._journal = journal
        self._enable_pitr = enable_pitr
        self._aftercare = aftercare
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
        results += [
            TableResult(
                table=waiting.table,
                table_arn="",
                status="WAITING",
                export_time=plan.export_time,
                client_token="",
                note=waiting.message,
            )
            for waiting in plan.waiting
        ]
        results.sort(key=lambda result: (result.table, result.from_time or result.export_time))
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
            if self._clock() >= deadline:
                self._time_out_everything()
                return
            self._start_what_may_start(deadline)
            self._handle_due(deadline)
            if not self._pending and not self._due:
                return
            now = self._clock()
            wake = deadline
            if self._due:
                wake = min(wake, self._due[0][0])
            if self._pending and self._in_flight < self._settings.max_concurrency:
                wake = min(wake, self._start_blocked_until)
            if wake > now:
                self._sleep(wake - now)

    def _start_what_may_start(self, deadline: float) -> None:
        while (
            self._pending
            and self._in_flight < self._settings.max_concurrency
            and deadline > self._clock() >= self._start_blocked_until
        ):
            self._start(self._pending.popleft())

    def _handle_due(self, deadline: float) -> None:
        # Only what was due before this pass: a check scheduled during the pass waits for the
        # next one, so a zero delay can never keep this loop from sleeping or timing out.
        cutoff_seq = self._seq
        now = self._clock()
        while self._due and self._due[0][0] <= now and self._due[0][1] <= cutoff_seq:
            if now >= deadline:
                return
            _, _, track = heapq.heappop(self._due)
            if track.status == "PENDING":
                self._pending.append(track)  # a start that was put off is ready now
            else:
                self._poll(track)
            now = self._clock()

    def _schedule(self, track: _Track, delay_s: float) -> None:
        self._seq += 1
        heapq.heappush(self._due, (self._clock() + max(delay_s, 0.0), self._seq, track))

    def _retry_delay(self, tries: int) -> float:
        """A per-table pause that doubles with each try, capped at ``retry_max_s``."""
        base = max(self._settings.poll_min_s, 1e-3)
        return float(min(base * 2 ** max(tries - 1, 0), self._settings.retry_max_s))

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
            if request.chained:
                self._fail(
                    track,
                    exc.code,
                    f"{exc}. This export of the table's chain was already started with other "
                    "settings (format, prefix, bucket or encryption changed since); it is "
                    "remembered for 8 hours, or take a new baseline with --rebaseline",
                )
                return
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
        note = ""
        if self._journal is not None:
            try:
                self._journal.record(
                    JournalEntry(
                        table=request.table,
                        table_arn=request.table_arn,
                        export_arn=description.export_arn,
                        client_token=request.client_token,
                        export_time=request.export_time,
                        attempt=track.attempt,
                    )
                )
            except JournalError as exc:
                # The export runs all the same; a re-run still attaches through its client token
                # for as long as AWS keeps it.
                log.warning("%s", exc)
                note = f"not journaled: {exc}"
        self._emit(track, "started", note)
        if not self._settle(track, description):
            self._schedule(track, track.policy.next_delay(0.0, track.expected_s))

    def _resume(self, track: _Track, entry: JournalEntry) -> None:
        track.request = replace(
            track.request, export_time=entry.export_time, client_token=entry.client_token
        )
        track.attempt = entry.attempt
        track.resumed = True
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
        if not self._enable_pitr:
            self._fail(
                track,
                exc.code,
                f"point-in-time recovery is not enabled for table {table!r}. Enable it with "
                f"`aws dynamodb update-continuous-backups --table-name {table} "
                "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true` "
                "or run again with --enable-pitr",
            )
            return
        if track.pitr_enabled_by_run:
            # UpdateContinuousBackups returns before exports accept the table: give it time.
            if track.pitr_waits < MAX_PITR_WAITS:
                track.pitr_waits += 1
                delay = self._retry_delay(track.pitr_waits)
                self._schedule(track, delay)
                self._emit(track, "waiting", f"PITR is still coming on; retrying in {delay:.0f}s")
                return
            self._fail(
                track,
                exc.code,
                f"point-in-time recovery was enabled for table {table!r} by this run, but "
                f"exports still found it off after {track.pitr_waits} tries: {exc}",
            )
            return
        try:
            self._api.enable_pitr(table)
        except AwsError as enable_error:
            self._fail(track, enable_error.code, f"could not enable PITR: {enable_error}")
            return
        track.pitr_enabled_by_run = True
        self._emit(track, "pitr_enabled", "point-in-time recovery enabled")
        self._move_into_pitr_window(track)
        self._pending.appendleft(track)

    def _move_into_pitr_window(self, track: _Track) -> None:
        """Export a table whose PITR this run enabled at the start of its new window.

        The run's export time precedes a window that opened moments ago; the window's first
        second is the nearest consistent state there is. Only tables enabled by this run move.
        """
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
            track.time_moved = True

    def _on_invalid_export_time(self, track: _Track, exc: AwsError) -> None:
        request = track.request
        try:
            window = self._api.describe_pitr(request.table)
        except AwsError:
            window = None
        if window and window.earliest and request.export_time < window.earliest:
            if track.pitr_enabled_by_run and not track.time_moved:
                self._move_into_pitr_window(track)
                if track.time_moved:
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
        # restorable time trails the clock by about 5 minutes): wait for the window to pass it.
        # The run's timeout bounds the wait; only a window we cannot read bounds it by count.
        if window is not None and window.latest is not None:
            if request.export_time >= window.latest:
                gap_s = (request.export_time - window.latest).total_seconds() + 1.0
                delay = min(max(gap_s, 1e-3), self._settings.retry_max_s)
                self._wait_for_export_time(track, delay)
                return
        elif track.blind_time_waits < MAX_BLIND_EXPORT_TIME_WAITS:
            track.blind_time_waits += 1
            self._wait_for_export_time(track, self._retry_delay(track.blind_time_waits))
            return
        self._fail(track, exc.code, str(exc))

    def _wait_for_export_time(self, track: _Track, delay: float) -> None:
        self._schedule(track, delay)
        self._emit(track, "waiting", f"export time not yet restorable; retrying in {delay:.0f}s")

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
            self._after(track, description)
            note = ""
            if track.aftercare is not None and not track.aftercare.ok:
                note = "; ".join(_aftercare_notes(track.aftercare))
            self._emit(track, "completed", note)
            return True
        if description.status == "FAILED":
            message = description.failure_message or "the export ended FAILED"
            # An incremental table's exports carry tokens of its chain, not of this run: the
            # failure is catalogued and the next run plans the same window again.
            chained = track.request.chained
            if track.resumed and not track.retried and not chained:
                self._retry_failed(track, message)
                return True
            self._after(track, description)
            code = description.failure_code or "ExportFailed"
            advice = ""
            if chained:
                advice = "; the next run exports it again"
            elif self._journal is not None:
                advice = f"; run again with --run-id {self._run_id} to retry it"
            self._fail(track, code, f"export {description.export_arn} failed: {message}{advice}")
            return True
        return False

    def _after(self, track: _Track, description: ExportDescription) -> None:
        if self._aftercare is not None:
            track.aftercare = self._aftercare.after(self._run_id, track.request, description)

    def _retry_failed(self, track: _Track, reason: str) -> None:
        """Start a journaled export that ended FAILED again, at the run's export time."""
        failed_arn = track.export_arn
        self._count_in_flight(-1)
        track.retried = True
        track.attempt += 1
        track.request = replace(
            track.request,
            client_token=client_token(self._run_id, track.request.table_arn, track.attempt),
        )
        track.status = "PENDING"
        track.export_arn = None
        track.description = None
        self._pending.appendleft(track)
        self._emit(track, "retrying", f"export {failed_arn} had failed ({reason}); starting again")

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
        not_started = list(self._pending)
        not_started += [track for _, _, track in self._due if track.status == "PENDING"]
        for track in not_started:
            track.status = "TIMED_OUT"
            track.error = ErrorInfo(
                "RunTimeout", f"not started within the run's timeout ({timeout:.0f}s)"
            )
            self._emit(track, "timed_out")
        for _, _, track in self._due:
            if track.status == "TIMED_OUT":
                continue
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
            verification=track.aftercare.verification if track.aftercare else None,
            catalog_key=track.aftercare.catalog_key if track.aftercare else None,
            schema_key=track.aftercare.schema_key if track.aftercare else None,
            warnings=_aftercare_notes(track.aftercare) if track.aftercare else (),
            export_type=request.export_type,
            from_time=request.from_time,
            to_time=request.to_time,
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


def _aftercare_notes(result: AftercareResult) -> tuple[str, ...]:
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
