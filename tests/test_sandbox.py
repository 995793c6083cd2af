"""The sandbox behaves like AWS: call-time checks, history, layout, tokens, quota, clock, faults."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.s3.utils import _VersionedKeyStore

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.sandbox import Sandbox, SandboxSettings
from ddbexport.sandbox.layout import base64_md5

from .helpers import REGION, make_config

BUCKET = "exports-bucket"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox with one-minute exports and a reproducible layout."""
    with Sandbox(SandboxSettings(base_duration_s=60, seconds_per_item=0.1, seed=3)) as box:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield box


def _ddb() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def _table(name: str, *, pitr: bool = True, items: int = 0, range_key: bool = False) -> str:
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "sk", "AttributeType": "N"})
    arn = _ddb().create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    if pitr:
        _ddb().update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    for index in range(items):
        item = {"pk": {"S": f"k{index}"}, "n": {"N": str(index)}}
        if range_key:
            item["sk"] = {"N": "1"}
        _ddb().put_item(TableName=name, Item=item)
    return str(arn)


def _export(arn: str, **kwargs: Any) -> dict[str, Any]:
    return dict(
        _ddb().export_table_to_point_in_time(TableArn=arn, S3Bucket=BUCKET, **kwargs)[
            "ExportDescription"
        ]
    )


def _objects(prefix: str = "") -> dict[str, bytes]:
    s3 = boto3.client("s3", region_name=REGION)
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listing}


def _data_lines(objects: dict[str, bytes], manifest_key: str) -> list[dict[str, Any]]:
    lines = []
    for entry in objects[manifest_key].decode().splitlines():
        data = objects[json.loads(entry)["dataFileS3Key"]]
        lines += [json.loads(line) for line in gzip.decompress(data).decode().splitlines()]
    return lines


def test_pitr_disabled_fails_at_call_time(sandbox: Sandbox) -> None:
    """Without PITR, the call itself fails, as on AWS (moto only fails the export later)."""
    arn = _table("nopitr", pitr=False)
    with pytest.raises(ClientError) as caught:
        _export(arn)
    assert caught.value.response["Error"]["Code"] == "PointInTimeRecoveryUnavailableException"


def test_a_table_is_found_by_its_whole_arn_only(sandbox: Sandbox) -> None:
    """Tables looked up by ARN (tags, exports) take the name from it, and the whole ARN must
    match: the same name in another region or account is not the table."""
    arn = _table("orders")
    _ddb().tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "billing"}])
    assert _ddb().list_tags_of_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "billing"}
    ]
    assert _export(arn)["ExportStatus"] == "IN_PROGRESS"
    elsewhere = arn.replace(f":{REGION}:", ":us-west-2:").replace(
        ":123456789012:", ":999999999999:"
    )
    assert elsewhere != arn
    with pytest.raises(ClientError) as caught:
        _ddb().list_tags_of_resource(ResourceArn=elsewhere)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        _export(elsewhere)
    assert caught.value.response["Error"]["Code"] in (
        "TableNotFoundException",
        "ResourceNotFoundException",
    )


def test_export_time_outside_window_is_rejected(sandbox: Sandbox) -> None:
    """ExportTime in the future or before PITR was enabled → InvalidExportTimeException."""
    arn = _table("orders")
    for moment in (sandbox.now() + timedelta(minutes=5), sandbox.now() - timedelta(hours=1)):
        with pytest.raises(ClientError) as caught:
            _export(arn, ExportTime=moment)
        assert caught.value.response["Error"]["Code"] == "InvalidExportTimeException"


