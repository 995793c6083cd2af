"""Parquet: items in two passes (types first, then row groups of bounded size) — in one with the
native engine when the first chunk's types are the export's — changes in one."""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any

import orjson

from ddbexport.core.ports import ObjectApi
from ddbexport.errors import ConfigError
from ddbexport.exports.chunks import Chunk, chunk_results
from ddbexport.exports.reader import (
    ExportReadError,
    OpenedExport,
    Target,
    iter_changes,
    iter_items,
    open_export,
)

from .native import native_converts, parquet_engine
from .parquet_columns import NUMBER_TEXT, Column, column_plan
from .parquet_native import ChunkBuilder, Native, SurveyMerge, column_code
from .passes import ordered_columns, spooled
from .result import ConvertResult
from .values import CHANGE_COLUMNS, change_json, json_text

#: Approximate JSON bytes of items per Parquet row group. Python holds a row group's values
#: as objects (several times their JSON size) before pyarrow packs them: this bounds memory.
ROW_GROUP_BYTES = 16 << 20
#: Rows per Parquet row group at most, however small the items.
ROW_GROUP_ROWS = 200_000
PARQUET_HINT = "Parquet output needs pyarrow; install it with: pip install 'ddbexport[parquet]'"


def import_pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa  # noqa: PLC0415 - optional dependency, loaded only for Parquet
        import pyarrow.parquet as pq  # noqa: PLC0415
    except ModuleNotFoundError:
        raise ConfigError(PARQUET_HINT) from None
    return pa, pq


