"""An export's records converted a chunk at a time: in worker processes, on threads (the C
engines, which release the GIL), or in this thread, always coming out in file order.

A chunk is about a megabyte of whole decompressed lines of one data file (:class:`Chunk`);
at most two chunks per worker are in flight, so memory stays flat however large the export.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import orjson

# The reader's own line handling, shared with this package's chunked paths.
from .reader import (
    _RECORD_ERRORS,
    CHUNK_BYTES,
    ExportReadError,
    Item,
    OpenedExport,
    _converted,
    _LineCount,
    _record_error,
    _records,
    _typed_item,
    _unzipped_chunks,
)

_T = TypeVar("_T")


#: A line of a chunk that C code hands back to Python, as ``(place, index in the chunk, start,
#: stop)``: ``place`` says where what Python makes of it belongs (for ``transcode``, the offset
#: in the encoded lines; for the Parquet survey, the number of items before it in the chunk).
HandedBack: TypeAlias = tuple[int, int, int, int]

#: A converter of whole chunks of DynamoDB-JSON lines written in C (``data.convert``'s
#: ``_dynamojson.transcode``): ``chunk → (encoded lines, records, handed back)``, each line it
#: hands back for ``encode`` to write in its place. It runs without the GIL, so threads share
#: the work.
_Transcoded: TypeAlias = tuple[bytes, int, list[HandedBack]]
ChunkTranscoder: TypeAlias = Callable[[bytes], _Transcoded]


def encoded_batches(
    export: OpenedExport,
    encode: Callable[[dict[str, Any]], bytes],
    *,
    workers: int = 1,
    transcode: ChunkTranscoder | None = None,
    count_lines: Callable[[bytes], int] | None = None,
) -> Iterator[tuple[bytes, int]]:
    """Every record of ``export``, each turned into bytes by ``encode``, in file order, as
    ``(joined bytes, records)`` batches of about a megabyte.

    With ``workers`` > 1 the decoding and encoding — nearly all the work — runs in that many
    worker processes while this one decompresses and writes, chunk by chunk and in order; at
    most two chunks per worker are in flight, so memory stays flat. ``encode`` must be a
    module-level function (it is sent to the workers by name).

    ``transcode`` (for the items of a FULL DynamoDB-JSON export: the caller says when it
    applies) converts whole chunks instead, handing back to ``encode`` the lines it leaves
    alone; the workers are then threads, and ``count_lines`` (C that releases the GIL) counts
    each chunk's lines as it is read.

    Raises:
        ExportReadError: as :func:`iter_records`.
    """
    if transcode is not None:
        yield from _transcoded_batches(export, encode, transcode, workers, count_lines)
        return
    ion = export.summary.output_format == "ION"
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
    count_lines: Callable[[bytes], int] | None,
) -> Iterator[tuple[bytes, int]]:
    export_type = export.summary.export_type
    jobs = _chunks(export, encode, False, export_type, count_lines=count_lines or _count_lines)

    def work(job: Chunk) -> tuple[Chunk, _Transcoded]:
        return job, transcode(job.data)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddbexport-read")
    try:
        results = map(work, jobs) if workers <= 1 else _in_order(pool, jobs, work, workers)
        for job, (encoded, records, handed_back) in results:
            if handed_back:
                yield _with_handed_back(job, encoded, handed_back)
            else:
                yield encoded, records
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunks(
    export: OpenedExport,
    encode: Callable[[dict[str, Any]], bytes],
    ion: bool,
    export_type: str,
    count_lines: Callable[[bytes], int] | None = None,
) -> Iterator[Chunk]:
    """The export's decompressed data as jobs of whole lines, in file order. ``count_lines``:
    the number of newlines in a chunk (C code that releases the GIL, for threads)."""
    for entry in export.files:
        if entry.item_count == 0:
            continue
        key = export.folder.resolve(entry.key)
        url = export.store.url(key)
        line = _LineCount()
        count = count_lines or _count_lines
        chunks = _unzipped_chunks(export, key, url, line, split=False)
        for chunk in chunks:
            yield Chunk(url, export_type, ion, line.number, chunk[0], encode)
            line.number += count(chunk[0]) + 1


def _count_lines(data: bytes) -> int:
    return data.count(b"\n")


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
    worker in flight. ``count_lines``: the number of newlines in a chunk, by C code (so that
    counting too runs without the GIL).

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
    job: Chunk, handed_back: Iterable[HandedBack] | None = None
) -> Iterator[tuple[int, Item]]:
    """(line number in its file, item as DynamoDB JSON) of the chunk's lines, or only of the
    lines ``handed_back``, read as :func:`iter_records` reads them.

    Raises:
        ExportReadError: a line is not a record, naming its file and line.
    """
    indexes: Iterable[int]
    if handed_back is None:
        indexes = itertools.count()
        texts: Iterable[bytes] = job.data.split(b"\n")
    else:
        lines = list(handed_back)
        indexes = [index for _, index, _, _ in lines]
        texts = [job.data[start:stop] for _, _, start, stop in lines]
    for index, text in zip(indexes, texts, strict=False):
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
    job: Chunk, encoded: bytes, handed_back: list[HandedBack]
) -> tuple[bytes, int]:
    """The converter's lines with the lines it handed back converted in Python, in place."""
    pieces: list[bytes] = []
    done = 0
    for offset, index, start, stop in handed_back:
        pieces.append(encoded[done:offset])
        done = offset
        line = _LineCount(job.first_line + index)
        try:
            converted = list(_converted([job.data[start:stop]], job.ion, job.encode, line))
        except _RECORD_ERRORS as exc:
            raise _record_error(exc, job.url, line.number, job.export_type) from None
        pieces.extend(converted)
    pieces.append(encoded[done:])
    joined = b"".join(pieces)
    return joined, joined.count(b"\n")
