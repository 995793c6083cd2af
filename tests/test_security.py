"""Security: no secret ever written out, every object encrypted, other accounts' buckets only on
purpose."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.cli.main import cli
from ddbexport.config.model import validate_config
from ddbexport.core.models import ExportPlan
from ddbexport.errors import AccessDenied
from ddbexport.running.preflight import apply_cheap_checks, check_plan
from ddbexport.sandbox import Sandbox, SandboxSettings
from ddbexport.testing import FakeExportApi, FakeTable, SimClock

from .helpers import BUCKET, REGION

ACCESS_KEY = "AKIAQUITESECRETKEY00"
SECRET_KEY = "s3cr3t/Key+ThatMustNeverBeWrittenAnywhere"
SESSION_TOKEN = "SessionTokenMarker//never-in-a-log-or-report"


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials with recognisable values, as a CI job or a container would have them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)


@pytest.fixture
def sandbox(secret_env: None) -> Iterator[Sandbox]:
    """A sandbox with quick exports, a bucket, one good table and one without PITR."""
    with Sandbox(SandboxSettings(base_duration_s=60, seed=2), time_scale=3600) as box:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for name in ("orders", "no-pitr"):
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            dynamodb.put_item(TableName=name, Item={"pk": {"S": "x"}})
        dynamodb.update_continuous_backups(
            TableName="orders",
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
        box.advance(60)
        yield box


def _all_objects() -> dict[str, bytes]:
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def test_no_credentials_in_output_logs_reports_journals_or_catalog(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A run with a failing table, at DEBUG level: not one credential anywhere it writes."""
    config = tmp_path / "c.toml"
    config.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\n[[tables]]\nmatch = "*"\n'
        '[run]\npoll_first = "1ms"\npoll_min = "1ms"\npoll_max = "5ms"\n'
    )
    report = tmp_path / "report.json"
    state = tmp_path / "state"
    caplog.set_level(logging.DEBUG, logger="ddbexport")
    sandbox.clock.time_scale = 200_000  # a one-minute export in a blink of real time
    result = CliRunner().invoke(
        cli,
        ["run", "-c", str(config), "--report", str(report), "--state-dir", str(state)],
        catch_exceptions=False,
    )
    assert result.exit_code == 1  # 'no-pitr' fails: its error message is written out too
    written = [
        result.stdout,
        result.stderr,
        caplog.text,
        report.read_text(),
        *(path.read_text() for path in state.rglob("*") if path.is_file()),
        *(data.decode("utf-8", errors="replace") for data in _all_objects().values()),
    ]
    assert "no-pitr" in report.read_text()
    for text in written:
        for secret in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN):
            assert secret not in text


def test_every_object_ddbexport_writes_is_encrypted(sandbox: Sandbox, tmp_path: Path) -> None:
    """Catalog records and schema sidecars carry SSE like the exports (SSE-S3 here)."""
    config = validate_config(
        {
            "region": REGION,
            "defaults": {"bucket": BUCKET},
            "tables": [{"name": "orders"}],
            "run": {"poll_first": "10s", "poll_min": "10s"},
        },
        source="t",
    )
    report = ddbexport.run(
        config,
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path,
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )
    result = report.tables[0]
    assert result.status == "COMPLETED"
    s3 = boto3.client("s3", region_name=REGION)
    for key in (result.catalog_key, result.schema_key):
        assert key is not None
        assert s3.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"


def test_every_export_request_names_its_encryption() -> None:
    """No configuration produces an export without S3SseAlgorithm; there is no 'none'."""
    clock = SimClock()
    api = FakeExportApi(clock, [FakeTable("orders"), FakeTable("users")])
    for destination in ({}, {"sse": "AES256"}, {"sse": "KMS", "kms_key": "alias/exports"}):
        config = validate_config(
            {"defaults": {"bucket": "exports", **destination}, "tables": [{"match": "*"}]},
            source="t",
        )
        plan = ddbexport.plan(config, api=api, now=clock.now())
        for request in plan.requests:
            kwargs = request.api_kwargs()
            assert kwargs["S3SseAlgorithm"] in ("AES256", "KMS")
            assert ("S3SseKmsKeyId" in kwargs) == (kwargs["S3SseAlgorithm"] == "KMS")