def test_export_is_in_progress_then_complete_with_real_layout(sandbox: Sandbox) -> None:
    """An export stays IN_PROGRESS for its duration, then has AWS's ARN, fields and files."""
    arn = _table("orders", items=10)
    started = _export(arn, S3Prefix="exports/orders")
    assert started["ExportStatus"] == "IN_PROGRESS"
    export_id = started["ExportArn"].rsplit("/", 1)[-1]
    assert started["ExportArn"] == f"{arn}/export/{export_id}"
    millis = int(started["StartTime"].timestamp() * 1000)
    assert re.fullmatch(rf"{millis:014d}-[0-9a-f]{{8}}", export_id)
    sandbox.advance(30)
    assert (
        _ddb().describe_export(ExportArn=started["ExportArn"])["ExportDescription"]["ExportStatus"]
        == "IN_PROGRESS"
    )
    sandbox.advance(60)
    done = _ddb().describe_export(ExportArn=started["ExportArn"])["ExportDescription"]
    assert done["ExportStatus"] == "COMPLETED"
    assert done["ItemCount"] == 10
    assert done["EndTime"] - done["StartTime"] == timedelta(seconds=61)  # 60 s + 10 items at 0.1 s
    base = f"exports/orders/AWSDynamoDB/{export_id}"
    assert done["ExportManifest"] == f"{base}/manifest-summary.json"
    objects = _objects(base)
    assert objects[f"{base}/_started"] == b""
    for manifest in ("manifest-summary", "manifest-files"):
        assert objects[f"{base}/{manifest}.md5"].decode() == base64_md5(
            objects[f"{base}/{manifest}.json"]
        )
    summary = json.loads(objects[f"{base}/manifest-summary.json"])
    assert summary["exportArn"] == started["ExportArn"]
    assert summary["itemCount"] == 10
    assert summary["s3Prefix"] == "exports/orders"
    entries = [json.loads(e) for e in objects[f"{base}/manifest-files.json"].decode().splitlines()]
    assert len(entries) == 4
    for entry in entries:
        data = objects[entry["dataFileS3Key"]]
        assert re.fullmatch(rf"{base}/data/[a-z2-7]{{26}}\.json\.gz", entry["dataFileS3Key"])
        assert base64_md5(data) == entry["md5Checksum"]
        assert len(gzip.decompress(data).splitlines()) == entry["itemCount"]


def test_export_holds_the_table_as_of_export_time(sandbox: Sandbox) -> None:
    """Writes after the export time (puts, updates, deletes) are not in the export."""
    arn = _table("orders", items=3)
    sandbox.advance(5)
    as_of = sandbox.now()
    sandbox.advance(5)
    _ddb().put_item(TableName="orders", Item={"pk": {"S": "late"}})
    _ddb().update_item(
        TableName="orders",
        Key={"pk": {"S": "k0"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "99"}},
    )
    _ddb().delete_item(TableName="orders", Key={"pk": {"S": "k1"}})
    started = _export(arn, ExportTime=as_of)
    sandbox.advance(120)
    done = _ddb().describe_export(ExportArn=started["ExportArn"])["ExportDescription"]
    items = {
        line["Item"]["pk"]["S"]: line["Item"]
        for line in _data_lines(_objects(), done["ExportManifest"].replace("summary", "files"))
    }
    assert sorted(items) == ["k0", "k1", "k2"]
    assert items["k0"]["n"] == {"N": "0"}


def test_incremental_export_has_one_net_record_per_key(sandbox: Sandbox) -> None:
    """Window [from, to): inserts, updates and deletes as the real records, in the shared folder."""
    arn = _table("orders", items=2)
    sandbox.advance(60)
    start = sandbox.now()
    _ddb().put_item(TableName="orders", Item={"pk": {"S": "new"}})
    _ddb().put_item(TableName="orders", Item={"pk": {"S": "k0"}, "n": {"N": "5"}})
    _ddb().put_item(TableName="orders", Item={"pk": {"S": "k0"}, "n": {"N": "6"}})
    _ddb().delete_item(TableName="orders", Key={"pk": {"S": "k1"}})
    _ddb().put_item(TableName="orders", Item={"pk": {"S": "brief"}})
    _ddb().delete_item(TableName="orders", Key={"pk": {"S": "brief"}})
    sandbox.advance(20 * 60)
    started = _export(
        arn,
        S3Prefix="inc",
        ExportType="INCREMENTAL_EXPORT",
        IncrementalExportSpecification={
            "ExportFromTime": start,
            "ExportToTime": start + timedelta(minutes=15),
            "ExportViewType": "NEW_AND_OLD_IMAGES",
        },
    )
    sandbox.advance(120)
    done = _ddb().describe_export(ExportArn=started["ExportArn"])["ExportDescription"]
    assert done["ExportType"] == "INCREMENTAL_EXPORT"
    assert done["BilledSizeBytes"] == 10_000_000
    objects = _objects("inc/")
    manifest = done["ExportManifest"].replace("summary", "files")
    for entry in objects[manifest].decode().splitlines():
        assert json.loads(entry)["dataFileS3Key"].startswith("inc/AWSDynamoDB/data/")
    records = {r["Keys"]["pk"]["S"]: r for r in _data_lines(objects, manifest)}
    assert sorted(records) == ["k0", "k1", "new"]
    assert set(records["new"]) == {"Metadata", "Keys", "NewImage"}
    assert records["k0"]["OldImage"]["n"] == {"N": "0"}
    assert records["k0"]["NewImage"]["n"] == {"N": "6"}
    assert set(records["k1"]) == {"Metadata", "Keys", "OldImage"}
    assert set(records["k0"]["Metadata"]["WriteTimestampMicros"]) == {"N"}


