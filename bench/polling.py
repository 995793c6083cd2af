"""DescribeExport calls and completion-detection lag: adaptive polling versus every 15 s.

A pure simulation of :mod:`ddbexport.running.polling` (nothing sleeps, nothing talks to
AWS). For each nominal export duration, ``SAMPLES`` exports are drawn with a seeded RNG:

* the table's previous export took ``previous = nominal * lognormal(0, SIGMA)``;
* this export takes ``actual = previous * lognormal(0, SIGMA)``.

Each export is polled exactly as :class:`ddbexport.running.runner.Runner` polls it: the export
starts at t = 0, the runner waits ``policy.next_delay(t, expected)`` and calls DescribeExport once
per check; completion is seen at the first check with ``t >= actual``; the lag is that check's time
minus ``actual``. Three cases share the same draws:

* ``fixed 15s``: ``FixedPolicy(15)``, the seed design;
* ``adaptive, no previous``: ``policy_from_settings(RunSettings())``, expected duration unknown;
* ``adaptive, previous known``: the same policy, ``expected_s = previous``.

Run ``python bench/polling.py`` (output is repeatable: the RNG is seeded). ``--candidates`` also
measures parameter sets that are *not* shipped (:func:`dataclasses.replace` on the shipped policy);
``--sigma``, ``--samples`` and ``--seed`` change the draws. The main table always uses the shipped
defaults. No wall-clock time is measured or asserted; the script always exits 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ddbexport.config.model import RunSettings
from ddbexport.running.polling import AdaptivePolicy, FixedPolicy, PollPolicy, policy_from_settings

SEED = 20261128
SAMPLES = 600
SIGMA = 0.1
FIXED_INTERVAL_S = 15.0
NOMINALS: tuple[tuple[str, float], ...] = (
    ("5 min", 5 * 60.0),
    ("15 min", 15 * 60.0),
    ("1 h", 3600.0),
    ("2 h", 2 * 3600.0),
    ("3 h", 3 * 3600.0),
)
#: Nominal durations the call-reduction target is about.
LONG_EXPORTS = ("1 h", "2 h", "3 h")
CALL_RATIO_TARGET = 10.0
LAG_TARGET_S = 60.0
#: A policy that never reaches ``actual`` within this many checks is a bug, not a result.
MAX_CHECKS = 1_000_000

FIXED = "fixed 15s"
UNKNOWN = "adaptive, no previous"
KNOWN = "adaptive, previous known"
CASES = (FIXED, UNKNOWN, KNOWN)


@dataclass(frozen=True, slots=True)
class Draw:
    """One simulated export: its previous duration and its actual duration, in seconds."""

    previous_s: float
    actual_s: float


@dataclass(frozen=True, slots=True)
class Stats:
    """DescribeExport calls per export and detection lag over the draws of one case."""

    calls_mean: float
    calls_max: int
    lag_mean_s: float
    lag_p95_s: float
    lag_max_s: float


def draws_for(nominal_s: float, rng: random.Random, count: int, sigma: float) -> list[Draw]:
    """``count`` exports around ``nominal_s``; see the module docstring for the model."""
    draws = []
    for _ in range(count):
        previous = nominal_s * rng.lognormvariate(0.0, sigma)
        draws.append(Draw(previous, previous * rng.lognormvariate(0.0, sigma)))
    return draws


def poll_until_done(
    policy: PollPolicy, actual_s: float, expected_s: float | None
) -> tuple[int, float]:
    """DescribeExport calls until completion is seen, and the detection lag in seconds."""
    elapsed = 0.0
    for calls in range(1, MAX_CHECKS + 1):
        elapsed += policy.next_delay(elapsed, expected_s)
        if elapsed >= actual_s:
            return calls, elapsed - actual_s
    raise RuntimeError(f"{policy!r} did not see a {actual_s:.0f}s export in {MAX_CHECKS} checks")


def p95(values: Sequence[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def measure(policy: PollPolicy, draws: Sequence[Draw], *, known: bool) -> Stats:
    """Poll every draw with ``policy``; ``known`` passes the previous duration as expected."""
    calls: list[int] = []
    lags: list[float] = []
    for draw in draws:
        count, lag = poll_until_done(policy, draw.actual_s, draw.previous_s if known else None)
        calls.append(count)
        lags.append(lag)
    return Stats(statistics.fmean(calls), max(calls), statistics.fmean(lags), p95(lags), max(lags))


def measure_all(
    adaptive: PollPolicy, draws_by_nominal: dict[str, list[Draw]]
) -> dict[str, dict[str, Stats]]:
    """Stats per nominal duration and case."""
    fixed = FixedPolicy(FIXED_INTERVAL_S)
    return {
        name: {
            FIXED: measure(fixed, draws, known=False),
            UNKNOWN: measure(adaptive, draws, known=False),
            KNOWN: measure(adaptive, draws, known=True),
        }
        for name, draws in draws_by_nominal.items()
    }


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the two targets hold, with the worst figure behind each."""

    calls_ok: bool
    worst_ratio: float
    worst_ratio_at: str
    lag_ok: bool
    worst_lag_s: float
    worst_lag_at: str


def judge(results: dict[str, dict[str, Stats]]) -> Verdict:
    """Check ">= 10x fewer calls for 1-3 h exports" and "mean lag <= 60 s when known"."""
    ratios = [
        (results[name][FIXED].calls_mean / results[name][case].calls_mean, f"{name}, {case}")
        for name in LONG_EXPORTS
        for case in (UNKNOWN, KNOWN)
    ]
    worst_ratio, ratio_at = min(ratios)
    lags = [(stats[KNOWN].lag_mean_s, name) for name, stats in results.items()]
    worst_lag, lag_at = max(lags)
    return Verdict(
        worst_ratio >= CALL_RATIO_TARGET,
        worst_ratio,
        ratio_at,
        worst_lag <= LAG_TARGET_S,
        worst_lag,
        lag_at,
    )