def test_another_accounts_bucket_only_with_bucket_owner() -> None:
    """S3BucketOwner is sent only when configured; otherwise the bucket must be the table's
    account's, which the preflight check asks S3 to confirm."""
    clock = SimClock()
    api = FakeExportApi(clock, [FakeTable("orders")])
    plain = validate_config(
        {"defaults": {"bucket": "exports"}, "tables": [{"name": "orders"}]}, source="t"
    )
    owned = validate_config(
        {
            "defaults": {"bucket": "exports", "bucket_owner": "210987654321"},
            "tables": [{"name": "orders"}],
        },
        source="t",
    )
    assert (
        "S3BucketOwner"
        not in ddbexport.plan(plain, api=api, now=clock.now()).requests[0].api_kwargs()
    )
    assert (
        ddbexport.plan(owned, api=api, now=clock.now()).requests[0].api_kwargs()["S3BucketOwner"]
        == "210987654321"
    )


class _ForeignBucketApi(FakeExportApi):
    """A fake whose bucket belongs to another account than the tables'."""

    def __init__(self, clock: SimClock) -> None:
        super().__init__(clock, [FakeTable("orders")])
        self.owner_checks: list[str | None] = []

    def check_bucket(self, bucket: str, expected_owner: str | None = None) -> None:
        self.owner_checks.append(expected_owner)
        if expected_owner != "210987654321":
            raise AccessDenied("HeadBucket: access denied", code="AccessDenied")

    def describe_key(self, key: str) -> dict[str, Any]:
        return {"KeyState": "Enabled", "KeyUsage": "ENCRYPT_DECRYPT"}


def test_a_foreign_bucket_without_bucket_owner_is_stopped_before_any_export() -> None:
    """Without bucket_owner the bucket must be the table's account's: the run refuses it."""
    clock = SimClock()
    api = _ForeignBucketApi(clock)
    config = validate_config(
        {"defaults": {"bucket": "exports"}, "tables": [{"name": "orders"}]}, source="t"
    )
    plan: ExportPlan = ddbexport.plan(config, api=api, now=clock.now())
    checked = apply_cheap_checks(plan, api, explicit_time=False)
    assert checked.requests == ()
    assert checked.problems[0].code == "AccessDenied"
    assert "set bucket_owner to that account id" in checked.problems[0].message
    assert api.owner_checks == ["123456789012"]  # the table's own account, from its ARN
    report = check_plan(plan, api)
    assert [f.subject for f in report.problems] == ["bucket"]
    assert not api.started


def test_head_bucket_sends_expected_bucket_owner_and_maps_403() -> None:
    """The adapter asks S3 to confirm the owner; a 403 is AccessDenied, a 404 BucketNotFound."""
    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name=REGION
    )
    s3 = session.client("s3", config=botocore.config.Config(retries={"total_max_attempts": 1}))
    api = AwsApi(s3=s3)
    with Stubber(s3) as stub:
        stub.add_client_error(
            "head_bucket",
            service_error_code="403",
            http_status_code=403,
            expected_params={"Bucket": "exports", "ExpectedBucketOwner": "210987654321"},
        )
        stub.add_client_error(
            "head_bucket",
            service_error_code="404",
            http_status_code=404,
            expected_params={"Bucket": "gone"},
        )
        with pytest.raises(AccessDenied, match="not owned by account 210987654321"):
            api.check_bucket("exports", "210987654321")
        with pytest.raises(ddbexport.AwsError) as missing:
            api.check_bucket("gone")
        assert missing.value.code == "NoSuchBucket"
        stub.assert_no_pending_responses()
