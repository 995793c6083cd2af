"""Pure planning of chained incremental exports: which window (or full export) a table needs next.

Nothing here calls AWS. The inputs are the table's catalog records, its PITR window and the
time; the output is a :class:`TablePlan` with the exact times and client tokens to export.

Rules:

* the **baseline** is the newest good FULL export (as :func:`~ddbexport.catalog.chain.find_chain`
  picks it); the **cursor** is where the COMPLETED incremental windows reach from it, each link
  starting exactly where the previous one ends (windows are ``[from, to)``). A FAILED or unverified
  window is no link, so the next plan exports the same span again;
* a run may export up to its **horizon**: ``LatestRestorableDateTime - lag``, floored
  to a ``grid`` of UTC epoch multiples. Two runs in the same grid cell with the same cursor so
  plan the same windows, and the same client token makes DynamoDB return the export the other
  run started instead of starting a second one;
* the backlog is split into windows of ``max_window`` (24 h) from the cursor, the last one ending
  at the horizon; a window shorter than ``min_window`` (15 min) waits for a later run;
* a new full export, taken at the horizon, is planned when there is no baseline, when
  ``full_every`` has elapsed since the baseline, or when asked (``rebaseline``);
* a cursor older than ``EarliestRestorableDateTime`` is a gap no incremental export can fill:
  the table stops with :class:`PitrGapError` until a new full export is asked for;
* a window (or full export) planned again after it FAILED gets a token of its own (the attempt
  counted from the catalog), and nothing is planned while one of the table's exports is in flight.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ddbexport.catalog.chain import FULL, INCREMENTAL
from ddbexport.catalog.cursor import ChainCursor, IgnoredRecord, cursor_of
from ddbexport.catalog.records import CatalogRecord
from ddbexport.core.models import PitrWindow
from ddbexport.core.timeparse import canonical_instant, format_duration, format_instant, require_utc
from ddbexport.errors import ConfigError, PitrUnavailable

#: AWS's bounds on an incremental export's window.
MIN_WINDOW = timedelta(minutes=15)
MAX_WINDOW = timedelta(hours=24)
VIEWS = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


class PitrGapError(ConfigError):
    """The chain's cursor is older than the table's PITR window: the chain cannot continue.

    Attributes:
        table: the table's name.
        cursor: where the chain of COMPLETED exports ends.
        earliest: the table's EarliestRestorableDateTime.
    """

    def __init__(self, table: str, cursor: datetime, earliest: datetime) -> None:
        super().__init__(
            f"table {table}: its exports reach {format_instant(cursor)}, before the start of its "
            f"point-in-time recovery window (EarliestRestorableDateTime "
            f"{format_instant(earliest)}); the writes in between can no longer be exported, so "
            "the incremental chain cannot continue. Run with --rebaseline to take a new full "
            "export and restart the chain from it"
        )
        self.table = table
        self.cursor = cursor
        self.earliest = earliest


@dataclass(frozen=True, slots=True)
class IncrementalSettings:
    """How a table in incremental mode is exported.

    Attributes:
        view: ``NEW_AND_OLD_IMAGES`` or ``NEW_IMAGE`` (the ExportViewType).
        full_every: a new full export (baseline) after this long; ``None`` never takes one
            unless asked.
        lag: how far behind the latest restorable time windows end.
        grid: window ends (and new baselines) fall on multiples of this since the UTC epoch.
        min_window: shortest window exported; shorter spans wait for a later run.
        max_window: longest window; a longer backlog is split.
    """

    view: str = "NEW_AND_OLD_IMAGES"
    full_every: timedelta | None = timedelta(days=7)
    # An export sees writes made up to a minute around its time (AWS's consistency note), and a
    # window ending right at LatestRestorableDateTime has been refused (InvalidExportTime) when
    # the service had not caught up; five minutes covers both and a runner's clock skew.
    lag: timedelta = timedelta(minutes=5)
    # The shortest window AWS accepts: a run every 15 minutes exports one minimum window, and
    # 24 h is a whole number of cells, so a grid-aligned chain stays aligned while catching up.
    grid: timedelta = timedelta(minutes=15)
    min_window: timedelta = MIN_WINDOW
    max_window: timedelta = MAX_WINDOW

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ConfigError(f"view {self.view!r} is not one of {', '.join(VIEWS)}")
        if self.full_every is not None and self.full_every <= timedelta(0):
            raise ConfigError("full_every must be longer than zero (or None: never)")
        if self.lag < timedelta(0):
            raise ConfigError("lag must not be negative")
        if not MIN_WINDOW <= self.min_window <= self.max_window <= MAX_WINDOW:
            raise ConfigError(
                "windows must satisfy 15m <= min_window <= max_window <= 24h (AWS's bounds); "
                f"got min_window {_duration(self.min_window)}, "
                f"max_window {_duration(self.max_window)}"
            )
        if self.grid < _SECOND or self.grid % _SECOND or self.grid > self.max_window:
            raise ConfigError(
                f"grid must be a whole number of seconds, at least 1s and at most max_window; "
                f"got {self.grid}"
            )


@dataclass(frozen=True, slots=True)
class TableHistory:
    """What is known about one table's exports.

    Attributes:
        table_arn: the table's ARN.
        records: the table's catalog records (other tables' are left out by :meth:`of`).
        in_flight: ARNs of the table's exports still IN_PROGRESS, which the catalog does not
            hold yet; while there are any, nothing more is planned.
    """

    table_arn: str
    records: tuple[CatalogRecord, ...] = ()
    in_flight: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        others = sorted({r.table_arn for r in self.records if r.table_arn != self.table_arn})
        if others:
            raise ConfigError(
                f"the history of {self.table_arn} holds records of other tables "
                f"({', '.join(others)}): build it with TableHistory.of"
            )

    @classmethod
    def of(
        cls, records: Iterable[CatalogRecord], table_arn: str, *, in_flight: Iterable[str] = ()
    ) -> TableHistory:
        """The history of ``table_arn`` among any tables' records."""
        own = tuple(record for record in records if record.table_arn == table_arn)
        return cls(table_arn, own, tuple(in_flight))

    @property
    def table(self) -> str:
        """The table's name, from its ARN."""
        return self.table_arn.rsplit(":table/", 1)[-1].split("/", 1)[0]


