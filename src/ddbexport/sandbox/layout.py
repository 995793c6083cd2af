"""The bytes of a DynamoDB export, exactly as AWS lays them out in S3. Pure functions only.

Ground truth is a real export (``tests/fixtures/real-aws-export``): ``_started``,
``manifest-summary.json`` + ``.md5``, ``manifest-files.json`` + ``.md5`` (base64 MD5 of the bytes),
and ``data/<26 lowercase base32>.json.gz`` files, one per partition, empty partitions included.
Every ``md5Checksum`` is the base64 MD5 of the compressed object, every ``etag`` a one-part
multipart ETag, and gzip members carry AWS's header (no mtime, OS byte 255), so an empty data file
is byte-identical to AWS's.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ddbexport.exports.files import base64_md5, one_part_etag

_AWS_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_BASE32_LOWER = "abcdefghijklmnopqrstuvwxyz234567"
FULL_SUMMARY_VERSION = "2020-06-30"
INCREMENTAL_SUMMARY_VERSION = "2023-08-01"


def aws_gzip(data: bytes) -> bytes:
    """Gzip ``data`` with the header AWS writes (mtime 0, no flags, OS 255)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = compressor.compress(data) + compressor.flush()
    trailer = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return _AWS_GZIP_HEADER + body + trailer


def export_id(start: datetime, rng: random.Random) -> str:
    """``<14-digit epoch ms of the start>-<8 hex>``, as in real ExportArns."""
    millis = int(start.astimezone(UTC).timestamp() * 1000)
    return f"{millis:014d}-{rng.getrandbits(32):08x}"


def data_file_stem(rng: random.Random) -> str:
    """26 lowercase base32 characters, like AWS's data file names."""
    return "".join(rng.choice(_BASE32_LOWER) for _ in range(26))


