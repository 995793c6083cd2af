"""The catalog: one record per export, kept in the bucket the export went to.

ListExports forgets exports after 90 days and says nothing about whether their files are whole.
Each bucket therefore keeps, under ``<catalog prefix>/exports/table=<table>/<ExportId>.json``, one
JSON line per export ddbexport made (or found again with ``catalog rebuild``): what was exported,
as of when, where, and whether it verified. One line per object keeps writes atomic and lets
Athena read the folder as a table partitioned by ``table``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from ddbexport.core.ports import ObjectApi
from ddbexport.core.timeparse import format_instant, parse_instant
from ddbexport.errors import ConfigError, DdbExportError
from ddbexport.exports.files import SUMMARY, ExportFolder, ExportSummary, join_key

RECORDS = "exports"


@dataclass(frozen=True, slots=True)
class CatalogRecord:
    """What the catalog knows about one export."""

    table: str
    table_arn: str
    export_arn: str
    export_type: str  # FULL_EXPORT | INCREMENTAL_EXPORT
    status: str  # COMPLETED | FAILED
    s3_bucket: str
    s3_prefix: str | None
    export_folder: str  # <prefix>/AWSDynamoDB/<ExportId>
    export_time: datetime | None = None
    from_time: datetime | None = None
    to_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    item_count: int | None = None
    billed_size_bytes: int | None = None
    output_format: str = "DYNAMODB_JSON"
    manifest_summary_key: str | None = None
    manifest_files_key: str | None = None
    schema_key: str | None = None
    run_id: str | None = None
    verification: dict[str, Any] | None = None
    failure: dict[str, str] | None = None
    recorded_at: datetime | None = None
    source: str = "run"  # run | rebuild
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def export_id(self) -> str:
        """The last part of the export ARN."""
        return self.export_arn.rsplit("/", 1)[-1]

    @property
    def as_of(self) -> datetime | None:
        """The instant the export shows the table at: export time, or the window's end."""
        return self.export_time or self.to_time

    @property
    def verified(self) -> bool | None:
        """True/False after a verification, None when the export was never verified."""
        if self.verification is None:
            return None
        return bool(self.verification.get("ok"))

    @property
    def good(self) -> bool:
        """COMPLETED and not found broken."""
        return self.status == "COMPLETED" and self.verified is not False

    def to_json(self) -> str:
        """One JSON line (Athena reads timestamps as ISO-8601 strings)."""
        data = asdict(self)
        for name, value in data.items():
            if isinstance(value, datetime):
                data[name] = format_instant(value)
        data["export_id"] = self.export_id
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> CatalogRecord:
        """Parse a record; raises ``ValueError`` when it is not one (wrong types included)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        values: dict[str, Any] = {}
        try:
            for item in fields(cls):
                if item.name not in data:
                    continue
                values[item.name] = _checked(item.name, data[item.name])
            return cls(**values)
        except (TypeError, AttributeError) as exc:
            raise ValueError(str(exc)) from None


def tables_named(records: Iterable[CatalogRecord], table: str) -> list[str]:
    """The ARNs, sorted, of the tables among ``records`` that ``table`` names: a table ARN names
    that table, a name every table of that name (a bucket shared by accounts or regions may hold
    records of several)."""
    if table.startswith("arn:"):
        return sorted({record.table_arn for record in records if record.table_arn == table})
    return sorted({record.table_arn for record in records if record.table == table})


_TEXT = {"table", "table_arn", "export_arn", "export_type", "status", "s3_bucket", "export_folder"}
_OPTIONAL_TEXT = {
    "s3_prefix",
    "manifest_summary_key",
    "manifest_files_key",
    "schema_key",
    "run_id",
    "output_format",
    "source",
}
_COUNTS = {"item_count", "billed_size_bytes"}
_MAPPINGS = {"verification", "failure", "extra"}


def _checked(name: str, value: Any) -> Any:
    """A record field's value, or ValueError when it has the wrong type."""
    if name.endswith("_time") or name == "recorded_at":
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"{name} is {value!r}, not a timestamp")
        return parse_instant(value)
    if name in _TEXT and not isinstance(value, str):
        raise ValueError(f"{name} is {value!r}, not text")
    if name in _OPTIONAL_TEXT and value is not None and not isinstance(value, str):
        raise ValueError(f"{name} is {value!r}, not text")
    if (
        name in _COUNTS
        and value is not None
        and (isinstance(value, bool) or not isinstance(value, int))
    ):
        raise ValueError(f"{name} is {value!r}, not a count")
    if name in _MAPPINGS and value is not None and not isinstance(value, dict):
        raise ValueError(f"{name} is {value!r}, not an object")
    return value


