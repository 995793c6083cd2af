"""Incremental tables through the executed state machine (moto's interpreter, JSONata patched
in) on the sandbox, and through the local runner on the same chain."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.catalog.cursor import cursor_of
from ddbexport.catalog.records import Catalog
from ddbexport.config.model import Config, validate_config
from ddbexport.core.timeparse import format_instant
from ddbexport.pipeline.stack import request_rebaseline
from ddbexport.planning.windows import full_client_token, window_client_token
from ddbexport.sandbox import Sandbox

from .helpers import BUCKET, REGION, just_past_a_grid_line
from .test_pipeline import _deploy_definition, _execute, _records, _tables, executing_sandbox

TABLE = "orders"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with executing_sandbox() as box:
        _tables(box, TABLE)
        box.advance(30 * 60)
        yield box


def _config(**table: Any) -> Config:
    return validate_config(
        {
            "region": REGION,
            "defaults": {"bucket": BUCKET, "prefix": "inc/{table}/{date}"},
            "tables": [{"name": TABLE, "mode": "incremental", **table}],
            "run": {"poll_first": "1s", "poll_min": "1s", "poll_max": "2s", "timeout": "10m"},
            "pipeline": {"limit_retry": "1s"},
        },
        source="test",
    )


def _chain() -> dict[str, Any]:
    body = boto3.client("s3", region_name=REGION).get_object(
        Bucket=BUCKET, Key=f"ddbexport-catalog/chains/table={TABLE}.json"
    )["Body"]
    return dict(json.loads(body.read()))


def _catalog_windows() -> list[tuple[Any, Any]]:
    records, unreadable = Catalog(AwsApi(AwsSettings(REGION)), "ddbexport-catalog").records(
        BUCKET, TABLE
    )
    assert unreadable == []
    return sorted(
        (r.from_time, r.to_time)
        for r in records
        if r.export_type == "INCREMENTAL_EXPORT" and r.good
    )


def test_the_pipeline_takes_a_baseline_then_chains_windows(sandbox: Sandbox) -> None:
    machine = _deploy_definition(_config())
    first = _execute(machine, {}, name="run-1")
    assert first["status"] == "SUCCEEDED", first
    record = _records("run-1")[TABLE]
    assert record["status"] == "COMPLETED", record
    assert record["export_type"] == "FULL_EXPORT"
    chain = _chain()
    assert chain["baseline_time"] == chain["end"] == record["export_time"]

    sandbox.advance(3 * 3600)
    second = _execute(machine, {}, name="run-2")
    assert second["status"] == "SUCCEEDED", second
    window = _records("run-2")[TABLE]
    assert window["export_type"] == "INCREMENTAL_EXPORT", window
    assert window["from_time"] == chain["end"]
    assert _chain()["end"] == window["to_time"]
    assert _catalog_windows()


def _local_run(sandbox: Sandbox, config: Config, tmp_path: Path) -> ddbexport.RunReport:
    return ddbexport.run(
        config,
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path / "state",
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )


def _arn() -> str:
    return f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}"


def test_both_runners_continue_each_others_chain_with_the_same_tokens(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Pipeline baseline, local window, pipeline window, local window: one chain, no gap, no
    overlap, and every export's token the one the other runner would have sent."""
    config = _config()
    machine = _deploy_definition(config)
    assert _execute(machine, {}, name="run-1")["status"] == "SUCCEEDED"
    baseline = _records("run-1")[TABLE]
    assert baseline["export"]["ClientToken"] == full_client_token(
        _arn(), datetime.fromisoformat(baseline["export_time"])
    )
    sandbox.advance(3600)
    local = _local_run(sandbox, config, tmp_path)
    assert local.exit_code == 0, local.to_dict()
    (first,) = local.tables
    assert first.from_time == datetime.fromisoformat(baseline["export_time"])
    assert _chain()["end"] == format_instant(first.to_time)

    sandbox.advance(3600)
    assert _execute(machine, {}, name="run-2")["status"] == "SUCCEEDED"
    second = _records("run-2")[TABLE]
    assert second["from_time"] == format_instant(first.to_time)
    assert second["export"]["ClientToken"] == window_client_token(
        _arn(),
        datetime.fromisoformat(second["from_time"]),
        datetime.fromisoformat(second["to_time"]),
    )
    sandbox.advance(3600)
    (third,) = _local_run(sandbox, config, tmp_path).tables
    assert format_instant(third.from_time) == second["to_time"]

    windows = _catalog_windows()
    assert len(windows) == 3
    assert all(b[0] == a[1] for a, b in itertools.pairwise(windows))
    records, _ = Catalog(AwsApi(AwsSettings(REGION)), "ddbexport-catalog").records(BUCKET, TABLE)
    cursor = cursor_of(records, _arn())
    assert cursor.end == windows[-1][1]
    assert cursor.ignored == ()


