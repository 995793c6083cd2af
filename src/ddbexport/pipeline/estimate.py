"""What exporting the config's tables costs a month, estimated from unit prices. Pure.

No AWS calls happen here: the caller gives each table's size and, when known, how long its
previous export took (``ddbexport estimate`` asks DescribeTable and ListExports for them), and
the pipeline's state machine definition. The result is an estimate, not a bill.

Per table and month (``days_per_month`` days x runs a day):

* exports: the table's size in GB x the full-export price, once per run;
* Step Functions (the pipeline only): the state transitions of the table's child execution,
  walked for its expected export duration, plus the parent execution's transitions of a run
  shared evenly over the tables, x the price per transition;
* S3 storage of the exports kept: how many the ``[retention]`` rule keeps x the table's size x
  the compressed fraction x the storage price.

The local runner pays the same exports and storage, and no Step Functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from ddbexport.config.model import Config, RetentionSettings
from ddbexport.core.timeparse import format_duration
from ddbexport.errors import ConfigError

from .transitions import child_walk, parent_walk

#: AWS bills data and storage in binary gigabytes.
GB = 2**30
DAY_S = 86_400.0
#: At most one run every five minutes: more is not a schedule of full exports anyone runs.
MAX_RUNS_PER_DAY = 288

DurationSource = Literal["previous export", "assumed"]


@dataclass(frozen=True, slots=True)
class Prices:
    """Unit prices in US dollars. The defaults are list prices in ``region`` (us-east-1);
    other regions differ (Step Functions costs $0.0279 per 1,000 transitions in us-west-1).

    Raises:
        ValueError: a price is not greater than zero.
    """

    region: str = "us-east-1"
    #: DynamoDB full export, per GB of table size. UNVERIFIED: a third-party figure, the AWS
    #: pricing page could not be read.
    export_gb: float = 0.10
    #: DynamoDB incremental export, per GB of changed data processed. UNVERIFIED: assumed to be
    #: the full export's price.
    incremental_export_gb: float = 0.10
    #: The least an incremental export is billed for (exports of near-empty windows report
    #: ``billedSizeBytes`` 10,000,000).
    incremental_minimum_bytes: int = 10_000_000
    #: Step Functions Standard, per 1,000 state transitions. The free tier (4,000 a month) is
    #: not subtracted.
    transitions_1k: float = 0.025
    #: S3 Standard storage, per GB-month (the first 50 TB a month).
    storage_gb_month: float = 0.023
    #: Names of the prices given instead of the defaults (the region's prices no longer).
    overridden: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("export_gb", "incremental_export_gb", "transitions_1k", "storage_gb_month"):
            if not getattr(self, name) > 0:
                raise ValueError(f"price {name} must be greater than 0, got {getattr(self, name)}")

    def with_overrides(
        self,
        *,
        export_gb: float | None = None,
        transitions_1k: float | None = None,
        storage_gb_month: float | None = None,
    ) -> Prices:
        """These prices with some replaced (``None`` keeps the price); the replaced ones are
        listed in ``overridden``."""
        given = {
            "export_gb": export_gb,
            "transitions_1k": transitions_1k,
            "storage_gb_month": storage_gb_month,
        }
        named = {name for name, value in given.items() if value is not None}
        return replace(
            self,
            export_gb=_given_or(export_gb, self.export_gb),
            transitions_1k=_given_or(transitions_1k, self.transitions_1k),
            storage_gb_month=_given_or(storage_gb_month, self.storage_gb_month),
            overridden=tuple(sorted(set(self.overridden) | named)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The prices as JSON-ready data."""
        data = {item.name: getattr(self, item.name) for item in fields(self)}
        data["overridden"] = list(self.overridden)
        data["currency"] = "USD"
        return data


def _given_or(value: float | None, default: float) -> float:
    return default if value is None else value


