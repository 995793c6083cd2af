"""Write an export's items (or changes) as JSON lines, CSV or Parquet, streaming.

**JSON lines** (``jsonl``): one item per line. Plain values are made JSON-safe: numbers are JSON
numbers with every digit, never through a float (the export's own text when it is a JSON number,
else the exact ``Decimal``'s), binary values are base64 strings, sets are sorted lists (numbers by
value, binary by bytes). With
``typed`` each line is the item's DynamoDB JSON. An INCREMENTAL export gives one change per line:
``{"kind", "keys", "old", "new", "write_time"}`` (``write_time`` ISO-8601 UTC to the microsecond).

**CSV**: the columns are the union of the items' top-level attributes, the table's key attributes
first (from the schema sidecar ddbexport writes beside its exports) and the others in order of
first appearance. Strings and numbers are written as they are, booleans as ``true``/``false``,
binary as base64, maps, lists and sets as JSON text; NULL and a missing attribute are both an
empty cell (CSV is for looking at data: use JSON lines or Parquet to keep every type). With
``typed`` each cell is that attribute's DynamoDB JSON. Changes have the columns ``kind``,
``write_time``, ``keys``, ``old`` and ``new``, the last three as JSON text.

**Parquet** (needs ``pyarrow``): the schema comes from a first pass over every item, so no item
can surprise the writer later; the second pass writes row groups of bounded size. One column per
top-level attribute, by the types seen in it (NULL and missing attributes are nulls and do not
count as a type):

======================  ===================================================================
types seen              Parquet column
======================  ===================================================================
S                       ``string``
N                       ``int64`` when every value is an integer that fits it; else
                        ``decimal128(38, s)`` with ``s`` the largest scale, when every value
                        fits 38 digits at that scale; else ``string`` holding each number's
                        exact text
B                       ``binary``
BOOL                    ``bool``
SS / NS / BS            ``list<string>`` / ``list<number type as for N>`` / ``list<binary>``,
                        sorted
M, L                    ``string`` holding the JSON of each value (as in JSON lines)
more than one type      ``string`` holding the JSON of each value (as in JSON lines), so a
                        string ``"1"`` and a number ``1`` stay apart
only NULL               ``string`` (all nulls)
======================  ===================================================================

Columns that hold JSON text carry the field metadata ``ddbexport.encoding = json``, and the
schema's ``ddbexport`` metadata lists them with the types seen in each varying column. With
``typed`` every column is a string of the attribute's DynamoDB JSON. Changes have the columns
``kind`` (string), ``write_time`` (``timestamp[us, UTC]``), ``keys``, ``old`` and ``new`` (JSON
text), written in one pass.

Reading twice: a folder on disk is simply read again; an export in S3 is spooled to a temporary
file (gzip'd) during the first pass rather than downloaded twice.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import tempfile
from binascii import a2b_base64, b2a_base64
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, BinaryIO

import orjson

from ddbexport.core.ports import ObjectApi
from ddbexport.errors import ConfigError
from ddbexport.exports.reader import (
    Change,
    ExportReadError,
    OpenedExport,
    Target,
    encoded_batches,
    iter_changes,
    iter_records,
    open_export,
)
from ddbexport.exports.stores import LocalStore

FORMATS = ("jsonl", "csv", "parquet")
#: Approximate JSON bytes of items per Parquet row group. Python holds a row group's values
#: as objects (several times their JSON size) before pyarrow packs them: this bounds memory.
ROW_GROUP_BYTES = 16 << 20
#: Rows per Parquet row group at most, however small the items.
ROW_GROUP_ROWS = 200_000
PARQUET_HINT = "Parquet output needs pyarrow; install it with: pip install 'ddbexport[parquet]'"
CHANGE_COLUMNS = ("kind", "write_time", "keys", "old", "new")

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_DECIMAL_DIGITS = 38
_NEWLINE = orjson.OPT_APPEND_NEWLINE
_NUMBER_TEXT = "number-text"


@dataclass(frozen=True, slots=True)
class ConvertResult:
    """What was written.

    Attributes:
        format: ``jsonl``, ``csv`` or ``parquet``.
        rows: items (FULL export) or changes (INCREMENTAL export) written.
        changes: True when the rows are changes.
        columns: the columns, for CSV and Parquet.
        notes: what a reader of the output should know (e.g. columns whose type varies).
    """

    format: str
    rows: int
    changes: bool
    columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def convert(
    target: Target,
    to: str,
    output: Path | BinaryIO,
    *,
    typed: bool = False,
    api: ObjectApi | None = None,
    workers: int | None = 1,
) -> ConvertResult:
    """Write the export ``target`` as ``to`` (``jsonl``, ``csv`` or ``parquet``) to ``output``.

    A path is written atomically: to a temporary file beside it, renamed into place once whole.
    Parquet needs a path (its footer is written last).

    Raises:
        ConfigError: unknown format, Parquet to a stream, pyarrow missing, not an export.
        ExportReadError: a data file is not what AWS writes.
    """
    if to not in FORMATS:
        raise ConfigError(f"unknown output format {to!r}; expected one of {', '.join(FORMATS)}")
    if to == "parquet" and not isinstance(output, Path):
        raise ConfigError("Parquet output needs a file (-o PATH): it cannot go to a stream")
    if to == "parquet":
        _pyarrow()  # fail before anything is read or written
    if isinstance(output, Path):
        check_output_path(output)
    export = open_export(target, api=api)
    if not isinstance(output, Path):
        return _write(export, to, output, typed, workers)
    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        if to == "parquet":
            result = write_parquet(export, temporary, typed=typed)
        else:
            try:
                stream = temporary.open("wb")
            except OSError as exc:
                raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from None
            with stream:
                result = _write(export, to, stream, typed, workers)
        try:
            temporary.replace(output)
        except OSError as exc:
            raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from None
    finally:
        with suppress(FileNotFoundError):
            temporary.unlink()
    return result


def check_output_path(output: Path) -> None:
    """Refuse an output file that cannot be written, before anything is read.

    Raises:
        ConfigError: its folder does not exist (or is not a folder), or it is a folder.
    """
    parent = output.parent
    if not parent.is_dir():
        what = "does not exist" if not parent.exists() else "is not a folder"
        raise ConfigError(f"output {output}: the folder {parent} {what}; create it first")
    if output.is_dir():
        raise ConfigError(f"output {output} is a folder; give a file name (e.g. {output}/items)")


def _write(
    export: OpenedExport, to: str, stream: BinaryIO, typed: bool, workers: int | None
) -> ConvertResult:
    if to == "jsonl":
        return write_jsonl(export, stream, typed=typed, workers=workers)
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
    try:
        return write_csv(export, text, typed=typed)
    finally:
        text.flush()
        text.detach()  # leave the caller's stream open


# ---------------------------------------------------------------------------- JSON-safe values


def json_safe(value: Any) -> Any:
    """A plain value (as :func:`ddbexport.exports.reader.iter_items` yields) that orjson can write.

    ``Decimal`` → a JSON number with exactly its digits, ``bytes`` → base64, sets → sorted lists.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, dict):
        return {name: json_safe(inner) for name, inner in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(inner) for inner in value]
    if isinstance(value, bytes | bytearray):
        return _base64(value)
    if isinstance(value, set | frozenset):
        return [json_safe(inner) for inner in sorted(value)]
    raise TypeError(f"{type(value).__name__} is not a DynamoDB value")


