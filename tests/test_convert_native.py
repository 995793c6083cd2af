"""`read --engine native`: the JSON lines the C converter writes are the Python path's, byte
for byte (what it does not convert itself, it hands back to Python in place)."""

from __future__ import annotations

import base64
import gzip
import io
import tempfile
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
from ddbexport.data.convert import convert, write_parquet
from ddbexport.data.convert.native import native_transcoder
from ddbexport.errors import ConfigError
from ddbexport.exports.reader import ExportReadError

from .helpers import REGION
from .test_convert import _row, file_item
from .test_reader import (
    BUCKET,
    FULL_ID,
    INSERTS_ID,
    _upload_fixture,
    _values,
    fixture_folder,
    write_export,
)

# Installing the project compiles the converter (hatch_build.py); the suite insists on it.
assert native_transcoder() is not None, "the C converter was not built: reinstall with a compiler"


def both(target: str, **options: Any) -> tuple[bytes, bytes]:
    """The JSON lines of ``target`` from the native engine and from Python."""
    native, python = io.BytesIO(), io.BytesIO()
    rows = convert(target, "jsonl", native, engine="native", **options).rows
    assert rows == convert(target, "jsonl", python, engine="python", **options).rows
    return native.getvalue(), python.getvalue()


def test_the_real_full_export_gives_the_same_bytes() -> None:
    native, python = both(fixture_folder(FULL_ID))
    assert native == python
    assert native.count(b"\n") == 3


@pytest.mark.usefixtures("moto_aws")
def test_an_export_in_s3_gives_the_same_bytes() -> None:
    _upload_fixture("")
    api = AwsApi(AwsSettings(REGION))
    native, python = both(f"s3://{BUCKET}/AWSDynamoDB/{FULL_ID}/", api=api)
    assert native == python


# Number texts as a file may hold them: canonical or not, exponents small and huge, 38 digits.
_number_texts = st.one_of(
    st.integers(-(10**38) + 1, 10**38 - 1).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str),
    st.sampled_from(
        [
            "0",
            "-0",
            "1.50",
            "1E+2",
            "1e2",
            "0.0000001",
            "0.000001",
            "1E-130",
            "9.9999999999999999999999999999999999999E+125",
            "12345678901234567890123456789012345678",
            "-0.00012345678901234567890123456789012345678",
            "00.5",
            ".5",
            "1e400",
        ]
    ),
)
# Base64 as a file may hold it: canonical, padding bits set, empty.
_blob_texts = st.binary(max_size=9).map(lambda data: base64.b64encode(data).decode()) | (
    st.sampled_from(["QR==", "QUJ=", "", "AAAA"])
)
_strings = st.text(
    st.characters(blacklist_categories=("Cs",))
    | st.sampled_from('\u2028\u2029\u0085\x0b\x1f\x00"\\/é'),
    max_size=10,
)
_keys = _strings | st.sampled_from(["S", "N", "M", "L", "B", "BOOL", "NULL", "SS", "NS", "BS"])


def _typed(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda value: {"M": value}, st.dictionaries(_keys, children, max_size=3)),
        st.builds(lambda value: {"L": value}, st.lists(children, max_size=3)),
    )


_scalars = st.one_of(
    _strings.map(lambda text: {"S": text}),
    _number_texts.map(lambda text: {"N": text}),
    _blob_texts.map(lambda text: {"B": text}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
    st.just({"NULL": True}),
    st.lists(_strings, min_size=1, max_size=4, unique=True).map(lambda texts: {"SS": texts}),
    st.lists(_number_texts, min_size=1, max_size=4, unique=True).map(lambda texts: {"NS": texts}),
    st.lists(_blob_texts, min_size=1, max_size=4, unique=True).map(lambda texts: {"BS": texts}),
)
_typed_values = st.recursive(_scalars, _typed, max_leaves=10)


def _loadable(item: dict[str, Any]) -> bool:
    """Whether the Python path writes the item (it refuses what Decimal cannot read)."""
    try:
        convert_one(item)
    except ExportReadError:
        return False
    return True


def convert_one(item: dict[str, Any]) -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_export(Path(scratch), [item], partitions=1)
        out = io.BytesIO()
        convert(str(folder), "jsonl", out, engine="python")
        return out.getvalue()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(_keys, _typed_values, max_size=6), max_size=6))
