"""Writing the export layout: gzip'd data files, the manifests, their checksums and the sidecar."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ddbexport.catalog.chain import FULL, Chain
from ddbexport.exports.files import (
    FILES,
    SCHEMA_SIDECAR,
    SNAPSHOT_FIELD,
    SUMMARY,
    ExportFolder,
    base64_md5,
)
from ddbexport.exports.reader import OpenedExport

from .merging import Merged

#: Uncompressed bytes of items per data file: a file is uploaded from memory, and ImportTable's
#: 5,000 objects per import still leave room for 320 GB.
DATA_FILE_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class Layout:
    chain: Chain
    exports: tuple[OpenedExport, ...]  # the chain's, opened
    export_id: str
    merged: Merged
    sidecar: bytes | None
    started: datetime
    now: Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class _DataFile:
    key: str
    items: int
    md5: str


def write_data(layout: Layout, root: Path, folder: ExportFolder) -> list[_DataFile]:
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


def write_manifests(
    layout: Layout,
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


def _provenance(layout: Layout) -> dict[str, Any]:
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
