"""Ctrl-C on a real `ddbexport run` process, then resuming the same run id (moto server)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "eu-west-1"
HOLD_EXPORTS = """
import dataclasses, sys
from ddbexport.aws import adapter as aws
from ddbexport.cli.main import main
held = lambda d: dataclasses.replace(d, status="IN_PROGRESS")
export, describe = aws.AwsApi.export_table, aws.AwsApi.describe_export
aws.AwsApi.export_table = lambda self, r: held(export(self, r))
aws.AwsApi.describe_export = lambda self, arn: held(describe(self, arn))
sys.argv = ["ddbexport", *sys.argv[1:]]
main()
"""


@pytest.fixture
def endpoint() -> Iterator[str]:
    """A moto server on a free local port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto's backends are shared by every server in this process: start from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    yield endpoint
    server.stop()


@pytest.mark.usefixtures("ctrl_c_raises")  # the run started below inherits SIGINT's default
def test_ctrl_c_writes_report_and_same_run_id_resumes(endpoint: str, tmp_path: Path) -> None:
    """SIGINT: exit 130, all tables INTERRUPTED; rerunning the run id completes, no new export."""
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    boto3.client("s3", region_name=REGION, endpoint_url=endpoint).create_bucket(
        Bucket="exports", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    arns = []
    for name in ("orders", "users"):
        arns.append(
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )["TableDescription"]["TableArn"]
        )
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    config = tmp_path / "c.toml"
    # moto's own exports write no manifests: nothing to verify (the sandbox tests verify).
    config.write_text(
        '[defaults]\nbucket = "exports"\n[[tables]]\nmatch = "*"\n[run]\nverify = false\n'
    )
    env = {**os.environ, "DDBEXPORT_STATE_DIR": str(tmp_path / "state")}
    args = ["run", "-c", str(config), "--endpoint-url", endpoint]
    report = tmp_path / "report.json"
    # moto finishes exports at once; the first process sees them IN_PROGRESS until interrupted.
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD_EXPORTS,
            *args,
            "--poll",
            "fixed:50ms",
            "--report",
            str(report),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Interrupt once the runner has recorded both exports (it journals each start after taking
    # its ARN): seeing them in ListExports alone races the runner reading the response.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        journals = (tmp_path / "state").glob("runs/*.jsonl")
        started = sum(path.read_text().count('"export_arn"') for path in journals)
        if started >= len(arns):
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    first = json.loads(report.read_text())
    assert first["interrupted"] is True
    assert {t["status"] for t in first["tables"]} == {"INTERRUPTED"}
    assert all(t["export_arn"] for t in first["tables"])

    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ddbexport",
            *args,
            "--run-id",
            first["run_id"],
            "--poll",
            "fixed:10ms",
            "--report",
            str(report),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    second = json.loads(report.read_text())
    assert {t["status"] for t in second["tables"]} == {"COMPLETED"}
    assert [t["export_arn"] for t in second["tables"]] == [t["export_arn"] for t in first["tables"]]
    assert [len(dynamodb.list_exports(TableArn=arn)["ExportSummaries"]) for arn in arns] == [1, 1]