def _number(value: Decimal) -> orjson.Fragment:
    # A Fragment is written verbatim: the number keeps every digit (floats would keep ~17).
    return orjson.Fragment(_decimal_text(value))


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a DynamoDB number")
    return str(value)


def _number_as_written(text: str) -> orjson.Fragment:
    # The export's own text when it is a JSON number (orjson says so faster than Decimal can
    # parse it, and the text is exact by definition); anything else goes through Decimal.
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = None
    if type(parsed) is int or type(parsed) is float:
        return orjson.Fragment(text)
    return _number(Decimal(text))


def _base64(data: bytes | bytearray) -> str:
    return b2a_base64(data, newline=False).decode("ascii")


def json_safe_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """``json_safe(plain_item(item))`` straight from a DynamoDB-JSON item (see
    :func:`json_safe_typed`)."""
    safe: dict[str, Any] = {}
    for name, typed in item.items():
        # Strings and numbers are most values: converting them inline saves a call for each.
        if "S" in typed:
            safe[name] = typed["S"]
        elif "N" in typed:
            safe[name] = _number_as_written(typed["N"])
        else:
            safe[name] = json_safe_typed(typed)
    return safe


def json_safe_typed(typed: Mapping[str, Any]) -> Any:
    """``json_safe(plain_value(typed))`` straight from DynamoDB JSON, without building Decimals
    and bytes that would only be written out again (this runs for every value written).

    Numbers keep the text the export holds when it is a JSON number (the same value as the
    ``Decimal``, possibly written differently, e.g. ``1e2`` for ``1E+2``).
    """
    if "S" in typed:
        return typed["S"]
    if "N" in typed:
        return _number_as_written(typed["N"])
    if "M" in typed:
        return json_safe_item(typed["M"])
    if "L" in typed:
        return [json_safe_typed(inner) for inner in typed["L"]]
    if "BOOL" in typed:
        return bool(typed["BOOL"])
    if "NULL" in typed:
        return None
    if "B" in typed:
        return _base64(a2b_base64(typed["B"]))
    if "SS" in typed:
        return sorted(set(typed["SS"]))
    if "NS" in typed:
        return [_number(number) for number in sorted({Decimal(text) for text in typed["NS"]})]
    if "BS" in typed:
        return [_base64(blob) for blob in sorted({a2b_base64(text) for text in typed["BS"]})]
    raise ValueError(f"{dict(typed)!r} is not a DynamoDB-JSON value")


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def _utc_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------------------- JSON lines


