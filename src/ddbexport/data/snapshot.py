"""A table as of an instant: its baseline (FULL export) with its incremental exports merged in.

:func:`snapshot` looks the table's exports up in the catalog, picks the chain for the instant
(:func:`ddbexport.catalog.chain.find_chain`: the newest good FULL export at or before it, then the
INCREMENTAL windows up to it), reads every export streaming, applies the changes in
write-timestamp order (:func:`ddbexport.catalog.chain.merge`) and writes the items as

* ``dynamodb-json``: a folder laid out as AWS lays out a FULL export,
  ``<PATH>/AWSDynamoDB/<ExportId>/`` with ``manifest-summary.json``, ``manifest-files.json``,
  their ``.md5`` files, ``data/*.json.gz`` and the newest schema sidecar of the chain, so that
  :func:`ddbexport.exports.reader.open_export`, ``verify`` and (once in S3) ``restore`` take it
  as they take an export; in a local folder or under an ``s3://`` prefix;
* ``jsonl`` or ``parquet``: one file, written by :mod:`ddbexport.data.convert` from that layout.

The summary marks what it is: ``ddbexportSnapshot`` names the exports merged, the instant and any
gaps. ``exportArn`` has the shape of an export ARN but names no export AWS made: its id is the
instant's epoch milliseconds and a hash of the table and the exports merged, so the same snapshot
always gets the same id (and ``restore`` the same ClientToken). Data files list no ``etag``
unless the snapshot was written to S3, where S3 gives them: the ETag of a file uploaded later
depends on how it is uploaded and encrypted, and a wrong one would fail ``verify``.

Memory: one entry per key changed in the chain (only each key's newest change in the range is
kept); the baseline's items stream through, each replaced or dropped as it is read, so a large
table with few changes needs little memory. Files are read and written streaming. Items come in
the baseline's order, then the items it lacks in key order.

Nothing is left half-written: files are written under a temporary name and renamed into place
(a folder on disk), or uploaded data first and ``manifest-summary.json`` last, and removed again on
failure (S3). Nothing here prints or exits.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, TypeAlias

import orjson

from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.catalog.chain import (
    FULL,
    INCREMENTAL,
    Chain,
    ChainError,
    Change,
    Gap,
    apply_latest,
    find_chain,
    item_key,
)
from ddbexport.catalog.inventory import config_buckets, list_exports
from ddbexport.catalog.records import RECORDS, CatalogRecord
from ddbexport.config.model import Config
from ddbexport.core.ports import ObjectApi
from ddbexport.core.timeparse import format_instant
from ddbexport.errors import AwsError, ConfigError
from ddbexport.exports.files import (
    FILES,
    SCHEMA_SIDECAR,
    SNAPSHOT_FIELD,
    SUMMARY,
    ExportFolder,
    base64_md5,
    join_key,
    parse_folder,
)
from ddbexport.exports.reader import (
    ExportReadError,
    OpenedExport,
    Target,
    iter_changes,
    iter_items,
    open_export,
)
from ddbexport.exports.stores import LocalStore, S3Store, parse_s3_url

from . import convert

log = logging.getLogger(__name__)

DYNAMODB_JSON = "dynamodb-json"
FORMATS = (DYNAMODB_JSON, "jsonl", "parquet")
#: Uncompressed bytes of items per data file: a file is uploaded from memory, and ImportTable's
#: 5,000 objects per import still leave room for 320 GB.
DATA_FILE_BYTES = 64 << 20

_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Where a catalogued export's files are: a (store, folder) pair or anything
#: :func:`ddbexport.exports.reader.open_export` takes.
Locate: TypeAlias = Callable[[CatalogRecord], Target]


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """What a snapshot wrote.

    Attributes:
        table, table_arn: the table.
        as_of: the instant the items show the table at.
        format: ``dynamodb-json``, ``jsonl`` or ``parquet``.
        output: the folder, file or ``s3://`` prefix written.
        export_folder: (``dynamodb-json``) the snapshot's export folder in ``output``: what
            ``restore`` takes once it is in S3.
        items: items written.
        baseline: the FULL export the snapshot starts from.
        incrementals: the INCREMENTAL exports merged in, in window order.
        gaps: time no export covers (only with ``allow_gaps``): writes made then are missing.
        changes_applied: changes written after the baseline and no later than ``as_of``.
        changes_skipped: changes already in the baseline, or written after ``as_of``.
        notes: what a reader of the snapshot should know.
    """

    table: str
    table_arn: str
    as_of: datetime
    format: str
    output: str
    export_folder: str | None
    items: int
    baseline: CatalogRecord
    incrementals: tuple[CatalogRecord, ...]
    gaps: tuple[Gap, ...]
    changes_applied: int
    changes_skipped: int
    notes: tuple[str, ...] = ()

    @property
    def exports(self) -> tuple[str, ...]:
        """The ARNs of the exports merged: the baseline, then the incrementals."""
        return (self.baseline.export_arn, *(record.export_arn for record in self.incrementals))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "table": self.table,
            "table_arn": self.table_arn,
            "as_of": format_instant(self.as_of),
            "format": self.format,
            "output": self.output,
            "export_folder": self.export_folder,
            "items": self.items,
            "baseline": self.baseline.export_arn,
            "incrementals": [record.export_arn for record in self.incrementals],
            "gaps": [
                {"from": format_instant(gap.start), "to": format_instant(gap.end)}
                for gap in self.gaps
            ],
            "changes_applied": self.changes_applied,
            "changes_skipped": self.changes_skipped,
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------- choosing


def output_format(output: str | Path, to: str | None = None) -> str:
    """The format to write: ``to`` when given, else by the file name (``.jsonl``/``.ndjson``,
    ``.parquet``/``.pq``), else ``dynamodb-json`` (a folder).

    Raises:
        ConfigError: ``to`` is not one of :data:`FORMATS`.
    """
    if to is not None:
        if to not in FORMATS:
            raise ConfigError(
                f"unknown snapshot format {to!r}; expected one of {', '.join(FORMATS)}"
            )
        return to
    return _SUFFIX_FORMATS.get(PurePosixPath(str(output)).suffix.lower(), DYNAMODB_JSON)


def table_chain(
    records: Sequence[CatalogRecord],
    table: str,
    *,
    as_of: datetime | None = None,
    allow_gaps: bool = False,
    where: str = "the catalog",
) -> Chain:
    """The chain of ``table``'s exports (``table`` a name or a table ARN) among ``records``.

    Args:
        where: the catalog's location, for messages.

    Raises:
        ChainError: no exports of the table, several tables of that name, no good full export
            (at or before ``as_of``), a gap (unless ``allow_gaps``), or exports that stop before
            ``as_of``; each message names the table and what is allowed.
    """
    by_arn = table.startswith("arn:")
    name = table.rsplit("/", 1)[-1] if by_arn else table
    own = [r for r in records if (r.table_arn == table if by_arn else r.table == name)]
    if not own:
        raise _no_exports(table, where, {r.table for r in records})
    arns = sorted({r.table_arn for r in own})
    if len(arns) > 1:
        raise ChainError(
            f"several tables named {name!r} have exports in {where} ({', '.join(arns)}): pass "
            "the table ARN as the table"
        )
    fulls = sorted(
        r.export_time for r in own if r.good and r.export_type == FULL and r.export_time is not None
    )
    if fulls and as_of is not None and as_of < fulls[0]:
        raise ChainError(
            f"table {table!r}: {format_instant(as_of)} is before its first good full export "
            f"(as of {format_instant(fulls[0])}) in {where}, so no export shows the table then; "
            f"ask for {format_instant(fulls[0])} or later"
        )
    if not fulls:
        incrementals = sum(1 for r in own if r.export_type == INCREMENTAL)
        failed = sum(1 for r in own if not r.good)
        raise ChainError(
            f"table {table!r} has no good full export in {where} ({len(own)} export(s): "
            f"{incrementals} incremental, {failed} failed or unverifiable); a snapshot starts "
            "from one: take a full export (`ddbexport run`) first"
        )
    try:
        return find_chain(own, as_of=as_of, allow_gaps=allow_gaps)
    except ChainError as exc:
        raise ChainError(f"table {table!r}: {exc}") from None


def _no_exports(table: str, where: str, tables: Iterable[str]) -> ChainError:
    others = sorted(tables)
    known = f"tables with exports there: {', '.join(others)}" if others else "it is empty"
    return ChainError(
        f"no exports of table {table!r} in {where} ({known}). Check the name, or run "
        "`ddbexport catalog rebuild` if its exports were made without a catalog record"
    )


def snapshot_id(chain: Chain) -> str:
    """``<14-digit epoch ms of the instant>-<8 hex>``, an export id's shape; the hex is a hash of
    the table, the instant and the exports, so the same snapshot always has the same id."""
    millis = (chain.as_of - _EPOCH) // timedelta(milliseconds=1)
    made_of = "\n".join([chain.baseline.table_arn, chain.as_of.isoformat(), *_arns(chain)])
    return f"{millis:014d}-{hashlib.sha256(made_of.encode()).hexdigest()[:8]}"


def _arns(chain: Chain) -> list[str]:
    return [record.export_arn for record in chain.exports]


# ---------------------------------------------------------------------------- the entry points


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
    _check_output(output, fmt, force=force, typed=typed, api=api)
    listing = list_exports(config, api, table=table.rsplit("/", 1)[-1])
    where = "the catalog of " + ", ".join(
        f"s3://{bucket}/{join_key(config.catalog.prefix, RECORDS)}/"
        for bucket in config_buckets(config)
    )
    if not listing.records:
        raise _no_exports(table, where, _catalogued_tables(config, api))
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
    _check_output(output, fmt, force=force, typed=typed, api=api)
    started = now()
    if locate is None:
        assert api is not None
        locate = catalogued(api)
    exports = [_open(record, locate) for record in chain.exports]
    merged = _merge(chain, exports[0], exports[1:])
    all_notes = list(merged.notes)
    sidecar = _newest_sidecar(exports)
    if sidecar is None:
        all_notes.append(
            f"no schema sidecar ({SCHEMA_SIDECAR}) beside any export of the chain: `restore` of "
            "this snapshot needs --key NAME:TYPE[,NAME:TYPE] (or the source table to describe)"
        )
    layout = _Layout(chain, tuple(exports), snapshot_id(chain), merged, sidecar, started, now)
    if to_s3:
        assert api is not None
        bucket, prefix = parse_s3_url(str(output))
        folder = ExportFolder(prefix.strip("/"), layout.export_id)
        items = _to_s3(layout, api, bucket, folder, force, kms_key, bucket_owner)
        written, export_folder = str(output), f"s3://{bucket}/{folder.path}/"
    elif fmt == DYNAMODB_JSON:
        path = Path(output)
        items = _to_folder(layout, path, force)
        written, export_folder = str(path), str(path / ExportFolder("", layout.export_id).path)
    else:
        path = Path(output)
        items, converted = _to_file(layout, path, fmt, typed)
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


# ---------------------------------------------------------------------------- the output


def _check_output(
    output: str | Path, fmt: str, *, force: bool, typed: bool, api: ObjectApi | None
) -> None:
    """Refuse an output that cannot or may not be written, before anything is read."""
    if typed and fmt == DYNAMODB_JSON:
        raise ConfigError(
            "--typed applies to jsonl and parquet snapshots; a dynamodb-json one is typed already"
        )
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ConfigError(convert.PARQUET_HINT)
    if isinstance(output, str) and output.startswith("s3://"):
        if fmt != DYNAMODB_JSON:
            raise ConfigError(
                f"{output}: only dynamodb-json snapshots are written to S3; write {fmt} to a "
                "file (-o PATH)"
            )
        bucket, prefix = parse_s3_url(output)
        root = join_key(prefix, "")
        present = (api or AwsApi(AwsSettings())).list_objects(bucket, root)
        if present and not force:
            raise ConfigError(
                f"{output} already holds {len(present)} object(s) (e.g. {present[0].key}): give "
                "an empty prefix, or --force to replace the snapshot's own folder there"
            )
        return
    path = Path(output)
    if not path.parent.is_dir():
        raise ConfigError(f"{path}: folder {path.parent} does not exist")
    if fmt == DYNAMODB_JSON:
        if path.exists() and not path.is_dir():
            raise ConfigError(
                f"{path} is a file; a dynamodb-json snapshot is a folder (give a new or empty "
                "folder, or -o FILE.jsonl / FILE.parquet for one file)"
            )
        if path.is_dir() and any(path.iterdir()) and not force:
            raise ConfigError(
                f"{path} is not empty: give a new or empty folder, or --force to replace what it "
                "holds"
            )
        return
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; a {fmt} snapshot is one file: give a file name")
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists: give another file, or --force to replace it")


@dataclass(slots=True)
class _Merged:
    items: Iterator[dict[str, Any]]
    applied: int
    skipped: int
    notes: list[str]


@dataclass(frozen=True, slots=True)
class _Layout:
    chain: Chain
    exports: tuple[OpenedExport, ...]  # the chain's, opened
    export_id: str
    merged: _Merged
    sidecar: bytes | None
    started: datetime
    now: Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class _DataFile:
    key: str
    items: int
    md5: str


def _to_folder(layout: _Layout, path: Path, force: bool) -> int:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    replaced = path.with_name(f".{path.name}.{os.getpid()}.old")
    try:
        folder = ExportFolder("", layout.export_id)
        files = _write_data(layout, temporary, folder)
        _write_manifests(layout, temporary, folder, files, {}, None)
        if path.is_dir():
            if any(path.iterdir()):
                # Checked before reading: --force was given. Moved aside, not deleted, until
                # the new folder is in place, so a failed rename can put it back.
                path.rename(replaced)
            else:
                path.rmdir()
        try:
            temporary.rename(path)
        except OSError:
            if replaced.exists() and not path.exists():
                replaced.rename(path)
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(replaced, ignore_errors=True)
    return sum(file.items for file in files)


def _to_file(layout: _Layout, path: Path, fmt: str, typed: bool) -> tuple[int, list[str]]:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.snapshot")
    try:
        folder = ExportFolder("", layout.export_id)
        files = _write_data(layout, temporary, folder)
        _write_manifests(layout, temporary, folder, files, {}, None)
        result = convert.convert((LocalStore(temporary), folder), fmt, path, typed=typed)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return result.rows, list(result.notes)


def _to_s3(
    layout: _Layout,
    api: ObjectApi,
    bucket: str,
    folder: ExportFolder,
    force: bool,
    kms_key: str | None,
    bucket_owner: str | None,
) -> int:
    uploaded: list[str] = []

    def upload(root: Path, key: str) -> None:
        data = (root / key).read_bytes()
        api.put_object(bucket, key, data, kms_key=kms_key, bucket_owner=bucket_owner)
        uploaded.append(key)

    with tempfile.TemporaryDirectory(prefix="ddbexport-snapshot-") as work:
        root = Path(work)
        files = _write_data(layout, root, folder)
        if force:
            stale = [info.key for info in api.list_objects(bucket, folder.path + "/")]
            if stale:
                api.delete_objects(bucket, stale)
        try:
            for file in files:
                upload(root, file.key)
            etags = {
                info.key: info.etag.strip('"')
                for info in api.list_objects(bucket, folder.key("data/"))
                if info.etag
            }
            location = (bucket, kms_key)
            names = _write_manifests(layout, root, folder, files, etags, location)
            for name in names:  # the summary last: it is what makes the folder an export
                upload(root, folder.key(name))
        except BaseException:
            with suppress(AwsError):
                api.delete_objects(bucket, uploaded)
            raise
    return sum(file.items for file in files)


def _write_data(layout: _Layout, root: Path, folder: ExportFolder) -> list[_DataFile]:
    """The items as gzip'd ``{"Item": …}`` lines, a new file every :data:`DATA_FILE_BYTES`.

    At least one file, empty for an empty table, as AWS writes: ImportTable wants an object.
    """
    data = root / folder.path / "data"
    data.mkdir(parents=True)
    files: list[_DataFile] = []
    items = layout.merged.items
    pending = next(items, None)
    while True:
        key = f"{folder.path}/data/snapshot-{len(files):05d}.json.gz"
        count = size = 0
        # mtime 0: the same items give the same bytes, hence the same md5Checksum.
        with (root / key).open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            batch: list[bytes] = []
            while pending is not None and size < DATA_FILE_BYTES:
                line = orjson.dumps({"Item": pending}, option=orjson.OPT_APPEND_NEWLINE)
                batch.append(line)
                size += len(line)
                count += 1
                if len(batch) >= 4096:  # few, large writes
                    out.write(b"".join(batch))
                    batch.clear()
                pending = next(items, None)
            out.write(b"".join(batch))
        with (root / key).open("rb") as written:
            digest = hashlib.file_digest(written, "md5").digest()
        files.append(_DataFile(key, count, base64.b64encode(digest).decode()))
        if pending is None:
            return files


def _write_manifests(
    layout: _Layout,
    root: Path,
    folder: ExportFolder,
    files: list[_DataFile],
    etags: dict[str, str],
    s3: tuple[str, str | None] | None,
) -> list[str]:
    """The sidecar, both manifests and their ``.md5`` files; their names, the summary last."""
    base = root / folder.path
    names: list[str] = []
    if layout.sidecar is not None:
        (base / SCHEMA_SIDECAR).write_bytes(layout.sidecar)
        names.append(SCHEMA_SIDECAR)
    lines = []
    for file in files:
        entry: dict[str, Any] = {"itemCount": file.items, "md5Checksum": file.md5}
        if file.key in etags:
            entry["etag"] = etags[file.key]
        entry["dataFileS3Key"] = file.key
        lines.append(json.dumps(entry, separators=(",", ":")) + "\n")
    manifest = "".join(lines).encode()
    chain = layout.chain
    bucket, kms_key = s3 if s3 is not None else (None, None)
    summary: dict[str, Any] = {
        "version": "2020-06-30",
        "exportArn": f"{chain.baseline.table_arn}/export/{layout.export_id}",
        "startTime": _aws_time(layout.started),
        "endTime": _aws_time(layout.now()),
        "tableArn": chain.baseline.table_arn,
        "exportTime": _aws_time(chain.as_of),
        "s3Bucket": bucket,
        "s3Prefix": folder.root or None,
        "s3SseAlgorithm": ("KMS" if kms_key else "AES256") if s3 is not None else None,
        "s3SseKmsKeyId": kms_key,
        "manifestFilesS3Key": folder.key(FILES),
        "billedSizeBytes": 0,
        "itemCount": sum(file.items for file in files),
        "outputFormat": "DYNAMODB_JSON",
        "exportType": FULL,
        SNAPSHOT_FIELD: _provenance(layout),
    }
    summary_bytes = json.dumps(summary, separators=(",", ":")).encode()
    for name, body in ((FILES, manifest), (SUMMARY, summary_bytes)):
        (base / name).write_bytes(body)
        checksum = name.removesuffix(".json") + ".md5"
        (base / checksum).write_text(base64_md5(body))
        names += [checksum, name]
    return names


def _provenance(layout: _Layout) -> dict[str, Any]:
    # The exports' times as their summaries write them (to the millisecond).
    baseline, *incrementals = (export.summary.raw for export in layout.exports)
    return {
        "note": (
            "made by ddbexport snapshot: the table as of exportTime, from the full export "
            "baseline with the incremental exports merged in write-timestamp order; exportArn "
            "names no export AWS made"
        ),
        "asOf": _aws_time(layout.chain.as_of),
        "baseline": {"exportArn": baseline["exportArn"], "exportTime": baseline.get("exportTime")},
        "incrementals": [
            {
                "exportArn": raw["exportArn"],
                "exportFromTime": raw.get("exportFromTime"),
                "exportToTime": raw.get("exportToTime"),
            }
            for raw in incrementals
        ],
        "gaps": [
            {"from": _aws_time(gap.start), "to": _aws_time(gap.end)} for gap in layout.chain.gaps
        ],
        "changesApplied": layout.merged.applied,
        "changesSkipped": layout.merged.skipped,
    }


def _aws_time(moment: datetime | None) -> str | None:
    """``2026-01-14T10:18:50.622Z``, as manifests write times."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------------------- reading and merging


