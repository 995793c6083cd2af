"""Pure polling policies: how long to wait before the next DescribeExport. Nothing sleeps here.

Exports emit no completion event, so completion is found by polling. A fixed 15 s interval (the
seed design) costs 240 calls for a one-hour export. The adaptive policy instead

* with a known expected duration E (the previous export of the table): waits until just before E,
  polls at a short interval while the export is "due" (E ± ``spread``), then backs off
  geometrically (each wait a fraction of the overrun) up to ``max_s``;
* without one: makes its first check after ``first_s`` (or half a size-based guess, whichever is
  later), then waits a fraction ``growth`` of the elapsed time, clamped to ``[min_s, max_s]``.

``bench/polling.py`` measures the calls and the completion-detection lag of both policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ddbexport.config.model import PollSpec, RunSettings

#: Longest wait while an export is due: keeps the mean detection lag under a minute
#: (measured in bench/polling.py).
NEAR_MAX_S = 60.0
#: A deliberately optimistic export throughput for the size-based first guess.
GUESS_BYTES_PER_S = 50 * 1024 * 1024


class PollPolicy(Protocol):
    """Decides the wait before the next DescribeExport of one export."""

    def next_delay(self, elapsed_s: float, expected_s: float | None) -> float:
        """Seconds to wait, given the time since the export started and its expected duration."""
        ...


@dataclass(frozen=True, slots=True)
class FixedPolicy:
    """Poll every ``interval_s`` seconds, whatever happens (the seed's behaviour)."""

    interval_s: float = 15.0

    def next_delay(self, elapsed_s: float, expected_s: float | None) -> float:
        """Always the same interval."""
        return self.interval_s


@dataclass(frozen=True, slots=True)
class AdaptivePolicy:
    """Poll near the expected completion, back off geometrically otherwise.

    Attributes:
        first_s: first check when no duration is expected.
        min_s: shortest wait between two checks.
        max_s: longest wait between two checks.
        spread: relative uncertainty of an expected duration (0.2 = ±20 %).
        near_fraction: wait while due, as a fraction of the expected duration (then clamped to
            ``[min_s, near_max_s]``).
        near_max_s: longest wait while the export is due.
        growth: wait as a fraction of the elapsed (or overrun) time when backing off.
    """

    first_s: float = 240.0
    min_s: float = 15.0
    max_s: float = 600.0
    spread: float = 0.2
    near_fraction: float = 0.02
    near_max_s: float = NEAR_MAX_S
    growth: float = 0.25

    def next_delay(self, elapsed_s: float, expected_s: float | None) -> float:
        """Seconds until the next check; see the module docstring for the rule."""
        if expected_s is None or expected_s <= 0:
            if elapsed_s < self.first_s:
                return max(self.first_s - elapsed_s, self.min_s)
            return self._clamp(self.growth * elapsed_s)
        due_from = expected_s * (1 - self.spread)
        due_until = expected_s * (1 + self.spread)
        near = min(max(expected_s * self.near_fraction, self.min_s), self.near_max_s, self.max_s)
        if elapsed_s < due_from:
            return max(due_from - elapsed_s, self.min_s)
        if elapsed_s < due_until:
            return near
        return self._clamp(near + self.growth * (elapsed_s - due_until))

    def _clamp(self, seconds: float) -> float:
        return min(max(seconds, self.min_s), self.max_s)


def size_guess_s(size_bytes: int) -> float:
    """An optimistic guess of the size-dependent part of a full export's duration."""
    return size_bytes / GUESS_BYTES_PER_S


def policy_from_settings(settings: RunSettings, size_bytes: int = 0) -> PollPolicy:
    """The policy a run uses for one table."""
    spec: PollSpec = settings.poll
    if spec.mode == "fixed":
        return FixedPolicy(spec.fixed_interval_s)
    # Big tables take long: do not look before half of an optimistic guess.
    first = max(settings.poll_first_s, size_guess_s(size_bytes) / 2)
    return AdaptivePolicy(
        first_s=first,
        min_s=settings.poll_min_s,
        max_s=settings.poll_max_s,
        near_max_s=min(NEAR_MAX_S, settings.poll_max_s),
    )