def print_table(results: dict[str, dict[str, Stats]]) -> None:
    """The main table: one row per nominal duration and case."""
    header = (
        f"{'duration':<8} {'case':<25} {'calls/export':>12} {'max':>5} "
        f"{'lag mean s':>10} {'lag p95 s':>9} {'lag max s':>9} {'fixed/this':>10}"
    )
    print(header)
    print("-" * len(header))
    for name, by_case in results.items():
        fixed_calls = by_case[FIXED].calls_mean
        for case in CASES:
            stats = by_case[case]
            ratio = "" if case == FIXED else f"{fixed_calls / stats.calls_mean:.1f}x"
            print(
                f"{name if case == FIXED else '':<8} {case:<25} {stats.calls_mean:>12.1f} "
                f"{stats.calls_max:>5} {stats.lag_mean_s:>10.1f} {stats.lag_p95_s:>9.1f} "
                f"{stats.lag_max_s:>9.1f} {ratio:>10}"
            )
        print()


def print_verdict(verdict: Verdict) -> None:
    """One line per target: OK or MISSED, with the worst case."""
    calls = "OK" if verdict.calls_ok else "MISSED"
    lag = "OK" if verdict.lag_ok else "MISSED"
    print(
        f"target >= {CALL_RATIO_TARGET:.0f}x fewer calls than fixed 15s for 1-3 h exports: "
        f"{calls} (worst {verdict.worst_ratio:.1f}x: {verdict.worst_ratio_at})"
    )
    print(
        f"target mean lag <= {LAG_TARGET_S:.0f}s when the previous duration is known: "
        f"{lag} (worst {verdict.worst_lag_s:.1f}s: {verdict.worst_lag_at})"
    )


def shipped_policy() -> AdaptivePolicy:
    """The adaptive policy exactly as the runner builds it with default settings."""
    policy = policy_from_settings(RunSettings())
    assert isinstance(policy, AdaptivePolicy)
    return policy


#: Parameter sets that are NOT shipped, measured with ``--candidates`` for comparison.
CANDIDATES: tuple[tuple[str, dict[str, float]], ...] = (
    ("near_max_s=60", {"near_max_s": 60.0}),
    ("near_max_s=60, spread=0.2", {"near_max_s": 60.0, "spread": 0.2}),
    ("near_max_s=60, spread=0.25", {"near_max_s": 60.0, "spread": 0.25}),
    ("near_max_s=90, spread=0.25", {"near_max_s": 90.0, "spread": 0.25}),
)


def print_candidates(base: AdaptivePolicy, draws_by_nominal: dict[str, list[Draw]]) -> None:
    """Per candidate: calls and lag of both adaptive cases per duration, and the verdict."""
    print("NOT SHIPPED - candidate parameters (dataclasses.replace on the shipped policy)")
    for label, changes in CANDIDATES:
        policy = dataclasses.replace(base, **changes)
        results = measure_all(policy, draws_by_nominal)
        print(f"\n{label}")
        for name, by_case in results.items():
            fixed_calls = by_case[FIXED].calls_mean
            known, unknown = by_case[KNOWN], by_case[UNKNOWN]
            print(
                f"  {name:<7} previous known: {known.calls_mean:5.1f} calls "
                f"({fixed_calls / known.calls_mean:5.1f}x), lag mean {known.lag_mean_s:5.1f}s "
                f"p95 {known.lag_p95_s:6.1f}s | no previous: {unknown.calls_mean:5.1f} calls "
                f"({fixed_calls / unknown.calls_mean:5.1f}x), lag mean {unknown.lag_mean_s:5.1f}s"
            )
        print_verdict(judge(results))


def main() -> None:
    """Simulate, print the table and the targets (and the candidates when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--candidates", action="store_true", help="also measure non-shipped parameter sets"
    )
    parser.add_argument("--sigma", type=float, default=SIGMA, help=f"default {SIGMA}")
    parser.add_argument("--samples", type=int, default=SAMPLES, help=f"default {SAMPLES}")
    parser.add_argument("--seed", type=int, default=SEED, help=f"default {SEED}")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    draws_by_nominal = {
        name: draws_for(nominal, rng, args.samples, args.sigma) for name, nominal in NOMINALS
    }
    policy = shipped_policy()
    print("Polling simulation: DescribeExport calls per export and completion-detection lag")
    print(
        f"{args.samples} exports per duration, seed {args.seed}; "
        f"previous = nominal x lognormal(0, {args.sigma}), "
        f"actual = previous x lognormal(0, {args.sigma})"
    )
    print(f"fixed:    FixedPolicy(interval_s={FIXED_INTERVAL_S:g})")
    print(f"adaptive: policy_from_settings(RunSettings()) = {policy!r}")
    print()
    results = measure_all(policy, draws_by_nominal)
    print_table(results)
    print_verdict(judge(results))
    print(
        "note: calls count DescribeExport checks only. With AwsApi the runner also looks up the "
        "previous duration\n      once per table: ListExports (1+ call), plus 1 DescribeExport"
        " when a completed export is found."
    )
    if args.candidates:
        print()
        print_candidates(policy, draws_by_nominal)


if __name__ == "__main__":
    main()