def write_jsonl(
    target: Target,
    out: BinaryIO,
    *,
    typed: bool = False,
    api: ObjectApi | None = None,
    workers: int | None = 1,
) -> ConvertResult:
    """Write one item (FULL) or change (INCREMENTAL) per line to the binary stream ``out``.

    ``workers``: processes that decode and encode a FULL export's items (1, the default: all
    in this process; None: one per CPU, up to 8, for exports of :data:`PARALLEL_MIN_ITEMS`
    items or more). The lines come out in the export's order either way. Workers are spawned,
    so a script calling this with workers must guard its top level with
    ``if __name__ == "__main__":`` (as every use of :mod:`multiprocessing` must).
    """
    export = open_export(target, api=api)
    rows = 0
    if export.incremental:
        for change in iter_changes(export, typed=typed):
            out.write(orjson.dumps(_change_json(change, typed), option=_NEWLINE))
            rows += 1
        return ConvertResult("jsonl", rows, changes=True)
    encode = _typed_line if typed else _plain_line
    for data, count in encoded_batches(export, encode, workers=_workers(export, workers)):
        out.write(data)
        rows += count
    return ConvertResult("jsonl", rows, changes=False)


def _typed_line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record["Item"], option=_NEWLINE)


def _plain_line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(json_safe_item(record["Item"]), option=_NEWLINE)


#: Below this many items, starting worker processes costs more than it saves.
PARALLEL_MIN_ITEMS = 200_000


def _workers(export: OpenedExport, workers: int | None) -> int:
    """``workers`` as asked, else one per CPU for exports big enough to repay the start-up."""
    if workers is not None:
        if workers < 1:
            raise ConfigError(f"workers must be 1 or more, not {workers}")
        return workers
    items = sum(entry.item_count for entry in export.files)
    return min(os.cpu_count() or 1, 8) if items >= PARALLEL_MIN_ITEMS else 1


def _change_json(change: Change, typed: bool) -> dict[str, Any]:
    image: Callable[[Any], Any] = _identity if typed else json_safe
    return {
        "kind": change.kind,
        "keys": image(change.keys),
        "old": None if change.old_image is None else image(change.old_image),
        "new": None if change.new_image is None else image(change.new_image),
        "write_time": _utc_text(change.write_time),
    }


def _identity(value: Any) -> Any:
    return value


# ---------------------------------------------------------------------------- two passes


class _Pass:
    """The items of an export, twice: the first pass may spool them for the second."""

    def __init__(self, export: OpenedExport) -> None:
        self.export = export
        self._spool: IO[bytes] | None = None
        if not isinstance(export.store, LocalStore):
            self._spool = tempfile.TemporaryFile(prefix="ddbexport-")  # noqa: SIM115

    def first(self) -> Iterator[dict[str, Any]]:
        if self._spool is None:
            yield from iter_records(self.export, _item_of)
            return
        with gzip.open(self._spool, "wb", compresslevel=1) as spool:
            for item in iter_records(self.export, _item_of):
                spool.write(orjson.dumps(item, option=_NEWLINE))
                yield item

    def second(self) -> Iterator[dict[str, Any]]:
        if self._spool is None:
            yield from iter_records(self.export, _item_of)
            return
        self._spool.seek(0)
        with gzip.open(self._spool, "rb") as spool:
            rest = b""
            while chunk := spool.read(1 << 20):
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    yield orjson.loads(line)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