@dataclass(frozen=True, slots=True)
class FullExport:
    """A full export to take (a new baseline)."""

    export_time: datetime
    reason: str
    client_token: str
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class IncrementalWindow:
    """An incremental export of the writes in ``[from_time, to_time)``."""

    from_time: datetime
    to_time: datetime
    view: str
    client_token: str
    attempt: int = 1

    @property
    def length(self) -> timedelta:
        """How long the window is."""
        return self.to_time - self.from_time

    def export_specification(self) -> dict[str, Any]:
        """The ``IncrementalExportSpecification`` of ExportTableToPointInTime."""
        return {
            "ExportFromTime": self.from_time,
            "ExportToTime": self.to_time,
            "ExportViewType": self.view,
        }


Action = FullExport | IncrementalWindow


@dataclass(frozen=True, slots=True)
class TablePlan:
    """What one run should export for one table.

    Attributes:
        table: the table's name.
        table_arn: the table's ARN.
        actions: the exports to start, in order; each should start only after the one before
            it COMPLETED, so that a failure leaves no window after a hole.
        waiting_reason: why nothing is exported this run; ``None`` when ``actions`` is not empty.
        cursor: where the COMPLETED chain ends (``None`` without a baseline).
        baseline: the chain's full export, if any.
        behind: exportable time the actions leave for later runs (``max_windows`` reached, or
            a remainder shorter than ``min_window``).
        ignored: good incremental exports the chain does not go through.
    """

    table: str
    table_arn: str
    actions: tuple[Action, ...]
    waiting_reason: str | None
    cursor: datetime | None
    baseline: CatalogRecord | None
    behind: timedelta = timedelta(0)
    ignored: tuple[IgnoredRecord, ...] = ()