@dataclass(frozen=True, slots=True)
class Assumptions:
    """What the estimate assumes where nothing better is known."""

    #: The export's files as a fraction of the table's size. An assumption: gzip'd DynamoDB JSON
    #: often lands near half; measure a real export of your tables to replace it.
    compressed_fraction: float = 0.5
    #: A table with no previous export is assumed to export in this long …
    base_duration_s: float = 600.0
    #: … plus this long per GB of table size.
    duration_s_per_gb: float = 60.0
    #: Days priced as a month.
    days_per_month: int = 30

    def to_dict(self) -> dict[str, Any]:
        """The assumptions as JSON-ready data."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True, slots=True)
class TableInput:
    """What the estimate needs to know of one table."""

    name: str
    #: DynamoDB's TableSizeBytes.
    size_bytes: int
    #: How long the table's latest full export ran, when known.
    previous_duration_s: float | None = None
    #: Incremental mode: a window per run, a new baseline every ``full_every_s`` (None: never).
    incremental: bool = False
    full_every_s: float | None = None


@dataclass(frozen=True, slots=True)
class RunsPerDay:
    """How many runs a day are priced, and why."""

    value: int
    rule: str


@dataclass(frozen=True, slots=True)
class Kept:
    """How many exports of each table the retention rule keeps."""

    exports: int
    rule: str
    #: False when no rule is configured: storage then grows every month, and ``exports`` is
    #: the count at the end of the first month.
    bounded: bool


@dataclass(frozen=True, slots=True)
class TableEstimate:
    """One table's monthly cost, in US dollars."""

    table: str
    size_bytes: int
    export_duration_s: float
    duration_source: DurationSource
    exports_per_month: int
    export_cost: float
    transitions_per_run: float
    transitions_per_month: float
    transitions_cost: float
    kept_exports: int
    stored_gb: float
    storage_cost: float

    @property
    def size_gb(self) -> float:
        """The table's size in GB (2^30 bytes)."""
        return self.size_bytes / GB

    @property
    def pipeline_total(self) -> float:
        """Exports, Step Functions and storage: the cost with the serverless pipeline."""
        return self.export_cost + self.transitions_cost + self.storage_cost

    @property
    def local_total(self) -> float:
        """Exports and storage: the cost with the local runner."""
        return self.export_cost + self.storage_cost

    def to_dict(self) -> dict[str, Any]:
        """The table's estimate as JSON-ready data (dollars rounded to 1/10,000 of a cent)."""
        return {
            "table": self.table,
            "size_bytes": self.size_bytes,
            "size_gb": _round(self.size_gb),
            "export_duration_s": _round(self.export_duration_s),
            "duration_source": self.duration_source,
            "exports_per_month": self.exports_per_month,
            "export_cost": _round(self.export_cost),
            "transitions_per_run": _round(self.transitions_per_run),
            "transitions_per_month": _round(self.transitions_per_month),
            "transitions_cost": _round(self.transitions_cost),
            "kept_exports": self.kept_exports,
            "stored_gb": _round(self.stored_gb),
            "storage_cost": _round(self.storage_cost),
            "pipeline_total": _round(self.pipeline_total),
            "local_total": _round(self.local_total),
        }