def _item_of(record: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = record["Item"]
    return item


def _ordered_columns(key_names: Iterable[str], seen: Iterable[str]) -> list[str]:
    columns = list(dict.fromkeys(key_names))
    known = set(columns)
    columns += [name for name in seen if name not in known]
    return columns


# ---------------------------------------------------------------------------- CSV


def write_csv(
    target: Target, out: IO[str], *, typed: bool = False, api: ObjectApi | None = None
) -> ConvertResult:
    """Write the items (FULL) or changes (INCREMENTAL) as CSV to the text stream ``out``.

    Open ``out`` with ``newline=""``, as the :mod:`csv` module asks.
    """
    export = open_export(target, api=api)
    writer = csv.writer(out)
    rows = 0
    if export.incremental:
        writer.writerow(CHANGE_COLUMNS)
        for change in iter_changes(export, typed=typed):
            data = _change_json(change, typed)
            writer.writerow(
                [
                    data["kind"],
                    data["write_time"] or "",
                    _json_text(data["keys"]),
                    "" if data["old"] is None else _json_text(data["old"]),
                    "" if data["new"] is None else _json_text(data["new"]),
                ]
            )
            rows += 1
        return ConvertResult("csv", rows, changes=True, columns=CHANGE_COLUMNS)
    passes = _Pass(export)
    try:
        seen: dict[str, None] = {}
        for item in passes.first():
            for name in item:
                if name not in seen:
                    seen[name] = None
        columns = _ordered_columns(export.key_names or (), seen)
        writer.writerow(columns)
        cell = _typed_cell if typed else _plain_cell
        for item in passes.second():
            writer.writerow([cell(item.get(name)) for name in columns])
            rows += 1
    finally:
        passes.close()
    return ConvertResult("csv", rows, changes=False, columns=tuple(columns))


def _plain_cell(typed: Mapping[str, Any] | None) -> str:
    if typed is None or "NULL" in typed:
        return ""
    if "S" in typed:
        return str(typed["S"])
    if "N" in typed:
        return _decimal_text(Decimal(typed["N"]))
    if "BOOL" in typed:
        return "true" if typed["BOOL"] else "false"
    value = json_safe_typed(typed)
    return value if isinstance(value, str) else _json_text(value)  # B is a base64 str


def _typed_cell(typed: Mapping[str, Any] | None) -> str:
    return "" if typed is None else _json_text(typed)


# ---------------------------------------------------------------------------- Parquet


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa  # noqa: PLC0415 - optional dependency, loaded only for Parquet
        import pyarrow.parquet as pq  # noqa: PLC0415
    except ModuleNotFoundError:
        raise ConfigError(PARQUET_HINT) from None
    return pa, pq


@dataclass(slots=True)
class _Numbers:
    """What the numbers of one column (or one number set column) need to be stored exactly."""

    integers: bool = True  # every value an integer that fits int64
    scale: int = 0  # the most digits after the point
    whole_digits: int = 0  # the most digits before it

    def add(self, text: str) -> None:
        _sign, digits, exponent = Decimal(text).as_tuple()
        if not isinstance(exponent, int):
            raise ValueError(f"{text!r} is not a DynamoDB number")
        # Trailing zeros after the point change neither the value nor what it fits in.
        while exponent < 0 and len(digits) > 1 and digits[-1] == 0:
            digits = digits[:-1]
            exponent += 1
        if exponent < 0 and digits == (0,):
            exponent = 0
        scale = max(-exponent, 0)
        whole = max(len(digits) + exponent, 0)
        self.scale = max(self.scale, scale)
        self.whole_digits = max(self.whole_digits, whole)
        if self.integers and (scale or (whole > 18 and not _fits_int64(text))):
            self.integers = False

    def arrow_type(self, pa: Any) -> tuple[Any, str]:
        """The Parquet type and how to convert a number's text to it (int, decimal, text)."""
        if self.integers:
            return pa.int64(), "int"
        if self.whole_digits + self.scale <= _DECIMAL_DIGITS:
            return pa.decimal128(_DECIMAL_DIGITS, self.scale), "decimal"
        return pa.string(), "text"


def _fits_int64(text: str) -> bool:
    return _INT64_MIN <= int(Decimal(text)) <= _INT64_MAX


@dataclass(slots=True)
class _Column:
    kinds: dict[str, None] = field(default_factory=dict)  # DynamoDB types seen, in order
    numbers: _Numbers = field(default_factory=_Numbers)

    def add(self, typed: Mapping[str, Any]) -> None:
        for kind, value in typed.items():
            if kind == "NULL":
                return
            self.kinds.setdefault(kind, None)
            if kind == "N":
                self.numbers.add(value)
            elif kind == "NS":
                for text in value:
                    self.numbers.add(text)
            return


def _number_converter(how: str) -> Callable[[str], Any]:
    if how == "int":
        return _to_int
    if how == "decimal":
        return Decimal
    return _number_text


def _to_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # "1E+2" and the like
        return int(Decimal(text))


def _number_text(text: str) -> str:
    return _decimal_text(Decimal(text))


def _column_plan(
    pa: Any, name: str, column: _Column, typed: bool
) -> tuple[Any, Callable[[Mapping[str, Any]], Any], str | None]:
    """(Parquet field, typed value → column value, a note: why the column holds JSON text
    (``typed``, ``varying``, ``nested``), ``number-text`` for numbers kept as text, or None)."""
    kinds = list(column.kinds)
    json_meta = {b"ddbexport.encoding": b"json"}
    if typed:
        return pa.field(name, pa.string(), metadata=json_meta), _json_text, "typed"
    if not kinds:
        return pa.field(name, pa.string()), _none, None
    if len(kinds) > 1:
        return (
            pa.field(name, pa.string(), metadata=json_meta),
            _plain_json_text,
            "varying",
        )
    kind = kinds[0]
    if kind == "S":
        return pa.field(name, pa.string()), _get("S"), None
    if kind == "BOOL":
        return pa.field(name, pa.bool_()), _get("BOOL"), None
    if kind == "B":
        return pa.field(name, pa.binary()), _blob, None
    if kind == "N":
        arrow, how = column.numbers.arrow_type(pa)
        number = _number_converter(how)
        return (
            pa.field(name, arrow),
            lambda typed: number(typed["N"]),
            _NUMBER_TEXT if how == "text" else None,
        )
    if kind == "SS":
        return pa.field(name, pa.list_(pa.string())), _string_set, None
    if kind == "BS":
        return pa.field(name, pa.list_(pa.binary())), _blob_set, None
    if kind == "NS":
        arrow, how = column.numbers.arrow_type(pa)
        number = _number_converter(how)
        return (
            pa.field(name, pa.list_(arrow)),
            lambda typed: [number(text) for text in _sorted_numbers(typed["NS"])],
            _NUMBER_TEXT if how == "text" else None,
        )
    return pa.field(name, pa.string(), metadata=json_meta), _plain_json_text, "nested"


def _none(typed: Mapping[str, Any]) -> None:
    return None


def _get(kind: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda typed: typed[kind]


def _blob(typed: Mapping[str, Any]) -> bytes:
    return a2b_base64(typed["B"])


def _string_set(typed: Mapping[str, Any]) -> list[str]:
    return sorted(set(typed["SS"]))


def _blob_set(typed: Mapping[str, Any]) -> list[bytes]:
    return sorted({a2b_base64(text) for text in typed["BS"]})


def _sorted_numbers(texts: Iterable[str]) -> list[str]:
    return [str(number) for number in sorted({Decimal(text) for text in texts})]


def _plain_json_text(typed: Mapping[str, Any]) -> str:
    return _json_text(json_safe_typed(typed))


def write_parquet(
    target: Target,
    path: Path,
    *,
    typed: bool = False,
    api: ObjectApi | None = None,
    row_group_bytes: int = ROW_GROUP_BYTES,
) -> ConvertResult:
    """Write the items (FULL) or changes (INCREMENTAL) to the Parquet file ``path``.

    Items take two passes: the first finds each column's type (rule in the module docstring),
    the second writes row groups of about ``row_group_bytes`` of items each.

    Raises:
        ConfigError: pyarrow is missing.
        ExportReadError: a data file is not what AWS writes.
    """
    pa, pq = _pyarrow()
    export = open_export(target, api=api)
    if export.incremental:
        return _changes_parquet(pa, pq, export, path, typed, row_group_bytes)
    passes = _Pass(export)
    try:
        columns: dict[str, _Column] = {}
        sampled_bytes = sampled = 0
        for count, item in enumerate(passes.first()):
            for name, value in item.items():
                column = columns.get(name)
                if column is None:
                    column = columns[name] = _Column()
                try:
                    column.add(value)
                except (ValueError, ArithmeticError, TypeError, AttributeError) as exc:
                    raise ExportReadError(
                        f"{export.url}: attribute {name!r} of item {count + 1}: {exc}"
                    ) from None
            if count % 64 == 0:  # the size of every 64th item estimates rows per group
                sampled_bytes += len(orjson.dumps(item))
                sampled += 1
        names = _ordered_columns(
            [name for name in export.key_names or () if name in columns], columns
        )
        plans = [_column_plan(pa, name, columns[name], typed) for name in names]
        schema = pa.schema(
            [plan[0] for plan in plans],
            metadata={b"ddbexport": _schema_note(names, columns, plans, typed)},
        )
        per_group = ROW_GROUP_ROWS
        if sampled_bytes:
            per_group = max(1, min(ROW_GROUP_ROWS, row_group_bytes * sampled // sampled_bytes))
        rows = 0
        with pq.ParquetWriter(str(path), schema) as writer:
            values: list[list[Any]] = [[] for _ in names]
            pending = 0
            for item in passes.second():
                for index, name in enumerate(names):
                    typed_value = item.get(name)
                    values[index].append(
                        None
                        if typed_value is None or ("NULL" in typed_value and not typed)
                        else plans[index][1](typed_value)
                    )
                pending += 1
                if pending >= per_group:
                    writer.write_table(pa.Table.from_arrays(values, schema=schema))
                    rows += pending
                    values = [[] for _ in names]
                    pending = 0
            if pending or not rows:
                writer.write_table(pa.Table.from_arrays(values, schema=schema))
                rows += pending
    finally:
        passes.close()
    notes = []
    for name, plan in zip(names, plans, strict=True):
        if plan[2] == "varying":
            seen = ", ".join(columns[name].kinds)
            notes.append(f"column {name!r} holds several types ({seen}): written as JSON text")
        elif plan[2] == _NUMBER_TEXT:
            notes.append(
                f"column {name!r} has numbers that fit neither int64 nor decimal128(38): "
                "written as text"
            )
    return ConvertResult("parquet", rows, changes=False, columns=tuple(names), notes=tuple(notes))


def _schema_note(
    names: list[str],
    columns: Mapping[str, _Column],
    plans: list[tuple[Any, Any, str | None]],
    typed: bool,
) -> bytes:
    note: dict[str, Any] = {
        "rule": (
            "every column holds each attribute's DynamoDB JSON as text"
            if typed
            else "one column per attribute; a column whose values have more than one DynamoDB "
            "type, and maps and lists, hold the JSON of each value as text"
        ),
        "json_columns": [
            name
            for name, plan in zip(names, plans, strict=True)
            if plan[2] in ("typed", "varying", "nested")
        ],
        "number_text_columns": [
            name for name, plan in zip(names, plans, strict=True) if plan[2] == _NUMBER_TEXT
        ],
        "varying_columns": {
            name: list(columns[name].kinds)
            for name, plan in zip(names, plans, strict=True)
            if plan[2] == "varying"
        },
    }
    return orjson.dumps(note)


def _changes_parquet(
    pa: Any, pq: Any, export: OpenedExport, path: Path, typed: bool, row_group_bytes: int
) -> ConvertResult:
    json_meta = {b"ddbexport.encoding": b"json"}
    schema = pa.schema(
        [
            pa.field("kind", pa.string()),
            pa.field("write_time", pa.timestamp("us", tz="UTC")),
            pa.field("keys", pa.string(), metadata=json_meta),
            pa.field("old", pa.string(), metadata=json_meta),
            pa.field("new", pa.string(), metadata=json_meta),
        ],
        metadata={b"ddbexport": orjson.dumps({"rule": "changes; keys, old, new as JSON text"})},
    )
    rows = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        values: list[list[Any]] = [[] for _ in CHANGE_COLUMNS]
        pending = size = 0
        for change in iter_changes(export, typed=typed):
            data = _change_json(change, typed)
            texts = [
                None if data[name] is None else _json_text(data[name])
                for name in ("keys", "old", "new")
            ]
            for index, value in enumerate([change.kind, change.write_time, *texts]):
                values[index].append(value)
            pending += 1
            size += sum(len(text) for text in texts if text)
            if size >= row_group_bytes or pending >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_arrays(values, schema=schema))
                rows += pending
                values = [[] for _ in CHANGE_COLUMNS]
                pending = size = 0
        if pending or not rows:
            writer.write_table(pa.Table.from_arrays(values, schema=schema))
            rows += pending
    return ConvertResult("parquet", rows, changes=True, columns=CHANGE_COLUMNS)
