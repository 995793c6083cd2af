"""Faults on the sandbox, preflight checks and `ddbexport check`: every table ends with a
definite, reported status, and nothing is exported twice or lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.cli.main import cli
from ddbexport.config.model import Config, validate_config
from ddbexport.running.report import RunReport
from ddbexport.running.runner import RunEvent
from ddbexport.sandbox import Sandbox, SandboxSettings

from .helpers import BUCKET, REGION

FAST = {"poll_first": "30s", "poll_min": "10s", "poll_max": "1m", "retry_max": "1m"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox with one-minute exports, running an hour per real second, and a bucket."""
    with Sandbox(
        SandboxSettings(base_duration_s=60, seconds_per_item=0, seed=5), time_scale=3600
    ) as box:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield box


def _tables(sandbox: Sandbox, *names: str, pitr: bool = True) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for name in names:
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "one"}})
        if pitr:
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
    sandbox.advance(60)


def _config(tables: list[dict[str, Any]] | None = None, **run: Any) -> Config:
    return validate_config(
        {
            "region": REGION,
            "defaults": {"bucket": BUCKET},
            "tables": tables or [{"match": "*"}],
            "run": {**FAST, **run},
        },
        source="test",
    )


def _run(
    sandbox: Sandbox,
    tmp_path: Path,
    config: Config,
    *,
    on_event: Any = None,
    run_id: str | None = None,
    sleep: Any = None,
) -> RunReport:
    return ddbexport.run(
        config,
        api=AwsApi(AwsSettings(REGION, max_attempts=1)),  # every fault reaches the runner
        state_dir=tmp_path / "state",
        run_id=run_id,
        on_event=on_event,
        clock=sandbox.monotonic,
        sleep=sleep or sandbox.sleep,
        now=sandbox.now,
    )


def _assert_nothing_lost(report: RunReport, tables: int) -> None:
    assert len(report.tables) == tables
    for result in report.tables:
        assert result.status in ("COMPLETED", "FAILED"), result
        if result.status == "FAILED":
            assert result.error is not None
            assert result.error.code
            assert result.error.message


def _peak_in_flight(sandbox: Sandbox) -> int:
    spans = [(export.start, export.finishes_at) for export in sandbox.service.exports.values()]
    return max(sum(1 for s, e in spans if s <= moment < e) for moment, _ in spans)


def test_quota_of_three_with_thirty_tables(sandbox: Sandbox, tmp_path: Path) -> None:
    """LimitExceeded at 3 exports in flight: all 30 complete, never more than 3 at once."""
    sandbox.settings.quota = 3
    _tables(sandbox, *[f"table-{index:02d}" for index in range(30)])
    # Ten-hour exports, and the runner's waits jump the sandbox clock: the cap is reached
    # whatever the machine's speed (an export would have to end within one real start-to-start
    # gap of several seconds not to overlap the next).
    sandbox.stretch_durations(600)
    report = _run(
        sandbox,
        tmp_path,
        # Polls and start retries sized to ten-hour exports, so the run takes few calls.
        _config(max_concurrency=10, timeout="30d", poll_first="9h", poll_max="1h", retry_max="1h"),
        sleep=lambda seconds: sandbox.advance(max(seconds, 0.0)),
    )
    _assert_nothing_lost(report, 30)
    assert report.summary["COMPLETED"] == 30
    assert len(sandbox.service.exports) == 30  # one export per table, none twice
    assert _peak_in_flight(sandbox) == 3


def test_throttling_and_server_error_bursts(sandbox: Sandbox, tmp_path: Path) -> None:
    """Bursts of ThrottlingException and InternalServerError on both calls delay, never fail."""
    _tables(sandbox, "aaa", "bbb", "ccc")
    sandbox.fail_next("DescribeExport", "ThrottlingException", times=12)
    sandbox.fail_next("ExportTableToPointInTime", "InternalServerError", times=4)
    report = _run(sandbox, tmp_path, _config())
    _assert_nothing_lost(report, 3)
    assert report.summary["COMPLETED"] == 3
    assert len(sandbox.service.exports) == 3


def test_an_export_that_ends_failed_fails_alone(sandbox: Sandbox, tmp_path: Path) -> None:
    """One export ends FAILED: its table reports AWS's code and message, the others complete."""
    _tables(sandbox, "aaa", "bbb", "ccc")
    sandbox.fail_exports_of("bbb", "UNKNOWN", "Export failed: internal error")
    report = _run(sandbox, tmp_path, _config())
    _assert_nothing_lost(report, 3)
    results = {r.table: r for r in report.tables}
    assert results["bbb"].status == "FAILED"
    assert results["bbb"].error is not None
    assert results["bbb"].error.code == "UNKNOWN"
    assert "Export failed: internal error" in results["bbb"].error.message
    assert {results["aaa"].status, results["ccc"].status} == {"COMPLETED"}


