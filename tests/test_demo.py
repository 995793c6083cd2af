"""`ddbexport demo` and `ddbexport sandbox`, as a new user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
from click.testing import CliRunner

from ddbexport.cli.main import cli
from ddbexport.sandbox.server import free_port, serve

REGION = "eu-west-1"


def test_demo_runs_end_to_end_and_downloads_the_exports(tmp_path: Path) -> None:
    """The demo exits 0, shows the PITR failure and its fix, and leaves AWS's layout on disk."""
    output = tmp_path / "out"
    result = CliRunner().invoke(cli, ["demo", "-o", str(output), "--time-scale", "400"])
    assert result.exit_code == 0, result.output
    assert "run again with --enable-pitr" in result.output
    assert "summary: 4 COMPLETED, 4 total" in result.output
    summaries = sorted(output.rglob("manifest-summary.json"))
    assert len(summaries) == 4
    tables = {json.loads(p.read_text())["tableArn"].rsplit("/", 1)[-1] for p in summaries}
    assert tables == {"orders", "customers", "events", "audit-log"}
    for summary in summaries:
        files = summary.with_name("manifest-files.json").read_text().splitlines()
        assert len(files) == 4
        assert summary.with_name("_started").exists()


def test_sandbox_server_serves_the_cli(tmp_path: Path) -> None:
    """Against `ddbexport sandbox`'s endpoint, `ddbexport run --endpoint-url` exports for real."""
    port = free_port()
    with serve(port, time_scale=600) as (endpoint, sandbox):
        dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        boto3.client("s3", region_name=REGION, endpoint_url=endpoint).create_bucket(
            Bucket="exports", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        dynamodb.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_continuous_backups(
            TableName="orders",
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
        dynamodb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
        sandbox.advance(10)
        config = tmp_path / "c.toml"
        config.write_text('[defaults]\nbucket = "exports"\n[[tables]]\nname = "orders"\n')
        report = tmp_path / "report.json"
        env = {**os.environ, "DDBEXPORT_STATE_DIR": str(tmp_path / "state")}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ddbexport",
                "run",
                "-c",
                str(config),
                "--endpoint-url",
                endpoint,
                "--region",
                REGION,
                "--poll",
                "fixed:200ms",
                "--report",
                str(report),
                "--as-of",
                sandbox.now().isoformat(),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        table = json.loads(report.read_text())["tables"][0]
        assert table["status"] == "COMPLETED"
        assert table["item_count"] == 1
        assert "/export/" in table["export_arn"]
        assert table["describe_calls"] >= 2  # it really was IN_PROGRESS for a while


def test_sandbox_server_executes_state_machines() -> None:
    """Step Functions executions run in the sandbox server (moto's interpreter is on)."""
    with serve(free_port()) as (endpoint, _):
        sfn = boto3.client("stepfunctions", region_name=REGION, endpoint_url=endpoint)
        machine = sfn.create_state_machine(
            name="hello",
            definition=json.dumps(
                {"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "Result": 42, "End": True}}}
            ),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
        for _ in range(100):
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.05)
        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"]) == 42
