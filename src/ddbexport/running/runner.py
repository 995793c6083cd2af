"""The local runner: start, track and report many exports with a cap on exports in flight.

One thread drives everything from a queue of tables to start and a heap of checks that are due, so
memory and threads stay flat whatever the number of tables (exports run in AWS, not here). Time is
injected (``clock``, ``sleep``, ``now``) so tests run a whole day of exports in milliseconds.

The calls themselves are what a large run waits on: the starts that may go out together (up to
the room under ``max_concurrency``, hundreds at the start of a large run), the DescribeExport
calls of checks that fall due together (exports started in the same second end together), and
the aftercare of those that ended (about ten S3 and DynamoDB calls each) run on a small pool of
``io_workers`` threads; the driving thread waits for the batch, then records the outcomes in
queue or due order, so the scheduling stays in one thread and the pool never outlives a pass of
the loop.

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

Refused starts are dealt with in :mod:`.refusals`; each table's state, its events and its row
of the report are :mod:`.tracking`'s.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from ddbexport.config.model import RunSettings
from ddbexport.core.models import ExportDescription, ExportPlan
from ddbexport.core.ports import ExportApi
from ddbexport.errors import AwsError, RetryableAwsError
from ddbexport.planning.plan import client_token

from .aftercare import Aftercare
from .journal import JournalEntry, JournalError, RunJournal
from .polling import policy_from_settings
from .refusals import (
    MAX_BLIND_EXPORT_TIME_WAITS,
    MAX_PITR_WAITS,
    MAX_START_ATTEMPTS,
    StartRefusals,
)
from .report import ErrorInfo, RunReport, TableResult, problem_result
from .tracking import EventHandler, RunEvent, Track, aftercare_notes, table_result

__all__ = [
    "DEFAULT_IO_WORKERS",
    "MAX_BLIND_EXPORT_TIME_WAITS",
    "MAX_PITR_WAITS",
    "MAX_START_ATTEMPTS",
    "EventHandler",
    "RunEvent",
    "Runner",
]

log = logging.getLogger(__name__)

#: Threads for the calls of checks that fall due together and of aftercare: enough to keep a
#: service round trip of tens of milliseconds from setting the pace of a large run, few enough
#: to stay far below DynamoDB's and S3's request rates.
DEFAULT_IO_WORKERS = 8

_T = TypeVar("_T")
_R = TypeVar("_R")


class Runner(StartRefusals):
    """Runs an :class:`ExportPlan` against an :class:`ExportApi`.

    Args:
        api: the AWS adapter (or a fake).
        settings: concurrency, polling, timeout and retry settings.
        journal: where started exports are recorded for resuming; ``None`` keeps no journal.
        enable_pitr: turn PITR on for tables that lack it instead of failing them.
        aftercare: verifies, describes and catalogues each export once it has ended.
        on_event: called for every :class:`RunEvent`; must not raise.
        clock: monotonic seconds; ``sleep``: waits that many seconds; ``now``: the UTC wall clock.
        io_workers: threads for DescribeExport calls and aftercare of checks that fall due
            together; 1 makes every call from the driving thread, in due order.
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
        io_workers: int = DEFAULT_IO_WORKERS,
    ) -> None:
        if io_workers < 1:
            raise ValueError(f"io_workers must be 1 or more, not {io_workers}")
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
        self._pending: deque[Track] = deque()
        self._due: list[tuple[float, int, Track]] = []
        self._seq = 0
        self._in_flight = 0
        self._peak_in_flight = 0
        self._start_blocked_until = 0.0
        self._start_backoff_s = 0.0
        self._refused_starts: list[Track] = []
        self._batch_pause_s: float | None = None
        self._io_workers = io_workers
        self._pool: ThreadPoolExecutor | None = None

    @property
    def peak_in_flight(self) -> int:
        """The most exports this runner had in flight at once."""
        return self._peak_in_flight

    def run(self, plan: ExportPlan) -> RunReport:
        """Run every export of the plan to a terminal state and return the report."""
        self._run_id = plan.run_id
        started_at = self._now()
        tracks = [
            Track(request, policy_from_settings(self._settings, request.size_bytes))
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
        if self._io_workers > 1:
            self._pool = ThreadPoolExecutor(self._io_workers, thread_name_prefix="ddbexport-io")
        try:
            self._loop(deadline)
        except KeyboardInterrupt:
            interrupted = True
            for track in tracks:
                if track.status in ("PENDING", "IN_PROGRESS"):
                    self._interrupt(track)
        finally:
            if self._pool is not None:
                # Calls already on the wire finish (each is bounded by the client's timeouts);
                # queued ones are dropped: an interrupted run leaves them to the re-run.
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
        results = [table_result(track) for track in tracks]
        results += [problem_result(problem, plan.export_time) for problem in plan.problems]
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
            room = self._settings.max_concurrency - self._in_flight
            batch = [self._pending.popleft() for _ in range(min(room, len(self._pending)))]
            self._look_up_durations(batch)
            # The calls go out together (a round trip each, hundreds of them at the start of a
            # large run); what AWS answered is dealt with here, in queue order.
            outcomes = self._each(self._call_export, batch)
            self._refused_starts = []
            self._batch_pause_s = None
            ended: list[tuple[Track, ExportDescription]] = []
            for track, outcome in zip(batch, outcomes, strict=True):
                self._start(track, outcome, ended)
            self._pending.extendleft(reversed(self._refused_starts))
            self._finish(ended)

    def _look_up_durations(self, batch: Sequence[Track]) -> None:
        """The previous export's duration of each table about to start (adaptive polling
        places its checks by it), looked up together, once per table."""
        if self._settings.poll.mode != "adaptive":
            return
        batch = [track for track in batch if not track.looked_up]
        durations = self._each(
            lambda track: self._previous_duration(track.request.table_arn), batch
        )
        for track, expected in zip(batch, durations, strict=True):
            track.looked_up = True
            track.expected_s = expected

    def _handle_due(self, deadline: float) -> None:
        # Only what was due before this pass: a check scheduled during the pass waits for the
        # next one, so a zero delay can never keep this loop from sleeping or timing out.
        cutoff_seq = self._seq
        now = self._clock()
        if now >= deadline:
            return
        polls: list[Track] = []
        while self._due and self._due[0][0] <= now and self._due[0][1] <= cutoff_seq:
            _, _, track = heapq.heappop(self._due)
            if track.status == "PENDING":
                self._pending.append(track)  # a start that was put off is ready now
            else:
                polls.append(track)
        if not polls:
            return
        ended: list[tuple[Track, ExportDescription]] = []
        for track, outcome in zip(polls, self._each(self._describe, polls), strict=True):
            self._polled(track, outcome, ended)
        self._finish(ended)

    def _each(self, call: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
        """``call`` on every item, on the pool when there is more than one; results in order."""
        if self._pool is None or len(items) < 2:
            return [call(item) for item in items]
        return list(self._pool.map(call, items))

    def _schedule(self, track: Track, delay_s: float) -> None:
        self._seq += 1
        heapq.heappush(self._due, (self._clock() + max(delay_s, 0.0), self._seq, track))

    # ------------------------------------------------------------------ starting

    def _call_export(self, track: Track) -> ExportDescription | AwsError:
        """ExportTableToPointInTime, on a pool thread: the driving thread deals with the answer."""
        track.start_attempts += 1
        try:
            return self._api.export_table(track.request)
        except AwsError as exc:
            return exc

    def _start(
        self,
        track: Track,
        outcome: ExportDescription | AwsError,
        ended: list[tuple[Track, ExportDescription]],
    ) -> None:
        if isinstance(outcome, AwsError):
            self._refused(track, outcome)
            return
        description = outcome
        request = track.request
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
        if not self._settle(track, description, ended):
            self._schedule(track, track.policy.next_delay(0.0, track.expected_s))

    def _resume(self, track: Track, entry: JournalEntry) -> None:
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

    # ------------------------------------------------------------------ polling

    def _describe(self, track: Track) -> ExportDescription | AwsError:
        """DescribeExport, on a pool thread: the outcome is recorded by the driving thread."""
        assert track.export_arn is not None
        try:
            return self._api.describe_export(track.export_arn)
        except AwsError as exc:
            return exc

    def _polled(
        self,
        track: Track,
        outcome: ExportDescription | AwsError,
        ended: list[tuple[Track, ExportDescription]],
    ) -> None:
        track.describe_calls += 1
        if isinstance(outcome, RetryableAwsError):
            track.poll_errors += 1
            delay = min(
                self._settings.poll_min_s * 2**track.poll_errors, self._settings.retry_max_s
            )
            log.info(
                "DescribeExport of %s failed (%s); next try in %.0fs",
                track.export_arn,
                outcome,
                delay,
            )
            self._schedule(track, delay)
            return
        if isinstance(outcome, AwsError):
            self._fail(
                track,
                outcome.code,
                f"{outcome}; the export may still be running in AWS: {track.export_arn}",
            )
            return
        track.poll_errors = 0
        track.description = outcome
        if self._settle(track, outcome, ended):
            return
        elapsed = self._elapsed(track, outcome)
        self._emit(track, "polled")
        self._schedule(track, track.policy.next_delay(elapsed, track.expected_s))

    def _elapsed(self, track: Track, description: ExportDescription) -> float:
        # A resumed export started before this process: measure from AWS's StartTime.
        if description.start_time is not None:
            return max((self._now() - description.start_time).total_seconds(), 0.0)
        return self._clock() - track.tracking_since

    def _settle(
        self,
        track: Track,
        description: ExportDescription,
        ended: list[tuple[Track, ExportDescription]],
    ) -> bool:
        """Record a terminal status; returns False while the export is still running. An export
        that ended is added to ``ended`` for :meth:`_finish` (aftercare of a batch at once)."""
        if description.status == "FAILED" and (
            track.resumed and not track.retried and not track.request.chained
        ):
            # An incremental table's exports carry tokens of its chain, not of this run: the
            # failure is catalogued and the next run plans the same window again.
            message = description.failure_message or "the export ended FAILED"
            self._retry_failed(track, message)
            return True
        if description.status not in ("COMPLETED", "FAILED"):
            return False
        if description.status == "COMPLETED":
            track.status = "COMPLETED"
            self._count_in_flight(-1)
        ended.append((track, description))
        return True

    def _finish(self, ended: Sequence[tuple[Track, ExportDescription]]) -> None:
        """Aftercare of exports that ended (on the pool), then their events, in due order."""
        if self._aftercare is not None:
            aftercare = self._aftercare
            results = self._each(
                lambda pair: aftercare.after(self._run_id, pair[0].request, pair[1]), ended
            )
            for (track, _), result in zip(ended, results, strict=True):
                track.aftercare = result
        for track, description in ended:
            if description.status == "COMPLETED":
                note = ""
                if track.aftercare is not None and not track.aftercare.ok:
                    note = "; ".join(aftercare_notes(track.aftercare))
                self._emit(track, "completed", note)
                continue
            message = description.failure_message or "the export ended FAILED"
            code = description.failure_code or "ExportFailed"
            advice = ""
            if track.request.chained:
                advice = "; the next run exports it again"
            elif self._journal is not None:
                advice = f"; run again with --run-id {self._run_id} to retry it"
            self._fail(track, code, f"export {description.export_arn} failed: {message}{advice}")

    def _retry_failed(self, track: Track, reason: str) -> None:
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

    def _fail(self, track: Track, code: str, message: str) -> None:
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

    def _interrupt(self, track: Track) -> None:
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

    def _emit(self, track: Track, kind: str, message: str = "") -> None:
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
