"""Polling policies: pure schedules of DescribeExport calls."""

from __future__ import annotations

from ddbexport.config.model import PollSpec, RunSettings
from ddbexport.running.polling import AdaptivePolicy, FixedPolicy, PollPolicy, policy_from_settings


def _checks_until(
    policy: PollPolicy, actual_s: float, expected_s: float | None
) -> tuple[int, float]:
    elapsed, calls = 0.0, 0
    while True:
        elapsed += policy.next_delay(elapsed, expected_s)
        calls += 1
        if elapsed >= actual_s:
            return calls, elapsed - actual_s


def test_fixed_policy_polls_at_its_interval() -> None:
    """fixed:15s reproduces the seed: 240 checks for a one-hour export."""
    calls, lag = _checks_until(FixedPolicy(15), 3600, None)
    assert calls == 240
    assert lag == 0


def test_adaptive_first_check_is_just_before_the_expected_duration() -> None:
    """With a known previous duration, nothing is polled until 80 % of it has passed."""
    policy = AdaptivePolicy()
    assert policy.next_delay(0, 3600) == 3600 * 0.8


def test_adaptive_polls_densely_while_due_then_backs_off() -> None:
    """Within ±20 % of the expectation the wait is short; past it, waits grow up to the cap."""
    policy = AdaptivePolicy()
    assert policy.next_delay(3600, 3600) == 60  # 2 % of an hour is 72 s, capped at 60 s
    assert policy.next_delay(600, 600) == 15  # 2 % of 10 min is 12 s, raised to min_s
    later = [policy.next_delay(t, 3600) for t in (4400, 6000, 20000)]
    assert later == sorted(later)
    assert later[-1] == policy.max_s


def test_adaptive_without_expectation_grows_geometrically_to_the_cap() -> None:
    """Unknown duration: first check after first_s, then a quarter of the elapsed time, capped."""
    policy = AdaptivePolicy(first_s=240, min_s=15, max_s=600)
    assert policy.next_delay(0, None) == 240
    assert policy.next_delay(240, None) == 60
    assert policy.next_delay(1000, None) == 250
    assert policy.next_delay(10_000, None) == 600


def test_adaptive_uses_far_fewer_calls_than_fixed_for_long_exports() -> None:
    """A three-hour export: at least 10x fewer checks than every 15 s, known duration or not."""
    fixed_calls, _ = _checks_until(FixedPolicy(15), 3 * 3600, None)
    unknown_calls, _ = _checks_until(AdaptivePolicy(), 3 * 3600, None)
    known_calls, known_lag = _checks_until(AdaptivePolicy(), 3 * 3600, 3 * 3600)
    assert fixed_calls >= 10 * unknown_calls
    assert fixed_calls >= 10 * known_calls
    assert known_lag <= 120


def test_delays_never_fall_below_the_minimum() -> None:
    """Even right before the expected time the runner waits at least min_s."""
    policy = AdaptivePolicy(min_s=15)
    assert policy.next_delay(3600 * 0.8 - 1, 3600) == 15


def test_policy_from_settings_honours_fixed_and_big_tables() -> None:
    """fixed:30s gives a fixed policy; a 1 TB table's first check comes later than a tiny one's."""
    fixed = policy_from_settings(RunSettings(poll=PollSpec(mode="fixed", fixed_interval_s=30)))
    assert isinstance(fixed, FixedPolicy)
    assert fixed.interval_s == 30
    tiny = policy_from_settings(RunSettings(), size_bytes=1_000)
    huge = policy_from_settings(RunSettings(), size_bytes=10**12)
    assert tiny.next_delay(0, None) == 240
    assert huge.next_delay(0, None) > 3600
