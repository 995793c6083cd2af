"""`lake sync`: the Iceberg mirror of a table, on the sandbox, read back with DuckDB.

DuckDB's iceberg extension is downloaded on first use, which the tests cannot do (no network):
DuckDB reads the Iceberg table through pyiceberg's scan (``to_duckdb``), which plans the files
from the table's metadata exactly as the extension would.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer
from click.testing import CliRunner
from pyiceberg.table import Table

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.catalog.inventory import rebuild_catalog
from ddbexport.catalog.records import Catalog, record_from_summary
from ddbexport.cli.main import cli
from ddbexport.config.model import Config
from ddbexport.errors import ConfigError
from ddbexport.exports.files import ExportFolder, parse_summary
from ddbexport.lake import connect, export_snapshots, snapshot_as_of, sync
from ddbexport.lake.columns import JSON_DOC
from ddbexport.sandbox import Sandbox, SandboxSettings
from ddbexport.sandbox.layout import (
    Change,
    build_export_files,
    full_record,
    incremental_record,
    summary_fields,
)

from .helpers import BUCKET, REGION, create_bucket

TABLE = "orders"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    settings = SandboxSettings(base_duration_s=0.2, seconds_per_item=0, seed=7)
    with Sandbox(settings, time_scale=1) as box:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        ddb = _ddb()
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.update_continuous_backups(
            TableName=TABLE,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
        yield box


def _ddb() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def _put(pk: str, sk: int, **attributes: Any) -> None:
    item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"N": str(sk)}}
    for name, value in attributes.items():
        if isinstance(value, set):
            item[name] = {"SS": sorted(value)}
        elif isinstance(value, bytes):
            item[name] = {"B": value}
        elif isinstance(value, dict):
            item[name] = {"M": {k: {"S": v} for k, v in value.items()}}
        elif isinstance(value, int | Decimal):
            item[name] = {"N": str(value)}
        else:
            item[name] = {"S": value}
    _ddb().put_item(TableName=TABLE, Item=item)


def _delete(pk: str, sk: int) -> None:
    _ddb().delete_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"N": str(sk)}})


_DESERIALIZE = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, Binary):
        return bytes(value)
    return value


def _state() -> list[dict[str, Any]]:
    """The DynamoDB table, scanned, in key order."""
    pages = _ddb().get_paginator("scan").paginate(TableName=TABLE)
    items = [
        {name: _plain(_DESERIALIZE.deserialize(value)) for name, value in item.items()}
        for page in pages
        for item in page["Items"]
    ]
    return sorted(items, key=lambda item: (item["pk"], item["sk"]))


def _duckdb_rows(table: Table, snapshot_id: int | None = None) -> list[dict[str, Any]]:
    """The Iceberg table (at a snapshot) read by DuckDB, JSON columns parsed, nulls dropped."""
    json_columns = {f.name for f in table.schema().fields if f.doc == JSON_DOC}
    connection = duckdb.connect()
    table.scan(snapshot_id=snapshot_id).to_duckdb("mirror", connection=connection)
    cursor = connection.execute("SELECT * FROM mirror ORDER BY pk, sk")
    names = [column[0] for column in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = {}
        for name, value in zip(names, values, strict=True):
            if value is None:
                continue
            parse = name in json_columns and isinstance(value, str)  # an older snapshot's type
            row[name] = json.loads(value, parse_float=Decimal) if parse else value
        rows.append(row)
    return rows


def _config(tmp_path: Path) -> Config:
    path = tmp_path / "ddbexport.toml"
    path.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\nprefix = "exports/{{table}}"\n'
        f'[[tables]]\nname = "{TABLE}"\n'
        '[run]\npoll_first = "100ms"\npoll_min = "100ms"\npoll_max = "200ms"\n'
        f'[lake]\nwarehouse = "{tmp_path / "lake"}"\n'
    )
    return ddbexport.load_config(path)


def _incremental(sandbox: Sandbox, table_arn: str, start: datetime, minutes: int = 15) -> None:
    _ddb().export_table_to_point_in_time(
        TableArn=table_arn,
        S3Bucket=BUCKET,
        S3Prefix=f"exports/{TABLE}",
        ExportType="INCREMENTAL_EXPORT",
        IncrementalExportSpecification={
            "ExportFromTime": start,
            "ExportToTime": start + timedelta(minutes=minutes),
            "ExportViewType": "NEW_AND_OLD_IMAGES",
        },
    )
    sandbox.advance(600)


def test_the_mirror_equals_the_table_at_every_export(sandbox: Sandbox, tmp_path: Path) -> None:
    """Full export + 3 incremental exports, a sync after each: the Iceberg table read by DuckDB
    equals a scan of the DynamoDB table as of each export, now and by time travel; a second sync
    applies nothing; a gap in the chain is refused."""
    config = _config(tmp_path)
    api = AwsApi(AwsSettings(REGION))
    table_arn = _ddb().describe_table(TableName=TABLE)["Table"]["TableArn"]
    for index in range(6):
        _put(f"order-{index}", index, total=10 * index, status="new", blob=b"\x00\xff")
    _put("order-9", 9, total=90, tags={"a", "b"}, address={"city": "Lyon"})
    sandbox.advance(60)
    report = ddbexport.run(
        config,
        api=api,
        state_dir=tmp_path / "state",
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )
    assert report.exit_code == 0, report.to_dict()
    baseline = report.tables[0].export_time
    states = [_state()]

    first = sync(config, api)
    (table_sync,) = first.tables
    assert [step.action for step in table_sync.steps] == ["load"]
    assert table_sync.iceberg_table == "dynamodb.orders"
    mirror = connect(config.lake).load_table(("dynamodb", "orders"))
    assert _duckdb_rows(mirror) == states[0]
    schema = mirror.schema()
    assert [f.name for f in schema.fields][:2] == ["pk", "sk"]
    assert all(schema.find_field(key).required for key in ("pk", "sk"))
    assert str(schema.find_field("total").field_type) == "long"
    assert str(schema.find_field("tags").field_type) == "list<string>"
    assert str(schema.find_field("blob").field_type) == "binary"
    assert schema.find_field("address").doc == JSON_DOC

    windows = [
        # updates, a delete, an insert, one key written twice (the last write wins)
        lambda: (
            _put("order-1", 1, total=11, status="paid", tags={"gift"}),
            _delete("order-2", 2),
            _put("order-10", 10, total=100, status="new"),
            _put("order-10", 10, total=101, status="paid"),
        ),
        # an attribute changes type (a string where numbers were: JSON text), a new attribute,
        # a fraction in the integers of another column (decimal), a deleted key comes back
        lambda: (
            _put("order-3", 3, total="lots", status="odd"),
            _put("order-4", 4, total=40, status="new", weight=Decimal("1.5")),
            _put("order-2", 2, total=22, status="again"),
            _put("order-5", 5, total=50, weight=Decimal("2.25"), status="new"),
        ),
        # deletes only, and an insert with attributes never seen
        lambda: (_delete("order-9", 9), _delete("order-0", 0), _put("order-11", 11, note="hi")),
    ]
    start = baseline
    for write in windows:
        sandbox.advance(30)
        write()
        sandbox.advance(15 * 60 - (sandbox.now() - start).total_seconds() + 30)
        states.append(_state())
        _incremental(sandbox, table_arn, start)
        start += timedelta(minutes=15)
        rebuild_catalog(config, api)
        result = sync(config, api)
        (table_sync,) = result.tables
        assert [step.action for step in table_sync.steps] == ["merge"]
        assert table_sync.as_of == start
        mirror = mirror.refresh()
        assert _duckdb_rows(mirror) == states[-1]
    last = table_sync.steps[0]
    assert (last.deleted, last.rows) == (2, 1)

    schema = mirror.schema()
    assert schema.find_field("total").doc == JSON_DOC  # numbers, then a string
    assert str(schema.find_field("weight").field_type) == "decimal(38, 2)"

    # Time travel: each export's snapshot is the table as of that export.
    snapshots = export_snapshots(mirror)
    assert [s.as_of for s in snapshots] == [baseline + timedelta(minutes=15 * n) for n in range(4)]
    for snapshot, expected in zip(snapshots, states, strict=True):
        # (before the retype, "total" was a long column in that snapshot's schema)
        assert _duckdb_rows(mirror, snapshot.snapshot_id) == expected
    assert snapshot_as_of(mirror, baseline + timedelta(minutes=20)) == snapshots[1]
    summary = mirror.snapshot_by_id(snapshots[2].snapshot_id).summary
    assert summary is not None
    assert summary["ddbexport.export-arn"] == snapshots[2].export_arn
    assert summary["ddbexport.chain-position"] == "2"

    # Again: nothing to apply, no new snapshot.
    count = len(mirror.snapshots())
    again = sync(config, api)
    assert (again.ok, again.tables[0].steps, again.tables[0].why) == (True, [], "up to date")
    assert len(mirror.refresh().snapshots()) == count

    # A window that starts after the chain's end is a gap: refused, naming both ends.
    _put("order-12", 12, total=120)
    sandbox.advance(45 * 60)
    _incremental(sandbox, table_arn, start + timedelta(minutes=15))
    rebuild_catalog(config, api)
    code, stdout, stderr = _cli(tmp_path / "ddbexport.toml", "lake", "sync")
    assert code == 2, stdout + stderr
    assert "gap in the chain" in stderr
    assert format_time(start) in stderr
    assert format_time(start + timedelta(minutes=15)) in stderr
    assert "--rebaseline" in stderr
    assert len(mirror.refresh().snapshots()) == count

    # --rebuild reloads from the baseline and applies the chain up to the gap again.
    rebuilt = sync(config, api, rebuild=True)
    assert [step.action for step in rebuilt.tables[0].steps] == ["load", "merge", "merge", "merge"]
    assert _duckdb_rows(mirror.refresh()) == states[-1]


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-c", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


TABLE_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"N": "1"}}


def _image(pk: str, status: str) -> dict[str, Any]:
    return {**_key(pk), "status": {"S": status}}


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _write_export(
    api: AwsApi,
    config: Config,
    number: int,
    lines: Sequence[tuple[dict[str, Any], str | None]],
    *,
    export_time: datetime | None = None,
    window: tuple[datetime, datetime] | None = None,
    table_arn: str = TABLE_ARN,
) -> None:
    """An export laid out in the bucket as AWS writes it, and its catalog record."""
    export_id = f"{_micros(export_time or T0) // 1000:014d}-0000000{number}"
    start = (window[1] if window else export_time or T0) + timedelta(minutes=1)
    summary = summary_fields(
        export_arn=f"{table_arn}/export/{export_id}",
        start=start,
        end=start + timedelta(minutes=5),
        table_arn=table_arn,
        table_id="cf263806-6bf1-4e51-a242-7067dcdecc72",
        bucket=BUCKET,
        prefix=None,
        sse="AES256",
        kms_key=None,
        billed_bytes=0,
        export_format="DYNAMODB_JSON",
        export_time=export_time,
        window=window,
        view="NEW_AND_OLD_IMAGES" if window else None,
    )
    files = build_export_files(
        lines=[(keys, line) for keys, line in lines if line is not None],
        summary=summary,
        prefix=None,
        export_id_value=export_id,
        export_format="DYNAMODB_JSON",
        incremental=window is not None,
        partitions=2,
        rng=random.Random(number),
    )
    for key, data in files.objects.items():
        api.put_object(BUCKET, key, data)
    folder = ExportFolder("", export_id)
    summary_data = api.get_object(BUCKET, folder.key("manifest-summary.json"))
    assert summary_data is not None
    record = record_from_summary(parse_summary(summary_data), bucket=BUCKET, folder=folder)
    Catalog(api, config.catalog.prefix).write(record)


def _change(pk: str, status: str | None, written: datetime) -> tuple[dict[str, Any], str | None]:
    image = None if status is None else _image(pk, status)
    change = Change(_key(pk), None, image, _micros(written))
    return _key(pk), incremental_record(change, "NEW_AND_OLD_IMAGES", "DYNAMODB_JSON")


def _statuses(table: Table) -> dict[str, str]:
    return {row["pk"]: row["status"] for row in _duckdb_rows(table)}


def test_a_write_at_a_windows_end_is_applied_with_the_next_window(
    moto_aws: None, tmp_path: Path
) -> None:
    """Windows are [from, to): a write at exactly the end of one is in the next one only, so the
    table holds it once the next is applied, whether in the same sync, the next, or a rebuild."""
    create_bucket()
    config = _config(tmp_path)
    api = AwsApi(AwsSettings(REGION))
    first_end, second_end = T0 + timedelta(minutes=15), T0 + timedelta(minutes=30)
    _write_export(
        api,
        config,
        1,
        [(_key("a"), full_record(_image("a", "new"), "DYNAMODB_JSON"))],
        export_time=T0,
    )
    _write_export(
        api, config, 2, [_change("a", "paid", T0 + timedelta(minutes=5))], window=(T0, first_end)
    )
    first = sync(config, api)
    assert [step.action for step in first.tables[0].steps] == ["load", "merge"]
    mirror = connect(config.lake).load_table(("dynamodb", "orders"))
    assert _statuses(mirror) == {"a": "paid"}

    _write_export(
        api,
        config,
        3,
        [_change("a", "shipped", first_end), _change("b", "new", first_end)],
        window=(first_end, second_end),
    )
    second = sync(config, api)
    (step,) = second.tables[0].steps
    assert (step.changes, step.skipped) == (2, 0)
    assert _statuses(mirror.refresh()) == {"a": "shipped", "b": "new"}

    rebuilt = sync(config, api, rebuild=True)
    assert [s.skipped for s in rebuilt.tables[0].steps] == [0, 0, 0]
    assert _statuses(mirror.refresh()) == {"a": "shipped", "b": "new"}


def test_tables_are_chosen_by_name_or_arn(moto_aws: None, tmp_path: Path) -> None:
    """Two regions' tables named alike export to one bucket: the name is refused, naming both
    ARNs; an ARN syncs its own table; an unknown name lists the tables there are."""
    create_bucket()
    config = _config(tmp_path)
    api = AwsApi(AwsSettings(REGION))
    other_arn = TABLE_ARN.replace(REGION, "us-east-1")
    line = (_key("a"), full_record(_image("a", "new"), "DYNAMODB_JSON"))
    _write_export(api, config, 1, [line], export_time=T0)
    _write_export(api, config, 2, [line], export_time=T0, table_arn=other_arn)
    with pytest.raises(
        ConfigError, match=f"several tables named 'orders' .*{TABLE_ARN}, {other_arn}"
    ):
        sync(config, api, tables=[TABLE])
    with pytest.raises(
        ConfigError,
        match=r"no exports of table 'order' in the config's catalogs \(tables with exports: "
        r"orders\)",
    ):
        sync(config, api, tables=["order"])
    result = sync(config, api, tables=[TABLE_ARN, TABLE_ARN])
    assert [table.table_arn for table in result.tables] == [TABLE_ARN]
