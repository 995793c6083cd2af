"""`snapshot`: a table as of an instant from its baseline and incremental exports.

The real AWS exports merged to the table's final state, the sandbox end to end (snapshot, then
restore, JSON lines and Parquet equal the table), the CLI, and bad inputs that write nothing.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from boto3.dynamodb.types import TypeDeserializer
from click.testing import CliRunner

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.catalog.chain import ChainError
from ddbexport.catalog.inventory import rebuild_catalog, verify
from ddbexport.catalog.records import Catalog, CatalogRecord, record_from_summary
from ddbexport.cli.main import cli
from ddbexport.data.restore import restore
from ddbexport.data.snapshot import (
    SNAPSHOT_FIELD,
    SnapshotResult,
    output_format,
    snapshot,
    table_chain,
    write_snapshot,
)
from ddbexport.exports.files import ExportFolder, parse_folder, parse_summary
from ddbexport.exports.reader import iter_items, open_export
from ddbexport.exports.stores import LocalStore
from ddbexport.sandbox import Sandbox, SandboxSettings

from .helpers import BUCKET, REGION

FIXTURE = Path(__file__).parent / "fixtures" / "real-aws-export"
FULL_ID = "01768385930622-efd1a093"
INSERTS_ID = "01768386924000-d339e52d"
MIXED_ID = "01768388186000-4a2fc3ff"
TABLE_ARN = "arn:aws:dynamodb:eu-north-1:123456789123:table/test"
GAP = "2026-01-14T10:18:50Z to 2026-01-14T10:20:00Z"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# The fixture's items, written out from its README and data files: the FULL export (10:18:50)
# holds (1,1), (1,2), (1,3); the window [10:20, 10:35) inserts (2,1) (2,2) (2,3) (3,1) (3,2)
# (3,3); the window [10:35, 10:50) deletes (1,1) at 10:47:34 and (2,3) at 10:47:34, inserts
# (4,2) at 10:47:14, drops "number" from (3,2) at 10:47:23 and adds "bin_update" to (1,3) at
# 10:47:53.
def _every_type(pk: str, sk: str, *, number: bool = True, nested: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {
        "b": {"B": "0000"},
        "bset": {"BS": ["0000", "1111"]},
        "null": {"NULL": True},
        "pk": {"S": pk},
        "sk": {"S": sk},
        "sset": {"SS": ["test", "test2"]},
        "string": {"S": "test"},
    }
    if number:
        item["number"] = {"N": "12"}
    if nested:
        item["list"] = {"L": [{"S": "test"}, {"S": "1"}]}
        item["mapp"] = {"M": {"test": {"B": "test"}}}
        item["nset"] = {"NS": ["1", "2"]}
    return item


def _simple(pk: str, sk: str, **attributes: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attributes.items()}}


BASELINE = [
    _simple("1", "1", test="test"),
    _simple("1", "2", test="test2"),
    _simple("1", "3", test2="2", test1="1"),
]
FIRST_WINDOW = [
    _simple("2", "1", test="test2"),
    _simple("2", "2", test="test"),
    _simple("2", "3", test="test"),
    _every_type("3", "1"),
    _every_type("3", "2"),
    _every_type("3", "3"),
]
FINAL = [
    _simple("1", "2", test="test2"),
    {**_simple("1", "3", test2="2", test1="1"), "bin_update": {"BS": ["0000", "0001"]}},
    _simple("2", "1", test="test2"),
    _simple("2", "2", test="test"),
    _every_type("3", "1"),
    _every_type("3", "2", number=False),
    _every_type("3", "3"),
    _every_type("4", "2", nested=False),
]


def _sorted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def _fixture_records(bucket: str = "test-1231x1x") -> list[CatalogRecord]:
    records = []
    for export_id in (FULL_ID, INSERTS_ID, MIXED_ID):
        summary = parse_summary(
            (FIXTURE / "AWSDynamoDB" / export_id / "manifest-summary.json").read_bytes()
        )
        records.append(
            record_from_summary(summary, bucket=bucket, folder=ExportFolder("", export_id))
        )
    return records


def _on_disk(record: CatalogRecord) -> tuple[LocalStore, ExportFolder]:
    return LocalStore(FIXTURE), parse_folder(record.export_folder)


def _fixed_clock() -> datetime:
    return datetime(2026, 1, 15, 8, 0, tzinfo=UTC)


def _snapshot_items(result: SnapshotResult) -> list[dict[str, Any]]:
    assert result.export_folder is not None
    return list(iter_items(result.export_folder, typed=True))


def test_a_name_shared_by_two_tables_needs_the_table_arn() -> None:
    """A bucket shared by regions holds same-named tables' records: the name is refused with
    both ARNs named, each ARN gives its own table's chain."""
    records = _fixture_records()
    other_arn = TABLE_ARN.replace("eu-north-1", "eu-west-1")
    others = [replace(r, table_arn=other_arn, export_arn=f"{r.export_arn}-b") for r in records]
    with pytest.raises(ChainError, match=f"several tables named 'test' .*{TABLE_ARN}, {other_arn}"):
        table_chain([*records, *others], "test", allow_gaps=True)
    for arn in (TABLE_ARN, other_arn):
        chain = table_chain([*records, *others], arn, allow_gaps=True)
        assert {r.table_arn for r in chain.exports} == {arn}
    with pytest.raises(ChainError, match="no exports of table 'arn:aws:dynamodb:x:1:table/test'"):
        table_chain(records, "arn:aws:dynamodb:x:1:table/test")


