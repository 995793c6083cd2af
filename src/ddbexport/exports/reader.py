"""Read what an export holds: the items of a FULL export, the changes of an INCREMENTAL one.

Everything streams: data files are read one at a time, each through ``gzip`` in chunks, so memory
stays flat however large the export is. The data files are always the ones ``manifest-files.json``
lists (incremental exports share one ``AWSDynamoDB/data/`` folder, so listing a folder would pick
up other exports' files); files the manifest counts as empty are not opened.

Values come back as plain Python (the default) or as DynamoDB JSON exactly as the file holds it
(``typed=True``). The plain mapping:

=========  ====================  =========================================================
DynamoDB   Python                note
=========  ====================  =========================================================
S          ``str``
N          ``decimal.Decimal``   exact: all 38 digits, no float rounding
B          ``bytes``             decoded from the file's base64
BOOL       ``bool``
NULL       ``None``
M          ``dict``
L          ``list``
SS         ``set[str]``
NS         ``set[Decimal]``
BS         ``set[bytes]``
=========  ====================  =========================================================

Changes (:class:`Change`) say what happened to one item in the export's window, from which images
the record carries (``Keys`` is always there):

* ``OldImage`` and ``NewImage`` → ``"update"``;
* ``NewImage`` only → ``"insert"`` in a ``NEW_AND_OLD_IMAGES`` export. A ``NEW_IMAGE`` export
  never carries old images, so an insert and an update look the same there: such a record is
  reported as ``"update"`` (with ``old_image`` ``None``), the weaker claim — the item's state
  after the window is known, whether it existed before is not;
* no ``NewImage`` (``OldImage`` only, or keys only as ``NEW_IMAGE`` exports write) → ``"delete"``.

Nothing here prints or exits. Bad input raises :class:`~ddbexport.errors.ConfigError`; files that
are not what AWS writes raise :class:`ExportReadError`, naming the file and line.
"""

from __future__ import annotations

from binascii import Error as Base64Error
from binascii import a2b_base64
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import IO, Any, Literal, TypeAlias, TypeVar

import orjson

from ddbexport.core.ports import ExportStore, ObjectApi
from ddbexport.errors import ConfigError, DdbExportError

from .files import (
    SCHEMA_SIDECAR,
    SUMMARY,
    DataFileEntry,
    ExportFolder,
    ExportSummary,
    ManifestError,
    parse_files,
    parse_summary,
)
from .gunzip import GZIP_ERRORS, open_gunzip
from .ion import IonError, read_record
from .stores import open_target

FULL = "FULL_EXPORT"
INCREMENTAL = "INCREMENTAL_EXPORT"
NEW_IMAGE = "NEW_IMAGE"

#: Decompressed bytes read at a time: big enough that the per-read cost vanishes, small enough
#: to keep memory flat (one DynamoDB item is at most 400 KB, so a line always fits).
CHUNK_BYTES = 1 << 20

