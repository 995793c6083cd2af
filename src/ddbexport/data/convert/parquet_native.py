"""Parquet of a FULL export's items with the C converter: Arrow buffers built without a Python
object per value, the same file as the Python writer's (schema, types, values, row order).

Chunks of about a megabyte of lines are worked on threads (the C code releases the GIL), in
file order:

1. the survey learns per top-level attribute what :meth:`Column.add` learns (the types seen,
   in order of first sight, and what the numbers need); the lines it does not read exactly
   (exponents, odd text, repeated names, anything malformed) are handed back to ``Column.add``,
   which also raises the usual errors. It skips over strings and nested values without
   checking their text: the conversion reads all of it, so a line that is not JSON still fails,
   at its line;
2. each chunk becomes Arrow buffers for the column plan: strings, int64, decimal128 (as
   128-bit integers), booleans, binary (base64 decoded), sorted sets and the plain JSON of
   nested or varying values. Numbers that fit neither int64 nor decimal128 come back as the
   export's text and Python writes ``Decimal``'s. A chunk holding a line the C code does not
   convert exactly is converted whole by Python's row code instead.

The writer (``parquet_writer._native_items``) runs both on each chunk in one pass, by the plan
of the first chunk's survey, while that plan stands; otherwise a second pass converts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ddbexport.exports.chunks import (
    RECORD_ERRORS,
    Chunk,
    HandedBack,
    chunk_items,
    record_error,
)
from ddbexport.exports.reader import ExportReadError

from .parquet_columns import Column, _number_text, _Numbers, _sorted_numbers

#: The types of the survey's columns, in the order its first lines are given.
KINDS = ("S", "N", "B", "BOOL", "M", "L", "SS", "NS", "BS")

# How the C code builds a column (the codes of _dynamojson.c's columns()).
NULLS, STRING, INT64, DECIMAL, BOOL, BINARY, JSON = range(7)
STRINGS, INT64S, DECIMALS, BINARIES, NUMBER_TEXT, NUMBER_TEXTS = range(7, 13)

Survey = Callable[[bytes], tuple[int, list[tuple[Any, ...]], list[HandedBack]]]
Columns = Callable[[bytes, list[tuple[bytes, int, int]]], Any]


class Native(NamedTuple):
    """The C code both passes use."""

    survey: Survey
    columns: Columns
    count_lines: Callable[[bytes], int]


def native_parquet() -> Native | None:
    """The C survey and column builder, or None when the converter was not built."""
    try:
        from ._dynamojson import columns, count_lines, survey  # noqa: PLC0415 - needs a compiler
    except ImportError:
        return None
    return Native(survey, columns, count_lines)


class SurveyMerge:
    """The first pass's findings, chunk by chunk in file order: every column as
    :class:`Column` (in order of first appearance) and the number of items."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.columns: dict[str, Column] = {}
        self.items = 0

    def add(self, job: Chunk, surveyed: Any) -> None:
        """Merges the survey of the next chunk (lines handed back go through ``Column.add``).

        Raises:
            ExportReadError: a line is not a record, or an attribute's value is not DynamoDB
                JSON (as the Python writer says it).
        """
        count, found, handed_back = surveyed
        # (line in the chunk, order within it, name, type or None, numbers or None)
        events: list[tuple[int, int, str, str | None, _Numbers | None]] = []
        for order, (name, first, kind_lines, integers, scale, whole) in enumerate(found):
            text = name.decode("utf-8")
            events.append((first, order, text, None, _Numbers(integers, scale, whole)))
            events.extend(
                (line, order, text, kind, None)
                for kind, line in zip(KINDS, kind_lines, strict=True)
                if line >= 0
            )
        before = {index: items_before for items_before, index, _, _ in handed_back}
        for number, item in chunk_items(job, handed_back):
            index = number - job.first_line - 1  # in the chunk
            for order, (name, value) in enumerate(item.items()):
                column = Column()
                try:
                    column.add(value)
                except (ValueError, ArithmeticError, TypeError, AttributeError) as exc:
                    raise ExportReadError(
                        f"{self.url}: attribute {name!r} of item "
                        f"{self.items + before[index] + 1}: {exc}"
                    ) from None
                events.append((index, order, name, None, column.numbers))
                events.extend((index, order, name, kind, None) for kind in column.kinds)
        events.sort(key=lambda event: (event[0], event[1]))
        for _, _, name, kind, numbers in events:
            merged = self.columns.get(name)
            if merged is None:
                merged = self.columns[name] = Column()
            if kind is not None:
                merged.kinds.setdefault(kind, None)
            if numbers is not None:
                merged.numbers.include(numbers)
        self.items += count


