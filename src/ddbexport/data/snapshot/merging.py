"""Reading the chain's exports and merging the incrementals' changes into the baseline's items."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from ddbexport.catalog.chain import Chain, Change, apply_latest, item_key
from ddbexport.catalog.records import CatalogRecord
from ddbexport.core.timeparse import format_instant
from ddbexport.exports.files import SCHEMA_SIDECAR
from ddbexport.exports.reader import (
    ExportReadError,
    OpenedExport,
    Target,
    iter_changes,
    iter_items,
    open_export,
)

log = logging.getLogger(__name__)


#: Where a catalogued export's files are: a (store, folder) pair or anything
#: :func:`ddbexport.exports.reader.open_export` takes.
Locate: TypeAlias = Callable[[CatalogRecord], Target]


@dataclass(slots=True)
class Merged:
    items: Iterator[dict[str, Any]]
    applied: int
    skipped: int
    notes: list[str]


def open(record: CatalogRecord, locate: Locate) -> OpenedExport:
    export = open_export(locate(record))
    if export.summary.export_arn != record.export_arn:
        raise ExportReadError(
            f"{export.url} holds export {export.summary.export_arn}, not {record.export_arn} as "
            "its catalog record says; run `ddbexport catalog rebuild`"
        )
    return export


def newest_sidecar(exports: Sequence[OpenedExport]) -> bytes | None:
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


def merge_changes(
    chain: Chain, baseline: OpenedExport, incrementals: Sequence[OpenedExport]
) -> Merged:
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
        return Merged(baseline_items, applied, skipped, notes)
    latest: dict[str, Change] = dict(pending)
    pending.clear()
    return Merged(apply_latest(baseline_items, latest, key_names), applied, skipped, notes)