# ---------------------------------------------------------------------------- the real exports


def test_the_real_exports_merge_to_the_tables_final_state(tmp_path: Path) -> None:
    """Baseline plus both windows in write order; the gap before the first window must be
    accepted; the output is an export that reads and verifies as one, and says what it is."""
    records = _fixture_records()
    with pytest.raises(ChainError, match=f"gaps .*{GAP}.*--allow-gaps"):
        table_chain(records, "test")
    chain = table_chain(records, "test", allow_gaps=True)
    result = write_snapshot(chain, tmp_path / "snap", locate=_on_disk, now=_fixed_clock)

    assert _snapshot_items(result) == _sorted(FINAL)  # written in key order
    assert (result.items, result.changes_applied, result.changes_skipped) == (8, 11, 0)
    assert result.as_of == _at("2026-01-14T10:50:00")
    assert [str(gap) for gap in result.gaps] == [GAP]
    assert result.exports == tuple(
        f"{TABLE_ARN}/export/{i}" for i in (FULL_ID, INSERTS_ID, MIXED_ID)
    )
    assert result.format == "dynamodb-json"

    checked = verify(str(result.export_folder), deep=True)
    assert checked.ok, checked.problems
    export = open_export(str(result.export_folder))
    assert export.folder.path == f"AWSDynamoDB/{export.summary.export_id}"
    assert export.summary.export_type == "FULL_EXPORT"
    assert export.summary.export_time == result.as_of
    assert export.summary.item_count == 8
    assert export.summary.export_id.startswith("01768387800000-")  # 10:50:00 in epoch ms
    marker = export.summary.raw[SNAPSHOT_FIELD]
    assert marker["baseline"] == {
        "exportArn": f"{TABLE_ARN}/export/{FULL_ID}",
        "exportTime": "2026-01-14T10:18:50.622Z",
    }
    assert [inc["exportArn"].rsplit("/", 1)[-1] for inc in marker["incrementals"]] == [
        INSERTS_ID,
        MIXED_ID,
    ]
    assert marker["gaps"] == [
        {"from": "2026-01-14T10:18:50.000Z", "to": "2026-01-14T10:20:00.000Z"}
    ]
    assert any("no schema sidecar" in note for note in result.notes)  # the fixture has none


def test_the_same_snapshot_twice_is_the_same_bytes(tmp_path: Path) -> None:
    """The id comes from the table, instant and exports; gzip carries no time: restoring it
    again is the same import, and its checksums never change."""
    chain = table_chain(_fixture_records(), "test", allow_gaps=True)
    first = write_snapshot(chain, tmp_path / "a", locate=_on_disk, now=_fixed_clock)
    second = write_snapshot(chain, tmp_path / "b", locate=_on_disk, now=_fixed_clock)
    files = [Path(str(result.export_folder)) / "manifest-files.json" for result in (first, second)]
    assert Path(str(first.export_folder)).name == Path(str(second.export_folder)).name
    assert files[0].read_bytes() == files[1].read_bytes()


