"""The sandbox's one clock: real time, optionally sped up, that tests can also move by hand."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Wall-clock time for everything the sandbox reports.

    Args:
        start: the instant the clock shows when created (default: the real time).
        time_scale: how many sandbox seconds pass per real second (1 = real time).
    """

    def __init__(self, start: datetime | None = None, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self._origin = (start or datetime.now(UTC)).astimezone(UTC)
        self._real_origin = time.monotonic()
        self._offset_s = 0.0
        self.time_scale = time_scale
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The sandbox's current time (aware, UTC)."""
        with self._lock:
            return self._origin + timedelta(seconds=self._elapsed_s(time.monotonic()))

    def _elapsed_s(self, real_now: float) -> float:
        # Sandbox seconds since the origin at the real instant ``real_now``; the lock is held.
        return (real_now - self._real_origin) * self.time_scale + self._offset_s

    def advance(self, seconds: float) -> None:
        """Jump forward, e.g. ``advance(20 * 60)`` for "+20 min"."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset_s += seconds

    def set_time_scale(self, time_scale: float) -> None:
        """Run at another pace from now on, without a jump in the time shown: a test slows the
        clock down where what it checks must happen within one stretch of sandbox time."""
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        with self._lock:
            real_now = time.monotonic()
            self._origin += timedelta(seconds=self._elapsed_s(real_now))
            self._real_origin = real_now
            self._offset_s = 0.0
            self.time_scale = time_scale

    def micros(self) -> int:
        """Now, in epoch microseconds (the unit of WriteTimestampMicros)."""
        moment = self.now()
        return int(moment.timestamp()) * 1_000_000 + moment.microsecond