def column_code(pa: Any, column: Column, note: str | None) -> tuple[int, int]:
    """(how the C code builds the column, its decimal scale) for a column of the plan."""
    kinds = list(column.kinds)
    if note in ("varying", "nested"):
        return JSON, 0
    if not kinds:
        return NULLS, 0
    kind = kinds[0]
    simple = {"S": STRING, "BOOL": BOOL, "B": BINARY, "SS": STRINGS, "BS": BINARIES}
    if kind in simple:
        return simple[kind], 0
    _arrow, how = column.numbers.arrow_type(pa)
    codes = {
        ("N", "int"): INT64,
        ("N", "decimal"): DECIMAL,
        ("N", "text"): NUMBER_TEXT,
        ("NS", "int"): INT64S,
        ("NS", "decimal"): DECIMALS,
        ("NS", "text"): NUMBER_TEXTS,
    }
    return codes[kind, how], column.numbers.scale if how == "decimal" else 0


class ChunkBuilder:
    """The second pass's work on one chunk for a column plan: a record batch."""

    def __init__(
        self,
        pa: Any,
        native: Native,
        schema: Any,
        codes: list[tuple[int, int]],
        converters: list[Callable[[Any], Any]],
    ) -> None:
        self._pa = pa
        self._build = native.columns
        self._schema = schema
        self._codes = codes
        self._converters = converters
        self._plan = [
            (name.encode("utf-8"), code, scale)
            for name, (code, scale) in zip(schema.names, codes, strict=True)
        ]

    def batch(self, job: Chunk) -> tuple[Any, int]:
        """(record batch, bytes of input) of the chunk.

        Raises:
            ExportReadError: (a chunk Python converts) a line is not a record, or a value does
                not fit its column.
        """
        pa = self._pa
        built = self._build(job.data, self._plan)
        if built is None:
            return _python_batch(pa, job, self._schema, self._converters), len(job.data)
        rows, buffers = built
        arrays = [
            _array(pa, field.type, code, rows, parts)
            for field, (code, _), parts in zip(self._schema, self._codes, buffers, strict=True)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=self._schema), len(job.data)


def _array(pa: Any, arrow_type: Any, code: int, rows: int, parts: tuple[Any, ...]) -> Any:
    nulls, validity, offsets, data, child_offsets, child_data, children = parts
    valid = pa.py_buffer(validity) if nulls else None
    if code == NULLS:
        return pa.nulls(rows, arrow_type)
    if code in (STRING, BINARY, JSON, NUMBER_TEXT):
        array = pa.Array.from_buffers(
            arrow_type, rows, [valid, pa.py_buffer(offsets), pa.py_buffer(data)], nulls
        )
        if code == NUMBER_TEXT:  # the export's texts, written as Decimal writes them
            texts = array.to_pylist()
            array = pa.array(
                [None if text is None else _number_text(text) for text in texts], arrow_type
            )
        return array
    if code in (INT64, DECIMAL, BOOL):
        return pa.Array.from_buffers(arrow_type, rows, [valid, pa.py_buffer(data)], nulls)
    member_type = arrow_type.value_type
    if code in (STRINGS, BINARIES, NUMBER_TEXTS):
        member_buffers = [None, pa.py_buffer(child_offsets), pa.py_buffer(child_data)]
    else:
        member_buffers = [None, pa.py_buffer(child_data)]
    members = pa.Array.from_buffers(member_type, children, member_buffers, 0)
    array = pa.Array.from_buffers(
        arrow_type, rows, [valid, pa.py_buffer(offsets)], nulls, children=[members]
    )
    if code == NUMBER_TEXTS:
        sets = array.to_pylist()
        array = pa.array(
            [
                None if texts is None else [_number_text(text) for text in _sorted_numbers(texts)]
                for texts in sets
            ],
            arrow_type,
        )
    return array


def _python_batch(pa: Any, job: Chunk, schema: Any, converters: list[Callable[[Any], Any]]) -> Any:
    """A chunk the C code did not convert, converted by the Python writer's row code."""
    names = schema.names
    values: list[list[Any]] = [[] for _ in names]
    for number, item in chunk_items(job):
        converted = []
        try:
            for name, convert in zip(names, converters, strict=True):
                typed_value = item.get(name)
                converted.append(
                    None if typed_value is None or "NULL" in typed_value else convert(typed_value)
                )
        except RECORD_ERRORS as exc:
            raise record_error(exc, job, number) from None
        for column, value in zip(values, converted, strict=True):
            column.append(value)
    return pa.RecordBatch.from_arrays(
        [pa.array(column, field.type) for column, field in zip(values, schema, strict=True)],
        schema=schema,
    )