def test_a_backlog_is_caught_up_in_one_execution(sandbox: Sandbox) -> None:
    machine = _deploy_definition(_config())
    assert _execute(machine, {}, name="run-1")["status"] == "SUCCEEDED"
    base = _chain()["end"]
    sandbox.advance(3 * 24 * 3600 + 3600)
    result = _execute(machine, {}, name="run-2")
    assert result["status"] == "SUCCEEDED", result
    windows = _catalog_windows()
    assert len(windows) == 4, windows  # three days in 24-hour windows, and the remainder
    assert format_instant(windows[0][0]) == base
    assert [b - a for a, b in windows[:3]] == [timedelta(hours=24)] * 3
    assert all(b[0] == a[1] for a, b in itertools.pairwise(windows))
    assert _chain()["end"] == format_instant(windows[-1][1])


def test_a_failed_link_is_tried_again_with_a_token_of_its_own(sandbox: Sandbox) -> None:
    machine = _deploy_definition(_config())
    assert _execute(machine, {}, name="run-1")["status"] == "SUCCEEDED"
    end = _chain()["end"]
    sandbox.advance(2 * 3600)
    just_past_a_grid_line(sandbox, time_scale=20)
    sandbox.fail_exports_of(TABLE, "S3AccessDenied", "no access")
    failed = _execute(machine, {}, name="run-2")
    assert failed["status"] == "FAILED"
    record = _records("run-2")[TABLE]
    assert (record["status"], record["from_time"]) == ("FAILED", end)
    chain = _chain()
    assert chain["end"] == end  # the chain did not move
    assert chain["failed"]["attempts"] == 1
    sandbox.service.faults.failing_tables.clear()
    assert _execute(machine, {}, name="run-3")["status"] == "SUCCEEDED"
    again = _records("run-3")[TABLE]
    assert (again["from_time"], again["to_time"]) == (end, record["to_time"])
    assert again["export"]["ClientToken"] == window_client_token(
        _arn(),
        datetime.fromisoformat(again["from_time"]),
        datetime.fromisoformat(again["to_time"]),
        attempt=2,
    )
    assert again["export"]["ClientToken"] != record["export"]["ClientToken"]
    assert _chain()["failed"] is None


def test_a_pitr_gap_fails_the_table_until_a_rebaseline(sandbox: Sandbox) -> None:
    config = _config()
    machine = _deploy_definition(config)
    assert _execute(machine, {}, name="run-1")["status"] == "SUCCEEDED"
    ddb = boto3.client("dynamodb", region_name=REGION)
    for enabled in (False, True):
        ddb.update_continuous_backups(
            TableName=TABLE,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled},
        )
    sandbox.advance(40 * 60)
    stopped = _execute(machine, {}, name="run-2")
    assert stopped["status"] == "FAILED"
    record = _records("run-2")[TABLE]
    assert record["error"]["Error"] == "PitrGap", record
    assert "--rebaseline orders" in record["error"]["Cause"]

    request_rebaseline(config, AwsApi(AwsSettings(REGION)), [TABLE])
    assert _chain()["rebaseline"] is True
    assert _execute(machine, {}, name="run-3")["status"] == "SUCCEEDED"
    full = _records("run-3")[TABLE]
    assert full["export_type"] == "FULL_EXPORT"
    chain = _chain()
    assert chain["rebaseline"] is False
    assert chain["baseline_time"] == chain["end"] == full["export_time"]


