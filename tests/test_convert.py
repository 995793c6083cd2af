"""Writing exports as JSON lines, CSV and Parquet, and the `ddbexport read` command."""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import sys
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.cli.main import cli
from ddbexport.data.convert import convert, json_safe, write_parquet
from ddbexport.data.convert.parquet_columns import Column
from ddbexport.errors import ConfigError
from ddbexport.exports.reader import ExportReadError, iter_items

from .helpers import REGION
from .test_reader import (
    BUCKET,
    FIXTURE_ITEMS,
    FULL_ID,
    MIXED_ID,
    CountingApi,
    _upload_fixture,
    _values,
    fixture_folder,
    write_export,
)

# ---------------------------------------------------------------------------- helpers


def file_json(value: Any) -> dict[str, Any]:
    """A plain value as DynamoDB JSON as export files hold it (binary as base64)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Decimal):
        return {"N": str(value)}
    if isinstance(value, bytes):
        return {"B": base64.b64encode(value).decode()}
    if isinstance(value, list):
        return {"L": [file_json(inner) for inner in value]}
    if isinstance(value, dict):
        return {"M": {name: file_json(inner) for name, inner in value.items()}}
    assert isinstance(value, set)
    kind = {str: "SS", Decimal: "NS", bytes: "BS"}[type(next(iter(value)))]
    return {kind: [next(iter(file_json(member).values())) for member in value]}


def file_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: file_json(value) for name, value in item.items()}


def expected_json(value: Any) -> Any:
    """What JSON lines should hold for a plain value, as json.loads reads it with Decimals."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, set):
        return [expected_json(member) for member in sorted(value)]
    if isinstance(value, list):
        return [expected_json(inner) for inner in value]
    if isinstance(value, dict):
        return {name: expected_json(inner) for name, inner in value.items()}
    return value