def test_property_any_items_give_the_same_bytes(items: list[dict[str, Any]]) -> None:
    """Every attribute type, sets, nested maps and lists, 38-digit numbers, exponents, binary,
    empty strings, U+2028 and U+0085, control characters: the same bytes from both engines
    (what the C converter does not write itself, Python writes for it)."""
    items = [{"pk": {"S": f"item-{index}"}, **item} for index, item in enumerate(items)]
    items = [item for item in items if _loadable(item)]
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_export(Path(scratch), items, partitions=2)
        native, python = both(str(folder))
    assert native == python


@settings(max_examples=20, deadline=None)
@given(st.lists(st.dictionaries(st.text(min_size=1, max_size=6), _values, max_size=4), max_size=5))
def test_property_items_of_plain_values_give_the_same_bytes(items: list[dict[str, Any]]) -> None:
    """The reader's own property-test values (sets of every kind, nested values, 38 digits)."""
    typed = [{"pk": {"S": f"item-{index}"}, **file_item(item)} for index, item in enumerate(items)]
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_export(Path(scratch), typed, partitions=2)
        native, python = both(str(folder))
    assert native == python


# Values the C converter writes itself: numbers without exponents, canonical base64, nested
# maps and lists, string sets, integer number sets, every escape and control character.
_clean_strings = st.text(
    st.characters(blacklist_categories=("Cs",)) | st.sampled_from('\u2028\u0085"\\/\n\x00\x7fé'),
    max_size=8,
)
_canonical_numbers = st.one_of(
    st.integers(-(10**38) + 1, 10**38 - 1).map(str),
    st.decimals(-(10**20), 10**20, places=5).map(lambda number: f"{number:f}"),
)
_clean_leaves = st.one_of(
    _clean_strings.map(lambda text: {"S": text}),
    _canonical_numbers.map(lambda text: {"N": text}),
    st.binary(max_size=9).map(lambda data: {"B": base64.b64encode(data).decode()}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
    st.just({"NULL": True}),
    st.lists(_clean_strings, min_size=1, max_size=6).map(lambda v: {"SS": v}),
    st.lists(st.integers(-(10**17), 10**17).map(str), min_size=1, max_size=6).map(
        lambda v: {"NS": v}
    ),
)
_clean_values = st.recursive(
    _clean_leaves,
    lambda children: st.one_of(
        st.dictionaries(_clean_strings, children, max_size=3).map(lambda value: {"M": value}),
        st.lists(children, max_size=3).map(lambda value: {"L": value}),
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(_clean_strings, _clean_values, max_size=6), min_size=1, max_size=6))
def test_property_values_the_c_converter_writes_itself_give_the_same_bytes(
    items: list[dict[str, Any]],
) -> None:
    """The converter's own output (no line handed back to Python) equals the Python path's."""
    items = [{"pk": {"S": f"item-{index}"}, **item} for index, item in enumerate(items)]
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_export(Path(scratch), items, partitions=2)
        native, python = both(str(folder))
        # Whole lines without the last newline, as the reader hands chunks over.
        chunk = b"".join(
            gzip.decompress(path.read_bytes()) for path in sorted(folder.glob("data/*.json.gz"))
        ).removesuffix(b"\n")
    assert native == python
    assert native.count(b"\n") == len(items)
    transcode = native_transcoder()
    assert transcode is not None
    written, records, handed_back = transcode(chunk)
    assert handed_back == []
    assert records == len(items)
    # Every line the reader gets is one the converter wrote (the files' order aside).
    assert sorted(written.splitlines()) == sorted(native.splitlines())


def test_records_converted_in_python_keep_their_place(tmp_path: Path) -> None:
    """Exponents, odd numbers and binary sets go through Python, in the middle of C's lines."""
    deep = {"M": {"a": {"L": [{"M": {"b": {"L": [{"S": "deep"}]}}}]}}}
    blobs = {"BS": ["AQ==", "AA=="]}
    items = []
    for index in range(300):
        item = _row(index)
        if index % 7 == 0:
            item["deep"] = deep
        if index % 11 == 0:
            item["odd"] = {"N": "00.50"}
        if index % 13 == 0:
            item["blobs"] = blobs
        items.append(item)
    folder = write_export(tmp_path, items, partitions=3)
    native, python = both(str(folder))
    assert native == python
    assert b'"deep":{"a":[{"b":["deep"]}]}' in native
    assert b'"odd":0.5' in native
    assert b'"blobs":["AA==","AQ=="]' in native


def test_a_bad_line_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    folder = write_export(tmp_path, [_row(0)], partitions=1)
    data = next(folder.glob("data/*.json.gz"))
    good = b"".join(orjson.dumps({"Item": _row(index)}) + b"\n" for index in range(50))
    data.write_bytes(gzip.compress(good + b'{"Item": {"pk": {"N": "one"}}}\n' + good))
    with pytest.raises(ExportReadError, match=rf"{data.name} line 51: bad attribute value"):
        convert(str(folder), "jsonl", io.BytesIO(), engine="native")
    data.write_bytes(gzip.compress(good + b"not json\n"))
    with pytest.raises(ExportReadError, match=rf"{data.name} line 51: not a record"):
        convert(str(folder), "jsonl", io.BytesIO(), engine="native")
    data.write_bytes(b"garbage")
    with pytest.raises(ExportReadError, match="cannot read it as gzip"):
        convert(str(folder), "jsonl", io.BytesIO(), engine="native")


def test_what_the_native_engine_does_not_convert_is_refused_clearly(tmp_path: Path) -> None:
    ion = write_export(tmp_path / "ion", [_row(0)], export_format="ION", partitions=1)
    with pytest.raises(ConfigError, match="ION exports are read in Python"):
        convert(str(ion), "jsonl", io.BytesIO(), engine="native")
    folder = write_export(tmp_path / "json", [_row(0)], partitions=1)
    with pytest.raises(ConfigError, match="typed output"):
        convert(str(folder), "jsonl", io.BytesIO(), engine="native", typed=True)
    with pytest.raises(ConfigError, match="CSV is written in Python"):
        convert(str(folder), "csv", io.BytesIO(), engine="native")
    with pytest.raises(ConfigError, match="unknown engine 'spark'"):
        convert(str(folder), "jsonl", io.BytesIO(), engine="spark")
    incremental = fixture_folder(INSERTS_ID)
    with pytest.raises(ConfigError, match="changes of INCREMENTAL exports are read in Python"):
        convert(incremental, "jsonl", io.BytesIO(), engine="native")
    # The default engine reads each of them (in Python), as the Python engine does.
    for target, typed in ((str(ion), False), (str(folder), True), (incremental, False)):
        out, python = io.BytesIO(), io.BytesIO()
        convert(target, "jsonl", out, typed=typed)
        convert(target, "jsonl", python, typed=typed, engine="python")
        assert out.getvalue() == python.getvalue()
        assert out.getvalue().count(b"\n") >= 1


def test_where_the_converter_was_not_built_auto_reads_in_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ddbexport.data.convert.native.native_transcoder", lambda: None)
    folder = write_export(tmp_path, [_row(0)], partitions=1)
    with pytest.raises(ConfigError, match="native engine is not built"):
        convert(str(folder), "jsonl", io.BytesIO(), engine="native")
    out = io.BytesIO()
    convert(str(folder), "jsonl", out)
    assert out.getvalue().startswith(b'{"pk":"item-000000"')


@pytest.mark.parametrize("workers", [1, 2])
def test_chunks_converted_on_threads_come_out_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Small chunks: every file is cut into many pieces, converted on threads, put back in order."""
    monkeypatch.setattr("ddbexport.exports.reader.CHUNK_BYTES", 2048)
    items = [_row(index) for index in range(600)]
    items[333]["odd"] = {"N": "1E+2"}  # handed back to Python in the middle of a chunk
    folder = write_export(tmp_path, items, partitions=3)
    native, python = io.BytesIO(), io.BytesIO()
    assert convert(str(folder), "jsonl", native, engine="native", workers=workers).rows == 600
    convert(str(folder), "jsonl", python, engine="python")
    assert native.getvalue() == python.getvalue()


def test_cli_read_engine_native(tmp_path: Path) -> None:
    folder = write_export(tmp_path, [_row(index) for index in range(40)], partitions=2)
    runner = CliRunner()
    python = runner.invoke(cli, ["read", str(folder)])
    native = runner.invoke(cli, ["read", str(folder), "--engine", "native"])
    assert native.exit_code == 0, native.stderr
    assert native.stdout_bytes == python.stdout_bytes
    refused = runner.invoke(cli, ["read", str(folder), "--engine", "native", "--typed"])
    assert refused.exit_code == 2
    assert "typed output" in refused.stderr


class _FailingStream(io.BytesIO):
    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.fail_after = fail_after

    def write(self, data: Any) -> int:
        if self.fail_after == 0:
            raise OSError(28, "No space left on device")
        self.fail_after -= 1
        return super().write(data)


@pytest.mark.parametrize("fail_after", [0, 3])
def test_a_write_that_fails_on_the_writer_thread_is_raised_to_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_after: int
) -> None:
    """Output is written on a thread of its own with several workers: a full disk still stops
    the read with the error, and nothing is left waiting."""
    monkeypatch.setattr("ddbexport.exports.reader.CHUNK_BYTES", 2048)
    folder = write_export(tmp_path, [_row(index) for index in range(600)], partitions=2)
    with pytest.raises(OSError, match="No space left"):
        convert(str(folder), "jsonl", _FailingStream(fail_after), engine="native", workers=2)


# ---------------------------------------------------------------------------- Parquet


def parquet_both(target: str, tmp: Path, **options: Any) -> Any:
    """The tables ``target`` gives as Parquet from the native engine and from Python: the same
    schema (with its metadata), the same values, the same rows in the same order."""
    native_path, python_path = tmp / "native.parquet", tmp / "python.parquet"
    native = write_parquet(target, native_path, engine="native", **options)
    python = write_parquet(target, python_path, engine="python", **options)
    assert (native.rows, native.columns, native.notes) == (
        python.rows,
        python.columns,
        python.notes,
    )
    native_table, python_table = pq.read_table(native_path), pq.read_table(python_path)
    assert native_table.schema.equals(python_table.schema, check_metadata=True)
    assert native_table.to_pylist() == python_table.to_pylist()
    return native_path


def test_parquet_of_the_real_full_export_is_the_same(tmp_path: Path) -> None:
    parquet_both(fixture_folder(FULL_ID), tmp_path)


@pytest.mark.usefixtures("moto_aws")
def test_parquet_of_an_export_in_s3_is_the_same(tmp_path: Path) -> None:
    """Read twice: the first pass keeps the data files it downloads for the second."""
    _upload_fixture("")
    api = AwsApi(AwsSettings(REGION))
    parquet_both(f"s3://{BUCKET}/AWSDynamoDB/{FULL_ID}/", tmp_path, api=api)


def _python_parquet_writes(items: list[dict[str, Any]]) -> bool:
    """Whether the Python writer writes the items (it refuses what Decimal or base64 cannot
    read, and pyarrow what does not fit the column's type)."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_export(Path(scratch), items, partitions=1)
        try:
            convert(str(folder), "parquet", Path(scratch) / "out.parquet", engine="python")
        except (ExportReadError, ValueError, ArithmeticError, pa.ArrowException):
            return False
    return True


@settings(max_examples=40, deadline=None)
@given(st.lists(st.dictionaries(_keys, _typed_values, max_size=6), max_size=6))
def test_property_parquet_of_any_items_is_the_same(items: list[dict[str, Any]]) -> None:
    """Every attribute type in any mix (mostly varying columns: JSON text), exponents, odd
    base64, sets, nested values: the same file from both engines."""
    items = [{"pk": {"S": f"item-{index}"}, **item} for index, item in enumerate(items)]
    if not _python_parquet_writes(items):
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_export(Path(scratch), items, partitions=2)
        parquet_both(str(folder), Path(scratch))


# One type per column: every column type of the rule, NULLs and missing values among them.
_column_values = {
    "S": _strings.map(lambda text: {"S": text}),
    "N": _number_texts.map(lambda text: {"N": text}),
    "N-int": st.integers(-(2**63), 2**63 - 1).map(lambda n: {"N": str(n)}),
    "N-dec": _canonical_numbers.map(lambda text: {"N": text}),
    "N-big": st.integers(-(10**40), 10**40).map(lambda n: {"N": f"{n}.5"}),
    "B": _blob_texts.map(lambda text: {"B": text}),
    "BOOL": st.booleans().map(lambda flag: {"BOOL": flag}),
    "SS": st.lists(_strings, min_size=1, max_size=5).map(lambda texts: {"SS": texts}),
    "NS": st.lists(_number_texts, min_size=1, max_size=4).map(lambda texts: {"NS": texts}),
    "NS-int": st.lists(st.integers(-(2**63), 2**63 - 1).map(str), min_size=1, max_size=5).map(
        lambda texts: {"NS": texts}
    ),
    "NS-dec": st.lists(_canonical_numbers, min_size=1, max_size=5).map(lambda texts: {"NS": texts}),
    "BS": st.lists(_blob_texts, min_size=1, max_size=4).map(lambda texts: {"BS": texts}),
    "M": _typed_values.filter(lambda value: "M" in value),
    "L": _typed_values.filter(lambda value: "L" in value),
    "NULL": st.just({"NULL": True}),
}


@st.composite
def _typed_columns(draw: st.DrawFn) -> list[dict[str, Any]]:
    kinds = draw(st.lists(st.sampled_from(sorted(_column_values)), min_size=1, max_size=6))
    rows = draw(st.integers(1, 12))
    items = []
    for index in range(rows):
        item: dict[str, Any] = {"pk": {"S": f"item-{index}"}}
        for column, kind in enumerate(kinds):
            choice = draw(st.sampled_from(["value", "value", "value", "null", "missing"]))
            if choice == "value":
                item[f"c{column}"] = draw(_column_values[kind])
            elif choice == "null":
                item[f"c{column}"] = {"NULL": True}
        items.append(item)
    return items


@settings(max_examples=80, deadline=None)
@given(_typed_columns())
def test_property_parquet_of_typed_columns_is_the_same(items: list[dict[str, Any]]) -> None:
    """int64, decimal128 up to 38 digits, numbers as text beyond, strings, binary, booleans,
    sorted sets of each, nested values, NULL-only columns, missing attributes."""
    if not _python_parquet_writes(items):
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_export(Path(scratch), items, partitions=2)
        parquet_both(str(folder), Path(scratch))


@settings(max_examples=20, deadline=None)
@given(st.lists(st.dictionaries(st.text(min_size=1, max_size=6), _values, max_size=4), max_size=5))
def test_property_parquet_of_plain_values_is_the_same(items: list[dict[str, Any]]) -> None:
    """The reader's own property-test values (sets of every kind, nested values, 38 digits)."""
    typed = [{"pk": {"S": f"item-{index}"}, **file_item(item)} for index, item in enumerate(items)]
    if not _python_parquet_writes(typed):
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_export(Path(scratch), typed, partitions=2)
        parquet_both(str(folder), Path(scratch))


def _parquet_row(index: int) -> dict[str, Any]:
    return {
        "pk": {"S": f"item-{index:06d}"},
        "price": {"N": f"{index}.{index % 97:02d}"},
        "count": {"N": str(index * 7919)},
        "big": {"N": "9" * 30 + f".{index % 10}"},
        "flag": {"BOOL": index % 2 == 0},
        "tags": {"SS": [f"t{index % 5}", "a", "é"]},
        "sizes": {"NS": [str(index % 4), "12", "-3"]},
        "blob": {"B": base64.b64encode(bytes([index % 256]) * 3).decode()},
        "blobs": {"BS": ["AQ==", "AA==", base64.b64encode(bytes([index % 256])).decode()]},
        "nested": {"M": {"list": {"L": [{"N": "1.5"}, {"NULL": True}, {"BOOL": False}]}}},
        "maybe": {"NULL": True} if index % 3 else {"S": "x"},
        "gone": {"NULL": True},
    }


@pytest.mark.parametrize("workers", [1, 2])
def test_parquet_of_many_small_chunks_on_threads_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Files cut into many chunks, converted on threads, in order; lines the survey hands back
    (exponents, in the middle of a chunk) and chunks Python converts (odd base64) among them;
    row groups of bounded size."""
    monkeypatch.setattr("ddbexport.exports.reader.CHUNK_BYTES", 4096)
    items = [_parquet_row(index) for index in range(900)]
    items[333]["count"] = {"N": "1E+2"}
    items[500]["blob"] = {"B": "QR=="}
    items[501]["late"] = {"S": "first seen in a chunk Python converts"}
    items[700]["price"] = {"N": "7.250000"}
    folder = write_export(tmp_path / "export", items, partitions=3)
    path = parquet_both(str(folder), tmp_path, workers=workers, row_group_bytes=64 << 10)
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_row_groups > 3
    assert max(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)) < 300
    table = pq.read_table(path)
    assert str(table.schema.field("count").type) == "int64"
    assert str(table.schema.field("price").type) == "decimal128(38, 2)"
    assert table.schema.field("sizes").type.value_type == pa.int64()
    rows = {row["pk"]: row for row in table.to_pylist()}
    assert rows["item-000333"]["count"] == 100
    assert rows["item-000501"]["late"] == "first seen in a chunk Python converts"


def test_parquet_of_an_empty_export_is_the_same(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", [], partitions=1)
    parquet_both(str(folder), tmp_path)


def test_parquet_names_a_bad_line_with_its_file_and_line(tmp_path: Path) -> None:
    folder = write_export(tmp_path, [_row(0)], partitions=1)
    data = next(folder.glob("data/*.json.gz"))
    good = b"".join(orjson.dumps({"Item": _row(index)}) + b"\n" for index in range(50))
    out = tmp_path / "out.parquet"
    data.write_bytes(gzip.compress(good + b'{"Item": {"pk": {"N": "one"}}}\n' + good))
    for engine in ("native", "python"):
        with pytest.raises(ExportReadError, match=r"attribute 'pk' of item 51: "):
            convert(str(folder), "parquet", out, engine=engine)
    data.write_bytes(gzip.compress(good + b"not json\n"))
    for engine in ("native", "python"):
        with pytest.raises(ExportReadError, match=rf"{data.name} line 51: not a record"):
            convert(str(folder), "parquet", out, engine=engine)
    data.write_bytes(gzip.compress(good + b'{"Item": {"blob": {"B": "not base64!"}}}\n'))
    with pytest.raises(ExportReadError, match=rf"{data.name} line 51: bad attribute value"):
        convert(str(folder), "parquet", out, engine="native")
    assert not out.exists()


def test_parquet_the_native_engine_does_not_write_is_refused_clearly(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    ion = write_export(tmp_path / "ion", [_row(0)], export_format="ION", partitions=1)
    with pytest.raises(ConfigError, match="ION exports are read in Python"):
        convert(str(ion), "parquet", out, engine="native")
    folder = write_export(tmp_path / "json", [_row(0)], partitions=1)
    with pytest.raises(ConfigError, match="typed output"):
        convert(str(folder), "parquet", out, engine="native", typed=True)
    incremental = fixture_folder(INSERTS_ID)
    with pytest.raises(ConfigError, match="INCREMENTAL"):
        convert(incremental, "parquet", out, engine="native")
    # The default engine writes each of them (in Python).
    for target, typed in ((str(ion), False), (str(folder), True), (incremental, False)):
        assert convert(target, "parquet", out, typed=typed).rows >= 1


def test_cli_read_parquet_engine_native(tmp_path: Path) -> None:
    folder = write_export(tmp_path, [_parquet_row(index) for index in range(40)], partitions=2)
    runner = CliRunner()
    for engine in ("native", "python"):
        out = str(tmp_path / f"{engine}.parquet")
        result = runner.invoke(
            cli, ["read", str(folder), "--to", "parquet", "-o", out, "--engine", engine]
        )
        assert result.exit_code == 0, result.stderr
    native = pq.read_table(tmp_path / "native.parquet")
    python = pq.read_table(tmp_path / "python.parquet")
    assert native.schema.equals(python.schema, check_metadata=True)
    assert native.to_pylist() == python.to_pylist()


@pytest.mark.parametrize(
    "late",
    [
        {},  # the first chunk's plan stands: one pass
        {"late": {"S": "a column first seen late"}},
        {"price": {"N": "1.125"}},  # a wider scale
        {"count": {"N": "0.5"}},  # int64 becomes decimal128
        {"count": {"N": "1" * 39}},  # decimal128 no more: text (the guess cannot convert it)
        {"flag": {"S": "yes"}},  # a second type: JSON text
        {"gone": {"N": "1"}},  # a NULL-only column gets a type
    ],
)
def test_parquet_written_by_a_guess_from_the_first_chunk_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late: dict[str, Any]
) -> None:
    """The native engine writes by the plan of the first chunk while surveying the rest; a
    later chunk that changes it makes a second pass write the file again."""
    monkeypatch.setattr("ddbexport.exports.reader.CHUNK_BYTES", 8192)
    items = [_parquet_row(index) for index in range(400)]
    items[-1].update(late)
    folder = write_export(tmp_path / "export", items, partitions=1)
    parquet_both(str(folder), tmp_path, workers=2)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_truncated_file_is_named_after_the_same_line_as_python_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr("ddbexport.exports.reader.CHUNK_BYTES", 2048)
    folder = write_export(tmp_path, [_row(index) for index in range(3000)], partitions=1)
    data = next(folder.glob("data/*.json.gz"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    messages = []
    for engine in ("native", "python"):
        with pytest.raises(ExportReadError, match=r"cannot read it as gzip after line \d+") as err:
            convert(str(folder), "jsonl", io.BytesIO(), engine=engine, workers=workers)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
