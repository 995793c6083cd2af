"""The real Runner on 2,000 simulated tables: wall time, memory, threads and DescribeExport calls.

Everything runs in this process against :class:`ddbexport.testing.FakeExportApi` and a
:class:`ddbexport.testing.SimClock` (sleeping advances simulated time), so a night of exports takes
well under a second. Tables export in 5 min to 3 h (log-uniform, seeded). Each scenario is planned
with :func:`ddbexport.planning.planner.make_plan` from a ``match = "*"`` config and run by
:class:`ddbexport.running.runner.Runner`:

* 200 tables, max_concurrency 300 (the baseline for the scaling ratios);
* 2,000 tables, max_concurrency 300, then 50;
* 2,000 tables, max_concurrency 300, a second night: the previous export of every table is known
  (so the adaptive policy polls near the expected end) and durations vary by lognormal(0, 0.1).

Wall times are the median of ``REPEATS`` runs. The API calls go through a thin proxy that times
them, so the runner's own overhead can be told apart from the fake's. ``tracemalloc`` is switched
on for one extra run per scenario only (it slows Python down), after the ``ru_maxrss`` readings.

Run ``python bench/runner_scale.py``; it prints PASS/FAIL per target and always exits 0.
"""

from __future__ import annotations

import math
import random
import resource
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import ParamSpec, TypeVar

from ddbexport.config.model import Config, validate_config
from ddbexport.core.models import (
    ExportDescription,
    ExportPlan,
    ExportRequest,
    PitrWindow,
    TableInfo,
)
from ddbexport.planning.gather import LOOKUP_THREADS
from ddbexport.planning.planner import make_plan
from ddbexport.running.report import TABLE_STATUSES, RunReport
from ddbexport.running.runner import RunEvent, Runner
from ddbexport.testing import FakeExportApi, FakeTable, SimClock

SEED = 20261128
REPEATS = 5
MIN_DURATION_S = 5 * 60.0
MAX_DURATION_S = 3 * 3600.0
#: Table size per second of export time; with polling's optimistic 50 MiB/s guess, the first
#: check of a table without a previous export comes at ~20 % of its duration (at least 4 min).
BYTES_PER_EXPORT_S = 20 * 1024 * 1024
ITEM_BYTES = 1024
#: Variation of a table's export duration from one night to the next.
NIGHT_TO_NIGHT_SIGMA = 0.1
#: Long enough for 2,000 tables at max_concurrency 50 (~40 simulated hours).
RUN_TIMEOUT = "30d"
RSS_TARGET_MB = 150.0

P = ParamSpec("P")
T = TypeVar("T")


