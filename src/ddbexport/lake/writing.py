"""Applying one export to an Iceberg table, as one snapshot.

* **Load** (a full export): a first pass over the items types the columns, a second writes them
  in batches of data files; the snapshot removes every data file the table had and adds the new
  ones, so readers see the old rows or the new ones, never a mix.
* **MERGE** (an incremental export): each key's last change written after the last instant
  whose writes the table holds (write-timestamp order; see
  :func:`ddbexport.lake.plan.writes_held_through`), then copy on
  write: the data files that may hold a changed key are read, the changed keys' rows dropped,
  the rest written again, and the new images (inserts and updates) added; deletes only drop.
  pyiceberg's own ``delete``/``overwrite``/``upsert`` commit several snapshots per call, so the
  snapshot is built here with its producer (``update_snapshot().overwrite()``): one snapshot
  per export, carrying the export in its summary.

Nothing is visible until the transaction commits; a failure before leaves the table as it was
(data files already written are orphans, which Iceberg's orphan-file cleanup removes).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, In
from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files, schema_to_pyarrow
from pyiceberg.table import FileScanTask, Table, Transaction

from ddbexport.data.convert.parquet_columns import Column
from ddbexport.data.convert.passes import spooled
from ddbexport.data.snapshot.merging import latest_changes
from ddbexport.exports.reader import OpenedExport, iter_items

from .columns import converter, observe, typed_value
from .schema import Evolution, converters, evolve

log = logging.getLogger(__name__)

#: Rows converted and written at a time: bounds memory, and each batch is at least one file.
BATCH_ROWS = 100_000
#: Above this many changed keys, every data file is a candidate: an IN list that long costs more
#: to evaluate than it saves (pyiceberg stops using statistics past 200 values anyway).
_KEY_FILTER_LIMIT = 200
_ROW = "__ddbexport_row"
_EVERY_ROW: BooleanExpression = AlwaysTrue()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class Written:
    """What applying one export did."""

    rows: int  # rows the snapshot added (loaded items, or new images of a MERGE)
    deleted: int  # keys a MERGE removed
    changes: int  # changes applied (MERGE), each key's last counted once
    skipped: int  # changes already in the table (written at or before the point it reached)
    files_rewritten: int
    evolution: Evolution
    snapshot_id: int


def load(
    table: Table,
    export: OpenedExport,
    keys: Sequence[str],
    properties: dict[str, str],
    *,
    batch_rows: int = BATCH_ROWS,
) -> Written:
    """Replace the table's rows with the items of a full export, in one snapshot.

    The export is read twice (its column types first): an export in S3 is spooled to a
    temporary folder by the first reading rather than downloaded again.
    """
    with spooled(export) as readable:
        columns: dict[str, Column] = {}
        for item in iter_items(readable, typed=True):
            observe(columns, item)
        tx = table.transaction()
        # Every stored row goes: a retyped column needs only what the new items need.
        evolution = evolve(tx, columns, keys, lambda _name, _sig: Column(), where=str(table.name()))
        old_files = [task.file for task in table.scan().plan_files()]
        rows = 0
        with tx.update_snapshot(snapshot_properties=properties).overwrite() as snapshot:
            for data_file in old_files:
                snapshot.delete_data_file(data_file)
            writer = _Writer(tx, table, snapshot.commit_uuid)
            for batch in _batches(iter_items(readable, typed=True), batch_rows):
                rows += len(batch)
                for data_file in writer.write(writer.rows(batch)):
                    snapshot.append_data_file(data_file)
            snapshot_id = snapshot.snapshot_id
        tx.commit_transaction()
    return Written(rows, 0, 0, 0, len(old_files), evolution, snapshot_id)


def merge(
    table: Table,
    export: OpenedExport,
    keys: Sequence[str],
    held_through: datetime,
    properties: dict[str, str],
    *,
    batch_rows: int = BATCH_ROWS,
) -> Written:
    """Apply an incremental export's changes written after ``held_through`` (the last instant
    whose writes the table holds), in one snapshot."""
    gathered = latest_changes([export], keys, since=held_through)
    latest = gathered.by_key
    columns: dict[str, Column] = {}
    for change in latest.values():
        observe(columns, change.keys)
        if change.new_image is not None:
            observe(columns, change.new_image)
    tx = table.transaction()
    evolution = evolve(tx, columns, keys, _stored_values(table), where=str(table.name()))
    images = [dict(change.new_image) for change in latest.values() if change.new_image is not None]
    deleted = len(latest) - len(images)
    rewritten = 0
    with tx.update_snapshot(snapshot_properties=properties).overwrite() as snapshot:
        writer = _Writer(tx, table, snapshot.commit_uuid)
        if latest:
            changed = writer.key_table([change.keys for change in latest.values()], keys)
            for task in _candidates(table, changed, keys, retyped=bool(evolution.retyped)):
                stored = writer.convert(_read(table, task), evolution)
                kept = _without(stored, changed, keys)
                if len(kept) == len(stored) and not evolution.retyped:
                    continue  # no changed key in this file, and nothing to convert
                snapshot.delete_data_file(task.file)
                rewritten += 1
                for data_file in writer.write(kept):
                    snapshot.append_data_file(data_file)
            for batch in _batches(iter(images), batch_rows):
                for data_file in writer.write(writer.rows(batch)):
                    snapshot.append_data_file(data_file)
        snapshot_id = snapshot.snapshot_id
    tx.commit_transaction()
    return Written(
        len(images), deleted, len(latest), gathered.skipped, rewritten, evolution, snapshot_id
    )


def _stored_values(table: Table) -> Any:
    """Reads a column's stored values to learn exactly what they need (for a retype only)."""

    def stored(name: str, sig: str) -> Column:
        column = Column()
        values = table.scan(selected_fields=(name,)).to_arrow().column(name)
        for value in values.to_pylist():
            if value is not None:
                column.add(typed_value(sig, value))
        return column

    return stored


