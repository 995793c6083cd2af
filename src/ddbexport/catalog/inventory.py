"""Library calls over what has been exported: verify, list, status, prune, rebuild, Athena DDL."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ddbexport.config.model import Config
from ddbexport.core.ports import ExportStore, ObjectApi
from ddbexport.core.timeparse import utc_now
from ddbexport.errors import ConfigError
from ddbexport.exports.athena import create_table_ddl, infer_columns
from ddbexport.exports.files import (
    SNAPSHOT_FIELD,
    SUMMARY,
    ExportFolder,
    ManifestError,
    parse_files,
    parse_folder,
)
from ddbexport.exports.ion import IonError, read_record
from ddbexport.exports.stores import S3Store, open_target
from ddbexport.exports.verify import Verification, verify_export

from .prune import PruneDecision, objects_of, plan_prune
from .records import Catalog, CatalogRecord, record_from_summary

#: Records read from an export's data files to infer Athena columns.
SAMPLE_RECORDS = 1000

Now = Callable[[], datetime]


def verify(target: str, *, deep: bool = False, api: ObjectApi | None = None) -> Verification:
    """Check the export folder ``target`` (S3 URL or path); see :mod:`ddbexport.exports.verify`."""
    store, folder = open_target(target, api)
    return verify_export(store, folder, deep=deep)


def athena_ddl(target: str, *, api: ObjectApi | None = None, table_name: str | None = None) -> str:
    """``CREATE EXTERNAL TABLE`` for the export in ``target``, columns inferred from its data.

    Raises:
        ConfigError: the target holds no readable export.
    """
    store, folder = open_target(target, api)
    checked = verify_export(store, folder)
    summary = checked.summary
    if summary is None:
        raise ConfigError(f"{target}: no readable export: {checked.problems[0]}")
    inferred = infer_columns(_sample(store, folder, summary.manifest_files_key, summary))
    if isinstance(store, S3Store):
        bucket, location = store.bucket, folder
    else:
        # A copy on disk: LOCATION is where the export lives in S3, from its own summary.
        bucket = summary.bucket or "BUCKET"
        location = ExportFolder(summary.prefix or "", folder.export_id)
    return create_table_ddl(summary, location, bucket, inferred, table_name=table_name)


def _sample(
    store: ExportStore, folder: ExportFolder, files_key: str, summary: Any
) -> Iterator[dict[str, Any]]:
    data = store.read(folder.resolve(files_key))
    if data is None:
        return
    try:
        entries = parse_files(data)
    except ManifestError:
        return
    taken = 0
    for entry in entries:
        if not entry.item_count:
            continue
        raw = store.read(folder.resolve(entry.key))
        if raw is None:
            continue
        try:
            text = gzip.decompress(raw).decode("utf-8")
        except (OSError, EOFError, zlib.error, UnicodeDecodeError):
            continue
        for line in text.splitlines():
            if not line.strip() or line.strip() == "$ion_1_0":
                continue
            try:
                record = read_record(line) if summary.output_format == "ION" else json.loads(line)
            except (ValueError, IonError):
                continue
            if isinstance(record, dict):
                yield record
                taken += 1
            if taken >= SAMPLE_RECORDS:
                return


# ---------------------------------------------------------------------------- the catalog


def config_buckets(config: Config) -> list[str]:
    """Every bucket the config exports to."""
    buckets = {config.defaults.bucket} | {selector.bucket for selector in config.tables}
    return sorted(bucket for bucket in buckets if bucket)


def _catalog(config: Config, api: ObjectApi) -> Catalog:
    return Catalog(api, config.catalog.prefix)


@dataclass(slots=True)
class CatalogListing:
    """Records found in the config's buckets, and keys that did not hold a record."""

    records: list[CatalogRecord] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def list_exports(config: Config, api: ObjectApi, *, table: str | None = None) -> CatalogListing:
    """The catalog records of every bucket the config exports to (one table's, if given)."""
    if not config_buckets(config):
        raise ConfigError("the config names no bucket: set defaults.bucket or a table's bucket")
    listing = CatalogListing()
    catalog = _catalog(config, api)
    for bucket in config_buckets(config):
        records, unreadable = catalog.records(bucket, table)
        listing.records += records
        listing.unreadable += [f"s3://{bucket}/{key}" for key in unreadable]
    return listing