def window_client_token(
    table_arn: str, from_time: datetime, to_time: datetime, attempt: int = 1
) -> str:
    """The ClientToken of exporting ``[from_time, to_time)`` of a table (SHA-256, 64 hex digits).

    ``attempt`` > 1 names a retry of a window whose export FAILED: for 8 hours AWS answers a
    token it has seen with that token's export, the failed one included.
    """
    window = f"{canonical_instant(from_time)}/{canonical_instant(to_time)}"
    name = f"ddbexport-incremental/{table_arn}/{window}"
    return _digest(name, attempt)


def full_client_token(table_arn: str, export_time: datetime, attempt: int = 1) -> str:
    """The ClientToken of a full export of a table at ``export_time`` (SHA-256, 64 hex digits)."""
    return _digest(f"ddbexport-full/{table_arn}/{canonical_instant(export_time)}", attempt)


def _digest(name: str, attempt: int) -> str:
    if attempt < 1:
        raise ConfigError(f"attempt must be 1 or more, not {attempt}")
    if attempt > 1:
        name = f"{name}/{attempt}"
    return hashlib.sha256(name.encode()).hexdigest()


def floor_to_grid(moment: datetime, grid: timedelta) -> datetime:
    """The latest multiple of ``grid`` since the UTC epoch at or before ``moment``."""
    return _EPOCH + ((require_utc(moment, "moment") - _EPOCH) // grid) * grid


def ceil_to_grid(moment: datetime, grid: timedelta) -> datetime:
    """The earliest multiple of ``grid`` since the UTC epoch at or after ``moment``."""
    return _EPOCH - ((_EPOCH - require_utc(moment, "moment")) // grid) * grid


def plan_table(
    history: TableHistory,
    pitr: PitrWindow,
    settings: IncrementalSettings,
    now: datetime,
    *,
    rebaseline: bool = False,
    max_windows: int | None = None,
) -> TablePlan:
    """What this run should export for the table of ``history``.

    Args:
        history: the table's catalog records and its exports in flight.
        pitr: the table's DescribeContinuousBackups state.
        settings: the table's incremental settings.
        now: the current time (aware).
        rebaseline: take a new full export now and restart the chain from it (the way out of a
            PITR gap).
        max_windows: plan at most this many windows; the rest of a backlog waits for later runs.

    Raises:
        PitrGapError: the chain ends before the PITR window and ``rebaseline`` is not set.
        PitrUnavailable: point-in-time recovery is off for the table.
        ConfigError: a naive datetime, or ``max_windows`` below 1.
    """
    now = require_utc(now, "now")
    if max_windows is not None and max_windows < 1:
        raise ConfigError(f"max_windows must be 1 or more, not {max_windows}")
    table = history.table
    if not pitr.enabled or pitr.earliest is None or pitr.latest is None:
        raise PitrUnavailable(
            f"table {table}: point-in-time recovery is off; exports need it",
            code="PointInTimeRecoveryUnavailableException",
        )
    earliest = require_utc(pitr.earliest, "EarliestRestorableDateTime")
    latest = require_utc(pitr.latest, "LatestRestorableDateTime")
    cursor = cursor_of(history.records, history.table_arn)
    actions: tuple[Action, ...] = ()
    waiting: str | None = None
    behind = timedelta(0)
    if history.in_flight:
        waiting = (
            f"{len(history.in_flight)} export(s) still in progress "
            f"({', '.join(history.in_flight)}): the chain continues once they finish"
        )
        return _table_plan(history, cursor, actions, waiting, behind)
    # LatestRestorableDateTime alone, not the runner's clock: both runners (the pipeline has
    # no clock of the service's) then plan the same horizon.
    horizon = floor_to_grid(latest - settings.lag, settings.grid)
    full_reason = _full_reason(cursor, settings, horizon, earliest, table, rebaseline=rebaseline)
    if full_reason is not None:
        actions, waiting = _full(history, cursor, settings, horizon, earliest, full_reason)
        return _table_plan(history, cursor, actions, waiting, behind)
    assert cursor.end is not None
    windows: list[IncrementalWindow] = []
    start = cursor.end
    while max_windows is None or len(windows) < max_windows:
        end = min(start + settings.max_window, horizon)
        if end - start < settings.min_window:
            break
        attempt = 1 + _failures(history.records, INCREMENTAL, start, end)
        token = window_client_token(history.table_arn, start, end, attempt)
        windows.append(IncrementalWindow(start, end, settings.view, token, attempt))
        start = end
    behind = max(horizon - start, timedelta(0))
    if not windows:
        next_end = min(
            ceil_to_grid(start + settings.min_window, settings.grid), start + settings.max_window
        )
        ready = ceil_to_grid(next_end, settings.grid) + settings.lag
        waiting = (
            f"next window ends at {format_instant(next_end)}: it can be exported once the "
            f"latest restorable time reaches {format_instant(ready)} (it is "
            f"{format_instant(latest)}; lag {_duration(settings.lag)})"
        )
    return _table_plan(history, cursor, tuple(windows), waiting, behind)


def _table_plan(
    history: TableHistory,
    cursor: ChainCursor,
    actions: tuple[Action, ...],
    waiting: str | None,
    behind: timedelta,
) -> TablePlan:
    return TablePlan(
        table=history.table,
        table_arn=history.table_arn,
        actions=actions,
        waiting_reason=waiting,
        cursor=cursor.end,
        baseline=cursor.baseline,
        behind=behind,
        ignored=cursor.ignored,
    )


def _full_reason(
    cursor: ChainCursor,
    settings: IncrementalSettings,
    horizon: datetime,
    earliest: datetime,
    table: str,
    *,
    rebaseline: bool,
) -> str | None:
    """Why a full export is due, or ``None``; raises :class:`PitrGapError` on a gap."""
    if rebaseline:
        return "new baseline asked for (rebaseline)"
    if cursor.baseline is None or cursor.end is None:
        return "no baseline yet: the chain starts with a full export"
    if cursor.end < earliest:
        raise PitrGapError(table, cursor.end, earliest)
    since = cursor.baseline.export_time
    assert since is not None
    # Measured to the horizon rather than to now, so that runs in one grid cell agree.
    if settings.full_every is not None and horizon - since >= settings.full_every:
        return (
            f"full_every ({_duration(settings.full_every)}) has elapsed since the baseline "
            f"at {format_instant(since)}"
        )
    return None


def _full(
    history: TableHistory,
    cursor: ChainCursor,
    settings: IncrementalSettings,
    horizon: datetime,
    earliest: datetime,
    reason: str,
) -> tuple[tuple[Action, ...], str | None]:
    """The full export at the horizon, or why it cannot be taken yet."""
    if horizon < earliest:
        first = ceil_to_grid(earliest, settings.grid)
        return (), (
            f"a full export is due ({reason}), but the PITR window starts at "
            f"{format_instant(earliest)}: it can be taken at {format_instant(first)} once the "
            f"latest restorable time reaches {format_instant(first + settings.lag)}"
        )
    baseline = cursor.baseline
    if (
        baseline is not None
        and baseline.export_time is not None
        and baseline.export_time >= horizon
    ):
        return (), (
            f"a full export is due ({reason}), but the baseline at "
            f"{format_instant(baseline.export_time)} is already as recent as this run can take "
            f"({format_instant(horizon)})"
        )
    attempt = 1 + _failures(history.records, FULL, horizon, None)
    token = full_client_token(history.table_arn, horizon, attempt)
    return (FullExport(horizon, reason, token, attempt),), None


def _failures(
    records: Sequence[CatalogRecord], export_type: str, start: datetime, end: datetime | None
) -> int:
    """How many exports of exactly this window (or full export time) ended not good."""
    return sum(
        1
        for record in records
        if not record.good
        and record.export_type == export_type
        and (
            record.export_time == start
            if export_type == FULL
            else (record.from_time, record.to_time) == (start, end)
        )
    )


def _duration(span: timedelta) -> str:
    return format_duration(span.total_seconds())