def test_big_snapshots_are_split_into_data_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new data file starts every DATA_FILE_BYTES; the manifest counts each file's items."""
    monkeypatch.setattr("ddbexport.data.snapshot.layout.DATA_FILE_BYTES", 400)
    chain = table_chain(_fixture_records(), "test", allow_gaps=True)
    result = write_snapshot(chain, tmp_path / "snap", locate=_on_disk)
    export = open_export(str(result.export_folder))
    assert len(export.files) > 2
    assert all(entry.item_count > 0 for entry in export.files)
    assert sum(entry.item_count for entry in export.files) == 8
    assert verify(str(result.export_folder), deep=True).ok
    assert _snapshot_items(result) == _sorted(FINAL)


@pytest.mark.parametrize(
    ("as_of", "expected", "incrementals", "late"),
    [
        # Before the second window: the first one's inserts only.
        ("2026-01-14T10:30:00", BASELINE + FIRST_WINDOW, 1, 0),
        # Inside the second window, after its insert of (4,2) and before its other writes.
        (
            "2026-01-14T10:47:20",
            [*BASELINE, *FIRST_WINDOW, _every_type("4", "2", nested=False)],
            2,
            4,
        ),
        # Its end: every write.
        ("2026-01-14T10:50:00", FINAL, 2, 0),
    ],
)
def test_an_instant_takes_the_writes_made_by_then(
    tmp_path: Path, as_of: str, expected: list[dict[str, Any]], incrementals: int, late: int
) -> None:
    """Changes written after the instant are left out, and an instant inside a window says
    that the items changed later in that window may have changed before it too."""
    chain = table_chain(_fixture_records(), "test", as_of=_at(as_of), allow_gaps=True)
    result = write_snapshot(chain, tmp_path / "snap", locate=_on_disk)
    assert _snapshot_items(result) == _sorted(expected)
    assert len(result.incrementals) == incrementals
    assert result.changes_skipped == late
    notes = [note for note in result.notes if "in a window that spans it" in note]
    assert [note.split(" ")[0] for note in notes] == ([str(late)] if late else [])


def test_jsonl_and_parquet_of_the_real_exports(tmp_path: Path) -> None:
    """The other outputs hold the same items, as `ddbexport read` writes them."""
    chain = table_chain(_fixture_records(), "test", allow_gaps=True)
    jsonl = write_snapshot(chain, tmp_path / "test.jsonl", locate=_on_disk)
    lines = [json.loads(line) for line in (tmp_path / "test.jsonl").read_text().splitlines()]
    assert jsonl.format == "jsonl"
    assert jsonl.items == len(lines) == 8
    assert jsonl.export_folder is None
    assert lines[1] == {
        "bin_update": ["0000", "0001"],
        "pk": "1",
        "sk": "3",
        "test1": "1",
        "test2": "2",
    }
    assert lines[-1] == {
        "b": "0000",
        "bset": ["0000", "1111"],
        "null": None,
        "number": 12,
        "pk": "4",
        "sk": "2",
        "sset": ["test", "test2"],
        "string": "test",
    }
    write_snapshot(chain, tmp_path / "test.parquet", locate=_on_disk)
    rows = pq.read_table(tmp_path / "test.parquet").to_pylist()
    assert [(row["pk"], row["sk"]) for row in rows] == [
        (item["pk"]["S"], item["sk"]["S"]) for item in _sorted(FINAL)
    ]
    assert [row["number"] for row in rows] == [None, None, None, None, 12, None, 12, 12]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["test.jsonl", "test.parquet"]


def test_output_format_by_name() -> None:
    """A file name picks jsonl or parquet; anything else is a folder."""
    assert output_format(Path("out")) == "dynamodb-json"
    assert output_format("s3://b/snapshots/orders") == "dynamodb-json"
    assert output_format(Path("orders.JSONL")) == "jsonl"
    assert output_format(Path("orders.parquet")) == "parquet"
    assert output_format(Path("orders.parquet"), "jsonl") == "jsonl"
    with pytest.raises(
        ddbexport.ConfigError, match="expected one of dynamodb-json, jsonl, parquet"
    ):
        output_format(Path("x"), "csv")


# ---------------------------------------------------------------------------- the CLI on a catalog

CATALOGUED = "snapshot-bucket"