def write_parquet(
    target: Target,
    path: Path,
    *,
    typed: bool = False,
    api: ObjectApi | None = None,
    row_group_bytes: int = ROW_GROUP_BYTES,
    engine: str = "auto",
    workers: int | None = None,
) -> ConvertResult:
    """Write the items (FULL) or changes (INCREMENTAL) to the Parquet file ``path``.

    Items take two passes: the first finds each column's type (rule in
    :mod:`ddbexport.data.convert`), the second writes row groups of about ``row_group_bytes`` of
    items each.

    ``engine`` (see :mod:`.native`): ``auto`` converts a FULL export's DynamoDB JSON in C when
    the C converter was built (``workers`` threads, default one per CPU up to 8), ``native``
    insists on it, ``python`` never uses it. The file holds the same schema and values.

    Raises:
        ConfigError: pyarrow is missing; an unknown engine, ``native`` where it was not built
            or for what it does not convert (ION, INCREMENTAL, typed).
        ExportReadError: a data file is not what AWS writes.
    """
    pa, pq = import_pyarrow()
    native = parquet_engine(engine)
    export = open_export(target, api=api)
    if not native_converts(export, typed, engine):
        native = None
    if export.incremental:
        return _changes_parquet(pa, pq, export, path, typed, row_group_bytes)
    if native is not None:
        return _native_items(pa, pq, export, path, native, row_group_bytes, workers)
    with spooled(export) as readable:
        columns: dict[str, Column] = {}
        sampled_bytes = sampled = 0
        for count, item in enumerate(iter_items(readable, typed=True)):
            for name, value in item.items():
                column = columns.get(name)
                if column is None:
                    column = columns[name] = Column()
                try:
                    column.add(value)
                except (ValueError, ArithmeticError, TypeError, AttributeError) as exc:
                    raise ExportReadError(
                        f"{export.url}: attribute {name!r} of item {count + 1}: {exc}"
                    ) from None
            if count % 64 == 0:  # the size of every 64th item estimates rows per group
                sampled_bytes += len(orjson.dumps(item))
                sampled += 1
        names, plans, schema = _plan(pa, export, columns, typed)
        per_group = ROW_GROUP_ROWS
        if sampled_bytes:
            per_group = max(1, min(ROW_GROUP_ROWS, row_group_bytes * sampled // sampled_bytes))
        rows = 0
        with pq.ParquetWriter(str(path), schema) as writer:
            values: list[list[Any]] = [[] for _ in names]
            pending = 0
            for item in iter_items(readable, typed=True):
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
    return _items_result(names, plans, columns, rows)


def _native_items(
    pa: Any,
    pq: Any,
    export: OpenedExport,
    path: Path,
    native: Native,
    row_group_bytes: int,
    workers: int | None,
) -> ConvertResult:
    """Items in C (see :mod:`.parquet_native`), in one pass when it can be.

    The plan the first chunk's survey gives is a guess: the chunks are surveyed and built for
    it together, and the file written as they come. The file stands if the survey of the
    whole export ends with the same plan (the same columns in the same order, the same types
    and number types): it is then the file two passes write. A chunk that changes the plan (a
    new attribute, a new type, a wider number) ends the guess: the rest is only surveyed, and
    a second pass writes the file again with the plan of every item.
    """
    threads = workers if workers is not None else min(os.cpu_count() or 1, 8)
    if threads < 1:
        raise ConfigError(f"workers must be 1 or more, not {workers}")
    with spooled(export) as readable:
        merge = SurveyMerge(export.url)
        guess = _Guess()
        survey = native.survey

        def work(job: Chunk) -> tuple[Chunk, Any, tuple[Any, int] | None]:
            surveyed = survey(job.data)
            builder = guess.builder
            built = None
            if builder is not None and guess.standing:
                # A chunk that does not fit the guess may fail to convert: that says nothing
                # until its survey is merged (if the guess still stands then, it is built again
                # and raises for real).
                with suppress(Exception):
                    built = builder.batch(job)
            return job, surveyed, built

        groups: _RowGroups | None = None
        try:
            for job, surveyed, built in chunk_results(
                readable, work, workers=threads, count_lines=native.count_lines
            ):
                merge.add(job, surveyed)
                if not guess.standing:
                    continue
                # Only the signature per chunk: the plan itself is made once, for the guess.
                signature = _signature(pa, _column_names(export, merge.columns), merge.columns)
                if guess.builder is None:
                    names, plans, schema = _plan(pa, export, merge.columns, False)
                    guess.signature = signature
                    guess.names = names
                    guess.plans = plans
                    guess.builder = _builder(pa, native, schema, names, plans, merge.columns)
                    groups = _RowGroups(pa, pq.ParquetWriter(str(path), schema), row_group_bytes)
                elif signature != guess.signature:
                    guess.standing = False
                    continue
                assert groups is not None
                groups.add(*(built or guess.builder.batch(job)))
        finally:
            if groups is not None:
                groups.close()
        if guess.standing and groups is not None:
            return _items_result(guess.names, guess.plans, merge.columns, groups.rows)
        columns = merge.columns
        names, plans, schema = _plan(pa, export, columns, False)
        builder = _builder(pa, native, schema, names, plans, columns)
        groups = _RowGroups(pa, pq.ParquetWriter(str(path), schema), row_group_bytes)
        try:
            batches = chunk_results(
                readable, builder.batch, workers=threads, count_lines=native.count_lines
            )
            for batch, input_bytes in batches:
                groups.add(batch, input_bytes)
        finally:
            groups.close()
    return _items_result(names, plans, columns, groups.rows)


class _Guess:
    """The plan the native engine writes by before the whole export is surveyed."""

    def __init__(self) -> None:
        self.builder: ChunkBuilder | None = None
        self.signature: Any = None
        self.names: list[str] = []
        self.plans: list[tuple[Any, Any, str | None]] = []
        self.standing = True  # read by the worker threads: once False, they only survey


def _builder(
    pa: Any,
    native: Native,
    schema: Any,
    names: list[str],
    plans: list[tuple[Any, Any, str | None]],
    columns: Mapping[str, Column],
) -> ChunkBuilder:
    codes = [
        column_code(pa, columns[name], plan[2]) for name, plan in zip(names, plans, strict=True)
    ]
    return ChunkBuilder(pa, native, schema, codes, [plan[1] for plan in plans])


def _signature(pa: Any, names: list[str], columns: Mapping[str, Column]) -> Any:
    """What the plan of the columns depends on (see :func:`column_plan`)."""
    return [
        (
            name,
            tuple(columns[name].kinds),
            str(columns[name].numbers.arrow_type(pa)[0])
            if {"N", "NS"} & columns[name].kinds.keys()
            else None,
        )
        for name in names
    ]


class _RowGroups:
    """Record batches written as row groups of about ``row_group_bytes`` of input each."""

    def __init__(self, pa: Any, writer: Any, row_group_bytes: int) -> None:
        self._pa = pa
        self._writer = writer
        self._row_group_bytes = row_group_bytes
        # Row groups are written on a thread of their own (pyarrow releases the GIL), so that
        # decompressing and converting the next chunks goes on meanwhile; one at a time.
        self._writing = ThreadPoolExecutor(1, thread_name_prefix="ddbexport-parquet")
        self._written: Future[None] | None = None
        self._batches: list[Any] = []
        self._pending = self._seen_rows = self._seen_bytes = 0
        self.rows = 0

    def add(self, batch: Any, input_bytes: int) -> None:
        self._batches.append(batch)
        self._pending += batch.num_rows
        self._seen_rows += batch.num_rows
        self._seen_bytes += input_bytes
        # Rows per group from the bytes of input per row so far (as the Python writer
        # estimates them), a chunk cut where a group ends.
        per_group = max(
            1, min(ROW_GROUP_ROWS, self._row_group_bytes * self._seen_rows // self._seen_bytes)
        )
        while self._pending >= per_group:
            table = self._pa.Table.from_batches(self._batches, self._writer.schema)
            self._wait()
            self._written = self._writing.submit(
                self._writer.write_table, table.slice(0, per_group)
            )
            self.rows += per_group
            self._pending -= per_group
            self._batches = table.slice(per_group).to_batches()

    def _wait(self) -> None:
        if self._written is not None:
            written, self._written = self._written, None
            written.result()

    def close(self) -> None:
        """Writes what is left (an empty file's one empty row group too) and the footer."""
        try:
            self._wait()
            if self._pending or not self.rows:
                self._writer.write_table(
                    self._pa.Table.from_batches(self._batches, self._writer.schema)
                )
                self.rows += self._pending
        finally:
            self._writing.shutdown(wait=True)
            self._writer.close()


def _column_names(export: OpenedExport, columns: Mapping[str, Column]) -> list[str]:
    """The table's keys first, then the other columns in order of first appearance."""
    return ordered_columns([name for name in export.key_names or () if name in columns], columns)


def _plan(
    pa: Any, export: OpenedExport, columns: Mapping[str, Column], typed: bool
) -> tuple[list[str], list[tuple[Any, Any, str | None]], Any]:
    """The columns' names in order, their plans and the file's schema."""
    names = _column_names(export, columns)
    plans = [column_plan(pa, name, columns[name], typed) for name in names]
    schema = pa.schema(
        [plan[0] for plan in plans],
        metadata={b"ddbexport": _schema_note(names, columns, plans, typed)},
    )
    return names, plans, schema


def _items_result(
    names: list[str],
    plans: list[tuple[Any, Any, str | None]],
    columns: Mapping[str, Column],
    rows: int,
) -> ConvertResult:
    notes = []
    for name, plan in zip(names, plans, strict=True):
        if plan[2] == "varying":
            seen = ", ".join(columns[name].kinds)
            notes.append(f"column {name!r} holds several types ({seen}): written as JSON text")
        elif plan[2] == NUMBER_TEXT:
            notes.append(
                f"column {name!r} has numbers that fit neither int64 nor decimal128(38): "
                "written as text"
            )
    return ConvertResult("parquet", rows, changes=False, columns=tuple(names), notes=tuple(notes))


def _schema_note(
    names: list[str],
    columns: Mapping[str, Column],
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
            name for name, plan in zip(names, plans, strict=True) if plan[2] == NUMBER_TEXT
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
            data = change_json(change, typed)
            texts = [
                None if data[name] is None else json_text(data[name])
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