@pytest.mark.parametrize(
    ("minutes", "ok"), [(14, False), (15, True), (24 * 60, True), (24 * 60 + 1, False)]
)
def test_incremental_window_bounds(sandbox: Sandbox, minutes: int, ok: bool) -> None:
    """Windows must last 15 minutes to 24 hours."""
    arn = _table("orders")
    start = sandbox.now()
    sandbox.advance(25 * 3600)
    spec = {"ExportFromTime": start, "ExportToTime": start + timedelta(minutes=minutes)}
    if ok:
        assert _export(arn, ExportType="INCREMENTAL_EXPORT", IncrementalExportSpecification=spec)
    else:
        with pytest.raises(ClientError):
            _export(arn, ExportType="INCREMENTAL_EXPORT", IncrementalExportSpecification=spec)


def test_client_token_idempotency_and_conflict(sandbox: Sandbox) -> None:
    """Same token and parameters → same export; same token, other parameters → conflict."""
    arn = _table("orders")
    first = _export(arn, ClientToken="run-1", S3Prefix="a")
    again = _export(arn, ClientToken="run-1", S3Prefix="a")
    assert again["ExportArn"] == first["ExportArn"]
    with pytest.raises(ClientError) as caught:
        _export(arn, ClientToken="run-1", S3Prefix="b")
    assert caught.value.response["Error"]["Code"] == "ExportConflictException"


def test_quota_raises_limit_exceeded(sandbox: Sandbox) -> None:
    """More concurrent exports than the quota → LimitExceededException until one finishes."""
    sandbox.settings.quota = 2
    arns = [_table(f"table-{i}") for i in range(3)]
    _export(arns[0])
    _export(arns[1])
    with pytest.raises(ClientError) as caught:
        _export(arns[2])
    assert caught.value.response["Error"]["Code"] == "LimitExceededException"
    sandbox.advance(120)
    assert _export(arns[2])["ExportStatus"] == "IN_PROGRESS"


def test_missing_bucket_fails_the_export(sandbox: Sandbox) -> None:
    """The call succeeds; the export then ends FAILED, as on AWS."""
    arn = _table("orders")
    started = _ddb().export_table_to_point_in_time(TableArn=arn, S3Bucket="no-such-bucket")[
        "ExportDescription"
    ]
    sandbox.advance(60)
    done = _ddb().describe_export(ExportArn=started["ExportArn"])["ExportDescription"]
    assert done["ExportStatus"] == "FAILED"
    assert done["FailureCode"] == "S3NoSuchBucket"


def test_pitr_window_follows_the_sandbox_clock(sandbox: Sandbox) -> None:
    """Earliest is when PITR was enabled; latest trails the sandbox clock by 5 minutes."""
    _table("orders")
    enabled = sandbox.now()
    sandbox.advance(3600)
    window = _ddb().describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"
    ]
    assert abs((window["EarliestRestorableDateTime"] - enabled).total_seconds()) < 1
    expected_latest = sandbox.now() - timedelta(minutes=5)
    assert abs((window["LatestRestorableDateTime"] - expected_latest).total_seconds()) < 1


