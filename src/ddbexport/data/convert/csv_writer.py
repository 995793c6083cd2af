"""CSV: the items' top-level attributes as columns, or a change per row."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from decimal import Decimal
from typing import IO, Any

from ddbexport.core.ports import ObjectApi
from ddbexport.exports.reader import Target, iter_changes, iter_items, iter_records, open_export

from .passes import ordered_columns, spooled
from .result import ConvertResult
from .values import CHANGE_COLUMNS, change_json, decimal_text, json_safe_typed, json_text


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
            data = change_json(change, typed)
            writer.writerow(
                [
                    data["kind"],
                    data["write_time"] or "",
                    json_text(data["keys"]),
                    "" if data["old"] is None else json_text(data["old"]),
                    "" if data["new"] is None else json_text(data["new"]),
                ]
            )
            rows += 1
        return ConvertResult("csv", rows, changes=True, columns=CHANGE_COLUMNS)
    with spooled(export) as readable:
        seen: dict[str, None] = {}
        for item in iter_items(readable, typed=True):
            for name in item:
                if name not in seen:
                    seen[name] = None
        columns = ordered_columns(export.key_names or (), seen)
        writer.writerow(columns)
        cell = _typed_cell if typed else _plain_cell

        def row(record: dict[str, Any]) -> list[str]:
            # Converted as each line is read, so that a bad value is named by file and line.
            item = record["Item"]
            return [cell(item.get(name)) for name in columns]

        for values in iter_records(readable, row):
            writer.writerow(values)
            rows += 1
    return ConvertResult("csv", rows, changes=False, columns=tuple(columns))


def _plain_cell(typed: Mapping[str, Any] | None) -> str:
    if typed is None or "NULL" in typed:
        return ""
    if "S" in typed:
        return str(typed["S"])
    if "N" in typed:
        return decimal_text(Decimal(typed["N"]))
    if "BOOL" in typed:
        return "true" if typed["BOOL"] else "false"
    value = json_safe_typed(typed)
    return value if isinstance(value, str) else json_text(value)  # B is a base64 str


def _typed_cell(typed: Mapping[str, Any] | None) -> str:
    return "" if typed is None else json_text(typed)
