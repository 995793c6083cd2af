"""How many polls a child execution's history holds, and the waits between them. Pure."""

from __future__ import annotations

import math

from ddbexport.config.model import RunSettings
from ddbexport.errors import ConfigError
from ddbexport.running.polling import NEAR_MAX_S, size_guess_s

from .retries import RETRY_READ, attempts_of, retry_describe, start_retries

#: Step Functions fails an execution whose history reaches this many events.
HISTORY_EVENTS = 25_000

#: A poll's history events: the Wait and the Choice (Finished?) log entered and exited, the
#: DescribeExport Task entered, scheduled, started, succeeded, exited (it also works out the
#: next wait, so no Pass state sits in the loop).
POLL_EVENTS = 2 + 2 + 5
#: What a retried Task attempt adds to the history: scheduled, started, failed.
_RETRY_EVENTS = 3
#: A child's events outside its polls on its longest path (export COMPLETED, catalog record
#: written): 16 states, 43 events with the execution's own started and succeeded; rounded up.
_OTHER_EVENTS = 100
#: Retries when every Task a child runs uses all of its retries once: the export's start
#: 40 + 8 + 8, DescribeExport 40 + 8, the table's record 8 and its catalog record 8 = 120.
_FULL_RETRIES = (
    attempts_of(start_retries(0)) + attempts_of(retry_describe(0)) + 2 * attempts_of(RETRY_READ)
)
#: Polls one table's child execution can make. Throttling hits every table polling at once,
#: so besides the full retries above, each poll keeps room for one DescribeExport retry:
#: (25,000 - 100 - 120 x 3) // (9 + 3) = 24,540 // 12 = 2,045 polls.
MAX_WAITS = (HISTORY_EVENTS - _OTHER_EVENTS - _FULL_RETRIES * _RETRY_EVENTS) // (
    POLL_EVENTS + _RETRY_EVENTS
)


#: What one link of an incremental table adds to its child's history besides polls: about 20
#: states on its path (chain and PITR reads, plan, export, records, chain write), rounded up;
#: and, when every Task uses its retries once, the start's 56 attempts, DescribeExport's 48 and
#: 8 for each of the four reads and writes.
_LINK_EVENTS = 60
_LINK_RETRIES = (
    attempts_of(start_retries(0)) + attempts_of(retry_describe(0)) + 4 * attempts_of(RETRY_READ)
)


def max_waits(links: int = 1) -> int:
    """Polls each export of a child may make when the child exports up to ``links`` of them
    (an incremental table's catch-up): 2,045 for one export, 480 each for four."""
    if links <= 1:
        return MAX_WAITS
    per_link = _LINK_EVENTS + _LINK_RETRIES * _RETRY_EVENTS
    return (HISTORY_EVENTS - _OTHER_EVENTS - links * per_link) // (
        links * (POLL_EVENTS + _RETRY_EVENTS)
    )


def wait_schedule(settings: RunSettings, *, links: int = 1) -> tuple[int, ...]:
    """Waits between DescribeExport calls, adding up to at least the run's timeout.

    Adaptive polling: the first check after ``poll_first``, then waits doubling from
    ``poll_min`` up to ``poll_max``. Fixed polling (``poll = "fixed:15s"``): every wait is the
    interval. The definition indexes this list by attempt; a table still exporting after the
    last wait is recorded TIMED_OUT (its export goes on in AWS), as the local runner does.

    ``links``: the most exports one child makes (an incremental table's catch-up), which
    share its history.

    Raises:
        ConfigError: the schedule needs more than :func:`max_waits` polls, more than a child
            execution's history can hold.
    """
    if settings.poll.mode == "fixed":
        return _fixed_waits(settings, links)
    first = max(round(settings.poll_first_s), 1)
    return _doubling_waits(settings, (first,), links, near_max=None)