def _open(record: CatalogRecord, locate: Locate) -> OpenedExport:
    export = open_export(locate(record))
    if export.summary.export_arn != record.export_arn:
        raise ExportReadError(
            f"{export.url} holds export {export.summary.export_arn}, not {record.export_arn} as "
            "its catalog record says; run `ddbexport catalog rebuild`"
        )
    return export


def _newest_sidecar(exports: Sequence[OpenedExport]) -> bytes | None:
    # The newest is the nearest to the instant: indexes, TTL and tags may have changed since
    # the baseline (the keys cannot).
    for export in reversed(exports):
        data = export.store.read(export.folder.key(SCHEMA_SIDECAR))
        if data is not None:
            return data
    return None


@dataclass(frozen=True, slots=True)
class _Latest:
    """A key's newest change in the range: what :func:`ddbexport.catalog.chain.merge` applies."""

    keys: dict[str, Any]
    new_image: dict[str, Any] | None
    write_time: datetime


def _merge(chain: Chain, baseline: OpenedExport, incrementals: Sequence[OpenedExport]) -> _Merged:
    since = chain.baseline.export_time
    assert since is not None  # find_chain picks only full exports with an export time
    until = chain.as_of
    key_names = baseline.key_names or next(
        (export.key_names for export in incrementals if export.key_names), None
    )
    pending: dict[str, _Latest] = {}
    applied = skipped = late = 0
    for export in incrementals:
        log.debug("reading the changes of %s", export.url)
        for change in iter_changes(export, typed=True):
            if change.write_time is None:
                raise ExportReadError(
                    f"{export.url}: a change of {change.keys} has no write timestamp, so it "
                    "cannot be ordered"
                )
            if key_names is None:
                key_names = tuple(sorted(change.keys))
            elif set(change.keys) != set(key_names):
                raise ExportReadError(
                    f"{export.url}: a change's keys {sorted(change.keys)} are not the table's "
                    f"key attributes {list(key_names)}"
                )
            written = change.write_time
            if written <= since or written > until:
                skipped += 1
                late += written > until
                continue
            applied += 1
            key = item_key(change.keys, key_names)
            held = pending.get(key)
            # Equal times: the later export (or line) wins, as a stable sort would let it.
            if held is None or written >= held.write_time:
                pending[key] = _Latest(change.keys, change.new_image, written)
    notes = []
    if late:
        notes.append(
            f"{late} change(s) were written after {format_instant(until)} in a window that "
            "spans it: those items are shown as they were when that window began (an "
            "incremental export keeps only each item's last write in its window, so an earlier "
            "write to them in the window, before that instant, is not known)"
        )
    log.debug("reading the items of %s", baseline.url)
    baseline_items = iter_items(baseline, typed=True)
    if not pending or key_names is None:
        # Nothing to apply: the baseline's items go straight through, one at a time.
        return _Merged(baseline_items, applied, skipped, notes)
    latest: dict[str, Change] = dict(pending)
    pending.clear()
    return _Merged(apply_latest(baseline_items, latest, key_names), applied, skipped, notes)
