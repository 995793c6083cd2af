"""What happens once an export has ended: verify it, save its schema, record it in the catalog.

Runs in both directions of trouble without stopping a run: a check that fails or a write that
fails becomes part of the table's result (and of the exit status), never an exception.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from ddbexport.catalog.chainstate import chain_key, chain_state, read_chain_state, write_chain_state
from ddbexport.catalog.records import Catalog, CatalogRecord, record_from_summary
from ddbexport.core.models import ExportDescription, ExportRequest
from ddbexport.core.ports import ObjectApi
from ddbexport.core.timeparse import format_instant
from ddbexport.errors import AwsError, ConfigError
from ddbexport.exports.files import SCHEMA_SIDECAR, ExportFolder, ExportSummary, parse_folder
from ddbexport.exports.stores import S3Store
from ddbexport.exports.verify import verify_export

log = logging.getLogger(__name__)


@runtime_checkable
class AftercareApi(ObjectApi, Protocol):
    """S3 plus the table descriptions the schema sidecar keeps."""

    def table_schema(self, name: str) -> dict[str, Any]:
        """DescribeTable, DescribeTimeToLive, DescribeContinuousBackups and tags."""


@dataclass(frozen=True, slots=True)
class AftercareResult:
    """What aftercare did for one export."""

    verification: dict[str, Any] | None = None
    catalog_key: str | None = None
    schema_key: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Verified clean (or not verified) and every write succeeded."""
        verified = self.verification is None or bool(self.verification.get("ok"))
        return verified and not self.warnings


def export_folder(request: ExportRequest, description: ExportDescription) -> ExportFolder:
    """The export's folder: from ExportManifest when AWS gives it, else from the prefix."""
    if description.export_manifest:
        try:
            return parse_folder(description.export_manifest.rsplit("/", 1)[0])
        except ConfigError:
            pass
    export_id = description.export_arn.rsplit("/", 1)[-1]
    return ExportFolder(request.prefix or "", export_id)


class Aftercare:
    """Verifies, describes and catalogues ended exports.

    Args:
        api: S3 and DynamoDB reads/writes.
        catalog_prefix: where each bucket keeps its catalog; ``None`` keeps no catalog and no
            schema sidecar.
        verify: run the cheap verification of every COMPLETED export.
        now: the clock of ``recorded_at``.
    """

    def __init__(
        self,
        api: AftercareApi,
        *,
        catalog_prefix: str | None,
        verify: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._api = api
        self._catalog = Catalog(api, catalog_prefix) if catalog_prefix else None
        self._verify = verify
        self._now = now

    def after(
        self, run_id: str, request: ExportRequest, description: ExportDescription
    ) -> AftercareResult:
        """Handle an export that ended COMPLETED or FAILED."""
        folder = export_folder(request, description)
        warnings: list[str] = []
        verification = None
        summary: ExportSummary | None = None
        if description.status == "COMPLETED" and self._verify:
            try:
                checked = verify_export(S3Store(self._api, request.bucket), folder)
            except AwsError as exc:
                warnings.append(f"could not verify the export: {exc}")
            else:
                verification = checked.to_dict()
                summary = checked.summary
        schema_key = None
        if description.status == "COMPLETED" and self._catalog is not None:
            schema_key = self._save_schema(request, folder, warnings)
        catalog_key = None
        if self._catalog is not None:
            record = self._record(request, description, folder, summary)
            record = replace(
                record,
                run_id=run_id,
                verification=verification,
                schema_key=schema_key,
                recorded_at=self._now(),
                # An incremental table's baseline is told from any other full export by this.
                extra={**record.extra, "chain": True} if request.chained else record.extra,
            )
            try:
                catalog_key = self._catalog.write(
                    record, kms_key=request.kms_key, bucket_owner=request.bucket_owner
                )
            except AwsError as exc:
                warnings.append(f"could not write the catalog record: {exc}")
            else:
                if request.chained:
                    self._write_chain(request, record, warnings)
        for warning in warnings:
            log.warning("%s: %s", request.table, warning)
        return AftercareResult(verification, catalog_key, schema_key, tuple(warnings))

    def _write_chain(
        self, request: ExportRequest, record: CatalogRecord, warnings: list[str]
    ) -> None:
        """Rewrite the table's chain object from the catalog, for the pipeline to read."""
        assert self._catalog is not None
        key = chain_key(self._catalog.prefix, request.table)
        try:
            records, _ = self._catalog.records(request.bucket, request.table)
            # A bucket shared by accounts or regions may hold same-named tables' records too.
            records = [r for r in records if r.table_arn == request.table_arn]
            previous = read_chain_state(self._api, request.bucket, key) or {}
            # A new baseline asked for (invoke --rebaseline) stands until one has COMPLETED.
            asked = previous.get("rebaseline") is True
            done = record.good and record.export_type == "FULL_EXPORT"
            state = chain_state(
                records,
                request.table,
                request.table_arn,
                last=record,
                now=self._now(),
                rebaseline=asked and not done,
            )
            write_chain_state(
                self._api,
                request.bucket,
                key,
                state,
                kms_key=request.kms_key,
                bucket_owner=request.bucket_owner,
            )
        except AwsError as exc:
            warnings.append(f"could not write the chain object: {exc}")

    def _save_schema(
        self, request: ExportRequest, folder: ExportFolder, warnings: list[str]
    ) -> str | None:
        key = folder.key(SCHEMA_SIDECAR)
        try:
            schema = self._api.table_schema(request.table)
            body = json.dumps(
                {"table": request.table, "captured_at": format_instant(self._now()), **schema},
                indent=2,
                sort_keys=True,
            )
            self._api.put_object(
                request.bucket,
                key,
                body.encode(),
                kms_key=request.kms_key,
                bucket_owner=request.bucket_owner,
            )
        except AwsError as exc:
            warnings.append(f"could not save the schema sidecar: {exc}")
            return None
        return key

    @staticmethod
    def _record(
        request: ExportRequest,
        description: ExportDescription,
        folder: ExportFolder,
        summary: ExportSummary | None,
    ) -> CatalogRecord:
        if summary is not None:
            return record_from_summary(summary, bucket=request.bucket, folder=folder)
        failure = None
        if description.status == "FAILED":
            failure = {
                "code": description.failure_code or "ExportFailed",
                "message": description.failure_message or "",
            }
        return CatalogRecord(
            table=request.table,
            table_arn=request.table_arn,
            export_arn=description.export_arn,
            export_type=description.export_type,
            status=description.status,
            s3_bucket=request.bucket,
            s3_prefix=request.prefix or None,
            export_folder=folder.path,
            export_time=(
                None
                if request.from_time is not None
                else description.export_time or request.export_time
            ),
            from_time=request.from_time,
            to_time=request.to_time,
            start_time=description.start_time,
            end_time=description.end_time,
            item_count=description.item_count,
            billed_size_bytes=description.billed_size_bytes,
            output_format=request.format,
            manifest_summary_key=description.export_manifest,
            failure=failure,
        )