@dataclass(slots=True)
class PruneResult:
    """What prune decided and, unless a dry run, deleted."""

    decisions: list[PruneDecision]
    objects: dict[str, list[str]] = field(default_factory=dict)  # export ARN → keys
    dry_run: bool = True

    @property
    def deleted(self) -> list[PruneDecision]:
        """The decisions to delete."""
        return [decision for decision in self.decisions if decision.delete]


def prune(
    config: Config,
    api: ObjectApi,
    *,
    keep_last: int | None = None,
    older_than_s: float | None = None,
    dry_run: bool = False,
    table: str | None = None,
    now: Now = utc_now,
) -> PruneResult:
    """Delete old exports' objects and catalog records; see :mod:`.prune` for the rules.

    Without ``keep_last`` or ``older_than_s``, the config's ``[retention]`` rule applies.

    Raises:
        ConfigError: no rule at all, both rules, or a bad value.
    """
    if keep_last is None and older_than_s is None:
        keep_last, older_than_s = config.retention.keep_last, config.retention.older_than_s
    if (keep_last is None) == (older_than_s is None):
        raise ConfigError(
            "give exactly one of --keep-last N or --older-than DURATION (or set "
            "[retention] keep_last or older_than in the config)"
        )
    if keep_last is not None and keep_last < 1:
        raise ConfigError(f"--keep-last {keep_last}: keep at least 1 export")
    records = list_exports(config, api, table=table).records
    decisions = plan_prune(records, now=now(), keep_last=keep_last, older_than_s=older_than_s)
    result = PruneResult(decisions, dry_run=dry_run)
    catalog = _catalog(config, api)
    for decision in result.deleted:
        record = decision.record
        keys = objects_of(api, record)
        result.objects[record.export_arn] = keys
        if dry_run:
            continue
        # Files first, record last: an interrupted prune leaves a record to prune again.
        api.delete_objects(record.s3_bucket, keys)
        catalog.delete(record)
    return result


@dataclass(slots=True)
class RebuildResult:
    """What ``catalog rebuild`` found."""

    written: list[CatalogRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: Snapshots found among the exports: not exports, so not catalogued.
    snapshots: list[str] = field(default_factory=list)


def rebuild_catalog(
    config: Config,
    api: ObjectApi,
    *,
    prefix: str = "",
    now: Now = utc_now,
) -> RebuildResult:
    """Recreate catalog records from the manifests found in the config's buckets.

    Every ``…/AWSDynamoDB/<ExportId>/manifest-summary.json`` under ``prefix`` is read and
    verified (cheap checks); records that already exist keep their run id and schema key.
    """
    result = RebuildResult()
    catalog = _catalog(config, api)
    for bucket in config_buckets(config):
        existing = {r.export_arn: r for r in catalog.records(bucket)[0]}
        store = S3Store(api, bucket)
        for info in api.list_objects(bucket, prefix):
            if not info.key.endswith("/" + SUMMARY) or "AWSDynamoDB/" not in info.key:
                continue
            try:
                folder = parse_folder(info.key.rsplit("/", 1)[0])
            except ConfigError:
                continue
            checked = verify_export(store, folder)
            if checked.summary is None:
                result.problems.append(f"s3://{bucket}/{info.key}: {checked.problems[0]}")
                continue
            if SNAPSHOT_FIELD in checked.summary.raw:
                result.snapshots.append(f"s3://{bucket}/{folder.path}/")
                continue
            before = existing.get(checked.summary.export_arn)
            record = record_from_summary(
                checked.summary,
                bucket=bucket,
                folder=folder,
                verification=checked.to_dict(),
                recorded_at=now(),
                source="rebuild",
            )
            if before is not None:
                record = replace(record, run_id=before.run_id, schema_key=before.schema_key)
            catalog.write(
                record,
                kms_key=config.defaults.kms_key,
                bucket_owner=config.defaults.bucket_owner,
            )
            result.written.append(record)
    return result