@pytest.fixture
def catalogued(moto_aws: None, tmp_path: Path) -> Path:
    """The real exports in a bucket with their catalog records; the config file naming it."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=CATALOGUED, CreateBucketConfiguration={"LocationConstraint": REGION})
    for path in FIXTURE.rglob("*"):
        if path.is_file() and "AWSDynamoDB" in path.parts:
            s3.put_object(
                Bucket=CATALOGUED, Key=path.relative_to(FIXTURE).as_posix(), Body=path.read_bytes()
            )
    catalog = Catalog(AwsApi(AwsSettings(REGION)), "ddbexport-catalog")
    for record in _fixture_records(CATALOGUED):
        catalog.write(record)
    config = tmp_path / "ddbexport.toml"
    config.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{CATALOGUED}"\n[[tables]]\nname = "test"\n'
    )
    return config


def _cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, ["snapshot", "-c", str(config), *args, "--region", REGION], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def test_cli_writes_the_snapshot_and_warns_of_the_gap(catalogued: Path, tmp_path: Path) -> None:
    """Found through the catalog; the text says what was merged and how to restore it."""
    out = tmp_path / "snap"
    code, stdout, stderr = _cli(catalogued, "--table", "test", "-o", str(out), "--allow-gaps")
    assert code == 0, stderr
    assert "wrote 8 items of table 'test' as of 2026-01-14T10:50:00Z" in stdout
    assert f"baseline     {TABLE_ARN}/export/{FULL_ID} (full, as of 2026-01-14T10:18:50Z)" in stdout
    assert (
        f"incremental  {TABLE_ARN}/export/{MIXED_ID} (2026-01-14T10:35:00Z to 2026-01-14T10:50:00Z)"
        in stdout
    )
    assert "11 applied, 0 skipped" in stdout
    assert "ddbexport restore s3://BUCKET/PREFIX/AWSDynamoDB/01768387800000-" in stdout
    assert f"warning: no export covers {GAP}: writes made then are missing" in stderr
    (folder,) = (out / "AWSDynamoDB").iterdir()
    assert list(iter_items(str(folder), typed=True)) == _sorted(FINAL)


def test_cli_json_and_jsonl_to_a_file(catalogued: Path, tmp_path: Path) -> None:
    """--json gives the result; --as-of picks the instant; a .jsonl name picks the format."""
    out = tmp_path / "test.jsonl"
    code, stdout, stderr = _cli(
        catalogued, "--table", TABLE_ARN, "--as-of", "2026-01-14T10:30:00Z", "-o", str(out),
        "--allow-gaps", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    result = json.loads(stdout)
    assert (result["format"], result["items"], result["as_of"]) == (
        "jsonl",
        9,
        "2026-01-14T10:30:00Z",
    )
    assert result["incrementals"] == [f"{TABLE_ARN}/export/{INSERTS_ID}"]
    assert result["gaps"] == [{"from": "2026-01-14T10:18:50Z", "to": "2026-01-14T10:20:00Z"}]
    assert len(out.read_text().splitlines()) == 9


def test_force_replaces_a_non_empty_folder(catalogued: Path, tmp_path: Path) -> None:
    """Without --force the folder is left as it was; with it, it holds the snapshot only."""
    out = tmp_path / "snap"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, stderr = _cli(catalogued, "--table", "test", "-o", str(out), "--allow-gaps")
    assert code == 2
    assert f"error: {out} is not empty: give a new or empty folder, or --force" in stderr
    assert [path.name for path in out.iterdir()] == ["keep.txt"]
    code, _, stderr = _cli(catalogued, "--table", "test", "-o", str(out), "--allow-gaps", "--force")
    assert code == 0, stderr
    assert [path.name for path in out.iterdir()] == ["AWSDynamoDB"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ddbexport.toml", "snap"]


def test_a_dot_output_names_the_current_folder(
    catalogued: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "here"
    out.mkdir()
    monkeypatch.chdir(out)
    code, _, stderr = _cli(catalogued, "--table", "test", "-o", ".", "--allow-gaps")
    assert code == 0, stderr
    assert [path.name for path in out.iterdir()] == ["AWSDynamoDB"]
    (out / "sub").mkdir()
    monkeypatch.chdir(out / "sub")
    code, _, stderr = _cli(catalogued, "--table", "test", "-o", "..", "--allow-gaps", "--force")
    assert code == 0, stderr
    assert [path.name for path in out.iterdir()] == ["AWSDynamoDB"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--table", "nope"],
            "no exports of table 'nope' in the catalog of "
            f"s3://{CATALOGUED}/ddbexport-catalog/exports/ (tables with exports there: test)",
        ),
        (
            ["--table", "test"],
            f"table 'test': the chain has gaps no export covers (writes made then are missing): "
            f"{GAP}. Take a new full export (a new baseline), or accept the gaps (--allow-gaps)",
        ),
        (
            ["--table", "test", "--allow-gaps", "--as-of", "2026-01-14T10:00:00Z"],
            "table 'test': 2026-01-14T10:00:00Z is before its first good full export (as of "
            "2026-01-14T10:18:50Z) in the catalog of s3://snapshot-bucket/ddbexport-catalog/"
            "exports/, so no export shows the table then; ask for 2026-01-14T10:18:50Z or later",
        ),
        (
            ["--table", "test", "--allow-gaps", "--as-of", "2026-01-14T11:00:00Z"],
            "table 'test': the exports reach 2026-01-14T10:50:00Z, before 2026-01-14T11:00:00Z: "
            "export the rest first, or ask for an earlier time",
        ),
        (["--table", "test", "--as-of", "yesterday"], "--as-of: 'yesterday' is not an ISO-8601"),
        (
            ["--table", "test", "--to", "jsonl", "--typed", "-o", "s3://snapshot-bucket/x"],
            "only dynamodb-json snapshots are written to S3; write jsonl to a file",
        ),
        (
            ["--table", "test", "--typed"],
            "--typed applies to jsonl and parquet snapshots; a dynamodb-json one is typed already",
        ),
        (
            ["--table", "test", "-o", "s3://snapshot-bucket/"],
            "s3://snapshot-bucket/ already holds 30 object(s) (e.g. AWSDynamoDB/",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    catalogued: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    """Each says what is wrong, where, and what is allowed; exit 2; no output, no leftovers."""
    out = tmp_path / "snap"
    if "-o" not in args:
        args = [*args, "-o", str(out)]
    code, stdout, stderr = _cli(catalogued, *args)
    assert code == 2, stdout + stderr
    assert message in stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ddbexport.toml"]


def test_no_baseline_in_the_catalog(catalogued: Path, tmp_path: Path) -> None:
    """Incremental exports alone cannot give the table: the message says to take a full one."""
    boto3.client("s3", region_name=REGION).delete_object(
        Bucket=CATALOGUED, Key=f"ddbexport-catalog/exports/table=test/{FULL_ID}.json"
    )
    code, _, stderr = _cli(catalogued, "--table", "test", "-o", str(tmp_path / "snap"))
    assert code == 2
    assert (
        "table 'test' has no good full export in the catalog of s3://snapshot-bucket/"
        "ddbexport-catalog/exports/ (2 export(s): 2 incremental, 0 failed or unverifiable); a "
        "snapshot starts from one: take a full export (`ddbexport run`) first"
    ) in stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ddbexport.toml"]


def test_a_config_is_required(tmp_path: Path) -> None:
    """The catalog is found through the config's buckets."""
    result = CliRunner().invoke(cli, ["snapshot", "--table", "t", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "pass -c/--config FILE: its buckets hold the catalog" in result.stderr


def test_an_unreadable_export_leaves_nothing_half_written(catalogued: Path, tmp_path: Path) -> None:
    """A data file that is not gzip stops the snapshot midway: exit 1, the file named, and
    neither the output nor a temporary folder is left behind."""
    bad = "AWSDynamoDB/data/vv6znehhmq4x3hfgpshdp2m5ta.json.gz"
    boto3.client("s3", region_name=REGION).put_object(Bucket=CATALOGUED, Key=bad, Body=b"not gzip")
    for out in (tmp_path / "snap", tmp_path / "snap.parquet"):
        code, _, stderr = _cli(catalogued, "--table", "test", "-o", str(out), "--allow-gaps")
        assert code == 1
        assert f"s3://{CATALOGUED}/{bad}: cannot read it as gzip" in stderr
        assert sorted(path.name for path in tmp_path.iterdir()) == ["ddbexport.toml"]


# ---------------------------------------------------------------------------- the sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox on real time (writes land in the windows they are meant for) whose exports
    take a fraction of a second, and a bucket; moto's ImportTable reads data as AWS does."""
    settings = SandboxSettings(base_duration_s=0.2, seconds_per_item=0, seed=5)
    with Sandbox(settings, time_scale=1) as box:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield box


def _ddb() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def _put(pk: str, sk: int, **attributes: Any) -> None:
    item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"N": str(sk)}}
    for name, value in attributes.items():
        item[name] = (
            {"SS": sorted(value)}
            if isinstance(value, set)
            else {"N" if isinstance(value, int) else "S": str(value)}
        )
    _ddb().put_item(TableName="orders", Item=item)


