"""Helpers shared by the tests: moto resources, configs and fakes."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3

from ddbexport.config.model import Config, validate_config
from ddbexport.sandbox import Sandbox
from ddbexport.testing import FakeExportApi, FakeTable, SimClock

REGION = "eu-west-1"
BUCKET = "exports-bucket"
FAST_RUN: dict[str, object] = {
    "poll_first": "10ms",
    "poll_min": "10ms",
    "poll_max": "50ms",
    "retry_max": "20ms",
    # moto's own exports write no manifests, so they cannot verify; the sandbox's exports do
    # (tests/test_aftercare.py).
    "verify": False,
}


def create_table(
    name: str, *, pitr: bool = True, items: int = 3, tags: dict[str, str] | None = None
) -> str:
    """Create a moto table with a few items; returns its ARN."""
    client = boto3.client("dynamodb", region_name=REGION)
    arn = client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()] or [],
    )["TableDescription"]["TableArn"]
    for index in range(items):
        client.put_item(TableName=name, Item={"pk": {"S": f"item-{index}"}})
    if pitr:
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return arn


def create_bucket(name: str = BUCKET) -> None:
    """Create a moto bucket in the test region."""
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )


def make_config(tables: list[dict[str, object]], **run: object) -> Config:
    """A validated config for the test bucket with fast polling."""
    return validate_config(
        {
            "region": REGION,
            "defaults": {"bucket": BUCKET},
            "tables": tables,
            "run": {**FAST_RUN, **run},
        },
        source="test",
    )


def fake_api(clock: SimClock, *tables: FakeTable, **kwargs: object) -> FakeExportApi:
    """A fake export service holding ``tables`` and the bucket 'exports'."""
    return FakeExportApi(clock, list(tables), **kwargs)  # type: ignore[arg-type]


#: statelint 3.1 predates ReaderConfig's InputType (which Step Functions requires to read a JSON
#: or CSV object with ItemReader): the one problem it reports that AWS does not.
_STATELINT_GAP = re.compile(r'^ *Field "InputType" not allowed in .*\.ItemReader\.ReaderConfig$')


def statelint_problems(path: Path) -> list[str]:
    """What statelint reports of the definition at ``path``, its known gap aside."""
    run = subprocess.run(
        [str(Path(sys.executable).parent / "statelint"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode == 0:
        return []
    lines = [line for line in run.stdout.splitlines()[1:] if line.strip()]
    problems = [line.strip() for line in lines if not _STATELINT_GAP.match(line)]
    return problems or ([] if lines else [run.stdout + run.stderr])


START_OF_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def just_past_a_grid_line(sandbox: Sandbox, time_scale: float) -> None:
    """Move the sandbox to where the horizon (now less PITR's 5-minute lag and the planner's 5
    minutes) has just crossed a 15-minute line, and slow its clock to ``time_scale``: runs in
    the next quarter of an hour of sandbox time (``900 / time_scale`` real seconds, however
    busy the machine is) all plan up to the same instant."""
    behind = (sandbox.now() - timedelta(minutes=10) - START_OF_EPOCH) % timedelta(minutes=15)
    sandbox.advance((timedelta(minutes=15) - behind + timedelta(seconds=20)).total_seconds())
    sandbox.clock.set_time_scale(time_scale)