ChangeKind = Literal["insert", "update", "delete"]
#: An item as DynamoDB JSON (``{"pk": {"S": "1"}}``) or as plain Python values.
Item: TypeAlias = dict[str, Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_T = TypeVar("_T")


class ExportReadError(DdbExportError):
    """An export file is not what AWS writes (bad gzip, JSON, Ion or attribute value)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One record of an INCREMENTAL export: what happened to one item in the window.

    Attributes:
        kind: ``"insert"``, ``"update"`` or ``"delete"`` (rule in the module docstring).
        keys: the item's primary key attributes.
        old_image: the item before the window's last write (NEW_AND_OLD_IMAGES exports only).
        new_image: the item after it; ``None`` for a delete.
        write_time: when that write happened (the record's ``WriteTimestampMicros``, to the
            microsecond, UTC); ``None`` when the record carries no timestamp.
    """

    kind: ChangeKind
    keys: Item
    old_image: Item | None
    new_image: Item | None
    write_time: datetime | None


@dataclass(frozen=True, slots=True)
class OpenedExport:
    """An export whose manifests have been read: where it is and which data files it has.

    Attributes:
        store: where the files are (a bucket or a folder on disk).
        folder: the export's folder in that store.
        summary: ``manifest-summary.json``.
        files: ``manifest-files.json``, in its order.
        key_names: the table's key attributes (partition key first) from the schema sidecar
            ddbexport writes beside its exports; ``None`` when there is no sidecar.
    """

    store: ExportStore
    folder: ExportFolder
    summary: ExportSummary
    files: tuple[DataFileEntry, ...]
    key_names: tuple[str, ...] | None = None

    @property
    def incremental(self) -> bool:
        """True for an INCREMENTAL export (whose records are changes, not items)."""
        return self.summary.export_type == INCREMENTAL

    @property
    def url(self) -> str:
        """The export folder, as a user would write it."""
        return self.store.url(self.folder.path) + "/"


#: What the reading functions accept: an S3 URL or path, a (store, folder) pair, or an export
#: already opened with :func:`open_export`.
Target: TypeAlias = str | tuple[ExportStore, ExportFolder] | OpenedExport


def open_export(target: Target, *, api: ObjectApi | None = None) -> OpenedExport:
    """Read an export's manifests (and schema sidecar, if any).

    Args:
        target: ``s3://bucket/…/AWSDynamoDB/<ExportId>/``, a folder on disk laid out the same
            way, a ``(store, folder)`` pair, or an :class:`OpenedExport` (returned as is).
        api: the S3 access for an ``s3://`` target (default: an adapter from the environment).

    Raises:
        ConfigError: not an export folder, or no summary there (not an export, or unfinished).
        ExportReadError: a manifest cannot be read.
    """
    if isinstance(target, OpenedExport):
        return target
    if isinstance(target, str):
        store, folder = open_target(target, api)
    else:
        store, folder = target
    summary_key = folder.key(SUMMARY)
    summary_bytes = store.read(summary_key)
    if summary_bytes is None:
        raise ConfigError(
            f"{store.url(summary_key)}: no such file; not an export folder, or the export has "
            "not finished"
        )
    try:
        summary = parse_summary(summary_bytes)
    except ManifestError as exc:
        raise ExportReadError(f"{store.url(summary_key)}: {exc}") from None
    files_key = folder.resolve(summary.manifest_files_key)
    files_bytes = store.read(files_key)
    if files_bytes is None:
        raise ExportReadError(f"{store.url(files_key)}: no such file (the summary names it)")
    try:
        files = parse_files(files_bytes)
    except ManifestError as exc:
        raise ExportReadError(f"{store.url(files_key)}: {exc}") from None
    return OpenedExport(store, folder, summary, tuple(files), _key_names(store, folder))


def _key_names(store: ExportStore, folder: ExportFolder) -> tuple[str, ...] | None:
    data = store.read(folder.key(SCHEMA_SIDECAR))
    if data is None:
        return None
    try:
        schema = orjson.loads(data)["Table"]["KeySchema"]
        ordered = sorted(schema, key=lambda part: part["KeyType"] != "HASH")
        return tuple(str(part["AttributeName"]) for part in ordered) or None
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
        return None  # a sidecar only helps to order columns: an unreadable one is no loss


# ---------------------------------------------------------------------------- items and changes


def iter_items(
    target: Target, *, typed: bool = False, api: ObjectApi | None = None
) -> Iterator[Item]:
    """Every item of a FULL export, streamed, in the order of its data files.

    Args:
        target: see :func:`open_export`.
        typed: yield DynamoDB JSON (``{"pk": {"S": "1"}}``) as the file holds it, instead of
            plain Python values (see the module docstring for the mapping).
        api: the S3 access for an ``s3://`` target.

    Raises:
        ConfigError: the target is not a FULL export (use :func:`iter_changes` for INCREMENTAL).
        ExportReadError: a data file is not what AWS writes.
    """
    export = open_export(target, api=api)
    if export.incremental:
        raise ConfigError(
            f"{export.url} is an INCREMENTAL export: its records are changes, not items; read "
            "them with iter_changes()"
        )
    return iter_records(export, _typed_item if typed else _plain_item)


def iter_changes(
    target: Target, *, typed: bool = False, api: ObjectApi | None = None
) -> Iterator[Change]:
    """Every record of an INCREMENTAL export as a :class:`Change`, streamed.

    Args:
        target: see :func:`open_export`.
        typed: keys and images as DynamoDB JSON instead of plain Python values.
        api: the S3 access for an ``s3://`` target.

    Raises:
        ConfigError: the target is not an INCREMENTAL export (use :func:`iter_items` for FULL).
        ExportReadError: a data file is not what AWS writes.
    """
    export = open_export(target, api=api)
    if not export.incremental:
        raise ConfigError(
            f"{export.url} is a FULL export: its records are items, not changes; read them "
            "with iter_items()"
        )
    image = _copy_item if typed else plain_item
    lone_new_image: ChangeKind = "update" if export.summary.output_view == NEW_IMAGE else "insert"

    def convert(record: dict[str, Any]) -> Change:
        keys = record["Keys"]
        old = record.get("OldImage")
        new = record.get("NewImage")
        kind: ChangeKind = "delete" if new is None else lone_new_image if old is None else "update"
        return Change(
            kind,
            image(keys),
            None if old is None else image(old),
            None if new is None else image(new),
            _write_time(record.get("Metadata")),
        )

    return iter_records(export, convert)


def iter_records(
    target: Target, convert: Callable[[dict[str, Any]], _T], *, api: ObjectApi | None = None
) -> Iterator[_T]:
    """Every record of an export, of either type, as ``convert`` makes it, streamed.

    A record is one line of a data file as DynamoDB JSON: ``{"Item": {…}}`` in a FULL export,
    ``{"Metadata": …, "Keys": …, "OldImage": …, "NewImage": …}`` in an INCREMENTAL one (ION
    lines are read into the same shape). ``convert`` runs as each line is read, so a record it
    cannot handle (``KeyError``, ``TypeError``, ``ValueError``…) is reported as an
    :class:`ExportReadError` naming the file and line.

    Raises:
        ConfigError: see :func:`open_export`.
        ExportReadError: a data file is not what AWS writes, or ``convert`` refused a record.
    """
    export = open_export(target, api=api)
    return _records(export, convert)


def _records(export: OpenedExport, convert: Callable[[dict[str, Any]], _T]) -> Iterator[_T]:
    for entry in export.files:
        yield from _read_data_file(export, entry, convert)


def _write_time(metadata: Any) -> datetime | None:
    if not isinstance(metadata, dict):
        return None
    stamp = metadata.get("WriteTimestampMicros")
    if isinstance(stamp, dict):  # AWS writes it typed: {"N": "1768386096366933"}
        stamp = stamp.get("N")
    if stamp is None:
        return None
    return _EPOCH + timedelta(microseconds=int(stamp))


def _copy_item(item: Mapping[str, Any]) -> Item:
    return dict(item)


def _typed_item(record: dict[str, Any]) -> Item:
    item: Item = record["Item"]
    return item


def _plain_item(record: dict[str, Any]) -> Item:
    return _plain_map(record["Item"])


# ---------------------------------------------------------------------------- files and lines


def _read_data_file(
    export: OpenedExport, entry: DataFileEntry, convert: Callable[[dict[str, Any]], _T]
) -> Iterator[_T]:
    if entry.item_count == 0:
        return  # AWS writes a file per partition, empty ones too: no need to fetch those
    key = export.folder.resolve(entry.key)
    url = export.store.url(key)
    ion = export.summary.output_format == "ION"
    line = _LineCount()
    try:
        for lines in _unzipped_chunks(export, key, url, line, split=True):
            yield from _converted(lines, ion, convert, line)
    except _RECORD_ERRORS as exc:
        raise _record_error(exc, url, line.number, export.summary.export_type) from None


class _LineCount:
    """The number of the line being read, shared by the reading and the converting code."""

    def __init__(self, number: int = 0) -> None:
        self.number = number


def _unzipped_chunks(
    export: OpenedExport,
    key: str,
    url: str,
    line: _LineCount,
    *,
    split: bool,
) -> Iterator[list[bytes]]:
    """The file's decompressed lines, a chunk at a time; with ``split`` false each chunk is one
    bytearray of whole lines (for a worker process or thread to split), decompressed into it
    rather than copied three times."""
    try:
        stream = export.store.open(key)
    except OSError as exc:  # a copy on disk without the file (S3 raises AwsError itself)
        raise ExportReadError(f"{url}: cannot open it: {exc.strerror or exc}") from None
    try:
        with closing(stream) as raw, open_gunzip(raw) as unzipped:
            yield from _line_batches(unzipped) if split else _whole_line_arrays(unzipped)
    except GZIP_ERRORS as exc:
        where = f" after line {line.number}" if line.number else ""
        raise ExportReadError(f"{url}: cannot read it as gzip{where}: {exc}") from None


def _converted(
    lines: list[bytes], ion: bool, convert: Callable[[dict[str, Any]], _T], line: _LineCount
) -> Iterator[_T]:
    for text in lines:
        line.number += 1
        if not text or text.isspace():
            continue
        if ion:
            decoded = text.decode("utf-8").strip()
            if decoded == "$ion_1_0":
                continue
            yield convert(read_record(decoded))
        else:
            yield convert(orjson.loads(text))


_RECORD_ERRORS = (
    orjson.JSONDecodeError,
    IonError,
    UnicodeDecodeError,
    KeyError,
    TypeError,
    AttributeError,
    ValueError,
    ArithmeticError,
    Base64Error,
)


def _record_error(exc: Exception, url: str, number: int, export_type: str) -> ExportReadError:
    if isinstance(exc, orjson.JSONDecodeError | IonError | UnicodeDecodeError):
        return ExportReadError(f"{url} line {number}: not a record: {exc}")
    if isinstance(exc, KeyError | TypeError | AttributeError):
        return ExportReadError(
            f"{url} line {number}: not a record of a {export_type} (missing or misshapen {exc})"
        )
    return ExportReadError(f"{url} line {number}: bad attribute value: {exc}")


def _line_batches(stream: IO[bytes]) -> Iterator[list[bytes]]:
    # Reading big chunks and splitting them is faster than readline() per line, and keeps at
    # most one chunk (plus one partial line) in memory.
    rest = b""
    while chunk := stream.read(CHUNK_BYTES):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield lines
    if rest:
        yield [rest]


def _whole_line_arrays(stream: IO[bytes]) -> Iterator[list[bytes]]:
    # As _line_batches, unsplit: one bytearray of whole lines per chunk (no trailing newline),
    # the data read into it (the partial line left over from the last one first), so that it
    # is copied once, not three times as joining and cutting bytes would.
    rest = b""
    while True:
        buffer = bytearray(len(rest) + CHUNK_BYTES)
        buffer[: len(rest)] = rest
        filled = len(rest)
        with memoryview(buffer) as view:
            while filled < len(buffer) and (read := stream.readinto(view[filled:])):  # type: ignore[attr-defined]
                filled += read
        if filled == len(rest):  # the end of the file
            if rest:
                yield [bytearray(rest)]  # type: ignore[list-item]
            return
        end = buffer.rfind(b"\n", 0, filled)
        if end < 0:  # a line longer than a chunk: read on
            rest = bytes(buffer[:filled])
            continue
        rest = bytes(buffer[end + 1 : filled])
        del buffer[end:]
        yield [buffer]  # type: ignore[list-item]


# ---------------------------------------------------------------------------- DynamoDB JSON → plain


def plain_item(item: Mapping[str, Any]) -> Item:
    """A DynamoDB-JSON item (``{"pk": {"S": "1"}}``) as plain Python values (``{"pk": "1"}``)."""
    return _plain_map(item)


def _plain_map(attributes: Mapping[str, Any]) -> Item:
    # Strings and numbers are most values: converting them inline saves a call for each.
    plain: Item = {}
    for name, typed in attributes.items():
        if "S" in typed:
            plain[name] = typed["S"]
        elif "N" in typed:
            plain[name] = Decimal(typed["N"])
        else:
            plain[name] = plain_value(typed)
    return plain


def plain_value(typed: Mapping[str, Any]) -> Any:
    """One DynamoDB-JSON value as plain Python (mapping in the module docstring).

    Raises:
        ValueError: not a DynamoDB-JSON value (or a bad number or base64).
    """
    # Membership tests in order of how common the types are: faster than a dict of converters
    # or unpacking the one-key dict, and this runs for every value of every item.
    if "S" in typed:
        return typed["S"]
    if "N" in typed:
        return Decimal(typed["N"])
    if "M" in typed:
        return _plain_map(typed["M"])
    if "L" in typed:
        return [plain_value(inner) for inner in typed["L"]]
    if "BOOL" in typed:
        return bool(typed["BOOL"])
    if "NULL" in typed:
        return None
    if "B" in typed:
        return a2b_base64(typed["B"])
    if "SS" in typed:
        return set(typed["SS"])
    if "NS" in typed:
        return {Decimal(number) for number in typed["NS"]}
    if "BS" in typed:
        return {a2b_base64(blob) for blob in typed["BS"]}
    raise ValueError(f"{dict(typed)!r} is not a DynamoDB-JSON value")