class TimedApi:
    """An ExportApi that delegates to a FakeExportApi, timing calls and sampling threads."""

    def __init__(self, fake: FakeExportApi) -> None:
        self.fake = fake
        self.seconds = 0.0
        self.max_threads = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget the time spent and threads seen so far."""
        self.seconds = 0.0
        self.max_threads = 0

    def _call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        threads = threading.active_count()
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent = time.perf_counter() - started
            with self._lock:
                self.seconds += spent
                self.max_threads = max(self.max_threads, threads)

    def list_table_names(self) -> list[str]:
        """ListTables."""
        return self._call(self.fake.list_table_names)

    def describe_table(self, name: str) -> TableInfo:
        """DescribeTable."""
        return self._call(self.fake.describe_table, name)

    def list_tags(self, table_arn: str) -> dict[str, str]:
        """ListTagsOfResource."""
        return self._call(self.fake.list_tags, table_arn)

    def export_table(self, request: ExportRequest) -> ExportDescription:
        """ExportTableToPointInTime."""
        return self._call(self.fake.export_table, request)

    def describe_export(self, export_arn: str) -> ExportDescription:
        """DescribeExport."""
        return self._call(self.fake.describe_export, export_arn)

    def latest_completed_export(self, table_arn: str) -> ExportDescription | None:
        """ListExports (+ DescribeExport) for the previous duration."""
        return self._call(self.fake.latest_completed_export, table_arn)

    def describe_pitr(self, table: str) -> PitrWindow:
        """DescribeContinuousBackups."""
        return self._call(self.fake.describe_pitr, table)

    def enable_pitr(self, table: str) -> None:
        """UpdateContinuousBackups."""
        self._call(self.fake.enable_pitr, table)

    def get_parameter(self, name: str) -> str:
        """GetParameter."""
        return self._call(self.fake.get_parameter, name)


@dataclass(frozen=True, slots=True)
class Scenario:
    """One configuration to measure."""

    label: str
    tables: int
    cap: int
    second_night: bool = False


@dataclass(slots=True)
class Observer:
    """The on_event callback: samples the thread count and measures detection lags."""

    durations: dict[str, float]
    max_threads: int = 0
    events: int = 0
    lags: list[float] = field(default_factory=list)

    def __call__(self, event: RunEvent) -> None:
        self.events += 1
        self.max_threads = max(self.max_threads, threading.active_count())
        if event.kind == "completed" and event.elapsed_s is not None:
            self.lags.append(event.elapsed_s - self.durations[event.table])


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one run of a scenario showed."""

    plan_s: float
    run_s: float
    api_s: float
    plan_threads: int
    run_threads: int
    events: int
    describe_calls: int
    lookups: int
    fake_peak_in_progress: int
    runner_peak_in_flight: int
    simulated_h: float
    lag_mean_s: float
    lag_p95_s: float
    summary: dict[str, int]
    traced_peak_bytes: int | None = None


def make_tables(count: int, rng: random.Random) -> list[FakeTable]:
    """``count`` tables whose exports take 5 min to 3 h (log-uniform)."""
    tables = []
    for index in range(count):
        duration = MIN_DURATION_S * (MAX_DURATION_S / MIN_DURATION_S) ** rng.random()
        size = int(duration * BYTES_PER_EXPORT_S)
        tables.append(
            FakeTable(
                f"table-{index:05d}",
                size_bytes=size,
                item_count=size // ITEM_BYTES,
                export_duration_s=duration,
            )
        )
    return tables


def make_config(cap: int) -> Config:
    """Every table of the account to the bucket 'exports', adaptive polling by default."""
    return validate_config(
        {
            "defaults": {"bucket": "exports"},
            "tables": [{"match": "*"}],
            "run": {"max_concurrency": cap, "timeout": RUN_TIMEOUT},
        },
        source="bench",
    )


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def run_night(
    fake: FakeExportApi, clock: SimClock, config: Config, *, traced: bool
) -> tuple[Measurement, RunReport]:
    """Plan and run every table once; measure the run."""
    api = TimedApi(fake)
    observer = Observer({name: table.export_duration_s for name, table in fake.tables.items()})
    fake.calls.clear()
    fake.peak_in_progress = 0
    simulated_from = clock.monotonic()

    started = time.perf_counter()
    plan: ExportPlan = make_plan(config, api, now=clock.now())
    plan_s = time.perf_counter() - started
    plan_threads = api.max_threads
    api.reset()

    runner = Runner(
        api,
        config.run,
        on_event=observer,
        clock=clock.monotonic,
        sleep=clock.sleep,
        now=clock.now,
    )
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    report = runner.run(plan)
    run_s = time.perf_counter() - started
    traced_peak = None
    if traced:
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    measurement = Measurement(
        plan_s=plan_s,
        run_s=run_s,
        api_s=api.seconds,
        plan_threads=plan_threads,
        run_threads=max(observer.max_threads, api.max_threads),
        events=observer.events,
        describe_calls=fake.calls["describe_export"],
        lookups=fake.calls["latest_completed_export"],
        fake_peak_in_progress=fake.peak_in_progress,
        runner_peak_in_flight=runner.peak_in_flight,
        simulated_h=(clock.monotonic() - simulated_from) / 3600,
        lag_mean_s=statistics.fmean(observer.lags) if observer.lags else 0.0,
        lag_p95_s=p95(observer.lags),
        summary=dict(report.summary),
        traced_peak_bytes=traced_peak,
    )
    return measurement, report