#: After a first wait as long as the table's previous export, polls stay at most
#: :data:`~ddbexport.running.polling.NEAR_MAX_S` apart for this long (a lag of at most a minute
#: for an export that ends up to half an hour later than the previous one), then back off.
NEAR_WINDOW_S = 1800


def near_schedule(settings: RunSettings, *, links: int = 1) -> tuple[int, ...]:
    """Waits between DescribeExport calls after a first wait as long as the table's previous
    export: ``poll_min`` doubling up to a minute, a minute apart for :data:`NEAR_WINDOW_S`, then
    doubling up to ``poll_max``, adding up to at least the run's timeout. Fixed polling: every
    wait is the interval, as :func:`wait_schedule` after its first. With the first wait, the
    polls are at most :func:`max_waits`.

    Raises:
        ConfigError: the schedule needs more than :func:`max_waits` polls.
    """
    if settings.poll.mode == "fixed":
        return _fixed_waits(settings, links)[1:]
    near_max = max(round(min(NEAR_MAX_S, settings.poll_max_s)), 1)
    return _doubling_waits(settings, (), links, near_max=near_max)


def _fixed_waits(settings: RunSettings, links: int) -> tuple[int, ...]:
    limit = max_waits(links)
    interval = max(round(settings.poll.fixed_interval_s), 1)
    count = max(math.ceil(settings.timeout_s / interval), 1)
    if count > limit:
        fewest = math.ceil(settings.timeout_s / limit)
        raise ConfigError(
            f"run.poll fixed:{interval}s with run.timeout {settings.timeout_s:.0f}s needs "
            f"{count:,} polls {_per(links)}; a pipeline execution holds at most {limit:,} "
            f"(Step Functions' {HISTORY_EVENTS:,}-event history, with room for retries). "
            f"Poll every {fewest}s or more, lower run.timeout, or use poll = 'adaptive'"
        )
    return (interval,) * count


def _doubling_waits(
    settings: RunSettings, first: tuple[int, ...], links: int, *, near_max: int | None
) -> tuple[int, ...]:
    """``first``, then waits doubling from ``poll_min`` up to ``poll_max`` (up to ``near_max``
    for the first :data:`NEAR_WINDOW_S` when given) until they add up to the run's timeout.
    Without ``first``, the caller's first wait is a poll of its own."""
    limit = max_waits(links) - (0 if first else 1)

    def ceiling(total: float) -> float:
        return near_max if near_max is not None and total < NEAR_WINDOW_S else settings.poll_max_s

    waits = list(first)
    total = float(sum(waits))
    step = max(settings.poll_min_s, 1.0)
    while total < settings.timeout_s:
        waits.append(max(round(min(step, ceiling(total))), 1))
        total += waits[-1]
        step = min(step * 2, ceiling(total))
        if len(waits) > limit:
            after = "" if first else " after a table's expected duration"
            raise ConfigError(
                f"run.poll_max {settings.poll_max_s:.0f}s with run.timeout "
                f"{settings.timeout_s:.0f}s needs more than {limit:,} polls {_per(links)}"
                f"{after}; a pipeline execution holds at most that many (Step Functions' "
                f"{HISTORY_EVENTS:,}-event history, with room for retries). Raise run.poll_max "
                "or lower run.timeout"
            )
    return tuple(waits)


def _per(links: int) -> str:
    return "per table" if links <= 1 else f"per export ({links} exports per incremental table)"


def first_wait(
    settings: RunSettings, *, expected_s: float | None = None, size_bytes: int = 0
) -> int:
    """The wait before a table's first DescribeExport: its previous export's duration when
    known (the export is due then), else ``poll_first`` or half an optimistic size-based guess,
    whichever is later (as the local runner's first check). Fixed polling: the interval."""
    if settings.poll.mode == "fixed":
        return max(round(settings.poll.fixed_interval_s), 1)
    if expected_s is not None and expected_s > 0:
        return max(round(expected_s), 1)
    return max(round(max(settings.poll_first_s, size_guess_s(size_bytes) / 2)), 1)