@dataclass(frozen=True, slots=True)
class Estimate:
    """The monthly cost of exporting every table, per table and in total, in US dollars."""

    tables: tuple[TableEstimate, ...]
    runs_per_day: RunsPerDay
    kept: Kept
    prices: Prices
    assumptions: Assumptions
    #: State transitions of the parent execution in one run (shared over the tables).
    parent_transitions_per_run: int
    notes: tuple[str, ...] = field(default=())

    @property
    def runs_per_month(self) -> int:
        """Runs priced in a month."""
        return self.runs_per_day.value * self.assumptions.days_per_month

    @property
    def export_cost(self) -> float:
        """Every table's exports."""
        return sum(table.export_cost for table in self.tables)

    @property
    def transitions_cost(self) -> float:
        """Every table's share of the Step Functions transitions."""
        return sum(table.transitions_cost for table in self.tables)

    @property
    def storage_cost(self) -> float:
        """Every table's kept exports in S3."""
        return sum(table.storage_cost for table in self.tables)

    @property
    def pipeline_total(self) -> float:
        """The month with the serverless pipeline."""
        return sum(table.pipeline_total for table in self.tables)

    @property
    def local_total(self) -> float:
        """The month with the local runner (no Step Functions)."""
        return sum(table.local_total for table in self.tables)

    def to_dict(self) -> dict[str, Any]:
        """The whole estimate as JSON-ready data."""
        return {
            "estimate": "monthly cost in US dollars from list prices; not a bill",
            "prices": self.prices.to_dict(),
            "assumptions": self.assumptions.to_dict(),
            "runs_per_day": self.runs_per_day.value,
            "runs_per_day_rule": self.runs_per_day.rule,
            "runs_per_month": self.runs_per_month,
            "retention": {
                "rule": self.kept.rule,
                "kept_exports": self.kept.exports,
                "bounded": self.kept.bounded,
            },
            "parent_transitions_per_run": self.parent_transitions_per_run,
            "tables": [table.to_dict() for table in self.tables],
            "totals": {
                "export_cost": _round(self.export_cost),
                "transitions_cost": _round(self.transitions_cost),
                "storage_cost": _round(self.storage_cost),
                "pipeline": _round(self.pipeline_total),
                "local": _round(self.local_total),
            },
            "notes": list(self.notes),
        }


def _round(value: float) -> float:
    # Sums of prices pick up float noise (0.30000000000000004); a millionth of a dollar is plenty.
    return round(value, 6)


# ---------------------------------------------------------------------------- runs per day

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_CRON_ITEM = re.compile(r"^(\*|\d+|\d+-\d+)(?:/(\d+))?$")


def runs_per_day(config: Config, given: int | None = None) -> RunsPerDay:
    """The runs a day to price: ``given`` (``--runs-per-day``), else the pipeline's schedule.

    The schedule gives it when it is ``rate(N minutes|hours)`` (the runs that start in a day,
    rounded up), ``rate(N days)`` (1: a schedule less often than daily is priced as daily, an
    overestimate) or a cron that runs every day (day-of-month, month, day-of-week and year all
    ``*`` or ``?``): its minutes x its hours. Any other schedule (weekdays only, monthly …) is
    priced as 1 run a day.

    Raises:
        ConfigError: the value is not 1 to :data:`MAX_RUNS_PER_DAY`.
    """
    if given is not None:
        return RunsPerDay(_checked(given, "--runs-per-day"), "given")
    schedule = config.pipeline.schedule
    derived = schedule_runs_per_day(schedule)
    if derived is None:
        return RunsPerDay(1, f"schedule {schedule} is not a rate or a daily cron: 1 run a day")
    if derived < 1:
        return RunsPerDay(1, f"schedule {schedule} runs less than daily: priced as daily")
    runs = _checked(math.ceil(derived), f"pipeline.schedule {schedule}")
    return RunsPerDay(runs, f"from schedule {schedule}")


def _checked(runs: int, where: str) -> int:
    if not 1 <= runs <= MAX_RUNS_PER_DAY:
        raise ConfigError(
            f"{where}: {runs:,} runs a day; the estimate prices 1 to {MAX_RUNS_PER_DAY} "
            "(at most one run every 5 minutes)"
            + ("; pass --runs-per-day N" if not where.startswith("--") else "")
        )
    return runs


