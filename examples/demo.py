"""A tour of ddbexport on a laptop: no AWS account needed.

Starts a local AWS emulator (moto server), creates a few DynamoDB tables (one without
point-in-time recovery) and a bucket, then drives the real ``ddbexport`` command line against it:
``plan``, ``run`` (one table fails alone), ``run --enable-pitr``, and a re-run of the same run id
that starts nothing new.

Run it with ``python examples/demo.py`` after ``pip install -e '.[test]'``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

REGION = "eu-west-1"
BUCKET = "demo-exports"
TABLES = {"orders": True, "customers": True, "invoices": True, "scratch": False}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seed(endpoint: str) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for name, pitr in TABLES.items():
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "backup", "Value": "daily"}],
        )
        for index in range(25):
            dynamodb.put_item(
                TableName=name, Item={"pk": {"S": f"{name}-{index}"}, "n": {"N": str(index)}}
            )
        if pitr:
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )


def _ddbexport(*args: str, env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "ddbexport", *args]
    print(f"\n$ ddbexport {' '.join(args)}", flush=True)
    return subprocess.run(command, env=env, check=False).returncode


def main() -> int:
    """Run the tour; returns 0 when every step behaved as expected."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request is noise here
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    work = Path(tempfile.mkdtemp(prefix="ddbexport-demo-"))
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_DEFAULT_REGION": REGION,
        "DDBEXPORT_STATE_DIR": str(work / "state"),
    }
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
    try:
        _seed(endpoint)
        config = work / "ddbexport.toml"
        config.write_text(
            f'region = "{REGION}"\n\n[defaults]\nbucket = "{BUCKET}"\n'
            'prefix = "dynamodb/{table}/{date}"\n\n'
            '[[tables]]\ntags = { backup = "daily" }\n\n'
            '[run]\nmax_concurrency = 2\npoll_first = "1s"\npoll_min = "1s"\n'
        )
        print(f"config ({config}):\n{config.read_text()}")
        common = ("--endpoint-url", endpoint, "-c", str(config))
        steps = []
        steps.append(_ddbexport("plan", *common, env=env) == 0)
        report = work / "report.json"
        first = _ddbexport("run", *common, "--report", str(report), env=env)
        steps.append(first == 1)  # 'scratch' has no PITR: it fails alone
        run_id = json.loads(report.read_text())["run_id"]
        print(f"(exit {first}: one table failed alone, as expected; report in {report})")
        fixed = _ddbexport("run", *common, "--run-id", run_id, "--enable-pitr", env=env)
        steps.append(fixed == 0)
        print(
            f"(exit {fixed}: the same run id resumed the three finished exports without "
            "starting them again, and exported 'scratch' after enabling PITR)"
        )
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        print(f"\n{len(keys)} objects in s3://{BUCKET}/, e.g.:")
        for key in keys[:4]:
            print(f"  {key}")
        ok = all(steps)
        print("\ndemo " + ("finished: every step behaved as expected" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