def test_bucket_deleted_mid_run(sandbox: Sandbox, tmp_path: Path) -> None:
    """The bucket vanishes after the first export started: every table ends FAILED, precisely."""
    _tables(sandbox, "aaa", "bbb", "ccc")
    s3 = boto3.client("s3", region_name=REGION)

    # The first export cannot end while its bucket is being deleted, however slow the machine:
    # it is made to last 1,000 minutes, then the clock jumps past its end once the bucket is gone.
    sandbox.stretch_durations(1000)

    def delete_bucket_once(event: RunEvent) -> None:
        if event.kind == "started" and event.table == "aaa":
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys]})
            s3.delete_bucket(Bucket=BUCKET)
            sandbox.stretch_durations(1)
            sandbox.advance(1000 * 60)

    report = _run(sandbox, tmp_path, _config(max_concurrency=1), on_event=delete_bucket_once)
    _assert_nothing_lost(report, 3)
    assert {r.status for r in report.tables} == {"FAILED"}
    assert {r.error.code for r in report.tables if r.error} == {"S3NoSuchBucket"}
    assert all("bucket does not exist" in str(r.error) for r in report.tables)


def test_kms_key_disabled_before_and_during_a_run(sandbox: Sandbox, tmp_path: Path) -> None:
    """A disabled key fails its tables before anything starts; one disabled mid-run fails the
    exports started after it, with the reason."""
    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    _tables(sandbox, "aaa", "bbb")
    config = _config(
        [{"match": "*", "sse": "KMS", "kms_key": key}],
        max_concurrency=1,
    )
    kms.disable_key(KeyId=key)
    report = _run(sandbox, tmp_path, config)
    assert not sandbox.service.exports
    assert {r.error.code for r in report.tables if r.error} == {"KeyUnusable"}
    assert f"KMS key '{key}' is Disabled; enable it" in str(report.tables[0].error)

    kms.enable_key(KeyId=key)

    def disable_after_first_start(event: RunEvent) -> None:
        if event.kind == "started":
            kms.disable_key(KeyId=key)

    sandbox.advance(3600)
    report = _run(sandbox, tmp_path, config, on_event=disable_after_first_start)
    _assert_nothing_lost(report, 2)
    statuses = {r.table: r.status for r in report.tables}
    assert statuses == {"aaa": "COMPLETED", "bbb": "FAILED"}
    failed = next(r for r in report.tables if r.table == "bbb")
    assert failed.error is not None
    assert failed.error.code == "KMSAccessDeniedException"


def test_resumed_run_never_exports_twice(sandbox: Sandbox, tmp_path: Path) -> None:
    """A run stopped mid-way and run again with its id starts only what had not started."""
    _tables(sandbox, *[f"t-{index}" for index in range(6)])
    config = _config(max_concurrency=2)
    started: list[str] = []

    def stop_after_two(event: RunEvent) -> None:
        if event.kind == "started":
            started.append(event.table)
            if len(started) == 2:
                raise KeyboardInterrupt

    first = _run(sandbox, tmp_path, config, on_event=stop_after_two)
    assert first.interrupted
    assert len(sandbox.service.exports) == 2
    second = _run(sandbox, tmp_path, config, run_id=first.run_id)
    _assert_nothing_lost(second, 6)
    assert second.summary["COMPLETED"] == 6
    assert len(sandbox.service.exports) == 6
    assert second.export_time == first.export_time


# ---------------------------------------------------------------------------- ddbexport check


def _check(tmp_path: Path, config: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "check.json"
    path.write_text(json.dumps({"region": REGION, **config}))
    result = CliRunner().invoke(cli, ["check", "-c", str(path), "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_check_reports_each_problem_with_its_fix(sandbox: Sandbox, tmp_path: Path) -> None:
    """Missing table, PITR off, missing bucket, disabled key: one finding each, with the fix."""
    _tables(sandbox, "good", "key-off", "lost")
    _tables(sandbox, "no-pitr", pitr=False)
    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key)
    code, report = _check(
        tmp_path,
        {
            "defaults": {"bucket": BUCKET},
            "tables": [
                {"name": "good"},
                {"name": "ghost"},
                {"name": "no-pitr"},
                {"name": "lost", "bucket": "no-such-bucket"},
                {"name": "key-off", "sse": "KMS", "kms_key": key},
            ],
        },
    )
    assert code == 1
    assert report["ok"] is False
    problems = {(f["table"], f["check"]): f for f in report["findings"] if not f["ok"]}
    assert set(problems) == {
        ("ghost", "table"),
        ("no-pitr", "pitr"),
        ("lost", "bucket"),
        ("key-off", "kms"),
    }
    assert "update-continuous-backups --table-name no-pitr" in problems[("no-pitr", "pitr")]["fix"]
    assert problems[("lost", "bucket")]["detail"] == "bucket 'no-such-bucket' does not exist"
    assert problems[("key-off", "kms")]["fix"] == f"enable it: aws kms enable-key --key-id {key}"
    good = [f for f in report["findings"] if f["table"] == "good"]
    assert {f["check"] for f in good} == {"table", "pitr", "bucket"}
    assert all(f["ok"] for f in good)
    assert not sandbox.service.exports  # check starts nothing


def test_check_passes_on_a_healthy_account(sandbox: Sandbox, tmp_path: Path) -> None:
    """Everything in order: exit 0."""
    _tables(sandbox, "good")
    code, report = _check(tmp_path, {"defaults": {"bucket": BUCKET}, "tables": [{"match": "*"}]})
    assert code == 0
    assert report["ok"] is True
