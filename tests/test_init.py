"""`ddbexport init` on the sandbox: a dozen tables, some tagged, some without PITR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.cli.main import cli
from ddbexport.errors import ConfigError
from ddbexport.sandbox import Sandbox, SandboxSettings

from .helpers import BUCKET, REGION

WITH_PITR = [f"orders-{index:02d}" for index in range(8)]
WITHOUT_PITR = ["audit-log", "scratch-1", "scratch-2", "sessions"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxSettings(base_duration_s=60, seed=5), time_scale=3600) as box:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for index, name in enumerate(WITH_PITR + WITHOUT_PITR):
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                Tags=[{"Key": "team", "Value": "shop" if index % 2 == 0 else "data"}],
            )
            dynamodb.put_item(TableName=name, Item={"pk": {"S": name}})
            if name in WITH_PITR:
                dynamodb.update_continuous_backups(
                    TableName=name,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                )
        box.advance(600)
        yield box


def _init(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["init", "--region", REGION, *args])
    return result.exit_code, result.stdout, result.stderr


def test_init_writes_a_config_that_run_accepts(sandbox: Sandbox, tmp_path: Path) -> None:
    """Every PITR table is an entry; the others are commented out with how to enable PITR;
    `run` exports exactly the ready tables."""
    path = tmp_path / "ddbexport.toml"
    code, _, err = _init("--bucket", BUCKET, "-o", str(path))
    assert code == 0, err
    assert "12 table(s); 8 ready, 4 left commented out" in err
    text = path.read_text()
    for name in WITHOUT_PITR:
        assert f'# name = "{name}"' in text
    assert "update-continuous-backups --table-name NAME" in text
    assert "--enable-pitr" in text
    config = ddbexport.load_config(path)
    assert sorted(selector.name or "" for selector in config.tables) == WITH_PITR
    report = ddbexport.run(
        config,
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path / "state",
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )
    assert sorted(r.table for r in report.tables if r.status == "COMPLETED") == WITH_PITR


def test_init_filters_by_name_and_tag(sandbox: Sandbox, tmp_path: Path) -> None:
    code, out, err = _init(
        "--match", "orders-*", "--tag", "team=shop", "--bucket", BUCKET, "-o", "-"
    )
    assert code == 0, err
    assert "--match orders-* --tag team=shop" in out
    named = [line for line in out.splitlines() if line.startswith("name = ")]
    assert named == [f'name = "orders-{index:02d}"' for index in range(0, 8, 2)]


def test_init_never_overwrites_without_force(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "ddbexport.toml"
    path.write_text("# mine\n")
    code, _, err = _init("--bucket", BUCKET, "-o", str(path))
    assert code == 2
    assert "already exists; pass --force to overwrite it" in err
    assert path.read_text() == "# mine\n"
    assert _init("--bucket", BUCKET, "-o", str(path), "--force")[0] == 0
    assert "orders-00" in path.read_text()


def test_without_a_bucket_the_config_says_what_to_set(sandbox: Sandbox, tmp_path: Path) -> None:
    """No --bucket: the file is written with the bucket to fill in, and loading it says so."""
    path = tmp_path / "ddbexport.toml"
    code, _, err = _init("-o", str(path))
    assert code == 0, err
    assert "set defaults.bucket before running" in err
    with pytest.raises(ConfigError, match="bucket"):
        ddbexport.load_config(path)


def test_bad_tag_and_bad_bucket_are_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    code, _, err = _init("--tag", "team", "-o", "-")
    assert code == 2
    assert "--tag 'team': expected KEY=VALUE" in err
    code, _, err = _init("--bucket", "Not A Bucket!", "-o", str(tmp_path / "x.toml"))
    assert code == 2
    assert "bucket" in err
    assert not (tmp_path / "x.toml").exists()