def run_scenario(scenario: Scenario, *, traced: bool) -> Measurement:
    """Build a fresh fake account and clock, and measure one night of ``scenario``."""
    rng = random.Random(SEED)
    tables = make_tables(scenario.tables, rng)
    clock = SimClock()
    fake = FakeExportApi(clock, tables)
    config = make_config(scenario.cap)
    if scenario.second_night:
        run_night(fake, clock, config, traced=False)  # the first night: not measured
        for table in tables:
            table.export_duration_s *= rng.lognormvariate(0.0, NIGHT_TO_NIGHT_SIGMA)
        clock.advance(timedelta(days=1).total_seconds())
    measurement, _ = run_night(fake, clock, config, traced=traced)
    return measurement


def measure(scenario: Scenario) -> Measurement:
    """The run of median wall time among ``REPEATS`` untraced runs."""
    runs = sorted((run_scenario(scenario, traced=False) for _ in range(REPEATS)), key=_run_time)
    return runs[len(runs) // 2]


def _run_time(measurement: Measurement) -> float:
    return measurement.run_s


def rss_mb() -> float:
    """This process's peak resident set size so far, in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def print_results(scenarios: list[Scenario], results: list[Measurement]) -> None:
    """One column per scenario, one row per metric."""
    rows: list[tuple[str, Callable[[Scenario, Measurement], str]]] = [
        ("tables", lambda s, m: f"{s.tables:,}"),
        ("max_concurrency (cap)", lambda s, m: str(s.cap)),
        ("previous durations known", lambda s, m: "yes" if s.second_night else "no"),
        ("simulated run time (h)", lambda s, m: f"{m.simulated_h:.1f}"),
        ("plan wall time (s)", lambda s, m: f"{m.plan_s:.3f}"),
        ("run wall time (s)", lambda s, m: f"{m.run_s:.3f}"),
        ("plan + run wall time (s)", lambda s, m: f"{m.plan_s + m.run_s:.3f}"),
        ("overhead per table (ms)", lambda s, m: f"{1000 * m.run_s / s.tables:.3f}"),
        ("  of which in FakeExportApi", lambda s, m: f"{1000 * m.api_s / s.tables:.3f}"),
        (
            "  of which Runner (+ proxy)",
            lambda s, m: f"{1000 * (m.run_s - m.api_s) / s.tables:.3f}",
        ),
        ("tracemalloc peak, run (MB)", lambda s, m: f"{(m.traced_peak_bytes or 0) / 1e6:.2f}"),
        ("  per table (KB)", lambda s, m: f"{(m.traced_peak_bytes or 0) / 1e3 / s.tables:.2f}"),
        ("threads alive in run (max)", lambda s, m: str(m.run_threads)),
        ("threads in planning (max)", lambda s, m: str(m.plan_threads)),
        ("events", lambda s, m: f"{m.events:,}"),
        ("DescribeExport calls", lambda s, m: f"{m.describe_calls:,}"),
        ("  per table", lambda s, m: f"{m.describe_calls / s.tables:.2f}"),
        ("previous-duration lookups", lambda s, m: f"{m.lookups:,}"),
        ("detection lag mean (s)", lambda s, m: f"{m.lag_mean_s:.1f}"),
        ("detection lag p95 (s)", lambda s, m: f"{m.lag_p95_s:.1f}"),
        ("peak in progress (fake)", lambda s, m: f"{m.fake_peak_in_progress} / {s.cap}"),
        ("peak in flight (runner)", lambda s, m: str(m.runner_peak_in_flight)),
    ]
    rows += [
        (f"report {status}", lambda s, m, status=status: f"{m.summary[status]:,}")
        for status in (*TABLE_STATUSES, "total")
    ]
    width = max(len(label) for label, _ in rows)
    print(f"{'':<{width}}" + "".join(f" {s.label:>14}" for s in scenarios))
    for label, cell in rows:
        values = "".join(f" {cell(s, m):>14}" for s, m in zip(scenarios, results, strict=True))
        print(f"{label:<{width}}{values}")


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def main() -> None:
    """Measure every scenario, print the table, the ratios and the targets."""
    wall_started = time.perf_counter()
    rss_at_start = rss_mb()
    baseline = Scenario("200 @300", 200, 300)
    scenarios = [
        baseline,
        Scenario("2000 @300", 2000, 300),
        Scenario("2000 @50", 2000, 50),
        Scenario("2000 @300 n2", 2000, 300, second_night=True),
    ]
    run_scenario(Scenario("warm-up", 50, 300), traced=False)

    timed = [measure(scenario) for scenario in scenarios]
    rss_untraced = rss_mb()
    results = []
    for scenario, measurement in zip(scenarios, timed, strict=True):
        traced = run_scenario(scenario, traced=True)
        results.append(replace(measurement, traced_peak_bytes=traced.traced_peak_bytes))
    rss_final = rss_mb()

    print("Runner at scale: FakeExportApi + SimClock, adaptive polling (default RunSettings)")
    print(
        f"export durations {MIN_DURATION_S / 60:.0f} min to {MAX_DURATION_S / 3600:.0f} h "
        f"(log-uniform, seed {SEED}); wall times: median of {REPEATS} runs; "
        f"'n2' = second night"
    )
    print()
    print_results(scenarios, results)
    print()

    base, big = results[0], results[1]
    per_table_base = base.run_s / baseline.tables
    per_table_big = big.run_s / scenarios[1].tables
    runner_base = (base.run_s - base.api_s) / baseline.tables
    runner_big = (big.run_s - big.api_s) / scenarios[1].tables
    memory_base = (base.traced_peak_bytes or 0) / baseline.tables
    memory_big = (big.traced_peak_bytes or 0) / scenarios[1].tables
    print("scaling, 2,000 vs 200 tables at cap 300 (1.0 = linear):")
    print(f"  run wall time per table:            {per_table_big / per_table_base:.2f}x")
    print(f"  Runner (+ proxy) time per table:    {runner_big / runner_base:.2f}x")
    print(f"  tracemalloc peak per table:         {memory_big / memory_base:.2f}x")
    print(
        "  (the fake's share grows: export_table refreshes every running export, twice per start,\n"
        "   and latest_completed_export scans every export it ever started; that is test-double\n"
        "   cost, not Runner cost)"
    )
    print()
    print(
        f"peak RSS (ru_maxrss): {rss_at_start:.1f} MB after imports, {rss_untraced:.1f} MB after "
        f"the timed runs, {rss_final:.1f} MB at the end (tracemalloc runs included)"
    )
    threads = {m.run_threads for m in results}
    plan_threads = max(m.plan_threads for m in results)
    in_cap = all(
        m.fake_peak_in_progress <= s.cap and m.runner_peak_in_flight <= s.cap
        for s, m in zip(scenarios, results, strict=True)
    )
    all_done = all(
        m.summary["COMPLETED"] == s.tables for s, m in zip(scenarios, results, strict=True)
    )
    print()
    print(f"target peak RSS <= {RSS_TARGET_MB:.0f} MB: {verdict(rss_final <= RSS_TARGET_MB)}")
    print(
        "target threads bounded regardless of table count: "
        f"{verdict(base.run_threads == big.run_threads and len(threads) == 1)} "
        f"(max {base.run_threads} at 200 tables, {big.run_threads} at 2,000; all runs: "
        f"{sorted(threads)}; planning: max {plan_threads} = main + up to {LOOKUP_THREADS} lookup "
        "threads)"
    )
    print(f"check exports in progress never above the cap: {verdict(in_cap)}")
    print(f"check every table COMPLETED: {verdict(all_done)}")
    print(f"\nbenchmark wall time: {time.perf_counter() - wall_started:.1f} s")


if __name__ == "__main__":
    main()
