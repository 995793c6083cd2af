"""Reading the chain's exports and merging the incrementals' changes into the baseline's items."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from ddbexport.catalog.chain import Chain, LatestChanges, apply_latest
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


def latest_changes(
    exports: Sequence[OpenedExport],
    key_names: Sequence[str] | None,
    *,
    since: datetime,
    until: datetime | None = None,
) -> LatestChanges:
    """Each key's last change among the incremental ``exports``' changes written after
    ``since`` and no later than ``until`` (if given); on equal write times the later export,
    then the later line, wins.

    Args:
        key_names: the table's key attributes; None: the first change's.

    Raises:
        ExportReadError: a change has no write timestamp, or keys other than the table's.
    """
    latest = LatestChanges(since, until, None if key_names is None else tuple(key_names))
    for export in exports:
        log.debug("reading the changes of %s", export.url)
        for change in iter_changes(export, typed=True):
            if change.write_time is None:
                raise ExportReadError(
                    f"{export.url}: a change of {change.keys} has no write timestamp, so it "
                    "cannot be ordered"
                )
            if latest.key_names is not None and set(change.keys) != set(latest.key_names):
                raise ExportReadError(
                    f"{export.url}: a change's keys {sorted(change.keys)} are not the table's "
                    f"key attributes {list(latest.key_names)}"
                )
            latest.add(change, change.write_time)
    return latest


def merge_changes(
    chain: Chain, baseline: OpenedExport, incrementals: Sequence[OpenedExport]
) -> Merged:
    since = chain.baseline.export_time
    assert since is not None  # find_chain picks only full exports with an export time
    until = chain.as_of
    key_names = baseline.key_names or next(
        (export.key_names for export in incrementals if export.key_names), None
    )
    latest = latest_changes(incrementals, key_names, since=since, until=until)
    notes = []
    if latest.late:
        notes.append(
            f"{latest.late} change(s) were written after {format_instant(until)} in a window "
            "that spans it: those items are shown as they were when that window began (an "
            "incremental export keeps only each item's last write in its window, so an earlier "
            "write to them in the window, before that instant, is not known)"
        )
    log.debug("reading the items of %s", baseline.url)
    baseline_items = iter_items(baseline, typed=True)
    if not latest.by_key or latest.key_names is None:
        # Nothing to apply: the baseline's items go straight through, one at a time.
        return Merged(baseline_items, latest.applied, latest.skipped, notes)
    return Merged(
        apply_latest(baseline_items, latest.by_key, latest.key_names),
        latest.applied,
        latest.skipped,
        notes,
    )
