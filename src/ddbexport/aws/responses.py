"""Turning boto3's responses into plain data: JSON-ready values (ISO-8601 datetimes) and
:class:`~ddbexport.core.models.ExportDescription` from the API's mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ddbexport.core.models import ExportDescription


def jsonable(value: Any) -> Any:
    """``value`` ready for JSON: datetimes as ISO-8601 UTC strings, bytes as text."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def export_description(raw: dict[str, Any]) -> ExportDescription:
    """Build an :class:`ExportDescription` from the API's ``ExportDescription`` mapping."""
    window = raw.get("IncrementalExportSpecification") or {}
    return ExportDescription(
        export_arn=raw.get("ExportArn", ""),
        status=raw.get("ExportStatus", "IN_PROGRESS"),
        table_arn=raw.get("TableArn", ""),
        start_time=_as_datetime(raw.get("StartTime")),
        end_time=_as_datetime(raw.get("EndTime")),
        export_time=_as_datetime(raw.get("ExportTime")),
        item_count=raw.get("ItemCount"),
        billed_size_bytes=raw.get("BilledSizeBytes"),
        failure_code=raw.get("FailureCode"),
        failure_message=raw.get("FailureMessage"),
        client_token=raw.get("ClientToken"),
        s3_bucket=raw.get("S3Bucket"),
        s3_prefix=raw.get("S3Prefix"),
        export_type=raw.get("ExportType") or "FULL_EXPORT",
        export_manifest=raw.get("ExportManifest"),
        from_time=_as_datetime(window.get("ExportFromTime")),
        to_time=_as_datetime(window.get("ExportToTime")),
        view=window.get("ExportViewType"),
    )


def _as_datetime(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None