def _candidates(
    table: Table, changed: pa.Table, keys: Sequence[str], *, retyped: bool
) -> Iterator[FileScanTask]:
    """The data files that may hold a changed key (all of them when a column is retyped)."""
    row_filter: BooleanExpression = _EVERY_ROW
    if not retyped and 0 < changed.num_rows <= _KEY_FILTER_LIMIT:
        conditions = [In(key, set(changed.column(key).to_pylist())) for key in keys]
        row_filter = conditions[0] if len(conditions) == 1 else And(*conditions)
    if table.current_snapshot() is None:
        return iter(())
    return iter(table.scan(row_filter=row_filter).plan_files())


def _read(table: Table, task: FileScanTask) -> pa.Table:
    return ArrowScan(
        table_metadata=table.metadata,
        io=table.io,
        projected_schema=table.schema(),
        row_filter=_EVERY_ROW,
    ).to_table(tasks=[task])


def _without(rows: pa.Table, changed: pa.Table, keys: Sequence[str]) -> pa.Table:
    """``rows`` less those whose key is in ``changed`` (a semi join on the keys alone: payload
    columns of list type cannot go through a join)."""
    if rows.num_rows == 0 or changed.num_rows == 0:
        return rows
    numbered = rows.select(list(keys)).append_column(_ROW, pa.array(range(rows.num_rows)))
    hit = numbered.join(changed.select(list(keys)), keys=list(keys), join_type="left semi")
    if hit.num_rows == 0:
        return rows
    index = pa.array(range(rows.num_rows), pa.int64())
    return rows.filter(pc.invert(pc.is_in(index, value_set=hit.column(_ROW).combine_chunks())))


def _batches(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class _Writer:
    """Arrow tables in the transaction's current schema, and data files of them."""

    def __init__(self, tx: Transaction, table: Table, commit_uuid: Any) -> None:
        self._tx = tx
        self._table = table
        self._uuid = commit_uuid
        self._counter = itertools.count(0)
        schema = tx.table_metadata.schema()
        self.target = schema_to_pyarrow(schema, include_field_ids=False)
        self._convert = converters(schema)

    def rows(self, items: Sequence[Mapping[str, Any]]) -> pa.Table:
        """DynamoDB-JSON items as the table's columns (NULL and missing: null)."""
        arrays = []
        for target in self.target:
            convert = self._convert[target.name]
            values: list[Any] = []
            for item in items:
                typed = item.get(target.name)
                if typed is None or convert is None or "NULL" in typed:
                    values.append(None)
                else:
                    values.append(convert(typed))
            arrays.append(pa.array(values, type=target.type))
        return pa.Table.from_arrays(arrays, schema=self.target)

    def key_table(self, key_items: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> pa.Table:
        """The changed keys, typed as the key columns."""
        fields = [self.target.field(key) for key in keys]
        arrays = []
        for target in fields:
            convert = self._convert[target.name]
            assert convert is not None
            arrays.append(pa.array([convert(item[target.name]) for item in key_items], target.type))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    def convert(self, stored: pa.Table, evolution: Evolution) -> pa.Table:
        """Stored rows in the current schema: retyped columns converted, new columns null."""
        arrays = []
        for target in self.target:
            if target.name in evolution.retyped:
                old, new = evolution.retyped[target.name]
                to_new = converter(target.name, new)
                values = [
                    None if value is None else to_new(typed_value(old, value))
                    for value in stored.column(target.name).to_pylist()
                ]
                arrays.append(pa.array(values, type=target.type))
            elif target.name in stored.column_names:
                arrays.append(stored.column(target.name).cast(target.type))
            else:
                arrays.append(pa.nulls(stored.num_rows, type=target.type))
        return pa.Table.from_arrays(arrays, schema=self.target)

    def write(self, rows: pa.Table) -> Iterator[Any]:
        if rows.num_rows == 0:
            return iter(())
        return iter(
            _dataframe_to_data_files(
                table_metadata=self._tx.table_metadata,
                df=rows,
                io=self._table.io,
                write_uuid=self._uuid,
                counter=self._counter,
            )
        )
