"""JSON lines: one item or change per line, a FULL export's items encoded in worker processes.

The encoders are module-level functions: the workers are spawned and unpickle them by name.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from typing import Any, BinaryIO

import orjson

from ddbexport.core.ports import ObjectApi
from ddbexport.errors import ConfigError
from ddbexport.exports.chunks import encoded_batches
from ddbexport.exports.reader import OpenedExport, Target, iter_changes, open_export

from .native import chunk_transcoder, native_converts, native_line_counter
from .result import ConvertResult
from .values import NEWLINE, change_json, json_safe_item
from .writebehind import WriteBehind


def write_jsonl(
    target: Target,
    out: BinaryIO,
    *,
    typed: bool = False,
    api: ObjectApi | None = None,
    workers: int | None = 1,
    engine: str = "auto",
) -> ConvertResult:
    """Write one item (FULL) or change (INCREMENTAL) per line to the binary stream ``out``.

    ``workers``: processes that decode and encode a FULL export's items (1, the default: all
    in this process; None: one per CPU, up to 8, for exports of :data:`PARALLEL_MIN_ITEMS`
    items or more). The lines come out in the export's order either way. Workers are spawned,
    so a script calling this with workers must guard its top level with
    ``if __name__ == "__main__":`` (as every use of :mod:`multiprocessing` must).

    ``engine`` (see :mod:`.native`): ``auto`` converts a FULL export's plain lines in C when the
    C converter was built (the workers are then threads), ``native`` insists on it, ``python``
    never uses it. The bytes written are the same.

    Raises:
        ConfigError: an unknown engine, ``native`` where it was not built, workers below 1.
        ExportReadError: a data file is not what AWS writes.
    """
    transcode = chunk_transcoder(engine)
    export = open_export(target, api=api)
    if not native_converts(export, typed, engine):
        transcode = None
    rows = 0
    if export.incremental:
        for change in iter_changes(export, typed=typed):
            out.write(orjson.dumps(change_json(change, typed), option=NEWLINE))
            rows += 1
        return ConvertResult("jsonl", rows, changes=True)
    encode = _typed_line if typed else _plain_line
    parallel = _workers(export, workers)
    batches = encoded_batches(
        export,
        encode,
        workers=parallel,
        transcode=transcode,
        count_lines=native_line_counter(),
    )
    with WriteBehind(out) if parallel > 1 else nullcontext(out) as writer:
        for data, count in batches:
            writer.write(data)
            rows += count
    return ConvertResult("jsonl", rows, changes=False)


def _typed_line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record["Item"], option=NEWLINE)


def _plain_line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(json_safe_item(record["Item"]), option=NEWLINE)


#: Below this many items, starting worker processes costs more than it saves.
PARALLEL_MIN_ITEMS = 200_000


def _workers(export: OpenedExport, workers: int | None) -> int:
    """``workers`` as asked, else one per CPU for exports big enough to repay the start-up."""
    if workers is not None:
        if workers < 1:
            raise ConfigError(f"workers must be 1 or more, not {workers}")
        return workers
    items = sum(entry.item_count for entry in export.files)
    return min(os.cpu_count() or 1, 8) if items >= PARALLEL_MIN_ITEMS else 1