def test_nothing_to_export_yet_is_waiting_not_a_failure(sandbox: Sandbox) -> None:
    just_past_a_grid_line(sandbox, time_scale=20)
    machine = _deploy_definition(_config())
    assert _execute(machine, {}, name="run-1")["status"] == "SUCCEEDED"
    result = _execute(machine, {}, name="run-2")
    assert result["status"] == "SUCCEEDED", result
    record = _records("run-2")[TABLE]
    assert record["status"] == "WAITING"
    assert "shorter than 15 minutes" in record["note"]


def test_two_executions_at_once_export_the_window_once(sandbox: Sandbox) -> None:
    """Both plan the same window (same token, same export), or the later one finds the first's
    export running and waits: never two exports."""
    machine = _deploy_definition(_config())
    assert _execute(machine, {}, name="run-1")["status"] == "SUCCEEDED"
    sandbox.advance(2 * 3600)
    just_past_a_grid_line(sandbox, time_scale=20)
    before = len(sandbox.service.exports)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    for name in ("run-a", "run-b"):
        sfn.start_execution(stateMachineArn=machine, name=name, input="{}")
    results = [_execute(machine, {}, name=name, start=False) for name in ("run-a", "run-b")]
    assert [r["status"] for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    records = [_records(name)[TABLE] for name in ("run-a", "run-b")]
    assert {record["status"] for record in records} <= {"COMPLETED", "WAITING"}
    assert "COMPLETED" in {record["status"] for record in records}
    assert len(sandbox.service.exports) == before + 1


def test_an_export_of_the_table_still_running_makes_the_run_wait(sandbox: Sandbox) -> None:
    machine = _deploy_definition(_config())
    assert _execute(machine, {}, name="run-1")["status"] == "SUCCEEDED"
    sandbox.stretch_durations(1000)
    started = boto3.client("dynamodb", region_name=REGION).export_table_to_point_in_time(
        TableArn=_arn(), S3Bucket=BUCKET, S3Prefix="elsewhere"
    )["ExportDescription"]["ExportArn"]
    sandbox.advance(2 * 3600)
    result = _execute(machine, {}, name="run-2")
    assert result["status"] == "SUCCEEDED", result
    record = _records("run-2")[TABLE]
    assert record["status"] == "WAITING"
    assert started in record["note"]


def test_the_local_runner_honours_a_rebaseline_asked_of_the_pipeline(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = _config()
    machine = _deploy_definition(config)
    assert _execute(machine, {}, name="run-1")["status"] == "SUCCEEDED"
    sandbox.advance(2 * 3600)
    request_rebaseline(config, AwsApi(AwsSettings(REGION)), [TABLE])
    (full,) = _local_run(sandbox, config, tmp_path).tables
    assert (full.status, full.export_type) == ("COMPLETED", "FULL_EXPORT")
    chain = _chain()
    assert chain["rebaseline"] is False
    assert chain["baseline_time"] == format_instant(full.export_time)


def test_kms_key_bucket_owner_and_view_reach_every_link(sandbox: Sandbox) -> None:
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    machine = _deploy_definition(
        _config(sse="KMS", kms_key=key, bucket_owner="123456789012", view="NEW_IMAGE", prefix="")
    )
    first = _execute(machine, {}, name="run-1")
    assert first["status"] == "SUCCEEDED", _records("run-1")
    sandbox.advance(2 * 3600)
    assert _execute(machine, {}, name="run-2")["status"] == "SUCCEEDED"
    full, window = sorted(
        (e.request for e in sandbox.service.exports.values()),
        key=lambda request: request.get("ExportType", ""),
    )
    for request in (full, window):
        assert request["S3SseKmsKeyId"] == key
        assert request["S3BucketOwner"] == "123456789012"
        assert "S3Prefix" not in request  # no prefix: the bucket's root
    assert "IncrementalExportSpecification" not in full
    assert window["IncrementalExportSpecification"]["ExportViewType"] == "NEW_IMAGE"
    assert "ExportTime" not in window
    s3 = boto3.client("s3", region_name=REGION)
    chain = s3.head_object(Bucket=BUCKET, Key=f"ddbexport-catalog/chains/table={TABLE}.json")
    assert chain["ServerSideEncryption"] == "aws:kms"