def parse_json(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def jsonl(target: str, *, typed: bool = False) -> list[Any]:
    out = io.BytesIO()
    convert(target, "jsonl", out, typed=typed)
    return [parse_json(line) for line in out.getvalue().splitlines()]


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


# ---------------------------------------------------------------------------- JSON lines


def test_jsonl_of_the_real_full_export() -> None:
    assert jsonl(fixture_folder(FULL_ID)) == FIXTURE_ITEMS
    assert jsonl(fixture_folder(FULL_ID), typed=True)[2] == {
        "pk": {"S": "1"},
        "sk": {"S": "3"},
        "test2": {"S": "2"},
        "test1": {"S": "1"},
    }


def test_jsonl_of_the_real_incremental_export_holds_its_changes() -> None:
    changes = jsonl(fixture_folder(MIXED_ID))
    assert [change["kind"] for change in changes] == [
        "delete",
        "delete",
        "update",
        "insert",
        "update",
    ]
    update = changes[2]
    assert update == {
        "kind": "update",
        "keys": {"pk": "1", "sk": "3"},
        "old": {"pk": "1", "sk": "3", "test1": "1", "test2": "2"},
        "new": {"bin_update": ["0000", "0001"], "pk": "1", "sk": "3", "test1": "1", "test2": "2"},
        "write_time": "2026-01-14T10:47:53.917155Z",
    }
    assert changes[0]["new"] is None
    assert changes[3]["old"] is None
    assert changes[4]["old"]["nset"] == [1, 2]
    assert changes[4]["old"]["mapp"] == {"test": "test"}  # base64 "test" round trips
    typed = jsonl(fixture_folder(MIXED_ID), typed=True)
    assert typed[2]["new"]["bin_update"] == {"BS": ["0000", "0001"]}


def test_jsonl_numbers_keep_every_digit_and_sets_are_sorted(tmp_path: Path) -> None:
    folder = write_export(
        tmp_path,
        [
            {
                "pk": {"S": "a"},
                "big": {"N": "12345678901234567890123456789012345678"},
                "tiny": {"N": "1.2345678901234567890123456789012345678E-130"},
                "exp": {"N": "1E+125"},
                "ns": {"NS": ["10", "9", "-1.5"]},
                "ss": {"SS": ["b", "a", "B"]},
                "bs": {"BS": ["AQ==", "AA=="]},
            }
        ],
    )
    out = io.BytesIO()
    convert(str(folder), "jsonl", out)
    line = out.getvalue().decode()
    assert '"big":12345678901234567890123456789012345678,' in line
    assert '"tiny":1.2345678901234567890123456789012345678E-130,' in line
    assert '"ns":[-1.5,9,10]' in line
    assert '"ss":["B","a","b"]' in line
    assert '"bs":["AA==","AQ=="]' in line
    assert parse_json(line)["exp"] == Decimal("1E+125")


def test_json_safe_matches_the_fast_path(tmp_path: Path) -> None:
    """What `read` writes equals json_safe() of what iter_items() yields."""
    folder = write_export(tmp_path, [file_item(item) for item in _SAMPLE], partitions=1)
    written = jsonl(str(folder))
    from_items = [parse_json(orjson.dumps(json_safe(item))) for item in iter_items(str(folder))]
    assert written == from_items == [expected_json(item) for item in _SAMPLE]


_SAMPLE = [
    {
        "pk": "a",
        "n": Decimal("-0.5"),
        "b": b"\x00\xfe",
        "m": {"l": [True, None, {"x"}, {Decimal(2), Decimal(1)}, {b"\x02", b"\x01"}]},
    },
    {"pk": "b"},
]


# Names mostly from a small pool, so that columns are shared: by values of one type or of several.
_names = st.sampled_from(["a", "b", "c"]) | st.text(min_size=1, max_size=6).filter(
    lambda name: name != "pk"
)
_items = st.lists(st.dictionaries(_names, _values, max_size=4), max_size=5)


@settings(max_examples=40, deadline=None)
@given(_items)
def test_property_jsonl_and_parquet_round_trip(attributes: list[dict[str, Any]]) -> None:
    """Whatever the items, JSON lines and Parquet give them back (through their rules)."""
    import tempfile  # noqa: PLC0415 - hypothesis runs this many times: no tmp_path fixture

    items = [{"pk": f"item-{index}", **item} for index, item in enumerate(attributes)]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        folder = write_export(root, [file_item(item) for item in items], partitions=2)
        got = sorted(jsonl(str(folder)), key=lambda item: item["pk"])
        assert got == [expected_json(item) for item in items]
        convert(str(folder), "parquet", root / "out.parquet")
        rows = sorted(parquet_rows(root / "out.parquet"), key=lambda row: row["pk"])
        names = {name for item in items for name in item}
        varying = {
            name
            for name in names
            if len({_kind(item[name]) for item in items if item.get(name) is not None}) > 1
        }
        assert rows == [
            {
                name: expected_json(item.get(name))
                if name in varying
                else parquet_expected(item.get(name))
                for name in names
            }
            for item in items
        ]


def _kind(value: Any) -> Any:
    return ("set", type(next(iter(value)))) if isinstance(value, set) else type(value)


# ---------------------------------------------------------------------------- Parquet


def parquet_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a file written by `read`, values made comparable with parquet_expected()."""
    table = pq.read_table(path)
    note = json.loads(table.schema.metadata[b"ddbexport"])
    rows = []
    for row in table.to_pylist():
        for name, value in row.items():
            field = table.schema.field(name)
            if field.metadata and field.metadata.get(b"ddbexport.encoding") == b"json":
                row[name] = None if value is None else parse_json(value)
            elif name in note["number_text_columns"] and value is not None:
                row[name] = (
                    [Decimal(text) for text in value] if isinstance(value, list) else Decimal(value)
                )
            elif isinstance(value, int) and not isinstance(value, bool):
                row[name] = Decimal(value)
            elif isinstance(value, list):
                row[name] = [Decimal(v) if isinstance(v, int) else v for v in value]
        rows.append(row)
    return rows


def parquet_expected(value: Any) -> Any:
    """A plain value as parquet_rows() gives it back (the rule in ddbexport.convert)."""
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, list | dict):
        return expected_json(value)
    return value


def test_parquet_column_types_follow_the_documented_rule(tmp_path: Path) -> None:
    items = [
        {
            "pk": {"S": "a"},
            "count": {"N": "9223372036854775807"},
            "price": {"N": "12.50"},
            "huge": {"N": "1E+125"},
            "mixed": {"S": "1"},
            "flag": {"BOOL": True},
            "blob": {"B": "AAE="},
            "tags": {"SS": ["b", "a"]},
            "sizes": {"NS": ["3", "1"]},
            "blobs": {"BS": ["AQ==", "AA=="]},
            "doc": {"M": {"x": {"L": [{"N": "1"}]}}},
            "nothing": {"NULL": True},
        },
        {
            "pk": {"S": "b"},
            "count": {"N": "-9223372036854775808"},
            "price": {"N": "0.001"},
            "huge": {"N": "2"},
            "mixed": {"N": "1"},
            "flag": {"NULL": True},
        },
    ]
    folder = write_export(tmp_path, items, partitions=1, key_names=("pk",), sidecar=True)
    result = convert(str(folder), "parquet", tmp_path / "items.parquet")
    schema = pq.read_schema(tmp_path / "items.parquet")
    assert schema.names[0] == "pk"
    types = {name: schema.field(name).type for name in schema.names}
    assert types == {
        "pk": pa.string(),
        "count": pa.int64(),
        "price": pa.decimal128(38, 3),
        "huge": pa.string(),
        "mixed": pa.string(),
        "flag": pa.bool_(),
        "blob": pa.binary(),
        "tags": pa.list_(pa.string()),
        "sizes": pa.list_(pa.int64()),
        "blobs": pa.list_(pa.binary()),
        "doc": pa.string(),
        "nothing": pa.string(),
    }
    note = json.loads(schema.metadata[b"ddbexport"])
    assert note["varying_columns"] == {"mixed": ["S", "N"]}
    assert sorted(note["json_columns"]) == ["doc", "mixed"]
    assert note["number_text_columns"] == ["huge"]
    assert schema.field("mixed").metadata == {b"ddbexport.encoding": b"json"}
    assert any("'mixed' holds several types (S, N)" in text for text in result.notes)
    rows = pq.read_table(tmp_path / "items.parquet").to_pylist()
    assert rows[0] == {
        "pk": "a",
        "count": 2**63 - 1,
        "price": Decimal("12.500"),
        "huge": "1E+125",
        "mixed": '"1"',
        "flag": True,
        "blob": b"\x00\x01",
        "tags": ["a", "b"],
        "sizes": [1, 3],
        "blobs": [b"\x00", b"\x01"],
        "doc": '{"x":[1]}',
        "nothing": None,
    }
    assert rows[1]["mixed"] == "1"
    assert rows[1]["count"] == -(2**63)
    assert rows[1]["flag"] is None
    assert rows[1]["blob"] is None


def test_parquet_numbers_beyond_int64_become_decimals(tmp_path: Path) -> None:
    folder = write_export(
        tmp_path,
        [
            {"pk": {"S": "a"}, "n": {"N": "9223372036854775808"}},
            {"pk": {"S": "b"}, "n": {"N": "1"}},
        ],
    )
    convert(str(folder), "parquet", tmp_path / "out.parquet")
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema.field("n").type == pa.decimal128(38, 0)
    assert sorted(table.column("n").to_pylist()) == [Decimal(1), Decimal(2**63)]


def test_parquet_is_written_in_bounded_row_groups(tmp_path: Path) -> None:
    items = [{"pk": {"S": f"k{index:05d}"}, "text": {"S": "x" * 200}} for index in range(3000)]
    folder = write_export(tmp_path, items)
    result = write_parquet(str(folder), tmp_path / "out.parquet", row_group_bytes=64 * 1024)
    metadata = pq.read_metadata(tmp_path / "out.parquet")
    assert result.rows == metadata.num_rows == 3000
    assert metadata.num_row_groups > 5
    assert max(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)) < 600


def test_parquet_of_changes(tmp_path: Path) -> None:
    convert(fixture_folder(MIXED_ID), "parquet", tmp_path / "changes.parquet")
    table = pq.read_table(tmp_path / "changes.parquet")
    assert table.schema.names == ["kind", "write_time", "keys", "old", "new"]
    assert table.schema.field("write_time").type == pa.timestamp("us", tz="UTC")
    rows = table.to_pylist()
    assert [row["kind"] for row in rows] == ["delete", "delete", "update", "insert", "update"]
    assert rows[2]["write_time"].isoformat() == "2026-01-14T10:47:53.917155+00:00"
    assert json.loads(rows[2]["keys"]) == {"pk": "1", "sk": "3"}
    assert rows[0]["new"] is None


def test_typed_parquet_holds_dynamodb_json(tmp_path: Path) -> None:
    convert(fixture_folder(FULL_ID), "parquet", tmp_path / "typed.parquet", typed=True)
    rows = pq.read_table(tmp_path / "typed.parquet").to_pylist()
    assert json.loads(rows[2]["test1"]) == {"S": "1"}
    assert rows[0]["test1"] is None


def test_parquet_to_a_stream_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs a file"):
        convert(fixture_folder(FULL_ID), "parquet", io.BytesIO())


# ---------------------------------------------------------------------------- CSV


def test_csv_columns_union_keys_first_nested_as_json(tmp_path: Path) -> None:
    items = [
        {"name": {"S": "x"}, "sk": {"N": "2"}, "pk": {"S": "a"}, "t": {"BOOL": True}},
        {
            "pk": {"S": "b"},
            "sk": {"N": "1E+2"},
            "doc": {"M": {"k": {"SS": ["z", "y"]}}},
            "bin": {"B": "AAE="},
            "z": {"NULL": True},
        },
    ]
    folder = write_export(tmp_path, items, partitions=1, key_names=("pk", "sk"), sidecar=True)
    result = convert(str(folder), "csv", tmp_path / "out.csv")
    assert result.columns == ("pk", "sk", "name", "t", "doc", "bin", "z")
    assert read_csv(tmp_path / "out.csv") == [
        ["pk", "sk", "name", "t", "doc", "bin", "z"],
        ["a", "2", "x", "true", "", "", ""],
        ["b", "1E+2", "", "", '{"k":["y","z"]}', "AAE=", ""],
    ]
    convert(str(folder), "csv", tmp_path / "typed.csv", typed=True)
    assert read_csv(tmp_path / "typed.csv")[2][:2] == ['{"S":"b"}', '{"N":"1E+2"}']


def test_csv_of_the_real_exports() -> None:
    out = io.BytesIO()
    convert(fixture_folder(FULL_ID), "csv", out)
    assert out.getvalue().decode().splitlines() == [
        "pk,sk,test,test2,test1",
        "1,1,test,,",
        "1,2,test2,,",
        "1,3,,2,1",
    ]
    out = io.BytesIO()
    convert(fixture_folder(MIXED_ID), "csv", out)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode())))
    assert rows[0] == ["kind", "write_time", "keys", "old", "new"]
    assert rows[3][:3] == ["update", "2026-01-14T10:47:53.917155Z", '{"pk":"1","sk":"3"}']


@pytest.mark.usefixtures("moto_aws")
def test_csv_and_parquet_from_s3_spool_instead_of_downloading_twice(tmp_path: Path) -> None:
    """Each reads the export twice (its columns first), and downloads each data file once."""
    _upload_fixture("")
    target = f"s3://{BUCKET}/AWSDynamoDB/{FULL_ID}/"
    counting = CountingApi(AwsApi(AwsSettings(REGION)))
    out, local = io.BytesIO(), io.BytesIO()
    convert(target, "csv", out, api=counting)
    convert(fixture_folder(FULL_ID), "csv", local)
    assert out.getvalue() == local.getvalue()
    assert out.getvalue().decode().splitlines()[3] == "1,3,,2,1"
    for engine in ("python", "native"):
        path = tmp_path / f"{engine}.parquet"
        convert(target, "parquet", path, api=counting, engine=engine)
        assert pq.read_table(path).to_pylist()[2] == {
            "pk": "1",
            "sk": "3",
            "test": None,
            "test2": "2",
            "test1": "1",
        }
    downloads = Counter(key for key in counting.opened if key.endswith(".json.gz"))
    assert downloads
    assert set(downloads.values()) == {3}  # once by each of the three conversions


@pytest.mark.parametrize("to", ["csv", "jsonl"])
def test_a_bad_number_is_named_with_its_file_and_line(tmp_path: Path, to: str) -> None:
    """CSV converts cells on its second reading: a value it cannot read is reported as the
    other formats report it, not as a bare decimal error."""
    folder = write_export(tmp_path, [_row(0)], partitions=1)
    data = next(folder.glob("data/*.json.gz"))
    good = b"".join(orjson.dumps({"Item": _row(index)}) + b"\n" for index in range(3))
    data.write_bytes(gzip.compress(good + b'{"Item": {"pk": {"S": "x"}, "n": {"N": "bad"}}}\n'))
    with pytest.raises(ExportReadError, match=rf"{data.name} line 4: bad attribute value"):
        convert(str(folder), to, io.BytesIO())
    code, _, err = _read(str(folder), "--to", to)
    assert code == 1
    assert f"{data.name} line 4: bad attribute value" in err


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    folder = write_export(tmp_path, [{"pk": {"S": "a"}, "n": {"N": "bad"}}], partitions=1)
    target = tmp_path / "out.jsonl"
    target.write_text("previous\n")
    with pytest.raises(ExportReadError, match="bad attribute value"):
        convert(str(folder), "jsonl", target)
    assert target.read_text() == "previous\n"
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


# ---------------------------------------------------------------------------- the command


def _read(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["read", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cli_read_writes_jsonl_to_stdout_by_default() -> None:
    code, out, err = _read(fixture_folder(FULL_ID))
    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == FIXTURE_ITEMS
    code, out, _ = _read(fixture_folder(FULL_ID), "--typed")
    assert json.loads(out.splitlines()[0]) == {
        "pk": {"S": "1"},
        "sk": {"S": "1"},
        "test": {"S": "test"},
    }
    code, out, _ = _read(fixture_folder(MIXED_ID))
    assert [json.loads(line)["kind"] for line in out.splitlines()] == [
        "delete",
        "delete",
        "update",
        "insert",
        "update",
    ]


def test_cli_read_to_files(tmp_path: Path) -> None:
    code, out, err = _read(fixture_folder(FULL_ID), "--to", "csv", "-o", str(tmp_path / "a.csv"))
    assert code == 0, err
    assert out == ""
    assert "wrote 3 items" in err
    assert read_csv(tmp_path / "a.csv")[0] == ["pk", "sk", "test", "test2", "test1"]
    parquet = tmp_path / "a.parquet"
    code, _, err = _read(fixture_folder(MIXED_ID), "--to", "parquet", "-o", str(parquet))
    assert code == 0, err
    assert "wrote 5 changes" in err
    assert pq.read_metadata(parquet).num_rows == 5


def test_cli_read_bad_input_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = _read(fixture_folder(FULL_ID), "--to", "parquet")
    assert code == 2
    assert "--to parquet needs -o PATH" in err
    code, _, err = _read(str(tmp_path))
    assert code == 2
    assert "not an export folder" in err
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    code, _, err = _read(fixture_folder(FULL_ID), "--to", "parquet", "-o", str(tmp_path / "x"))
    assert code == 2
    assert "pip install 'ddbexport[parquet]'" in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("to", ["jsonl", "csv", "parquet"])
def test_cli_read_to_an_unwritable_place_exits_2(tmp_path: Path, to: str) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "items.out"
    code, _, err = _read(fixture_folder(FULL_ID), "--to", to, "-o", str(missing))
    assert code == 2
    assert f"the folder {missing.parent} does not exist" in err
    assert "Traceback" not in err
    code, _, err = _read(fixture_folder(FULL_ID), "--to", to, "-o", str(tmp_path))
    assert code == 2
    assert "is a folder" in err or "is a directory" in err  # said by us or by click
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code, _, err = _read(fixture_folder(FULL_ID), "--to", to, "-o", str(a_file / "items.out"))
    assert code == 2
    assert "is not a folder" in err
    assert a_file.read_text() == "x"


def test_cli_read_a_corrupt_export_exits_1(tmp_path: Path) -> None:
    folder = write_export(tmp_path, [{"pk": {"S": "a"}}], partitions=1)
    next(folder.glob("data/*.gz")).write_bytes(b"garbage")
    code, _, err = _read(str(folder))
    assert code == 1
    assert "cannot read it as gzip" in err


# ---------------------------------------------------------------------------- worker processes


def _row(index: int) -> dict[str, Any]:
    return {
        "pk": {"S": f"item-{index:06d}"},
        "price": {"N": f"{index}.{index % 97:02d}"},
        "tags": {"SS": [f"t{index % 5}", "a"]},
        "blob": {"B": base64.b64encode(bytes([index % 256]) * 3).decode()},
        "nested": {"M": {"list": {"L": [{"N": "1e2"}, {"NULL": True}, {"BOOL": False}]}}},
    }


@pytest.mark.parametrize("export_format", ["DYNAMODB_JSON", "ION"])
@pytest.mark.parametrize("typed", [False, True])
def test_workers_write_the_same_lines_in_the_same_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, export_format: str, typed: bool
) -> None:
    """Small chunks: every file is cut into many pieces, spread over two worker processes, and
    put back together byte for byte as one process writes them."""
    monkeypatch.setattr("ddbexport.exports.reader.CHUNK_BYTES", 2048)
    folder = write_export(
        tmp_path, [_row(index) for index in range(600)], export_format=export_format, partitions=3
    )
    serial, parallel = io.BytesIO(), io.BytesIO()
    one = convert(str(folder), "jsonl", serial, typed=typed, workers=1)
    two = convert(str(folder), "jsonl", parallel, typed=typed, workers=2)
    assert parallel.getvalue() == serial.getvalue()
    assert one.rows == two.rows == 600
    assert len(serial.getvalue().splitlines()) == 600


def test_a_bad_line_read_by_a_worker_is_named_with_its_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ddbexport.exports.reader.CHUNK_BYTES", 1024)
    folder = write_export(tmp_path, [_row(index) for index in range(3)], partitions=1)
    data = next(folder.glob("data/*.json.gz"))
    good = b"".join(orjson.dumps({"Item": _row(index)}) + b"\n" for index in range(200))
    data.write_bytes(gzip.compress(good + b'{"Item": {"pk": {"N": "one"}}}\n' + good))
    with pytest.raises(ExportReadError, match=rf"{data.name} line 201: bad attribute value"):
        convert(str(folder), "jsonl", io.BytesIO(), workers=2)


def test_read_takes_workers_and_refuses_zero(tmp_path: Path) -> None:
    folder = write_export(tmp_path, [_row(index) for index in range(50)], partitions=2)
    runner = CliRunner()
    serial = runner.invoke(cli, ["read", str(folder)])
    parallel = runner.invoke(cli, ["read", str(folder), "--workers", "2"])
    assert serial.exit_code == parallel.exit_code == 0, parallel.output
    assert parallel.stdout_bytes == serial.stdout_bytes
    refused = runner.invoke(cli, ["read", str(folder), "--workers", "0"])
    assert refused.exit_code == 2
    assert "--workers" in refused.output
    with pytest.raises(ConfigError, match="workers must be 1 or more"):
        convert(str(folder), "jsonl", io.BytesIO(), workers=0)


def test_a_column_holding_two_columns_values_needs_what_both_need() -> None:
    """How Parquet's survey of chunks and the lake's columns over time combine what they saw."""
    first, second = Column(), Column()
    for typed in ({"N": "12"}, {"NULL": True}):
        first.add(typed)
    for typed in ({"N": "-0.125"}, {"S": "x"}):
        second.add(typed)
    both = Column()
    both.include(first)
    both.include(second)
    assert list(both.kinds) == ["N", "S"]
    assert (both.numbers.integers, both.numbers.scale, both.numbers.whole_digits) == (False, 3, 2)
    assert (first.numbers.integers, list(first.kinds)) == (True, ["N"])  # unchanged