def _delete(pk: str, sk: int) -> None:
    _ddb().delete_item(TableName="orders", Key={"pk": {"S": pk}, "sk": {"N": str(sk)}})


_DESERIALIZE = TypeDeserializer()


def _plain(value: Any) -> Any:
    """A scanned value as JSON lines and Parquet hold it: integers, sorted lists for sets."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, set):
        return sorted(value)
    return value


def _state(table: str) -> list[dict[str, Any]]:
    """The table's items as plain values, in key order."""
    pages = _ddb().get_paginator("scan").paginate(TableName=table)
    items = [
        {name: _plain(_DESERIALIZE.deserialize(value)) for name, value in item.items()}
        for page in pages
        for item in page["Items"]
    ]
    return sorted(items, key=lambda item: (item["pk"], item["sk"]))


def _in_key_order(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items sorted as :func:`_state` sorts them (a snapshot gives the baseline's order)."""
    return sorted(items, key=lambda item: (item["pk"], item["sk"]))


def _config_text(defaults: str = "") -> str:
    """A config exporting 'orders' to the bucket, polling fast."""
    return (
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\n{defaults}[[tables]]\n'
        'name = "orders"\n[run]\npoll_first = "100ms"\npoll_min = "100ms"\npoll_max = "200ms"\n'
    )


def _incremental(sandbox: Sandbox, table_arn: str, start: datetime) -> None:
    _ddb().export_table_to_point_in_time(
        TableArn=table_arn,
        S3Bucket=BUCKET,
        S3Prefix="exports/orders",
        ExportType="INCREMENTAL_EXPORT",
        IncrementalExportSpecification={
            "ExportFromTime": start,
            "ExportToTime": start + timedelta(minutes=15),
            "ExportViewType": "NEW_AND_OLD_IMAGES",
        },
    )
    sandbox.advance(600)


def test_sandbox_snapshot_restores_to_the_table_as_it_is(sandbox: Sandbox, tmp_path: Path) -> None:
    """Full export, writes, two incremental exports, catalogued: the snapshot (to S3) restores
    to a table equal to the source, and its JSON lines and Parquet hold the same items."""
    _ddb().create_table(
        TableName="orders",
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
    table_arn = _ddb().describe_table(TableName="orders")["Table"]["TableArn"]
    _ddb().update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    for index in range(6):
        _put(f"order-{index}", index, total=10 * index, status="new")
    sandbox.advance(60)
    config_file = tmp_path / "ddbexport.toml"
    config_file.write_text(_config_text('prefix = "exports/{table}"\n'))
    config = ddbexport.load_config(config_file)
    api = AwsApi(AwsSettings(REGION))
    report = ddbexport.run(
        config,
        api=api,
        state_dir=tmp_path / "state",
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )
    assert report.exit_code == 0
    baseline = report.tables[0].export_time
    assert sandbox.now() < baseline + timedelta(minutes=1)

    # The first window: updates, a delete, an insert, a key written twice.
    sandbox.advance(60)
    _put("order-1", 1, total=11, status="paid", tags={"gift"})
    _delete("order-2", 2)
    _put("order-9", 9, total=90, status="new")
    sandbox.advance(60)
    _put("order-9", 9, total=91, status="paid")
    sandbox.advance(15 * 60 - (sandbox.now() - baseline).total_seconds() + 30)
    at_first_window_end = _state("orders")
    # The second window: the deleted key comes back, a new one goes again, one changes twice.
    _put("order-2", 2, total=22, status="again")
    _delete("order-9", 9)
    _put("order-1", 1, total=12, status="shipped", tags={"gift", "rush"})
    _put("order-10", 10, total=100, status="new")
    _delete("order-4", 4)
    sandbox.advance(20 * 60)
    for start in (baseline, baseline + timedelta(minutes=15)):
        _incremental(sandbox, table_arn, start)
    rebuilt = rebuild_catalog(config, api)
    assert (len(rebuilt.written), rebuilt.problems) == (3, [])

    result = snapshot(config, api, table="orders", output=f"s3://{BUCKET}/snapshots/orders")
    assert (len(result.incrementals), result.gaps) == (2, ())
    # One change per key and window: order-1, -2, -9, then order-1, -2, -4, -9, -10.
    assert (result.changes_applied, result.changes_skipped) == (8, 0)
    assert result.as_of == baseline + timedelta(minutes=30)
    assert result.items == len(_state("orders")) == 6
    assert result.export_folder is not None
    assert result.export_folder.startswith(f"s3://{BUCKET}/snapshots/orders/AWSDynamoDB/")
    checked = verify(result.export_folder, deep=True, api=api)
    assert checked.ok, checked.problems  # the ETags S3 gave are in the manifest
    # The snapshot sits in an exported bucket, but it is no export: rebuild leaves it out.
    again = rebuild_catalog(config, api)
    assert (len(again.written), again.snapshots) == (3, [result.export_folder])

    restored = restore(
        result.export_folder, "orders-restored", api=api, wait=True, poll_s=0.01, timeout_s=20.0
    )
    assert restored.ok, restored.to_dict()
    assert restored.plan.definition == "schema sidecar"  # the baseline's, copied
    assert _state("orders-restored") == _state("orders")

    jsonl = tmp_path / "orders.jsonl"
    code, _, stderr = _cli(config_file, "--table", "orders", "-o", str(jsonl))
    assert code == 0, stderr
    assert _in_key_order(json.loads(line) for line in jsonl.read_text().splitlines()) == _state(
        "orders"
    )
    parquet = tmp_path / "orders.parquet"
    snapshot(config, api, table="orders", output=parquet)
    rows = pq.read_table(parquet).to_pylist()
    present = ({k: v for k, v in row.items() if v is not None} for row in rows)
    assert _in_key_order(present) == _state("orders")

    # As of the first window's end: the table as it was then.
    early = tmp_path / "early.jsonl"
    as_of = (baseline + timedelta(minutes=15)).isoformat()
    code, _, stderr = _cli(config_file, "--table", "orders", "--as-of", as_of, "-o", str(early))
    assert code == 0, stderr
    lines = early.read_text().splitlines()
    assert _in_key_order(json.loads(line) for line in lines) == at_first_window_end


def test_sandbox_snapshot_to_s3_refuses_a_used_prefix_unless_forced(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A prefix holding anything is refused; --force replaces only the snapshot's own folder."""
    _ddb().create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    _ddb().update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    _ddb().put_item(TableName="orders", Item={"pk": {"S": "a"}})
    sandbox.advance(60)
    config_file = tmp_path / "ddbexport.toml"
    config_file.write_text(_config_text())
    config = ddbexport.load_config(config_file)
    api = AwsApi(AwsSettings(REGION))
    ddbexport.run(
        config, api=api, state_dir=tmp_path / "s", clock=sandbox.monotonic, sleep=sandbox.sleep,
        now=sandbox.now,
    )  # fmt: skip
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key="snap/other.txt", Body=b"x")
    with pytest.raises(ddbexport.ConfigError, match="s3://exports-bucket/snap already holds 1"):
        snapshot(config, api, table="orders", output=f"s3://{BUCKET}/snap")
    first = snapshot(config, api, table="orders", output=f"s3://{BUCKET}/snap", force=True)
    again = snapshot(config, api, table="orders", output=f"s3://{BUCKET}/snap", force=True)
    assert first.export_folder == again.export_folder
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="snap/")["Contents"])
    folder = str(first.export_folder).removeprefix(f"s3://{BUCKET}/")
    assert keys == sorted(
        [
            "snap/other.txt",
            f"{folder}data/snapshot-00000.json.gz",
            f"{folder}ddbexport-schema.json",
            f"{folder}manifest-files.json",
            f"{folder}manifest-files.md5",
            f"{folder}manifest-summary.json",
            f"{folder}manifest-summary.md5",
        ]
    )
    data = s3.get_object(Bucket=BUCKET, Key=f"{folder}data/snapshot-00000.json.gz")["Body"].read()
    assert gzip.decompress(data) == b'{"Item":{"pk":{"S":"a"}}}\n'
