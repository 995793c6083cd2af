"""A `ddbexport run` process killed with SIGKILL mid-run, then run again with its run id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3

from ddbexport.sandbox import SandboxSettings
from ddbexport.sandbox.server import free_port, serve

REGION = "eu-west-1"
TABLES = [f"table-{index}" for index in range(5)]


def _journal_exports(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if '"kind": "export"' in line)


def test_sigkill_then_same_run_id_finishes_without_duplicates(tmp_path: Path) -> None:
    """No report and no cleanup after SIGKILL; the re-run attaches, finishes and reports all."""
    settings = SandboxSettings(base_duration_s=240, seconds_per_item=0, seed=11)
    with serve(free_port(), time_scale=60, settings=settings) as (endpoint, sandbox):
        dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        boto3.client("s3", region_name=REGION, endpoint_url=endpoint).create_bucket(
            Bucket="exports", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        for name in TABLES:
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            dynamodb.put_item(TableName=name, Item={"pk": {"S": "one"}})
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        sandbox.advance(60)
        config = tmp_path / "c.toml"
        config.write_text(
            f'region = "{REGION}"\n[defaults]\nbucket = "exports"\n[[tables]]\nmatch = "*"\n'
            '[run]\nmax_concurrency = 2\npoll = "fixed:1s"\n'
        )
        state = tmp_path / "state"
        env = {**os.environ, "DDBEXPORT_STATE_DIR": str(state)}
        run_id = "nightly-crash-test"
        command = [
            sys.executable,
            "-m",
            "ddbexport",
            "run",
            "-c",
            str(config),
            "--endpoint-url",
            endpoint,
            "--run-id",
            run_id,
        ]
        first_report = tmp_path / "first.json"
        process = subprocess.Popen(
            [*command, "--report", str(first_report)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        journal = state / "runs" / f"{run_id}.jsonl"
        deadline = time.monotonic() + 30
        while _journal_exports(journal) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _journal_exports(journal) == 2, "the run never started two exports"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
        assert not first_report.exists()  # killed: no chance to write anything
        assert len(sandbox.service.exports) == 2

        report_path = tmp_path / "second.json"
        second = subprocess.run(
            [*command, "--report", str(report_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        report = json.loads(report_path.read_text())
        assert report["run_id"] == run_id
        assert sorted(t["table"] for t in report["tables"]) == TABLES
        assert {t["status"] for t in report["tables"]} == {"COMPLETED"}
        assert len(sandbox.service.exports) == len(TABLES)  # nothing exported twice
        assert {t["export_arn"] for t in report["tables"]} == set(sandbox.service.exports)
        assert len({t["export_time"] for t in report["tables"]}) == 1
