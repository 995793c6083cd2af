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

import itertools
import multiprocessing
from binascii import Error as Base64Error
from binascii import a2b_base64
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
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
    in_place: bool = False,
) -> Iterator[list[bytes]]:
    """The file's decompressed lines, a chunk at a time; with ``split`` false each chunk is one
    bytes object of whole lines (for a worker process to split), with ``in_place`` a bytearray
    (for threads: decompressed into it, not copied three times)."""
    try:
        stream = export.store.open(key)
    except OSError as exc:  # a copy on disk without the file (S3 raises AwsError itself)
        raise ExportReadError(f"{url}: cannot open it: {exc.strerror or exc}") from None
    try:
        with closing(stream) as raw, open_gunzip(raw) as unzipped:
            if in_place:
                yield from _whole_line_arrays(unzipped)
            else:
                yield from _line_batches(unzipped) if split else _whole_line_chunks(unzipped)
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


# ---------------------------------------------------------------------------- encoded in parallel


#: A converter of whole chunks of DynamoDB-JSON lines written in C (``data.convert``'s
#: ``_dynamojson.transcode``): ``chunk → (encoded lines, records, handed back, lines)``, each
#: line it hands back given as ``(offset in the encoded lines, index in the chunk, start, stop)``
#: for ``encode`` to write there. It runs without the GIL, so threads share the work.
_Transcoded: TypeAlias = tuple[bytes, int, list[tuple[int, int, int, int]], int]
ChunkTranscoder: TypeAlias = Callable[[bytes], _Transcoded]


def encoded_batches(
    export: OpenedExport,
    encode: Callable[[dict[str, Any]], bytes],
    *,
    workers: int = 1,
    transcode: ChunkTranscoder | None = None,
) -> Iterator[tuple[bytes, int]]:
    """Every record of ``export``, each turned into bytes by ``encode``, in file order, as
    ``(joined bytes, records)`` batches of about a megabyte.

    With ``workers`` > 1 the decoding and encoding — nearly all the work — runs in that many
    worker processes while this one decompresses and writes, chunk by chunk and in order; at
    most two chunks per worker are in flight, so memory stays flat. ``encode`` must be a
    module-level function (it is sent to the workers by name).

    ``transcode`` (DynamoDB JSON only; ignored for Ion) converts whole chunks instead, handing
    back to ``encode`` the lines it leaves alone; the workers are then threads.

    Raises:
        ExportReadError: as :func:`iter_records`.
    """
    ion = export.summary.output_format == "ION"
    if transcode is not None and not ion:
        yield from _transcoded_batches(export, encode, transcode, workers)
        return
    if workers <= 1:
        yield from _serial_batches(export, encode)
        return
    chunks = _chunks(export, encode, ion, export.summary.export_type)
    context = multiprocessing.get_context("spawn")  # fork would copy boto3's threads and locks
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        yield from _in_order(pool, chunks, _encode_chunk, workers)
    finally:
        # A bad record, or a reader that stopped early: the chunks still queued are not needed.
        pool.shutdown(wait=True, cancel_futures=True)


def _transcoded_batches(
    export: OpenedExport,
    encode: Callable[[dict[str, Any]], bytes],
    transcode: ChunkTranscoder,
    workers: int,
) -> Iterator[tuple[bytes, int]]:
    # The converter counts each chunk's lines as it goes, so reading does not count them first:
    # line numbers are known once the chunks come back in order, which is all handed-back
    # lines need.
    jobs = _chunks(export, encode, False, export.summary.export_type, count_lines=_uncounted)

    def work(job: Chunk) -> tuple[Chunk, _Transcoded]:
        return job, transcode(job.data)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddbexport-read")
    try:
        results = map(work, jobs) if workers <= 1 else _in_order(pool, jobs, work, workers)
        url, lines_before = "", 0
        for job, (encoded, records, handed_back, lines) in results:
            if job.url != url:
                url, lines_before = job.url, 0
            if handed_back:
                yield _with_handed_back(job, lines_before, encoded, handed_back)
            else:
                yield encoded, records
            lines_before += lines
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunks(
    export: OpenedExport,
    encode: Callable[[dict[str, Any]], bytes],
    ion: bool,
    export_type: str,
    count_lines: Callable[[bytes], int] | None = None,
) -> Iterator[Chunk]:
    """The export's decompressed data as jobs of whole lines, in file order. ``count_lines``
    (C code that releases the GIL) makes the chunks bytearrays for threads."""
    for entry in export.files:
        if entry.item_count == 0:
            continue
        key = export.folder.resolve(entry.key)
        url = export.store.url(key)
        line = _LineCount()
        count = count_lines or _count_lines
        chunks = _unzipped_chunks(export, key, url, line, split=False, in_place=bool(count_lines))
        for chunk in chunks:
            yield Chunk(url, export_type, ion, line.number, chunk[0], encode)
            line.number += count(chunk[0]) + 1


def _count_lines(data: bytes) -> int:
    return data.count(b"\n")


def _uncounted(data: bytes) -> int:
    # For a converter that counts each chunk's lines itself (see _transcoded_batches).
    return 0


