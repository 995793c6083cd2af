"""The service's clock, learnt from its responses: what time it is there, and how fast it runs.

AWS's clock runs at the pace of ours; only its offset matters (a local clock that is ahead would
ask for exports in the future). The sandbox's clock may run faster — at ``--time-scale 300`` an
hour passes in 12 s — and it says so in every response (``x-ddbexport-clock-rate``). A runner
that waits on this clock (:meth:`ServiceClock.monotonic`, :meth:`ServiceClock.real_seconds`)
then polls at the service's pace, so a sandbox run takes seconds, and an AWS run is unchanged.

Pure: the caller feeds it each response's headers with the local time they arrived at.
"""

from __future__ import annotations

import email.utils
import math
import threading
from datetime import UTC, datetime

#: The response header in which a service says how many of its seconds pass per real second.
CLOCK_RATE_HEADER = "x-ddbexport-clock-rate"

#: The Date header has whole seconds: offsets below this are its rounding rather than skew.
_ROUNDING_S = 2.0


class ServiceClock:
    """The service's time and pace, from the ``Date`` and clock-rate headers of its responses.

    Thread-safe: responses arrive on any thread that makes AWS calls.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rate = 1.0
        self._offset_s = 0.0  # service minus local, at a rate of 1
        self._anchor: tuple[float, float] | None = None  # (local, service) at the last response
        self._last_monotonic = -math.inf

    @property
    def rate(self) -> float:
        """Service seconds per real second (1 unless the service said otherwise)."""
        return self._rate

    def observe(self, date: str | None, rate: str | None, local: float) -> None:
        """Learn from one response: its ``Date`` header, its clock-rate header, and the local
        epoch seconds it arrived at. Headers that are missing or malformed teach nothing."""
        service = _parse_date(date)
        pace = _parse_rate(rate)
        with self._lock:
            if pace is not None:
                self._rate = pace
            if service is None:
                return
            # The middle of the Date's second is the best guess of the service's time.
            service += 0.5
            if self._rate == 1.0:
                offset = service - local
                self._offset_s = offset if abs(offset) >= _ROUNDING_S else 0.0
                self._anchor = None
                return
            if self._anchor is not None:
                predicted = self._anchor[1] + (local - self._anchor[0]) * self._rate
                if abs(predicted - service) < 1.0:
                    return  # the Date's rounding, not news: keep the finer prediction
            self._anchor = (local, service)

    def now(self, local: float) -> datetime:
        """The service's time when the local epoch time is ``local``."""
        return datetime.fromtimestamp(self._service_seconds(local), UTC)

    def monotonic(self, local: float) -> float:
        """Service seconds that never go back, for a runner's deadlines and poll schedule."""
        with self._lock:
            value = max(self._service_seconds_locked(local), self._last_monotonic)
            self._last_monotonic = value
            return value

    def real_seconds(self, service_seconds: float) -> float:
        """How long to sleep locally for ``service_seconds`` to pass on the service's clock."""
        return max(service_seconds, 0.0) / self._rate

    def _service_seconds(self, local: float) -> float:
        with self._lock:
            return self._service_seconds_locked(local)

    def _service_seconds_locked(self, local: float) -> float:
        if self._anchor is None:
            return local + self._offset_s
        anchor_local, anchor_service = self._anchor
        return anchor_service + (local - anchor_local) * self._rate


def _parse_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _parse_rate(value: str | None) -> float | None:
    if not value:
        return None
    try:
        rate = float(value)
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0 else None
