"""The entry points: a table's snapshot from its catalog, or a given chain's."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.catalog.chain import Chain
from ddbexport.catalog.inventory import config_buckets, list_exports
from ddbexport.catalog.records import RECORDS, CatalogRecord
from ddbexport.config.model import Config
from ddbexport.core.ports import ObjectApi
from ddbexport.exports.files import SCHEMA_SIDECAR, ExportFolder, join_key, parse_folder
from ddbexport.exports.reader import Target
from ddbexport.exports.stores import S3Store, parse_s3_url

from .choosing import no_exports, snapshot_id, table_chain
from .layout import Layout
from .merging import Locate, merge_changes, newest_sidecar, open
from .output import DYNAMODB_JSON, check_output, output_format, to_file, to_folder, write_to_s3
from .result import SnapshotResult


def snapshot(
    config: Config,
    api: ObjectApi,
    *,
    table: str,
    output: str | Path,
    to: str | None = None,
    as_of: datetime | None = None,
    allow_gaps: bool = False,
    force: bool = False,
    typed: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SnapshotResult:
    """Write ``table`` as of ``as_of`` (default: as late as its exports reach) to ``output``.

    The exports come from the catalog of the config's buckets.

    Args:
        output: a folder (``dynamodb-json``), a file (``jsonl``, ``parquet``) or, for
            ``dynamodb-json``, ``s3://BUCKET/PREFIX``; the snapshot's export folder goes under it.
        to: see :func:`output_format`.
        allow_gaps: merge even when no export covers part of the time (the result lists it).
        force: replace what ``output`` holds instead of refusing a non-empty folder or prefix,
            or an existing file (in S3, only the snapshot's own folder is replaced).
        typed: ``jsonl``/``parquet`` values as DynamoDB JSON instead of plain values.
        now: the clock of the summary's start and end times.

    Raises:
        ConfigError: bad output, or the exports cannot give the table then (:class:`ChainError`).
        ExportReadError: an export file is not what AWS writes.
        AwsError: S3 failed.
    """
    fmt = output_format(output, to)
    bucket_settings: tuple[str | None, str | None] = (None, None)
    if isinstance(output, str) and output.startswith("s3://"):
        bucket_settings = _bucket_settings(config, parse_s3_url(output)[0])
    check_output(output, fmt, force=force, typed=typed, api=api)
    listing = list_exports(config, api, table=table.rsplit("/", 1)[-1])
    where = "the catalog of " + ", ".join(
        f"s3://{bucket}/{join_key(config.catalog.prefix, RECORDS)}/"
        for bucket in config_buckets(config)
    )
    if not listing.records:
        raise no_exports(table, where, _catalogued_tables(config, api))
    chain = table_chain(listing.records, table, as_of=as_of, allow_gaps=allow_gaps, where=where)
    notes = [
        f"catalog record {key} could not be read: an export it describes is not considered"
        for key in listing.unreadable
    ]
    kms_key, bucket_owner = bucket_settings
    result = write_snapshot(
        chain,
        output,
        api=api,
        to=fmt,
        force=force,
        typed=typed,
        kms_key=kms_key,
        bucket_owner=bucket_owner,
        now=now,
    )
    return replace(result, notes=(*notes, *result.notes)) if notes else result


def write_snapshot(
    chain: Chain,
    output: str | Path,
    *,
    api: ObjectApi | None = None,
    locate: Locate | None = None,
    to: str | None = None,
    force: bool = False,
    typed: bool = False,
    kms_key: str | None = None,
    bucket_owner: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SnapshotResult:
    """Merge the exports of ``chain`` and write the items to ``output`` (see :func:`snapshot`).

    Args:
        api: S3 access, for exports in S3 and an ``s3://`` output (default: from the
            environment).
        locate: where each export's files are (default: the bucket and folder its catalog
            record names), e.g. a copy on disk: ``lambda r: (LocalStore(root),
            parse_folder(r.export_folder))``.
        kms_key, bucket_owner: for an ``s3://`` output: SSE-KMS key (default SSE-S3) and the
            bucket's expected owner.

    Raises:
        ConfigError, ExportReadError, AwsError: as :func:`snapshot`.
    """
    if not (isinstance(output, str) and output.startswith("s3://")):
        output = Path(os.path.abspath(output))  # "." or "out/.." name a folder, not a file
    fmt = output_format(output, to)
    to_s3 = isinstance(output, str) and output.startswith("s3://")
    if api is None and (locate is None or to_s3):
        api = AwsApi(AwsSettings())
    check_output(output, fmt, force=force, typed=typed, api=api)
    started = now()
    if locate is None:
        assert api is not None
        locate = catalogued(api)
    exports = [open(record, locate) for record in chain.exports]
    merged = merge_changes(chain, exports[0], exports[1:])
    all_notes = list(merged.notes)
    sidecar = newest_sidecar(exports)
    if sidecar is None:
        all_notes.append(
            f"no schema sidecar ({SCHEMA_SIDECAR}) beside any export of the chain: `restore` of "
            "this snapshot needs --key NAME:TYPE[,NAME:TYPE] (or the source table to describe)"
        )
    layout = Layout(chain, tuple(exports), snapshot_id(chain), merged, sidecar, started, now)
    if to_s3:
        assert api is not None
        bucket, prefix = parse_s3_url(str(output))
        folder = ExportFolder(prefix.strip("/"), layout.export_id)
        items = write_to_s3(layout, api, bucket, folder, force, kms_key, bucket_owner)
        written, export_folder = str(output), f"s3://{bucket}/{folder.path}/"
    elif fmt == DYNAMODB_JSON:
        path = Path(output)
        items = to_folder(layout, path, force)
        written, export_folder = str(path), str(path / ExportFolder("", layout.export_id).path)
    else:
        path = Path(output)
        items, converted = to_file(layout, path, fmt, typed)
        all_notes += converted
        written, export_folder = str(path), None
    return SnapshotResult(
        table=chain.baseline.table,
        table_arn=chain.baseline.table_arn,
        as_of=chain.as_of,
        format=fmt,
        output=written,
        export_folder=export_folder,
        items=items,
        baseline=chain.baseline,
        incrementals=chain.incrementals,
        gaps=chain.gaps,
        changes_applied=merged.applied,
        changes_skipped=merged.skipped,
        notes=tuple(all_notes),
    )


def catalogued(api: ObjectApi) -> Locate:
    """The default :data:`Locate`: the bucket and folder an export's catalog record names."""

    def locate(record: CatalogRecord) -> Target:
        return S3Store(api, record.s3_bucket), parse_folder(record.export_folder)

    return locate


def _catalogued_tables(config: Config, api: ObjectApi) -> set[str]:
    """The tables the config's catalogs hold records of, from the keys' ``table=`` part."""
    names = set()
    for bucket in config_buckets(config):
        folder = join_key(config.catalog.prefix, f"{RECORDS}/")
        for info in api.list_objects(bucket, folder):
            part = info.key[len(folder) :].split("/", 1)[0]
            if part.startswith("table="):
                names.add(part.removeprefix("table="))
    return names


def _bucket_settings(config: Config, bucket: str) -> tuple[str | None, str | None]:
    """The KMS key and bucket owner the config uses for ``bucket``, when it exports there."""
    defaults = config.defaults
    if defaults.bucket == bucket:
        return defaults.kms_key, defaults.bucket_owner
    for selector in config.tables:
        if selector.bucket == bucket:
            return selector.kms_key or defaults.kms_key, selector.bucket_owner
    return None, None
