"""Iceberg columns for DynamoDB attributes: the typing rules of ``read --to parquet``, kept over
time.

An attribute's column type follows from the DynamoDB types seen in it, as
:mod:`ddbexport.data.convert.parquet_columns` decides for one Parquet file (``S`` → string, ``N``
→ long, decimal(38, s) or exact text, sets → lists, maps, lists and mixed types → JSON text).
An Iceberg table lives on, though: each sync brings new values, so the type is decided again from
what the column already is *and* what arrives. A column's *signature* names that decision; the
column's Iceberg type (and its ``doc``, for the two string encodings) says it back, so nothing
besides the table is needed to know how a column was typed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pyarrow as pa
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DecimalType,
    IcebergType,
    ListType,
    LongType,
    NestedField,
    StringType,
)

from ddbexport.data.convert.parquet_columns import Column, column_plan
from ddbexport.data.convert.values import base64_text

JSON = "json"
FOREIGN = "foreign:"
JSON_DOC = "JSON text of each value [ddbexport:json]"
NUMBER_TEXT_DOC = "numbers as exact text [ddbexport:number-text]"
_DIGITS = 38
#: Converts a DynamoDB-JSON value (``{"N": "1"}``) to what the column stores.
Converter = Callable[[Mapping[str, Any]], Any]


def observe(columns: dict[str, Column], item: Mapping[str, Any]) -> None:
    """Note the types of ``item``'s attributes (DynamoDB JSON)."""
    for name, typed in item.items():
        column = columns.get(name)
        if column is None:
            column = columns[name] = Column()
        column.add(typed)


def signature(column: Column) -> str | None:
    """``S``, ``N:int``, ``N:dec:<scale>``, ``N:text``, ``B``, ``BOOL``, ``SS``, ``NS:…``, ``BS``
    or ``json``; None when only NULLs were seen (no type yet)."""
    kinds = list(column.kinds)
    if not kinds:
        return None
    if len(kinds) > 1:
        return JSON
    kind = kinds[0]
    if kind in ("N", "NS"):
        arrow, how = column.numbers.arrow_type(pa)
        if how == "decimal":
            return f"{kind}:dec:{arrow.scale}"
        return f"{kind}:{how}"
    if kind in ("S", "B", "BOOL", "SS", "BS"):
        return kind
    return JSON


def column_of(sig: str) -> Column:
    """A :class:`Column` that types as ``sig``: what a column of that signature may hold."""
    column = Column()
    if sig == JSON:
        column.kinds = {"S": None, "M": None}
        return column
    kind, _, number = sig.partition(":")
    column.kinds = {kind: None}
    if number == "int":
        column.numbers.integers = True
    elif number.startswith("dec:"):
        column.numbers.integers = False
        column.numbers.scale = int(number.removeprefix("dec:"))
    elif number == "text":
        column.numbers.integers = False
        column.numbers.whole_digits = _DIGITS + 1
    return column


def merged(first: Column, second: Column) -> Column:
    """What a column needs to hold the values of both."""
    column = Column()
    column.include(first)
    column.include(second)
    return column


def iceberg_type(sig: str) -> tuple[IcebergType, str | None]:
    """The Iceberg type of a signature and the column's doc (string encodings only)."""
    if sig == JSON:
        return StringType(), JSON_DOC
    kind, _, number = sig.partition(":")
    element: IcebergType
    doc = None
    if number == "int":
        element = LongType()
    elif number.startswith("dec:"):
        element = DecimalType(_DIGITS, int(number.removeprefix("dec:")))
    elif number == "text":
        element, doc = StringType(), NUMBER_TEXT_DOC
    else:
        element = {
            "S": StringType(),
            "SS": StringType(),
            "B": BinaryType(),
            "BS": BinaryType(),
        }.get(kind, BooleanType())
    if kind in ("SS", "NS", "BS"):
        # The id is a placeholder: the schema update assigns the table's next one.
        return ListType(0, element, element_required=False), doc
    return element, doc


def signature_of_field(field: NestedField) -> str:
    """The signature a column of the table was given (its type and doc say it)."""
    kind = field.field_type
    doc = field.doc or ""
    element = kind.element_type if isinstance(kind, ListType) else kind
    prefix = "N" if not isinstance(kind, ListType) else "NS"
    if isinstance(element, StringType):
        if "[ddbexport:json]" in doc:
            return JSON
        if "[ddbexport:number-text]" in doc:
            return f"{prefix}:text"
        return "S" if not isinstance(kind, ListType) else "SS"
    if isinstance(element, LongType):
        return f"{prefix}:int"
    if isinstance(element, DecimalType):
        return f"{prefix}:dec:{element.scale}"
    if isinstance(element, BinaryType):
        return "B" if not isinstance(kind, ListType) else "BS"
    if isinstance(element, BooleanType):
        return "BOOL"
    # A column ddbexport did not make (another writer's): sync refuses to write into it.
    return f"{FOREIGN}{kind}"


def converter(name: str, sig: str) -> Converter:
    """DynamoDB JSON → the column's value, by the rules of ``read --to parquet``."""
    _field, convert, _note = column_plan(pa, name, column_of(sig), False)
    return convert


def typed_value(sig: str, value: Any) -> dict[str, Any]:
    """A stored value back as DynamoDB JSON, to retype a column (never a JSON column: JSON text
    holds every type, so a JSON column is never retyped)."""
    kind = sig.partition(":")[0]
    if kind == "N":
        return {"N": _number_text(value)}
    if kind == "NS":
        return {"NS": [_number_text(number) for number in value]}
    if kind == "B":
        return {"B": base64_text(value)}
    if kind == "BS":
        return {"BS": [base64_text(blob) for blob in value]}
    if kind == "SS":
        return {"SS": list(value)}
    if kind in ("S", "BOOL"):
        return {kind: value}
    raise ValueError(f"a {sig} column cannot be retyped")


def _number_text(value: Any) -> str:
    return value if isinstance(value, str) else str(Decimal(value))
