"""Evolving an Iceberg table's schema to hold what an export brings.

New attributes become new optional columns (keys: required, and the table's identifier fields).
A column whose values no longer fit its type (a string where numbers were, a fraction in a column
of integers, more decimal places than its scale) is *retyped*: Iceberg cannot change a column's
type in place beyond widening, so the column is dropped and added again under the same name with
the type both the stored and the new values need, and the writer rewrites every data file with
the stored values converted (:mod:`ddbexport.lake.writing`). Old snapshots keep the old column
(Iceberg columns are known by id), so time travel still reads them as they were written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pyiceberg.schema import Schema
from pyiceberg.table import Transaction

from ddbexport.data.convert.parquet_columns import Column

from .columns import (
    FOREIGN,
    Converter,
    column_of,
    converter,
    iceberg_type,
    merged,
    signature,
    signature_of_field,
)
from .errors import LakeError

#: Exact knowledge of a column's stored values: (name, signature) → what they need.
StoredValues = Callable[[str, str], Column]


@dataclass(slots=True)
class Evolution:
    """What the schema update did: columns added, and columns retyped (name → old, new)."""

    added: list[str] = field(default_factory=list)
    retyped: dict[str, tuple[str, str]] = field(default_factory=dict)


def evolve(
    tx: Transaction,
    columns: Mapping[str, Column],
    keys: Sequence[str],
    stored: StoredValues,
    *,
    where: str,
) -> Evolution:
    """Add and retype columns in ``tx`` so that ``columns`` (the values to write) fit.

    Args:
        stored: what a retyped column's stored values need (an empty :class:`Column` when
            they are all replaced anyway).
        where: the Iceberg table's name, for messages.

    Raises:
        LakeError: an attribute's column was made by another writer with a type ddbexport does
            not use.
    """
    schema = tx.table_metadata.schema()
    existing = {item.name: item for item in schema.fields}
    evolution = Evolution()
    wanted: dict[str, str] = {}
    for name, column in columns.items():
        new = signature(column)
        if new is None:
            continue  # only NULLs so far: no type to give the column yet
        current = existing.get(name)
        if current is None:
            wanted[name] = new
            evolution.added.append(name)
            continue
        old = signature_of_field(current)
        if old.startswith(FOREIGN):
            raise LakeError(
                f"column {name!r} of Iceberg table {where} has type "
                f"{current.field_type}, which ddbexport does not write: rename or drop that "
                "column, or sync into another table"
            )
        if signature(merged(column_of(old), column)) == old:
            continue
        final = signature(merged(stored(name, old), column))
        assert final is not None
        if final != old:
            evolution.retyped[name] = (old, final)
            wanted[name] = final
    identifier = [schema.find_field(number).name for number in schema.identifier_field_ids]
    if evolution.retyped:
        with tx.update_schema(allow_incompatible_changes=True) as update:
            if any(name in evolution.retyped for name in identifier):
                update.set_identifier_fields(
                    *(name for name in identifier if name not in evolution.retyped)
                )
            for name in evolution.retyped:
                update.delete_column(name)
    if wanted:
        with tx.update_schema(allow_incompatible_changes=True) as update:
            for name, sig in wanted.items():
                kind, doc = iceberg_type(sig)
                update.add_column(name, kind, doc=doc, required=name in keys)
    _identify(tx, keys)
    return evolution


def _identify(tx: Transaction, keys: Sequence[str]) -> None:
    """Make the key columns required, first, and the table's identifier fields."""
    schema = tx.table_metadata.schema()
    names = [item.name for item in schema.fields]
    if not keys or not all(key in names for key in keys):
        return
    identifier = [schema.find_field(number).name for number in schema.identifier_field_ids]
    keyed = [schema.find_field(key) for key in keys]
    if (
        identifier == list(keys)
        and names[: len(keys)] == list(keys)
        and all(item.required for item in keyed)
    ):
        return
    with tx.update_schema(allow_incompatible_changes=True) as update:
        for item in keyed:
            if not item.required:
                update.update_column(item.name, required=True)
        for key in reversed(keys):
            update.move_first(key)
    with tx.update_schema(allow_incompatible_changes=True) as update:
        update.set_identifier_fields(*keys)


def converters(schema: Schema) -> dict[str, Converter | None]:
    """Each column's converter from DynamoDB JSON (None: a column ddbexport did not make)."""
    found: dict[str, Converter | None] = {}
    for item in schema.fields:
        sig = signature_of_field(item)
        found[item.name] = None if sig.startswith(FOREIGN) else converter(item.name, sig)
    return found
