"""What the runner does when AWS refuses to start an export: pause every start while the quota
is full or AWS throttles, wait for a table's PITR to come on or for its window to reach the export
time, move a table whose PITR this run enabled into its new window, or fail the table with advice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from typing import TYPE_CHECKING

from ddbexport.core.timeparse import format_instant
from ddbexport.errors import (
    AwsError,
    ExportConflict,
    InvalidExportTime,
    LimitExceeded,
    PitrUnavailable,
    RetryableAwsError,
)

from .tracking import Track

if TYPE_CHECKING:
    from collections.abc import Callable

    from ddbexport.config.model import RunSettings
    from ddbexport.core.ports import ExportApi

#: Attempts at starting one export when AWS answers with throttling or a server error.
MAX_START_ATTEMPTS = 8
#: Tries at an export time AWS calls invalid while the table's PITR window cannot be read.
MAX_BLIND_EXPORT_TIME_WAITS = 20
#: Tries at a table whose PITR this run has just enabled, while AWS still reports it off.
MAX_PITR_WAITS = 10


class StartRefusals:
    """The :class:`~.runner.Runner`'s handling of refused starts, as a mixin."""

    if TYPE_CHECKING:
        # The Runner owns these; declared so the type checker knows what this mixin relies on.
        _api: ExportApi
        _settings: RunSettings
        _enable_pitr: bool
        _run_id: str
        _clock: Callable[[], float]
        _start_blocked_until: float
        _start_backoff_s: float
        _refused_starts: list[Track]
        _batch_pause_s: float | None

        def _fail(self, track: Track, code: str, message: str) -> None: ...
        def _schedule(self, track: Track, delay_s: float) -> None: ...
        def _emit(self, track: Track, kind: str, message: str = "") -> None: ...

    def _refused(self, track: Track, exc: AwsError) -> None:
        """ExportTableToPointInTime was refused with ``exc``: put the track back (it starts
        after the tracks behind it in the batch have been dealt with, still ahead of the rest of
        the queue), schedule it or fail it."""
        request = track.request
        if isinstance(exc, LimitExceeded):
            pause = self._block_starts()
            track.start_attempts -= 1  # the quota being full is not this table's fault
            self._put_back(track)
            self._emit(
                track, "waiting", f"export quota full ({exc.code}); retrying in {pause:.0f}s"
            )
        elif isinstance(exc, RetryableAwsError):
            if track.start_attempts >= MAX_START_ATTEMPTS:
                self._fail(
                    track, exc.code, f"{exc} (gave up after {track.start_attempts} attempts)"
                )
                return
            pause = self._block_starts()
            self._put_back(track)
            self._emit(track, "waiting", f"{exc.code}; retrying in {pause:.0f}s")
        elif isinstance(exc, PitrUnavailable):
            self._on_pitr_unavailable(track, exc)
        elif isinstance(exc, InvalidExportTime):
            self._on_invalid_export_time(track, exc)
        elif isinstance(exc, ExportConflict):
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
        else:
            self._fail(track, exc.code, str(exc))

    def _put_back(self, track: Track) -> None:
        self._refused_starts.append(track)

    def _retry_delay(self, tries: int) -> float:
        """A per-table pause that doubles with each try, capped at ``retry_max_s``."""
        base = max(self._settings.poll_min_s, 1e-3)
        return float(min(base * 2 ** max(tries - 1, 0), self._settings.retry_max_s))

    def _block_starts(self) -> float:
        """Pause all starts for a growing, capped time; returns the pause. Refusals of one batch
        of starts (they went out together) pause the starts once."""
        if self._batch_pause_s is not None:
            return self._batch_pause_s
        base = max(self._settings.poll_min_s, 1e-3)
        self._start_backoff_s = min(
            max(self._start_backoff_s * 2, base), self._settings.retry_max_s
        )
        self._start_blocked_until = self._clock() + self._start_backoff_s
        self._batch_pause_s = self._start_backoff_s
        return self._start_backoff_s

    def _on_pitr_unavailable(self, track: Track, exc: AwsError) -> None:
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
        self._put_back(track)

    def _move_into_pitr_window(self, track: Track) -> None:
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

    def _on_invalid_export_time(self, track: Track, exc: AwsError) -> None:
        request = track.request
        try:
            window = self._api.describe_pitr(request.table)
        except AwsError:
            window = None
        if window and window.earliest and request.export_time < window.earliest:
            if track.pitr_enabled_by_run and not track.time_moved:
                self._move_into_pitr_window(track)
                if track.time_moved:
                    self._put_back(track)
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

    def _wait_for_export_time(self, track: Track, delay: float) -> None:
        self._schedule(track, delay)
        self._emit(track, "waiting", f"export time not yet restorable; retrying in {delay:.0f}s")
