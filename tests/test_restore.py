"""`restore`: a full export back into a new table with ImportTable, on the sandbox."""

from __future__ import annotations

import gzip
import json
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ddbexport
import ddbexport.cli.restore
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.cli.main import cli
from ddbexport.data.restore import (
    KeyAttribute,
    SourceTable,
    parse_keys,
    plan_restore,
    restore,
    restore_client_token,
    source_from_schema,
    sse_specification,
    table_creation_parameters,
)
from ddbexport.errors import AccessDenied, AwsError, ConfigError, RetryableAwsError
from ddbexport.sandbox import Sandbox, SandboxSettings

from . import test_reader as reader_tests
from .helpers import BUCKET, REGION

FAST: dict[str, Any] = {"poll_s": 0.01, "timeout_s": 20.0}
ITEMS: list[dict[str, Any]] = [
    {
        "pk": {"S": "order-1"},
        "sk": {"N": "1"},
        "customer": {"S": "ann"},
        "total": {"N": "12.50"},
        "paid": {"BOOL": True},
        "note": {"NULL": True},
        "blob": {"B": b"\x00\x01\xff"},
        "lines": {"L": [{"S": "apple"}, {"N": "3"}]},
        "address": {"M": {"city": {"S": "Oslo"}, "zip": {"N": "150"}}},
        "labels": {"SS": ["gift", "rush"]},
        "sizes": {"NS": ["1", "2.5"]},
        "codes": {"BS": [b"a", b"b"]},
        "expires": {"N": "4102444800"},
    },
    {"pk": {"S": "order-1"}, "sk": {"N": "2"}, "customer": {"S": "ann"}, "total": {"N": "3"}},
    {"pk": {"S": "order-2"}, "sk": {"N": "1"}, "customer": {"S": "bob"}, "unicode": {"S": "ø✓"}},
    {"pk": {"S": "order-3"}, "sk": {"N": "-7"}},  # no customer: absent from the sparse GSI
    {"pk": {"S": "order-4"}, "sk": {"N": "1000"}, "empty_list": {"L": []}, "empty_map": {"M": {}}},
    {"pk": {"S": "order-5"}, "sk": {"N": "0"}, "customer": {"S": "cy"}},
]


def _ddb() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox with a bucket and an 'orders' table: sort key, sparse GSI, TTL, tags, PITR."""
    with Sandbox(SandboxSettings(base_duration_s=60, seed=7), time_scale=3600) as box:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        _create_orders("orders")
        box.advance(60)
        yield box


def _create_orders(name: str, **extra: Any) -> None:
    gsi: dict[str, Any] = {
        "IndexName": "by-customer",
        "KeySchema": [
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
    }
    billing: dict[str, Any] = {"BillingMode": "PAY_PER_REQUEST"}
    if extra.pop("provisioned", False):
        billing = {
            "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
        }
        gsi["ProvisionedThroughput"] = {"ReadCapacityUnits": 4, "WriteCapacityUnits": 2}
    _ddb().create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "customer", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[gsi],
        Tags=[{"Key": "team", "Value": "shop"}, {"Key": "cost-centre", "Value": "42"}],
        **billing,
        **extra,
    )
    _ddb().update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    _ddb().update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    for item in ITEMS:
        _ddb().put_item(TableName=name, Item=item)


def _export(sandbox: Sandbox, tmp_path: Path, *, fmt: str = "DYNAMODB_JSON") -> str:
    """Export every table with a local ddbexport run; the URL of the first table's export."""
    config = tmp_path / f"ddbexport-{fmt}.toml"
    config.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\nprefix = "exports/{{table}}"\n'
        f'format = "{fmt}"\n[[tables]]\nmatch = "*"\n[run]\npoll_first = "10s"\npoll_min = "10s"\n'
    )
    report = ddbexport.run(
        ddbexport.load_config(config),
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path / "state",
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )
    assert report.exit_code == 0
    result = report.tables[0]
    assert result.schema_key is not None  # the sidecar restore reads
    export_id = str(result.export_arn).rsplit("/", 1)[-1]
    return f"s3://{BUCKET}/exports/{result.table}/AWSDynamoDB/{export_id}/"