def schedule_runs_per_day(schedule: str) -> float | None:
    """Runs a day of an EventBridge schedule by the rule of :func:`runs_per_day`, or ``None``
    when the schedule is neither a rate nor a cron that runs every day."""
    text = schedule.strip()
    rate = _RATE.fullmatch(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if unit.startswith("minute"):
            return math.ceil(1440 / value)
        if unit.startswith("hour"):
            return math.ceil(24 / value)
        return 1 / value
    cron = _CRON.fullmatch(text)
    if not cron:
        return None
    parts = cron.group(1).split()
    if len(parts) != 6:
        return None
    minutes, hours, day_of_month, month, day_of_week, year = parts
    if day_of_month not in ("*", "?") or day_of_week not in ("*", "?"):
        return None
    if month != "*" or year != "*":
        return None
    minute_values = _cron_values(minutes, 0, 59)
    hour_values = _cron_values(hours, 0, 23)
    if minute_values is None or hour_values is None:
        return None
    return len(minute_values) * len(hour_values)


def _cron_values(text: str, low: int, high: int) -> set[int] | None:
    """The values a cron field lists (``*``, ``n``, ``a-b``, each with ``/step``)."""
    values: set[int] = set()
    for item in text.split(","):
        match = _CRON_ITEM.fullmatch(item)
        if not match:
            return None
        base, step = match.group(1), int(match.group(2) or 1)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = (int(part) for part in base.split("-"))
        else:
            # EventBridge reads "n/step" as from n to the field's end; a bare n is just n.
            first = int(base)
            last = high if match.group(2) else first
        values.update(range(first, last + 1, max(step, 1)))
    return values


# ---------------------------------------------------------------------------- retention


def kept_exports(retention: RetentionSettings, runs: int, days_per_month: int = 30) -> Kept:
    """How many exports of a table the retention rule keeps once it has applied.

    ``keep_last N`` keeps N; ``older_than D`` keeps the runs of the last D (runs a day x days,
    rounded up); without a rule nothing is deleted, and the count is a month's exports.
    """
    if retention.keep_last is not None:
        return Kept(retention.keep_last, f"keep_last {retention.keep_last}", True)
    if retention.older_than_s is not None:
        # A tiny tolerance so that 7 days x 1 run a day stays 7, not 8.
        count = max(math.ceil(runs * retention.older_than_s / DAY_S - 1e-9), 1)
        span = format_duration(retention.older_than_s)
        return Kept(count, f"older_than {span}: {runs} run(s) a day x {span}", True)
    return Kept(
        runs * days_per_month,
        f"no [retention] rule: nothing is deleted, storage grows without bound (priced: the "
        f"{runs * days_per_month} exports at the end of the first month; each month adds as many)",
        False,
    )


# ---------------------------------------------------------------------------- estimate


def expected_duration(table: TableInput, assumptions: Assumptions) -> tuple[float, DurationSource]:
    """How long the table's export is expected to take: its previous export's duration when
    known, else the assumption (base + per GB)."""
    if table.previous_duration_s is not None and table.previous_duration_s > 0:
        return float(table.previous_duration_s), "previous export"
    size_gb = table.size_bytes / GB
    return assumptions.base_duration_s + assumptions.duration_s_per_gb * size_gb, "assumed"


def incremental_export_cost(changed_bytes: int, prices: Prices) -> float:
    """One incremental export's price: the changed data, at least the billed minimum."""
    return max(changed_bytes, prices.incremental_minimum_bytes) / GB * prices.incremental_export_gb


def estimate(
    config: Config,
    tables: Sequence[TableInput],
    definition: Mapping[str, Any],
    *,
    runs: int | None = None,
    prices: Prices | None = None,
    assumptions: Assumptions | None = None,
) -> Estimate:
    """The monthly cost of full exports of ``tables`` with ``config``'s schedule and retention.

    Args:
        config: the validated configuration (its ``[pipeline]`` schedule and ``[retention]``).
        tables: the tables to price.
        definition: the pipeline's state machine definition (``synth(config).definition``),
            walked for its state transitions.
        runs: runs a day (``--runs-per-day``); by default from the schedule, see
            :func:`runs_per_day`.
        prices: unit prices (default: us-east-1's).
        assumptions: compression and durations (default: :class:`Assumptions`).

    Raises:
        ConfigError: no tables, or runs a day outside 1 to :data:`MAX_RUNS_PER_DAY`.
    """
    if not tables:
        raise ConfigError("no tables to estimate: the config selects no existing table")
    prices = prices or Prices()
    assumptions = assumptions or Assumptions()
    per_day = runs_per_day(config, runs)
    kept = kept_exports(config.retention, per_day.value, assumptions.days_per_month)
    runs_per_month = per_day.value * assumptions.days_per_month
    parent = parent_walk(definition).transitions
    estimates = []
    for table in tables:
        duration_s, source = expected_duration(table, assumptions)
        size_gb = table.size_bytes / GB
        known = duration_s if source == "previous export" else None
        per_run = child_walk(definition, duration_s, known).transitions + parent / len(tables)
        fulls, windows = _exports_per_month(table, runs_per_month, assumptions.days_per_month)
        kept_fulls = min(kept.exports, max(fulls, 1)) if table.incremental else kept.exports
        stored_gb = kept_fulls * size_gb * assumptions.compressed_fraction
        estimates.append(
            TableEstimate(
                table=table.name,
                size_bytes=table.size_bytes,
                export_duration_s=duration_s,
                duration_source=source,
                exports_per_month=fulls + windows,
                export_cost=fulls * size_gb * prices.export_gb
                + windows * incremental_export_cost(0, prices),
                transitions_per_run=per_run,
                transitions_per_month=runs_per_month * per_run,
                transitions_cost=runs_per_month * per_run / 1000 * prices.transitions_1k,
                kept_exports=kept.exports,
                stored_gb=stored_gb,
                storage_cost=stored_gb * prices.storage_gb_month,
            )
        )
    return Estimate(
        tables=tuple(estimates),
        runs_per_day=per_day,
        kept=kept,
        prices=prices,
        assumptions=assumptions,
        parent_transitions_per_run=parent,
        notes=_notes(
            config, prices, assumptions, kept, estimates, sum(t.incremental for t in tables)
        ),
    )


def _exports_per_month(table: TableInput, runs: int, days: int) -> tuple[int, int]:
    """(full exports, incremental windows) a month: a full export per run, or, for an
    incremental table, a window per run (at most one per 15 minutes) and a baseline every
    ``full_every`` (one a month when it never renews, the first one)."""
    if not table.incremental:
        return runs, 0
    windows = min(runs, days * 24 * 4)
    if table.full_every_s is None:
        return 1, windows
    return min(runs, max(1, math.ceil(days * 86_400 / table.full_every_s))), windows


def _notes(
    config: Config,
    prices: Prices,
    assumptions: Assumptions,
    kept: Kept,
    tables: Sequence[TableEstimate],
    incremental: int = 0,
) -> tuple[str, ...]:
    notes = [
        f"Estimates, not a bill: US dollars at {prices.region} list prices"
        + (f" except {', '.join(prices.overridden)} (given)" if prices.overridden else "")
        + "; the full-export price per GB is UNVERIFIED (a third-party figure).",
    ]
    if config.region and config.region != prices.region:
        notes.append(
            f"The tables are in {config.region}; prices there may differ from {prices.region}'s."
        )
    if not kept.bounded:
        notes.append(
            "No [retention] rule: storage grows without bound; the storage priced is one "
            "month's accumulation, and every further month adds as much again."
        )
    assumed = [table.table for table in tables if table.duration_source == "assumed"]
    if assumed:
        notes.append(
            f"{len(assumed)} table(s) have no previous export: their export time is assumed "
            f"to be {format_duration(assumptions.base_duration_s)} + "
            f"{format_duration(assumptions.duration_s_per_gb)} per GB."
        )
    if incremental:
        notes.append(
            f"{incremental} incremental table(s): their baselines are priced as full "
            "exports, and each window at the billed minimum of "
            f"{prices.incremental_minimum_bytes / 1e6:g} MB (a window with more changes costs "
            "more); their Step Functions transitions are priced as one export per run."
        )
    notes.append(
        f"Exported files are assumed to be {assumptions.compressed_fraction:g} of the table's "
        "size. Step Functions retries and its free tier (4,000 transitions a month), S3 "
        "requests and data transfer are not counted."
    )
    return tuple(notes)