def test_fault_injection(sandbox: Sandbox) -> None:
    """Injected errors answer the next calls of any operation; a table's exports can fail."""
    arn = _table("orders")
    sandbox.fail_next("DescribeExport", "ThrottlingException", times=2)
    sandbox.fail_next("DescribeTable", "InternalServerError")
    sandbox.fail_exports_of("orders", "UNKNOWN", "disk on fire")
    started = _export(arn)
    sandbox.advance(120)
    client = boto3.client(
        "dynamodb",
        region_name=REGION,
        config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    for _ in range(2):
        with pytest.raises(ClientError):
            client.describe_export(ExportArn=started["ExportArn"])
    done = client.describe_export(ExportArn=started["ExportArn"])["ExportDescription"]
    assert (done["ExportStatus"], done["FailureMessage"]) == ("FAILED", "disk on fire")
    with pytest.raises(ClientError) as caught:
        client.describe_table(TableName="orders")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert client.describe_table(TableName="orders")["Table"]["TableName"] == "orders"


class _StoreWrittenWhileRead(_VersionedKeyStore):
    """A bucket's keys that another request writes to whenever one of them is read."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        dict.__setitem__(self, f"elsewhere/{len(self)}", [value])
        return value


def test_a_listing_is_not_upset_by_writes_to_the_bucket_meanwhile(sandbox: Sandbox) -> None:
    """Listing a prefix while other requests write keys (as aftercare's calls do, side by side)
    lists the prefix; iterating the live keys failed such a listing with a server error."""
    s3 = boto3.client("s3", region_name=REGION)
    for name in ("a", "b", "c"):
        s3.put_object(Bucket=BUCKET, Key=f"mine/{name}.json", Body=b"{}")
    bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(BUCKET)
    store = _StoreWrittenWhileRead()
    for name in list(dict.keys(bucket.keys)):
        store.setlist(name, bucket.keys.getlist(name))
    bucket.keys = store

    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="mine/")

    assert [item["Key"] for item in listed["Contents"]] == [
        "mine/a.json",
        "mine/b.json",
        "mine/c.json",
    ]
    assert any(name.startswith("elsewhere/") for name in dict.keys(store))


def test_listings_follow_writes_and_deletes(sandbox: Sandbox) -> None:
    """A prefix lists exactly the keys there at the time, however they came and went."""
    s3 = boto3.client("s3", region_name=REGION)

    def listed(prefix: str) -> list[str]:
        answer = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return [item["Key"] for item in answer.get("Contents", [])]

    for key in ("a/2", "a/1", "ab/1", "b/1"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert listed("a/") == ["a/1", "a/2"]
    assert listed("a") == ["a/1", "a/2", "ab/1"]
    s3.delete_object(Bucket=BUCKET, Key="a/1")
    s3.put_object(Bucket=BUCKET, Key="a/0", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="a/2", Body=b"overwritten")
    assert listed("a/") == ["a/0", "a/2"]
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "a/0"}, {"Key": "b/1"}]})
    assert listed("a/") == ["a/2"]
    assert listed("b/") == []
    s3.copy_object(Bucket=BUCKET, Key="b/2", CopySource={"Bucket": BUCKET, "Key": "a/2"})
    assert listed("b/") == ["b/2"]


def test_runner_on_the_sandbox_polls_in_progress_exports(sandbox: Sandbox, tmp_path: Any) -> None:
    """The real runner: exports stay IN_PROGRESS while the sandbox clock runs 60x faster."""
    # A one-minute export takes a second: long enough for a first check to find it running
    # even on a busy machine (the runner's own waits are sandbox seconds).
    sandbox.clock.set_time_scale(60)
    for name in ("orders", "users"):
        _table(name, items=5)
    sandbox.advance(2)
    config = make_config([{"match": "*"}])
    report = ddbexport.run(
        config,
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path,
        now=sandbox.now,
    )
    assert {r.status for r in report.tables} == {"COMPLETED"}
    assert all(r.describe_calls >= 2 for r in report.tables)
    assert {r.item_count for r in report.tables} == {5}
    assert all(r.start_time and r.end_time and r.end_time > r.start_time for r in report.tables)


def test_import_table_reads_a_full_export_back(sandbox: Sandbox) -> None:
    """ImportTable from an export's data/ prefix rebuilds the table, item for item."""
    arn = _table("orders", items=12, range_key=True)
    started = _export(arn, S3Prefix="full")
    sandbox.advance(120)
    export_id = started["ExportArn"].rsplit("/", 1)[-1]
    imported = _ddb().import_table(
        S3BucketSource={"S3Bucket": BUCKET, "S3KeyPrefix": f"full/AWSDynamoDB/{export_id}/data/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": "orders-restored",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]
    status = imported["ImportStatus"]
    for _ in range(50):
        if status != "IN_PROGRESS":
            break
        time.sleep(0.05)
        status = _ddb().describe_import(ImportArn=imported["ImportArn"])["ImportTableDescription"][
            "ImportStatus"
        ]
    assert status == "COMPLETED"
    original = sorted(
        json.dumps(i, sort_keys=True) for i in _ddb().scan(TableName="orders")["Items"]
    )
    restored = sorted(
        json.dumps(i, sort_keys=True) for i in _ddb().scan(TableName="orders-restored")["Items"]
    )
    assert restored == original


def test_ion_exports_write_ion_files(sandbox: Sandbox) -> None:
    """ExportFormat=ION: .ion.gz data files of $ion_1_0 lines."""
    arn = _table("orders", items=3)
    started = _export(arn, S3Prefix="ion", ExportFormat="ION")
    sandbox.advance(120)
    objects = _objects("ion/")
    data = [key for key in objects if key.endswith(".gz")]
    assert data
    assert all(key.endswith(".ion.gz") for key in data)
    lines = [line for key in data for line in gzip.decompress(objects[key]).decode().splitlines()]
    assert len(lines) == 3
    assert all(line.startswith("$ion_1_0 {Item:{") for line in lines)
    assert started["ExportFormat"] == "ION"


def test_runner_on_sandbox_quota_throttling_and_idempotency(
    sandbox: Sandbox, tmp_path: Any
) -> None:
    """Quota of 2 for 6 tables, throttled checks: all complete, the quota is never exceeded, and
    re-running the run id without its journal attaches through the client tokens."""
    sandbox.clock.time_scale = 600
    sandbox.settings.quota = 2
    for index in range(6):
        _table(f"table-{index}", items=2)
    sandbox.advance(2)
    sandbox.fail_next("DescribeExport", "ThrottlingException", times=3)
    config = make_config([{"match": "table-*"}], max_concurrency=5)
    timing: dict[str, Any] = {
        "clock": sandbox.monotonic,
        "sleep": sandbox.sleep,
        "now": sandbox.now,
    }
    api = AwsApi(AwsSettings(REGION, max_attempts=1))
    first = ddbexport.run(config, api=api, state_dir=tmp_path / "a", **timing)
    assert {r.status for r in first.tables} == {"COMPLETED"}
    exports = sandbox.service.exports.values()
    assert len(exports) == 6
    spans = [(e.start, e.finishes_at) for e in exports]
    assert all(sum(1 for s, e in spans if s <= moment < e) <= 2 for moment, _ in spans)
    again = ddbexport.run(config, api=api, state_dir=tmp_path / "b", run_id=first.run_id, **timing)
    assert len(sandbox.service.exports) == 6
    assert [r.export_arn for r in again.tables] == [r.export_arn for r in first.tables]


def _exported_keys(sandbox: Sandbox, arn: str) -> list[str]:
    started = _export(arn)
    sandbox.advance(600)
    done = _ddb().describe_export(ExportArn=started["ExportArn"])["ExportDescription"]
    assert done["ExportStatus"] == "COMPLETED"
    lines = _data_lines(_objects(), done["ExportManifest"].replace("summary", "files"))
    return sorted(line["Item"]["pk"]["S"] for line in lines)


def test_cancelled_transaction_leaves_no_trace_in_exports(sandbox: Sandbox) -> None:
    """A transaction cancelled by its condition writes nothing, in the table and in exports."""
    arn = _table("orders", items=1)
    sandbox.advance(1)
    with pytest.raises(ClientError) as caught:
        _ddb().transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "orders", "Item": {"pk": {"S": "ghost"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "orders",
                        "Key": {"pk": {"S": "k0"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    _ddb().transact_write_items(
        TransactItems=[{"Put": {"TableName": "orders", "Item": {"pk": {"S": "real"}}}}]
    )
    sandbox.advance(1)
    assert _exported_keys(sandbox, arn) == ["k0", "real"]


def test_restored_tables_export_their_items(sandbox: Sandbox) -> None:
    """Tables restored from a backup or to a point in time export what they hold."""
    _table("orders", items=3)
    backup = _ddb().create_backup(TableName="orders", BackupName="nightly")["BackupDetails"]
    from_backup = _ddb().restore_table_from_backup(
        TargetTableName="from-backup", BackupArn=backup["BackupArn"]
    )["TableDescription"]
    from_pitr = _ddb().restore_table_to_point_in_time(
        SourceTableName="orders", TargetTableName="from-pitr", UseLatestRestorableTime=True
    )["TableDescription"]
    for restored in (from_backup, from_pitr):
        _ddb().update_continuous_backups(
            TableName=restored["TableName"],
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    sandbox.advance(1)
    assert _exported_keys(sandbox, from_backup["TableArn"]) == ["k0", "k1", "k2"]
    assert _exported_keys(sandbox, from_pitr["TableArn"]) == ["k0", "k1", "k2"]


def test_tables_made_in_a_sandbox_work_after_it_closes() -> None:
    """Leaving the sandbox restores moto fully, also for tables created inside it."""
    with mock_aws():
        with Sandbox(SandboxSettings(base_duration_s=60)):
            _table("orders", items=1, pitr=False)
        _ddb().put_item(TableName="orders", Item={"pk": {"S": "after"}})
        assert _ddb().scan(TableName="orders")["Count"] == 2