class RecordingApi(AwsApi):
    """The real adapter, remembering every ImportTable request."""

    def __init__(self) -> None:
        super().__init__(AwsSettings(REGION))
        self.requests: list[dict[str, Any]] = []

    def import_table(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(request)
        return super().import_table(request)


class ScriptedImports(RecordingApi):
    """Real S3 and DynamoDB reads; ImportTable and DescribeImport answer from a script."""

    def __init__(self, *answers: dict[str, Any] | Exception) -> None:
        super().__init__()
        self.answers = list(answers)
        self.describes = 0

    def _next(self) -> dict[str, Any]:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return {"ImportArn": "arn:aws:dynamodb:eu-west-1:1:table/copy/import/01", **answer}

    def import_table(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(request)
        return self._next()

    def describe_import(self, import_arn: str) -> dict[str, Any]:
        self.describes += 1
        return self._next()


def _canonical(value: Any) -> Any:
    """An attribute value with set members sorted (sets have no order)."""
    if isinstance(value, dict):
        return {
            key: sorted(inner) if key in ("SS", "NS", "BS") else _canonical(inner)
            for key, inner in value.items()
        }
    if isinstance(value, list):
        return [_canonical(inner) for inner in value]
    return value


def _items(table: str) -> list[Any]:
    pages = _ddb().get_paginator("scan").paginate(TableName=table)
    items = [_canonical(item) for page in pages for item in page["Items"]]
    return sorted(items, key=lambda item: (item["pk"]["S"], float(item["sk"]["N"])))


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--region", REGION], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------------------- restores


def test_restore_waits_and_rebuilds_the_table(sandbox: Sandbox, tmp_path: Path) -> None:
    """Items, keys, GSI, billing mode, TTL and tags all come back; the request is AWS's shape."""
    target = _export(sandbox, tmp_path)
    api = RecordingApi()
    seen: list[str] = []
    result = restore(
        target, "orders-copy", api=api, wait=True, progress=lambda p: seen.append(p.status), **FAST
    )
    assert result.ok, result.to_dict()
    assert result.status == "COMPLETED"
    assert seen[-1] == "COMPLETED"
    assert result.progress.imported_items == len(ITEMS)
    assert _items("orders-copy") == _items("orders")

    (request,) = api.requests
    export_id = target.rstrip("/").rsplit("/", 1)[-1]
    assert request["S3BucketSource"] == {
        "S3Bucket": BUCKET,
        "S3KeyPrefix": f"exports/orders/AWSDynamoDB/{export_id}/data/",
    }
    assert (request["InputFormat"], request["InputCompressionType"]) == ("DYNAMODB_JSON", "GZIP")
    assert request["ClientToken"] == restore_client_token(export_id, "orders-copy")
    assert "SSESpecification" not in request["TableCreationParameters"]  # AWS owned, as before

    table = _ddb().describe_table(TableName="orders-copy")["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    (gsi,) = table["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "by-customer"
    assert gsi["KeySchema"][0] == {"AttributeName": "customer", "KeyType": "HASH"}
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]}
    # (moto cannot project binary sets through an INCLUDE index: ask for a customer without one)
    by_customer = _ddb().query(
        TableName="orders-copy",
        IndexName="by-customer",
        KeyConditionExpression="customer = :c",
        ExpressionAttributeValues={":c": {"S": "bob"}},
    )
    assert [item["pk"]["S"] for item in by_customer["Items"]] == ["order-2"]
    ttl = _ddb().describe_time_to_live(TableName="orders-copy")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")
    tags = _ddb().list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == {"team": "shop", "cost-centre": "42"}
    assert result.applied == ("TTL on 'expires'", "2 tag(s)")
    assert any("point-in-time recovery" in note for note in result.plan.notes)


def test_provisioned_table_keeps_its_capacity_and_customer_key(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """PROVISIONED capacities (table and GSI) and the customer managed SSE key are carried over;
    --billing-mode PAY_PER_REQUEST drops the capacities."""
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    _ddb().delete_table(TableName="orders")
    _create_orders(
        "orders",
        provisioned=True,
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
    )
    sandbox.advance(60)
    target = _export(sandbox, tmp_path)
    api = RecordingApi()
    result = restore(target, "orders-copy", api=api, wait=True, **FAST)
    assert result.ok, result.to_dict()
    params = api.requests[0]["TableCreationParameters"]
    assert params["BillingMode"] == "PROVISIONED"
    assert params["ProvisionedThroughput"] == {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3}
    assert params["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] == {
        "ReadCapacityUnits": 4,
        "WriteCapacityUnits": 2,
    }
    assert params["SSESpecification"] == {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}
    table = _ddb().describe_table(TableName="orders-copy")["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert _items("orders-copy") == _items("orders")

    on_demand = plan_restore(target, "other", api=api, billing_mode="PAY_PER_REQUEST")
    params = on_demand.request["TableCreationParameters"]
    assert params["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in params
    assert "ProvisionedThroughput" not in params["GlobalSecondaryIndexes"][0]


def test_an_ion_export_restores_too(sandbox: Sandbox, tmp_path: Path) -> None:
    """InputFormat follows the export's format."""
    target = _export(sandbox, tmp_path, fmt="ION")
    api = RecordingApi()
    result = restore(target, "orders-from-ion", api=api, wait=True, **FAST)
    assert result.ok, result.to_dict()
    assert api.requests[0]["InputFormat"] == "ION"
    assert _items("orders-from-ion") == _items("orders")


def test_an_existing_table_is_refused_and_nothing_starts(sandbox: Sandbox, tmp_path: Path) -> None:
    target = _export(sandbox, tmp_path)
    api = RecordingApi()
    with pytest.raises(ConfigError, match="table 'orders' already exists"):
        restore(target, "orders", api=api, wait=True, **FAST)
    assert api.requests == []
    code, _, err = _cli("restore", target, "--table", "orders")
    assert code == 2
    assert "ImportTable only creates new tables" in err


def test_an_incremental_export_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    """Changes only: the message points at the baseline instead."""
    _export(sandbox, tmp_path)
    start = sandbox.now()
    sandbox.advance(1)
    _ddb().put_item(TableName="orders", Item={"pk": {"S": "late"}, "sk": {"N": "1"}})
    sandbox.advance(20 * 60)
    table_arn = _ddb().describe_table(TableName="orders")["Table"]["TableArn"]
    started = _ddb().export_table_to_point_in_time(
        TableArn=table_arn,
        S3Bucket=BUCKET,
        S3Prefix="inc",
        ExportType="INCREMENTAL_EXPORT",
        IncrementalExportSpecification={
            "ExportFromTime": start,
            "ExportToTime": start + timedelta(minutes=15),
            "ExportViewType": "NEW_IMAGE",
        },
    )["ExportDescription"]
    sandbox.advance(600)
    export_id = started["ExportArn"].rsplit("/", 1)[-1]
    target = f"s3://{BUCKET}/inc/AWSDynamoDB/{export_id}/"
    api = RecordingApi()
    with pytest.raises(ConfigError, match="INCREMENTAL_EXPORT") as caught:
        restore(target, "orders-copy", api=api)
    assert "full export at or before" in str(caught.value)
    assert api.requests == []


def test_without_a_sidecar_the_source_table_is_described(sandbox: Sandbox, tmp_path: Path) -> None:
    """Exports not made by ddbexport: DescribeTable of the table in manifest-summary.json."""
    target = _export(sandbox, tmp_path)
    bucket, _, folder = target[len("s3://") :].partition("/")
    boto3.client("s3", region_name=REGION).delete_object(
        Bucket=bucket, Key=f"{folder}ddbexport-schema.json"
    )
    result = restore(target, "orders-copy", api=RecordingApi(), wait=True, **FAST)
    assert result.ok, result.to_dict()
    assert result.plan.definition.startswith("DescribeTable of arn:aws:dynamodb:")
    assert any("as it is now" in note for note in result.plan.notes)
    assert _items("orders-copy") == _items("orders")
    table = _ddb().describe_table(TableName="orders-copy")["Table"]
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by-customer"
    assert result.applied == ("TTL on 'expires'", "2 tag(s)")


def test_without_sidecar_or_source_table_the_keys_must_be_given(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = _export(sandbox, tmp_path)
    original = _items("orders")
    bucket, _, folder = target[len("s3://") :].partition("/")
    boto3.client("s3", region_name=REGION).delete_object(
        Bucket=bucket, Key=f"{folder}ddbexport-schema.json"
    )
    _ddb().delete_table(TableName="orders")
    api = RecordingApi()
    with pytest.raises(ConfigError, match="keys are unknown") as caught:
        restore(target, "orders-copy", api=api)
    assert "--key NAME:TYPE" in str(caught.value)
    assert api.requests == []
    code, out, err = _cli(
        "restore",
        target,
        "--table",
        "orders-copy",
        "--key",
        "pk:S,sk:N",
        "--wait",
        "--poll",
        "10ms",
    )
    assert code == 0, err
    assert "COMPLETED" in out
    assert _items("orders-copy") == original
    table = _ddb().describe_table(TableName="orders-copy")["Table"]
    assert table.get("GlobalSecondaryIndexes", []) == []


def test_a_key_option_must_agree_with_the_sidecar(sandbox: Sandbox, tmp_path: Path) -> None:
    target = _export(sandbox, tmp_path)
    with pytest.raises(ConfigError, match="disagrees with the export's schema sidecar"):
        plan_restore(target, "orders-copy", api=RecordingApi(), keys=parse_keys("pk:S"))
    plan = plan_restore(target, "orders-copy", api=RecordingApi(), keys=parse_keys("pk:S,sk:N"))
    assert plan.definition == "schema sidecar"


def test_a_local_folder_is_refused_with_its_s3_home(sandbox: Sandbox, tmp_path: Path) -> None:
    """ImportTable reads S3 only: upload the folder, or use the URL the export came from."""
    target = _export(sandbox, tmp_path)
    bucket, _, folder = target[len("s3://") :].partition("/")
    s3 = boto3.client("s3", region_name=REGION)
    copy = tmp_path / "copy"
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=folder)["Contents"]:
        path = copy / obj["Key"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    local = str(copy / folder)
    with pytest.raises(ConfigError, match="ImportTable reads only from S3") as caught:
        restore(local, "orders-copy", api=RecordingApi())
    assert f"it was exported to {target}" in str(caught.value)
    code, _, err = _cli("restore", local, "--table", "orders-copy")
    assert code == 2
    assert "Upload the export folder" in err
    code, _, err = _cli("restore", "exports-bucket/exports/x", "--table", "orders-copy")
    assert code == 2
    assert "is neither an s3:// URL nor a folder on disk" in err


def test_stray_objects_in_data_are_refused_and_a_failed_import_exits_1(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """ImportTable would read any object under data/; with --no-verify it does, and fails."""
    target = _export(sandbox, tmp_path)
    bucket, _, folder = target[len("s3://") :].partition("/")
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=bucket, Key=f"{folder}data/stray.json.gz", Body=gzip.compress(b"not an item\n")
    )
    code, _, err = _cli("restore", target, "--table", "orders-copy", "--wait")
    assert code == 2
    assert "object(s) the export's manifest does not list" in err
    assert "data/stray.json.gz" in err
    code, out, err = _cli(
        "restore", target, "--table", "orders-copy", "--wait", "--poll", "10ms", "--no-verify"
    )
    assert code == 1
    assert "error: the import FAILED" in err
    assert "applied:" not in out  # no TTL or tags on a failed import


# ---------------------------------------------------------------------------- the CLI


def test_cli_restore_wait_json(sandbox: Sandbox, tmp_path: Path) -> None:
    target = _export(sandbox, tmp_path)
    code, out, err = _cli(
        "restore", target, "--table", "orders-copy", "--wait", "--poll", "10ms", "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "COMPLETED"
    assert result["ok"] is True
    assert result["imported_items"] == len(ITEMS)
    assert result["error_count"] == 0
    assert result["applied"] == ["TTL on 'expires'", "2 tag(s)"]
    assert result["plan"]["request"]["InputFormat"] == "DYNAMODB_JSON"
    assert "restore orders-copy: COMPLETED" in err  # progress lines on stderr
    assert _items("orders-copy") == _items("orders")


def test_cli_without_wait_then_finish_with_the_import_arn(sandbox: Sandbox, tmp_path: Path) -> None:
    """Without --wait: the ARN and how to follow it; the printed finish command (which repeats
    the options that shaped the plan) waits and then applies TTL and tags."""
    target = _export(sandbox, tmp_path)
    code, out, err = _cli(
        "restore",
        target,
        "--table",
        "orders-copy",
        "--billing-mode",
        "PROVISIONED",
        "--capacity",
        "2:2",
    )
    assert code == 0, err
    arn = next(line for line in out.splitlines() if line.startswith("import ARN: "))[12:]
    assert f"aws dynamodb describe-import --import-arn {arn}" in out
    finish = next(line for line in out.splitlines() if line.startswith("finish it"))
    words = shlex.split(finish.split(": ", 1)[1])
    assert words[:2] == ["ddbexport", "restore"]
    assert "--billing-mode PROVISIONED --capacity 2:2" in finish
    assert f"--import-arn {arn} --wait" in finish
    table_arn = _ddb().describe_table(TableName="orders-copy")["Table"]["TableArn"]
    assert _ddb().list_tags_of_resource(ResourceArn=table_arn)["Tags"] == []

    code, out, err = _cli(*words[1:], "--poll", "10ms")
    assert code == 0, err
    assert "applied: TTL on 'expires'" in out
    assert len(_ddb().list_tags_of_resource(ResourceArn=table_arn)["Tags"]) == 2
    code, _, err = _cli("restore", target, "--table", "users", "--import-arn", arn)
    assert code == 2
    assert "not table 'users'" in err


def test_cli_dry_run_prints_the_request_and_starts_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = _export(sandbox, tmp_path)
    code, out, _ = _cli("restore", target, "--table", "orders-copy", "--dry-run", "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["request"]["TableCreationParameters"]["TableName"] == "orders-copy"
    assert plan["ttl_attribute"] == "expires"
    assert "orders-copy" not in _ddb().list_tables()["TableNames"]


def test_cli_failed_import_reports_code_message_and_log_group(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _export(sandbox, tmp_path)
    api = ScriptedImports(
        {"ImportStatus": "IN_PROGRESS"},
        {
            "ImportStatus": "FAILED",
            "ErrorCount": 2,
            "ProcessedItemCount": 6,
            "ImportedItemCount": 4,
            "FailureCode": "ItemValidationError",
            "FailureMessage": "Some of the items failed validation checks",
            "CloudWatchLogGroupArn": "arn:aws:logs:eu-west-1:1:log-group:/aws-dynamodb/imports",
            "TableArn": "arn:aws:dynamodb:eu-west-1:1:table/orders-copy",
        },
    )
    monkeypatch.setattr(ddbexport.cli.restore, "aws_api", lambda *_: api)
    code, out, err = _cli("restore", target, "--table", "orders-copy", "--wait", "--poll", "1ms")
    assert code == 1
    assert "error: the import FAILED: ItemValidationError: Some of the items failed" in err
    assert "2 item(s) could not be imported" in err
    assert "log-group:/aws-dynamodb/imports" in err
    assert "FAILED:" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--table", "x"], "table name 'x' is not allowed"),
        (["--table", "copy", "--poll", "soon"], "--poll: 'soon' is not a duration"),
        (["--table", "copy", "--key", "pk:X"], "key attributes are S (string), N (number) or B"),
        (["--table", "copy", "--capacity", "5"], "expected READ:WRITE capacity units"),
        (["--table", "copy", "--capacity", "5:5"], "--capacity applies only to PROVISIONED"),
        (["--table", "copy", "--bucket-owner", "me"], "must be a 12-digit AWS account id"),
        (["--table", "copy", "--dry-run", "--import-arn", "arn"], "--dry-run starts nothing"),
    ],
)
def test_cli_bad_input_exits_2(
    sandbox: Sandbox, tmp_path: Path, args: list[str], message: str
) -> None:
    target = _export(sandbox, tmp_path)
    code, _, err = _cli("restore", target, *args)
    assert code == 2
    assert message in err


class FailingTtl(RecordingApi):
    """UpdateTimeToLive answers with a given error."""

    def __init__(self, error: AwsError) -> None:
        super().__init__()
        self.error = error

    def set_time_to_live(self, table: str, attribute: str) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "ok"),
    [
        (
            AwsError("UpdateTimeToLive: TimeToLive is already enabled", code="ValidationException"),
            True,
        ),
        (AccessDenied("UpdateTimeToLive: not authorized", code="AccessDeniedException"), False),
    ],
)
def test_ttl_that_is_already_on_is_fine_and_a_refusal_says_how_to_fix_it(
    sandbox: Sandbox, tmp_path: Path, error: AwsError, ok: bool
) -> None:
    """Finishing an import twice meets TTL already on; a denied TTL is a problem (exit 1) that
    names the command to run, and the tags are applied regardless."""
    target = _export(sandbox, tmp_path)
    result = restore(target, "orders-copy", api=FailingTtl(error), wait=True, **FAST)
    assert result.ok is ok
    assert result.applied[-1] == "2 tag(s)"
    if ok:
        assert result.applied[0] == "TTL on 'expires' (already on)"
    else:
        (problem,) = result.problems
        assert "aws dynamodb update-time-to-live --table-name orders-copy" in problem
        assert result.exit_code == 1


# ---------------------------------------------------------------------------- waiting


def test_waiting_gives_up_at_the_timeout(sandbox: Sandbox, tmp_path: Path) -> None:
    """Polls every poll_s on the given clock; at the timeout the result says so (exit 1)."""
    target = _export(sandbox, tmp_path)
    now = [0.0]
    api = ScriptedImports(
        {"ImportStatus": "IN_PROGRESS", "ProcessedItemCount": 1},
        RetryableAwsError("DescribeImport: slow down", code="ThrottlingException"),
        {"ImportStatus": "IN_PROGRESS", "ProcessedItemCount": 2},
    )
    seen: list[int] = []
    result = restore(
        target,
        "orders-copy",
        api=api,
        wait=True,
        poll_s=15,
        timeout_s=60,
        clock=lambda: now[0],
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
        progress=lambda progress: seen.append(progress.processed_items),
    )
    assert result.timed_out
    assert result.exit_code == 1
    assert result.status == "IN_PROGRESS"
    assert api.describes == 4  # at 15, 30, 45 and 60 s; the throttled one was looked at again
    assert seen == [1, 2, 2, 2]
    assert result.applied == ()


def test_an_unknown_import_arn_is_bad_input(sandbox: Sandbox, tmp_path: Path) -> None:
    target = _export(sandbox, tmp_path)
    api = ScriptedImports(AwsError("DescribeImport: not found", code="ImportNotFoundException"))
    with pytest.raises(ConfigError, match="no such import"):
        restore(target, "orders-copy", api=api, import_arn="arn:aws:dynamodb:x:1:table/t/import/1")
    assert api.requests == []


def test_an_ended_import_given_back_for_the_same_token_is_not_taken_for_a_new_one(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Restore, delete the copy, restore again within 8 hours: AWS answers the second ImportTable
    with the first import (same ClientToken). That is said, and --new-import starts a new one."""
    target = _export(sandbox, tmp_path)
    earlier = {"ImportStatus": "COMPLETED", "StartTime": datetime.now(UTC) - timedelta(hours=2)}
    api = ScriptedImports(earlier)
    with pytest.raises(ConfigError, match=r"remembered for 8 hours.*--new-import") as caught:
        restore(target, "orders-copy", api=api, wait=True, **FAST)
    assert "COMPLETED" in str(caught.value)
    assert api.describes == 0

    # An import that ended within the call (as an emulator may do) is this call's own.
    quick = ScriptedImports({"ImportStatus": "COMPLETED", "StartTime": datetime.now(UTC)})
    assert restore(target, "orders-copy", api=quick).status == "COMPLETED"

    fresh = ScriptedImports({"ImportStatus": "IN_PROGRESS"})
    restore(target, "orders-copy", api=fresh, new_import=True)
    again = ScriptedImports({"ImportStatus": "IN_PROGRESS"})
    restore(target, "orders-copy", api=again, new_import=True)
    export_id = target.rstrip("/").rsplit("/", 1)[-1]
    tokens = {api.requests[0]["ClientToken"], fresh.requests[0]["ClientToken"]}
    tokens.add(again.requests[0]["ClientToken"])
    assert len(tokens) == 3
    assert api.requests[0]["ClientToken"] == restore_client_token(export_id, "orders-copy")

    monkeypatch.setattr(ddbexport.cli.restore, "aws_api", lambda *_: ScriptedImports(earlier))
    code, _, err = _cli("restore", target, "--table", "orders-copy")
    assert code == 2
    assert "nothing new was started" in err
    code, _, err = _cli("restore", target, "--table", "x", "--new-import", "--import-arn", "a")
    assert code == 2
    assert "not both" in err


# ---------------------------------------------------------------------------- pure definitions


def _schema(**table: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "TableName": "src",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "lsk", "AttributeType": "N"},
        ],
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
    }
    return {"Table": {**base, **table}, "Tags": {"team": "a", "aws:cloudformation:stack": "s"}}


def test_local_indexes_are_refused_unless_dropped() -> None:
    source = source_from_schema(
        _schema(
            LocalSecondaryIndexes=[
                {
                    "IndexName": "by-lsk",
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "lsk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ]
        ),
        "sidecar",
    )
    with pytest.raises(ConfigError, match=r"local secondary indexes \(by-lsk\)"):
        table_creation_parameters(source, "copy")
    params, notes = table_creation_parameters(source, "copy", drop_local_indexes=True)
    assert "LocalSecondaryIndexes" not in params
    assert params["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert notes == ["local secondary indexes (by-lsk): dropped, ImportTable cannot create them"]


def test_billing_choices() -> None:
    """On demand → provisioned needs capacity; on-demand maximums are copied when positive."""
    on_demand = source_from_schema(
        _schema(OnDemandThroughput={"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": -1}), "s"
    )
    params, _ = table_creation_parameters(on_demand, "copy")
    assert params["OnDemandThroughput"] == {"MaxReadRequestUnits": 100}
    with pytest.raises(ConfigError, match="give --capacity READ:WRITE"):
        table_creation_parameters(on_demand, "copy", billing_mode="PROVISIONED")
    params, _ = table_creation_parameters(
        on_demand, "copy", billing_mode="PROVISIONED", capacity=(5, 6)
    )
    assert params["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 6}
    assert "OnDemandThroughput" not in params
    legacy = source_from_schema(
        _schema(
            BillingModeSummary=None,
            ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 1},
        ),
        "s",
    )
    assert legacy.billing_mode == "PROVISIONED"  # no BillingModeSummary: always provisioned


def test_sse_follows_the_source_key() -> None:
    """AWS owned stays default; AWS managed becomes this account's; a customer key is reused."""
    plain = SourceTable("t", (KeyAttribute("pk", "S"),), {"pk": "S"})
    assert sse_specification(plain, None, None) == (None, [])
    kms = SourceTable(
        "t", (KeyAttribute("pk", "S"),), {"pk": "S"}, sse_type="KMS", sse_key="arn:key/1"
    )
    managed, notes = sse_specification(kms, None, {"KeyManager": "AWS", "KeyState": "Enabled"})
    assert managed == {"Enabled": True, "SSEType": "KMS"}
    assert "AWS managed key" in notes[0]
    customer, _ = sse_specification(
        kms, None, {"KeyManager": "CUSTOMER", "KeyState": "Enabled", "Arn": "arn:key/1"}
    )
    assert customer == {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "arn:key/1"}
    with pytest.raises(ConfigError, match="PendingDeletion"):
        sse_specification(kms, None, {"KeyManager": "CUSTOMER", "KeyState": "PendingDeletion"})
    assert sse_specification(kms, "aws-owned", None) == (None, [])
    assert sse_specification(plain, "alias/mine", None)[0] == {
        "Enabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": "alias/mine",
    }


def test_sidecar_notes_what_import_table_cannot_copy() -> None:
    source = source_from_schema(
        {
            **_schema(
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
                DeletionProtectionEnabled=True,
                TableClassSummary={"TableClass": "STANDARD_INFREQUENT_ACCESS"},
            ),
            "TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"},
        },
        "s",
    )
    assert source.ttl_attribute is None
    assert [note.split(" ", 1)[0] for note in source.uncopied] == ["DynamoDB", "deletion", "table"]
    with pytest.raises(ConfigError, match=r"s: Table.KeySchema: expected a HASH key"):
        source_from_schema(_schema(KeySchema=[]), "s")
    with pytest.raises(ConfigError, match="'sk' has no S, N or B type"):
        source_from_schema(
            _schema(
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ]
            ),
            "s",
        )


def test_aws_tags_are_not_copied(sandbox: Sandbox, tmp_path: Path) -> None:
    """Tags under the reserved aws: prefix cannot be set by anyone but AWS."""
    target = _export(sandbox, tmp_path)
    bucket, _, folder = target[len("s3://") :].partition("/")
    s3 = boto3.client("s3", region_name=REGION)
    key = f"{folder}ddbexport-schema.json"
    schema = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    schema["Tags"]["aws:cloudformation:stack-name"] = "shop"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(schema).encode())
    plan = plan_restore(target, "orders-copy", api=RecordingApi())
    assert plan.tags == {"team": "shop", "cost-centre": "42"}
    assert any("aws:" in note for note in plan.notes)


def test_parse_keys() -> None:
    assert parse_keys("pk:S") == (KeyAttribute("pk", "S"),)
    assert parse_keys("pk:s, sk:N") == (KeyAttribute("pk", "S"), KeyAttribute("sk", "N"))
    for bad in ("", "pk", "pk:S,sk:N,x:B", "pk:S,pk:N", "pk:BOOL"):
        with pytest.raises(ConfigError, match="--key"):
            parse_keys(bad)


# ---------------------------------------------------------------------------- round trips


def test_property_table_to_export_to_restore_to_scan(sandbox: Sandbox) -> None:
    """Whatever the table holds (38-digit numbers, binary, sets, 32-deep nesting, empty
    strings, unicode), export → restore → scan gives back exactly its items."""
    tables = iter(range(10_000))
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=reader_tests.BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(reader_tests._items, st.sampled_from(["DYNAMODB_JSON", "ION"]))
    def check(attributes: list[dict[str, Any]], export_format: str) -> None:
        name = f"source-{next(tables)}"
        arn = reader_tests._create_table(name)
        items = [{"pk": f"item-{index}", **item} for index, item in enumerate(attributes)]
        reader_tests._put(name, items)
        sandbox.advance(60)
        target = reader_tests._export(sandbox, arn, S3Prefix=name, ExportFormat=export_format)
        result = restore(target, f"{name}-copy", api=AwsApi(AwsSettings(REGION)), wait=True, **FAST)
        assert result.ok, result.to_dict()
        assert _scan(f"{name}-copy") == _scan(name)

    check()


def _scan(table: str) -> list[Any]:
    pages = _ddb().get_paginator("scan").paginate(TableName=table)
    items = [_canonical(item) for page in pages for item in page["Items"]]
    return sorted(items, key=lambda item: item["pk"]["S"])
