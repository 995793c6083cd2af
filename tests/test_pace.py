"""The service clock: its time from Date headers, its pace from the sandbox's clock-rate header,
and runs that wait on it."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.config.model import validate_config
from ddbexport.core.pace import CLOCK_RATE_HEADER, ServiceClock
from ddbexport.sandbox import Sandbox, SandboxSettings

from .helpers import BUCKET, REGION, create_bucket, create_table

T0 = 1_796_000_000.0  # local epoch seconds in these tests


def _date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def test_without_a_rate_the_clock_is_local_time_plus_a_real_offset() -> None:
    clock = ServiceClock()
    clock.observe(_date(T0), None, T0 + 0.3)  # within the Date's rounding: no skew
    assert clock.now(T0 + 10) == datetime.fromtimestamp(T0 + 10, UTC)
    clock.observe(_date(T0 + 120), None, T0)  # the service is two minutes ahead
    assert clock.now(T0 + 10).timestamp() == pytest.approx(T0 + 130.5)
    assert clock.rate == 1.0
    assert clock.real_seconds(90) == 90


def test_a_rate_makes_service_time_run_faster_and_sleeps_shorter() -> None:
    clock = ServiceClock()
    clock.observe(_date(T0 + 3600), "300", T0)
    assert clock.rate == 300
    # Ten real seconds later, 3,000 service seconds have passed.
    assert clock.now(T0 + 10).timestamp() == pytest.approx(T0 + 3600.5 + 3000)
    assert clock.real_seconds(600) == pytest.approx(2.0)
    assert clock.real_seconds(-5) == 0


def test_dates_that_agree_with_the_prediction_keep_it_and_a_jump_moves_it() -> None:
    clock = ServiceClock()
    clock.observe(_date(T0), "100", T0)
    # One real second later the service shows +100 s (rounded down): no news.
    clock.observe(_date(T0 + 100), "100", T0 + 1.004)
    assert clock.now(T0 + 2).timestamp() == pytest.approx(T0 + 0.5 + 200)
    # The sandbox clock was advanced by an hour: the next response moves the anchor.
    clock.observe(_date(T0 + 3800), "100", T0 + 2)
    assert clock.now(T0 + 2).timestamp() == pytest.approx(T0 + 3800.5)


def test_monotonic_never_goes_back() -> None:
    clock = ServiceClock()
    clock.observe(_date(T0 + 1000), "50", T0)
    first = clock.monotonic(T0 + 1)
    clock.observe(_date(T0 + 900), "50", T0 + 1)  # an earlier Date (e.g. another endpoint)
    assert clock.monotonic(T0 + 1) == first
    assert clock.monotonic(T0 + 2) == first  # held until the service's time passes it again
    assert clock.monotonic(T0 + 5) == pytest.approx(T0 + 900.5 + 250)


@pytest.mark.parametrize("rate", ["", "abc", "0", "-3", "inf", "nan"])
def test_a_malformed_rate_changes_nothing(rate: str) -> None:
    clock = ServiceClock()
    clock.observe(_date(T0), rate, T0)
    assert clock.rate == 1.0


@pytest.mark.parametrize("date", ["", "yesterday", "Mon, 99 Foo 2026 99:99:99 GMT"])
def test_a_malformed_date_changes_nothing(date: str) -> None:
    clock = ServiceClock()
    clock.observe(date, None, T0)
    assert clock.now(T0).timestamp() == pytest.approx(T0)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(
        SandboxSettings(base_duration_s=600, seconds_per_item=0, seed=3), time_scale=500
    ) as box:
        create_bucket()
        yield box


def test_the_adapter_learns_the_sandbox_pace_and_sleeps_by_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = AwsApi(AwsSettings(REGION))
    called = time.monotonic()
    api.list_table_names()  # any response carries the header
    call_s = time.monotonic() - called
    response = boto3.client("dynamodb", region_name=REGION).list_tables()
    assert response["ResponseMetadata"]["HTTPHeaders"][CLOCK_RATE_HEADER] == "500"
    slept: list[float] = []
    monkeypatch.setattr("ddbexport.aws.session.time.sleep", slept.append)
    api.service_sleep(1000)
    assert slept == [pytest.approx(2.0)]
    # A response's Date is stamped while the sandbox handles it: "now" trails by the sandbox
    # seconds the first response took to arrive (at most its call's real time x 500; a busy
    # machine makes that long), and never leads by more than the Date's rounding.
    before = sandbox.now()
    estimate = api.service_now()
    after = sandbox.now()
    assert before - timedelta(seconds=call_s * 500 + 2) <= estimate <= after + timedelta(seconds=1)


def test_a_run_on_the_sandbox_waits_in_sandbox_seconds(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without clock or sleep given, the runner's waits are the sandbox's: every real sleep is
    the sandbox wait divided by the clock rate."""
    for name in ("aaa", "bbb"):
        create_table(name, items=0)
    sandbox.advance(60)
    config = validate_config(
        {"defaults": {"bucket": BUCKET}, "tables": [{"name": "aaa"}, {"name": "bbb"}]},
        source="t",
    )
    real_sleeps: list[float] = []
    real_sleep = time.sleep

    def recording_sleep(seconds: float) -> None:
        real_sleeps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr("ddbexport.aws.session.time.sleep", recording_sleep)
    report = ddbexport.run(config, api=AwsApi(AwsSettings(REGION)), state_dir=tmp_path)
    assert report.all_completed, report.summary
    assert real_sleeps, "the runner waited for the exports"
    # The adaptive policy's waits are minutes of sandbox time (its first: 4 min before a
    # ten-minute export could end); none of them is more than 1.2 real seconds at 500x.
    assert max(real_sleeps) <= 600 / 500 + 0.01