def record_from_summary(
    summary: ExportSummary, *, bucket: str, folder: ExportFolder, **changes: Any
) -> CatalogRecord:
    """A COMPLETED record built from an export's ``manifest-summary.json``."""
    record = CatalogRecord(
        table=summary.table,
        table_arn=summary.table_arn,
        export_arn=summary.export_arn,
        export_type=summary.export_type,
        status="COMPLETED",
        s3_bucket=bucket,
        s3_prefix=summary.prefix,
        export_folder=folder.path,
        export_time=summary.export_time,
        from_time=summary.from_time,
        to_time=summary.to_time,
        start_time=summary.start_time,
        end_time=summary.end_time,
        item_count=summary.item_count,
        billed_size_bytes=summary.billed_size_bytes,
        output_format=summary.output_format,
        manifest_summary_key=folder.key(SUMMARY),
        manifest_files_key=folder.resolve(summary.manifest_files_key),
    )
    return replace(record, **changes)


class CatalogError(DdbExportError):
    """A catalog record could not be read or written."""


class Catalog:
    """The records of the buckets ddbexport exports to, over an :class:`ObjectApi`."""

    def __init__(self, api: ObjectApi, prefix: str) -> None:
        self._api = api
        self.prefix = prefix.strip("/")

    def key(self, table: str, export_id: str) -> str:
        """Where the record of an export lives in its bucket."""
        return join_key(self.prefix, f"{RECORDS}/table={table}/{export_id}.json")

    def write(
        self,
        record: CatalogRecord,
        *,
        kms_key: str | None = None,
        bucket_owner: str | None = None,
    ) -> str:
        """Write (or replace) the record in the export's bucket; returns its key."""
        key = self.key(record.table, record.export_id)
        self._api.put_object(
            record.s3_bucket,
            key,
            (record.to_json() + "\n").encode(),
            kms_key=kms_key,
            bucket_owner=bucket_owner,
        )
        return key

    def records(
        self, bucket: str, table: str | None = None
    ) -> tuple[list[CatalogRecord], list[str]]:
        """The bucket's records (of one table, if given), oldest first, and unreadable keys."""
        if table is not None and not table:
            raise ConfigError("the table name is empty")
        folder = join_key(self.prefix, f"{RECORDS}/" + (f"table={table}/" if table else ""))
        found: list[CatalogRecord] = []
        unreadable: list[str] = []
        for info in self._api.list_objects(bucket, folder):
            if not info.key.endswith(".json"):
                continue
            data = self._api.get_object(bucket, info.key)
            try:
                if data is None:
                    raise ValueError("vanished while listed")
                found.append(CatalogRecord.from_json(data.decode("utf-8").strip()))
            except (ValueError, UnicodeDecodeError):
                unreadable.append(info.key)
        found.sort(key=_order)
        return found, unreadable

    def delete(self, record: CatalogRecord) -> None:
        """Remove the record (not the export's files)."""
        self._api.delete_objects(record.s3_bucket, [self.key(record.table, record.export_id)])


def _order(record: CatalogRecord) -> tuple[str, str, str]:
    moment = record.as_of or record.start_time
    return (record.table, format_instant(moment) if moment else "", record.export_id)