def _in_order(
    pool: Executor,
    jobs: Iterator[Chunk],
    work: Callable[[Chunk], _T],
    workers: int,
) -> Iterator[_T]:
    # At most two jobs per worker in flight: memory stays flat, results come out in order.
    pending: deque[Future[_T]] = deque()
    for job in jobs:
        pending.append(pool.submit(work, job))
        if len(pending) >= 2 * workers:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def chunk_results(
    export: OpenedExport,
    work: Callable[[Chunk], _T],
    *,
    workers: int,
    count_lines: Callable[[bytes], int] | None = None,
) -> Iterator[_T]:
    """What ``work`` makes of each chunk of a FULL DynamoDB-JSON export (about a megabyte of
    whole lines, see :class:`Chunk`), in file order. With ``workers`` > 1 the chunks are worked
    on threads (``work`` should release the GIL for that to pay: C code does), at most two per
    worker in flight. ``count_lines``: the number of newlines in a chunk, by C code (the chunks
    are then bytearrays, decompressed in place).

    Raises:
        ExportReadError: a data file cannot be decompressed; what ``work`` raises.
    """
    chunks = _chunks(export, _item_json, False, export.summary.export_type, count_lines)
    if workers <= 1:
        for job in chunks:
            yield work(job)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddbexport-read")
    try:
        yield from _in_order(pool, chunks, work, workers)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _item_json(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record["Item"])


def chunk_items(
    job: Chunk, lines: Iterable[tuple[int, int, int]] | None = None
) -> Iterator[tuple[int, Item]]:
    """(line number in its file, item as DynamoDB JSON) of the chunk's lines, or only of
    ``lines`` (``(index in the chunk, start, stop)``), read as :func:`iter_records` reads them.

    Raises:
        ExportReadError: a line is not a record, naming its file and line.
    """
    if lines is None:
        lines = ((index, -1, -1) for index in itertools.count())
        texts: Iterable[bytes] = job.data.split(b"\n")
    else:
        lines = list(lines)
        texts = [job.data[start:stop] for _, start, stop in lines]
    for (index, _, _), text in zip(lines, texts, strict=False):
        line = _LineCount(job.first_line + index)
        try:
            for item in _converted([text], job.ion, _typed_item, line):
                yield line.number, item
        except _RECORD_ERRORS as exc:
            raise _record_error(exc, job.url, line.number, job.export_type) from None


#: What a record's conversion raises for a value it cannot read (see :func:`record_error`).
RECORD_ERRORS = _RECORD_ERRORS


def record_error(exc: Exception, job: Chunk, number: int) -> ExportReadError:
    """The error for line ``number`` of the chunk's file, whose conversion raised ``exc``."""
    return _record_error(exc, job.url, number, job.export_type)


def _serial_batches(
    export: OpenedExport, encode: Callable[[dict[str, Any]], bytes]
) -> Iterator[tuple[bytes, int]]:
    batch: list[bytes] = []
    size = 0
    for encoded in _records(export, encode):
        batch.append(encoded)
        size += len(encoded)
        if size >= CHUNK_BYTES:
            yield b"".join(batch), len(batch)
            batch.clear()
            size = 0
    if batch:
        yield b"".join(batch), len(batch)


@dataclass(frozen=True)
class Chunk:
    """About a megabyte of whole lines of one data file (``data``, without the last newline)."""

    url: str
    export_type: str
    ion: bool
    first_line: int  # lines before this chunk in its file
    data: bytes
    encode: Callable[[dict[str, Any]], bytes]


def _encode_chunk(job: Chunk) -> tuple[bytes, int]:
    line = _LineCount(job.first_line)
    try:
        encoded = list(_converted(job.data.split(b"\n"), job.ion, job.encode, line))
    except _RECORD_ERRORS as exc:
        raise _record_error(exc, job.url, line.number, job.export_type) from None
    return b"".join(encoded), len(encoded)


def _with_handed_back(
    job: Chunk, lines_before: int, encoded: bytes, handed_back: list[tuple[int, int, int, int]]
) -> tuple[bytes, int]:
    """The converter's lines with the lines it handed back converted in Python, in place."""
    pieces: list[bytes] = []
    done = 0
    for offset, index, start, stop in handed_back:
        pieces.append(encoded[done:offset])
        done = offset
        line = _LineCount(lines_before + index)
        try:
            converted = list(_converted([job.data[start:stop]], job.ion, job.encode, line))
        except _RECORD_ERRORS as exc:
            raise _record_error(exc, job.url, line.number, job.export_type) from None
        pieces.extend(converted)
    pieces.append(encoded[done:])
    joined = b"".join(pieces)
    return joined, joined.count(b"\n")


def _whole_line_arrays(stream: IO[bytes]) -> Iterator[list[bytes]]:
    # As _whole_line_chunks, each chunk a bytearray the data is read into (the partial line
    # left over from the last one first): one copy of the data instead of three.
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


def _whole_line_chunks(stream: IO[bytes]) -> Iterator[list[bytes]]:
    # As _line_batches, unsplit: one bytes object of whole lines per chunk (no trailing newline).
    rest = b""
    while chunk := stream.read(CHUNK_BYTES):
        head, newline, tail = (rest + chunk).rpartition(b"\n")
        if newline:
            yield [head]
            rest = tail
        else:
            rest = tail
    if rest:
        yield [rest]


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