def aws_timestamp(moment: datetime | None) -> str | None:
    """``2026-01-14T10:18:50.622Z``: milliseconds and a Z, as in manifests."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.astimezone(UTC).microsecond // 1000:03d}Z"
    )


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- ION text


# Ion identifiers may hold '$'; '$' and digits alone would be a symbol id, so that is quoted.
_ION_IDENTIFIER = re.compile(r"(?!\$[0-9]+$)[A-Za-z_$][A-Za-z0-9_$]*")
_ION_KEYWORDS = {"true", "false", "null", "nan"}


# How ion-java and ion-python escape text: named escapes where Ion has one, \xHH for the other
# control characters, everything else (non-ASCII included) as UTF-8.
_ION_NAMED_ESCAPES = {
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\\": "\\\\",
}


def _ion_quoted(text: str, quote: str) -> str:
    escaped = []
    for char in text:
        if char == quote:
            escaped.append("\\" + quote)
        elif char in _ION_NAMED_ESCAPES:
            escaped.append(_ION_NAMED_ESCAPES[char])
        elif char < " ":
            escaped.append(f"\\x{ord(char):02X}")
        else:
            escaped.append(char)
    return quote + "".join(escaped) + quote


def _ion_string(text: str) -> str:
    return _ion_quoted(text, '"')


def _ion_symbol(name: str) -> str:
    if _ION_IDENTIFIER.fullmatch(name) and name not in _ION_KEYWORDS:
        return name
    return _ion_quoted(name, "'")


def _ion_decimal(number: str) -> str:
    text = number.strip().lower().replace("e", "d")
    if "." not in text and "d" not in text:
        return text + "."
    if "d" in text and "." not in text.split("d")[0]:
        mantissa, exponent = text.split("d")
        return f"{mantissa}.d{exponent}"
    return text


def ion_value(typed: Mapping[str, Any]) -> str:
    """One DynamoDB-JSON typed value as Ion text (AWS's ION export mapping)."""
    ((kind, value),) = typed.items()
    if kind == "S":
        return _ion_string(value)
    if kind == "N":
        return _ion_decimal(str(value))
    if kind == "B":
        return "{{" + str(value) + "}}"
    if kind == "BOOL":
        return "true" if value else "false"
    if kind == "NULL":
        return "null"
    if kind == "SS":
        return "$dynamodb_SS::[" + ",".join(_ion_string(v) for v in value) + "]"
    if kind == "NS":
        return "$dynamodb_NS::[" + ",".join(_ion_decimal(v) for v in value) + "]"
    if kind == "BS":
        return "$dynamodb_BS::[" + ",".join("{{" + v + "}}" for v in value) + "]"
    if kind == "L":
        return "[" + ",".join(ion_value(v) for v in value) + "]"
    if kind == "M":
        return ion_struct(value)
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def ion_struct(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """A DynamoDB-JSON attribute map as an Ion struct."""
    return "{" + ",".join(f"{_ion_symbol(k)}:{ion_value(v)}" for k, v in attributes.items()) + "}"


# --------------------------------------------------------------------------- records


def full_record(item: Mapping[str, Any], export_format: str) -> str:
    """One line of a FULL export data file."""
    if export_format == "ION":
        return "$ion_1_0 {Item:" + ion_struct(item) + "}"
    return _compact({"Item": item})


@dataclass(frozen=True, slots=True)
class Change:
    """The net change of one key inside an incremental window."""

    keys: Mapping[str, Any]
    old_image: Mapping[str, Any] | None
    new_image: Mapping[str, Any] | None
    write_micros: int


def incremental_record(change: Change, view: str, export_format: str) -> str | None:
    """One line of an INCREMENTAL export data file, or None when nothing is left to report."""
    record: dict[str, Any] = {
        "Metadata": {"WriteTimestampMicros": {"N": str(change.write_micros)}},
        "Keys": dict(change.keys),
    }
    if view == "NEW_AND_OLD_IMAGES" and change.old_image is not None:
        record["OldImage"] = dict(change.old_image)
    if change.new_image is not None:
        record["NewImage"] = dict(change.new_image)
    if export_format == "ION":
        parts = [f"{_ion_symbol(k)}:{ion_struct(v)}" for k, v in record.items()]
        return "$ion_1_0 {" + ",".join(parts) + "}"
    return _compact(record)


def partition_of(keys: Mapping[str, Any], partitions: int) -> int:
    """A stable partition for a primary key (items of one partition share a data file)."""
    digest = hashlib.sha256(_compact(dict(sorted(keys.items()))).encode()).digest()
    return int.from_bytes(digest[:4], "big") % partitions


# --------------------------------------------------------------------------- whole exports


@dataclass(frozen=True, slots=True)
class ExportFiles:
    """Every object of one export, by S3 key, plus the summary's counts."""

    objects: dict[str, bytes]
    manifest_summary_key: str
    item_count: int
    data_keys: tuple[str, ...] = field(default=())


def _join(prefix: str | None, key: str) -> str:
    return f"{prefix.rstrip('/')}/{key}" if prefix else key


def build_export_files(
    *,
    lines: Iterable[tuple[Mapping[str, Any], str]],
    summary: dict[str, Any],
    prefix: str | None,
    export_id_value: str,
    export_format: str,
    incremental: bool,
    partitions: int,
    rng: random.Random,
) -> ExportFiles:
    """Lay out an export: partitioned data files, both manifests and their ``.md5``, _started.

    Args:
        lines: (primary key, serialized record) pairs.
        summary: the manifest-summary fields except ``manifestFilesS3Key`` and ``itemCount``.
        prefix: the S3Prefix (or None).
        export_id_value: the ExportId.
        export_format: DYNAMODB_JSON or ION (decides the ``.json.gz``/``.ion.gz`` suffix).
        incremental: data files go to the shared ``AWSDynamoDB/data/`` folder when True.
        partitions: how many data files to write (empty ones included).
        rng: the randomness for file names.
    """
    buckets: list[list[str]] = [[] for _ in range(max(partitions, 1))]
    for keys, line in lines:
        buckets[partition_of(keys, len(buckets))].append(line)
    base = _join(prefix, f"AWSDynamoDB/{export_id_value}")
    data_folder = _join(prefix, "AWSDynamoDB/data") if incremental else f"{base}/data"
    suffix = ".ion.gz" if export_format == "ION" else ".json.gz"
    objects: dict[str, bytes] = {f"{base}/_started": b""}
    manifest_lines: list[str] = []
    data_keys = []
    total = 0
    for bucket_lines in buckets:
        payload = "".join(line + "\n" for line in bucket_lines).encode()
        compressed = aws_gzip(payload)
        key = f"{data_folder}/{data_file_stem(rng)}{suffix}"
        objects[key] = compressed
        data_keys.append(key)
        total += len(bucket_lines)
        manifest_lines.append(
            _compact(
                {
                    "itemCount": len(bucket_lines),
                    "md5Checksum": base64_md5(compressed),
                    "etag": one_part_etag(compressed),
                    "dataFileS3Key": key,
                }
            )
        )
    manifest_files = "".join(line + "\n" for line in manifest_lines).encode()
    objects[f"{base}/manifest-files.json"] = manifest_files
    objects[f"{base}/manifest-files.md5"] = base64_md5(manifest_files).encode()
    full_summary = dict(summary)
    full_summary["manifestFilesS3Key"] = f"{base}/manifest-files.json"
    full_summary["itemCount"] = total
    ordered = _order_summary(full_summary, incremental)
    summary_bytes = _compact(ordered).encode()
    objects[f"{base}/manifest-summary.json"] = summary_bytes
    objects[f"{base}/manifest-summary.md5"] = base64_md5(summary_bytes).encode()
    return ExportFiles(objects, f"{base}/manifest-summary.json", total, tuple(data_keys))


_FULL_KEYS = [
    "version",
    "exportArn",
    "startTime",
    "endTime",
    "tableArn",
    "tableId",
    "exportTime",
    "s3Bucket",
    "s3Prefix",
    "s3SseAlgorithm",
    "s3SseKmsKeyId",
    "manifestFilesS3Key",
    "billedSizeBytes",
    "itemCount",
    "outputFormat",
]
_INCREMENTAL_KEYS = [
    "version",
    "exportArn",
    "startTime",
    "endTime",
    "tableArn",
    "tableId",
    "exportFromTime",
    "exportToTime",
    "s3Bucket",
    "s3Prefix",
    "s3SseAlgorithm",
    "s3SseKmsKeyId",
    "manifestFilesS3Key",
    "billedSizeBytes",
    "itemCount",
    "outputFormat",
    "outputView",
    "exportType",
]


def _order_summary(summary: Mapping[str, Any], incremental: bool) -> dict[str, Any]:
    # AWS writes the keys in a fixed order; readers do not care, byte-level comparisons do.
    keys = _INCREMENTAL_KEYS if incremental else _FULL_KEYS
    return {key: summary.get(key) for key in keys}


def summary_fields(
    *,
    export_arn: str,
    start: datetime,
    end: datetime,
    table_arn: str,
    table_id: str,
    bucket: str,
    prefix: str | None,
    sse: str,
    kms_key: str | None,
    billed_bytes: int,
    export_format: str,
    export_time: datetime | None = None,
    window: tuple[datetime, datetime] | None = None,
    view: str | None = None,
) -> dict[str, Any]:
    """The manifest-summary fields of a full (``export_time``) or incremental (``window``) one."""
    fields: dict[str, Any] = {
        "version": INCREMENTAL_SUMMARY_VERSION if window else FULL_SUMMARY_VERSION,
        "exportArn": export_arn,
        "startTime": aws_timestamp(start),
        "endTime": aws_timestamp(end),
        "tableArn": table_arn,
        "tableId": table_id,
        "s3Bucket": bucket,
        "s3Prefix": prefix or None,
        "s3SseAlgorithm": sse,
        "s3SseKmsKeyId": kms_key,
        "billedSizeBytes": billed_bytes,
        "outputFormat": export_format,
    }
    if window is not None:
        fields["exportFromTime"] = aws_timestamp(window[0])
        fields["exportToTime"] = aws_timestamp(window[1])
        fields["outputView"] = view
        fields["exportType"] = "INCREMENTAL_EXPORT"
    else:
        fields["exportTime"] = aws_timestamp(export_time)
    return fields


def keys_of(item: Mapping[str, Any], key_names: Sequence[str]) -> dict[str, Any]:
    """The primary-key attributes of an item."""
    return {name: item[name] for name in key_names if name in item}
