"""What a DynamoDB export is made of in S3, read from its manifests. Pure functions only.

An export folder is ``<prefix>/AWSDynamoDB/<ExportId>/`` holding ``manifest-summary.json`` and
``manifest-files.json``, each with a checksum file (``.md5`` in real output, ``.checksum`` in AWS's
documentation) that holds base64(MD5(manifest bytes)). ``manifest-files.json`` is JSON lines, one
entry per data file, with ``itemCount``, ``md5Checksum`` (base64 MD5 of the compressed object),
``etag`` and ``dataFileS3Key``. Full exports keep their data in the folder's ``data/``; incremental
ones in the shared ``<prefix>/AWSDynamoDB/data/``, where only the manifest says which file is whose.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ddbexport.core.timeparse import parse_instant
from ddbexport.errors import ConfigError

EXPORT_ROOT = "AWSDynamoDB"
SUMMARY = "manifest-summary.json"
FILES = "manifest-files.json"
#: Checksum file suffixes: what AWS writes today first, then what its documentation says.
CHECKSUM_SUFFIXES = (".md5", ".checksum")
#: The schema sidecar ddbexport writes into each export folder.
SCHEMA_SIDECAR = "ddbexport-schema.json"
#: The key a snapshot's ``manifest-summary.json`` carries its provenance under (no AWS export).
SNAPSHOT_FIELD = "ddbexportSnapshot"

_EXPORT_ID = re.compile(r"^[0-9]{14}-[0-9a-f]{8}$")
# "AWSDynamoDB/" at the start of a key or after a "/", followed by an export id or "data/".
_EXPORT_TAIL = re.compile(r"(?:^|(?<=/))AWSDynamoDB/(?:[0-9]{14}-[0-9a-f]{8}/|data/)")


def base64_md5(data: bytes) -> str:
    """base64(MD5(data)), the form of ``md5Checksum`` and of the checksum files."""
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def one_part_etag(data: bytes) -> str:
    """The ETag S3 gives an object uploaded as a single-part multipart upload."""
    return hashlib.md5(hashlib.md5(data).digest()).hexdigest() + "-1"


def etag_parts(etag: str) -> int:
    """How many parts a (multipart) ETag says its object was uploaded in; 0 for a plain ETag."""
    _, dash, parts = etag.strip('"').partition("-")
    return int(parts) if dash and parts.isdigit() else 0


@dataclass(frozen=True, slots=True)
class ExportFolder:
    """Where an export lives: ``root`` is the prefix above ``AWSDynamoDB`` ('' for the top)."""

    root: str
    export_id: str

    @property
    def path(self) -> str:
        """``<root>/AWSDynamoDB/<ExportId>`` (no trailing slash)."""
        return join_key(self.root, f"{EXPORT_ROOT}/{self.export_id}")

    def key(self, name: str) -> str:
        """The key of a file of this folder, e.g. ``manifest-summary.json``."""
        return f"{self.path}/{name}"

    def resolve(self, manifest_key: str) -> str:
        """Where a key written in a manifest is, relative to this export's root.

        Manifests may or may not repeat the export's S3 prefix in their keys, and a copy on disk
        may sit under another prefix; what follows the last ``AWSDynamoDB/`` that starts an
        export folder or the shared ``data/`` folder is the same everywhere, so keys are resolved
        from there (a prefix may itself contain ``AWSDynamoDB``).
        """
        tail = manifest_key
        for match in _EXPORT_TAIL.finditer(manifest_key):
            tail = manifest_key[match.start() :]
        return join_key(self.root, tail)


def join_key(prefix: str, key: str) -> str:
    """Join an S3 prefix and a key with exactly one slash."""
    prefix = prefix.strip("/")
    return f"{prefix}/{key}" if prefix else key


def parse_folder(path: str) -> ExportFolder:
    """Read ``[root/]AWSDynamoDB/<ExportId>[/...]`` into an :class:`ExportFolder`.

    Raises:
        ConfigError: the path does not name an export folder.
    """
    parts = [part for part in path.strip("/").split("/") if part]
    for index in range(len(parts) - 1, 0, -1):
        if parts[index - 1] == EXPORT_ROOT and _EXPORT_ID.fullmatch(parts[index]):
            return ExportFolder("/".join(parts[: index - 1]), parts[index])
    if len(parts) >= 2 and parts[-2] == EXPORT_ROOT and parts[-1] != "data":
        return ExportFolder("/".join(parts[:-2]), parts[-1])
    raise ConfigError(
        f"{path!r} is not an export folder; expected a path ending in "
        "AWSDynamoDB/<ExportId>/ (e.g. exports/orders/AWSDynamoDB/01768385930622-efd1a093/)"
    )


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """The fields of ``manifest-summary.json`` that matter to ddbexport."""

    export_arn: str
    table_arn: str
    export_type: str  # FULL_EXPORT | INCREMENTAL_EXPORT
    output_format: str  # DYNAMODB_JSON | ION
    item_count: int
    billed_size_bytes: int
    manifest_files_key: str
    bucket: str | None
    prefix: str | None
    start_time: datetime | None
    end_time: datetime | None
    export_time: datetime | None
    from_time: datetime | None
    to_time: datetime | None
    output_view: str | None
    raw: dict[str, Any]

    @property
    def export_id(self) -> str:
        """The last part of the export ARN."""
        return self.export_arn.rsplit("/", 1)[-1]

    @property
    def table(self) -> str:
        """The table name, from the table ARN."""
        return self.table_arn.rsplit("/", 1)[-1]


class ManifestError(ValueError):
    """A manifest that cannot be read; the message says which field or line."""


def parse_summary(data: bytes) -> ExportSummary:
    """Parse ``manifest-summary.json``; raises :class:`ManifestError`."""
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise ManifestError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ManifestError("not a JSON object")
    try:
        return ExportSummary(
            export_arn=_text(raw, "exportArn"),
            table_arn=_text(raw, "tableArn"),
            export_type=str(raw.get("exportType") or "FULL_EXPORT"),
            output_format=str(raw.get("outputFormat") or "DYNAMODB_JSON"),
            item_count=_count(raw, "itemCount"),
            billed_size_bytes=_count(raw, "billedSizeBytes", required=False),
            manifest_files_key=_text(raw, "manifestFilesS3Key"),
            bucket=raw.get("s3Bucket"),
            prefix=raw.get("s3Prefix"),
            start_time=_instant(raw, "startTime"),
            end_time=_instant(raw, "endTime"),
            export_time=_instant(raw, "exportTime"),
            from_time=_instant(raw, "exportFromTime"),
            to_time=_instant(raw, "exportToTime"),
            output_view=raw.get("outputView"),
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(str(exc).strip("'\"")) from None


@dataclass(frozen=True, slots=True)
class DataFileEntry:
    """One line of ``manifest-files.json``."""

    line: int
    key: str
    item_count: int
    md5: str
    etag: str


def parse_files(data: bytes) -> list[DataFileEntry]:
    """Parse ``manifest-files.json`` (JSON lines); raises :class:`ManifestError` naming the line."""
    entries = []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise TypeError("not a JSON object")
            entries.append(
                DataFileEntry(
                    line=number,
                    key=_text(raw, "dataFileS3Key"),
                    item_count=_count(raw, "itemCount"),
                    md5=_text(raw, "md5Checksum"),
                    etag=str(raw.get("etag") or ""),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"line {number}: {str(exc).strip(chr(39) + chr(34))}") from None
    return entries


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value:
        raise KeyError(f"{name} is missing or not a string")
    return value


def _count(raw: dict[str, Any], name: str, *, required: bool = True) -> int:
    value = raw.get(name)
    if value is None and not required:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} is {value!r}, not a count")
    return value


def _instant(raw: dict[str, Any], name: str) -> datetime | None:
    value = raw.get(name)
    if value is None:
        return None
    try:
        return parse_instant(str(value))
    except ValueError:
        raise ValueError(f"{name} is {value!r}, not a timestamp") from None
