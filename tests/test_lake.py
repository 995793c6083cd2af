"""`lake sync`: the Iceberg mirror of a table, on the sandbox, read back with DuckDB.

DuckDB's iceberg extension is downloaded on first use, which the tests cannot do (no network):
DuckDB reads the Iceberg table through pyiceberg's scan (``to_duckdb``), which plans the files
from the table's metadata exactly as the extension would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
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
from ddbexport.cli.main import cli
from ddbexport.config.model import Config
from ddbexport.lake import connect, export_snapshots, snapshot_as_of, sync
from ddbexport.lake.columns import JSON_DOC
from ddbexport.sandbox import Sandbox, SandboxSettings

from .helpers import BUCKET, REGION

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
