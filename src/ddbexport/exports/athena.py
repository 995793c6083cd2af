"""``CREATE EXTERNAL TABLE`` for an export, its columns inferred from a sample of its data.

DynamoDB JSON keeps every value typed (``{"S": "x"}``, ``{"N": "1"}``, ``{"M": {...}}``), so an
attribute becomes ``struct<S:string,N:string,...>`` with one field per type seen in the sample:
an attribute that holds strings in some items and numbers in others stays queryable
(``item.price.n``), which hand-written DDL usually gets wrong. Full exports have one ``Item``
column; incremental exports ``Metadata``, ``Keys``, ``NewImage`` and ``OldImage``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .files import ExportFolder, ExportSummary

_SCALARS = {"S": "string", "N": "string", "B": "string", "BOOL": "boolean", "NULL": "boolean"}
_SETS = {"SS", "NS", "BS"}
# ION exports hold native Ion values, read by the Ion SerDe as these Hive types.
_ION_TYPES = {
    "S": "string",
    "N": "decimal(38,9)",
    "B": "binary",
    "BOOL": "boolean",
    "NULL": "string",
    "SS": "array<string>",
    "NS": "array<decimal(38,9)>",
    "BS": "array<binary>",
}


@dataclass(slots=True)
class _Shape:
    """The union of DynamoDB types seen for one attribute (recursively for maps and lists)."""

    types: set[str] = field(default_factory=set)
    members: dict[str, _Shape] = field(default_factory=dict)  # M
    element: _Shape | None = None  # L

    def add(self, typed: Mapping[str, Any]) -> None:
        for type_name, value in typed.items():
            self.types.add(type_name)
            if type_name == "M" and isinstance(value, Mapping):
                add_attributes(self.members, value)
            elif type_name == "L" and isinstance(value, list):
                self.element = self.element or _Shape()
                for entry in value:
                    if isinstance(entry, Mapping):
                        self.element.add(entry)

    def ion_hive(self) -> str:
        """The type of this attribute's native Ion values; mixed types are read as strings."""
        kinds = self.types - {"NULL"} or self.types
        if len(kinds) != 1:
            return "string"
        (kind,) = kinds
        if kind == "M":
            return struct_type(self.members, ion=True) if self.members else "string"
        if kind == "L":
            return f"array<{self.element.ion_hive()}>" if self.element else "array<string>"
        return _ION_TYPES.get(kind, "string")

    def hive(self) -> str:
        parts = []
        for type_name in sorted(self.types):
            if type_name in _SCALARS:
                hive = _SCALARS[type_name]
            elif type_name in _SETS:
                hive = "array<string>"
            elif type_name == "M":
                hive = struct_type(self.members) if self.members else "map<string,string>"
            elif type_name == "L":
                hive = f"array<{self.element.hive()}>" if self.element else "array<string>"
            else:
                continue
            parts.append(f"`{type_name}`:{hive}")  # NULL is a reserved word
        return f"struct<{','.join(parts)}>" if parts else "struct<`S`:string>"


def add_attributes(shapes: dict[str, _Shape], item: Mapping[str, Any]) -> None:
    """Merge one item's typed attributes into ``shapes``."""
    for name, typed in item.items():
        if isinstance(typed, Mapping):
            shapes.setdefault(name, _Shape()).add(typed)


def struct_type(shapes: Mapping[str, _Shape], *, ion: bool = False) -> str:
    """``struct<`name`:type,...>``."""
    fields_ = [
        f"{_field_name(name)}:{shape.ion_hive() if ion else shape.hive()}"
        for name, shape in sorted(shapes.items())
    ]
    return f"struct<{','.join(fields_)}>" if fields_ else "struct<unknown:string>"


def _field_name(name: str) -> str:
    # Always quoted: attribute names such as `null`, `date` or `order` are Hive keywords.
    return "`" + name.replace("`", "``") + "`"


@dataclass(slots=True)
class InferredColumns:
    """Column shapes learnt from sample records."""

    columns: dict[str, dict[str, _Shape]] = field(default_factory=dict)
    records: int = 0

    def add_record(self, record: Mapping[str, Any]) -> None:
        """One line of a data file (``{"Item": …}`` or ``{"Keys": …, "NewImage": …}``)."""
        self.records += 1
        for column in ("Item", "Keys", "NewImage", "OldImage"):
            image = record.get(column)
            if isinstance(image, Mapping):
                add_attributes(self.columns.setdefault(column, {}), image)


def infer_columns(records: Iterable[Mapping[str, Any]]) -> InferredColumns:
    """Column shapes from decoded data-file lines."""
    inferred = InferredColumns()
    for record in records:
        inferred.add_record(record)
    return inferred


def table_name_for(summary: ExportSummary) -> str:
    """A Hive-safe table name: ``<table>_<export id>``."""
    raw = f"{summary.table}_{summary.export_id}".lower()
    return re.sub(r"[^a-z0-9_]", "_", raw)


def create_table_ddl(
    summary: ExportSummary,
    folder: ExportFolder,
    bucket: str,
    inferred: InferredColumns,
    *,
    table_name: str | None = None,
) -> str:
    """The ``CREATE EXTERNAL TABLE`` statement for the export."""
    name = table_name or table_name_for(summary)
    incremental = summary.export_type == "INCREMENTAL_EXPORT"
    ion = summary.output_format == "ION"

    def column(image: str) -> str:
        return struct_type(inferred.columns.get(image, {}), ion=ion)

    if incremental:
        stamp = "decimal(38,0)" if ion else "struct<`N`:string>"
        columns = [
            ("Metadata", f"struct<`WriteTimestampMicros`:{stamp}>"),
            ("Keys", column("Keys")),
            ("NewImage", column("NewImage")),
        ]
        if summary.output_view == "NEW_AND_OLD_IMAGES":
            columns.append(("OldImage", column("OldImage")))
        location = f"s3://{bucket}/{folder.resolve('AWSDynamoDB/data/')}"
    else:
        columns = [("Item", column("Item"))]
        location = f"s3://{bucket}/{folder.path}/data/"
    column_text = ",\n".join(f"  `{column}` {hive}" for column, hive in columns)
    lines = [
        f"-- {summary.export_type} of {summary.table_arn}",
        f"-- export {summary.export_arn}",
        f"-- columns inferred from {inferred.records} sampled record(s)",
    ]
    if incremental:
        lines.append(
            "-- AWSDynamoDB/data/ is shared by every incremental export under this prefix: "
            'filter on "$path" with the files of manifest-files.json to read one export alone'
        )
    lines.append(f"CREATE EXTERNAL TABLE IF NOT EXISTS `{name}` (\n{column_text}\n)")
    if summary.output_format == "ION":
        lines += [
            "ROW FORMAT SERDE 'com.amazon.ionhiveserde.IonHiveSerDe'",
            "STORED AS INPUTFORMAT 'com.amazon.ionhiveserde.formats.IonInputFormat'",
            "OUTPUTFORMAT 'com.amazon.ionhiveserde.formats.IonOutputFormat'",
        ]
    else:
        lines.append("ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'")
    lines.append(f"LOCATION '{location}';")
    return "\n".join(lines) + "\n"
