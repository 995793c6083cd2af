"""Which exports may go: retention by count or age that never breaks a kept incremental chain.

Pure planning (:func:`plan_prune`) is separate from finding and deleting objects
(:func:`objects_of`, done through an :class:`~ddbexport.exports.stores.ObjectApi`).

Rules, per table:

* ``keep_last N`` keeps the newest N good full exports and the incremental exports whose windows
  end after the oldest of them; ``older_than`` keeps what is younger.
* The newest good full export is always kept: pruning never leaves a table with no baseline.
* A kept incremental export needs its baseline (the newest good full export before its window's
  end) and every incremental window between the two: they are kept whatever the rule says.
* A table with no good full export in the catalog keeps all its good incremental exports.
* "Good" means COMPLETED and not failed verification.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ddbexport.core.ports import ObjectApi
from ddbexport.exports.files import ManifestError, parse_files, parse_folder

from .records import CatalogRecord

INCREMENTAL = "INCREMENTAL_EXPORT"


@dataclass(frozen=True, slots=True)
class PruneDecision:
    """One record and whether it goes, with the reason."""

    record: CatalogRecord
    delete: bool
    reason: str


def plan_prune(
    records: Sequence[CatalogRecord],
    *,
    now: datetime,
    keep_last: int | None = None,
    older_than_s: float | None = None,
) -> list[PruneDecision]:
    """Decide, for every record of one or more tables, whether it is deleted.

    Tables are told apart by ARN: two tables of the same name in other regions or accounts that
    export into one bucket keep their own exports.
    """
    if (keep_last is None) == (older_than_s is None):
        raise ValueError("give exactly one of keep_last or older_than_s")
    by_table: dict[str, list[CatalogRecord]] = {}
    for record in records:
        by_table.setdefault(f"{record.s3_bucket}\n{record.table_arn}", []).append(record)
    decisions: list[PruneDecision] = []
    for table_records in by_table.values():
        decisions += _plan_table(table_records, now, keep_last, older_than_s)
    return decisions


def _moment(record: CatalogRecord) -> datetime:
    """The instant the export shows: its export time, or its window's end."""
    return record.as_of or record.start_time or datetime.min.replace(tzinfo=UTC)


def _start_of(record: CatalogRecord) -> datetime:
    return record.from_time or _moment(record)


def _is_incremental(record: CatalogRecord) -> bool:
    return record.export_type == INCREMENTAL


def _plan_table(
    records: list[CatalogRecord],
    now: datetime,
    keep_last: int | None,
    older_than_s: float | None,
) -> list[PruneDecision]:
    ordered = sorted(records, key=lambda r: (_moment(r), r.export_id))
    good_fulls = [r for r in ordered if r.good and not _is_incremental(r)]
    keep: dict[str, str] = {}
    if keep_last is not None:
        kept_fulls = good_fulls[-keep_last:] if keep_last > 0 else []
        oldest_kept = _moment(kept_fulls[0]) if kept_fulls else None
        for record in ordered:
            if record in kept_fulls:
                keep[record.export_arn] = f"one of the newest {keep_last} full exports"
            elif (
                _is_incremental(record)
                and record.good
                and oldest_kept is not None
                and _moment(record) > oldest_kept
            ):
                keep[record.export_arn] = "an incremental export after a kept full export"
    else:
        assert older_than_s is not None
        cutoff = now - timedelta(seconds=older_than_s)
        for record in ordered:
            if _moment(record) >= cutoff:
                keep[record.export_arn] = "younger than the cut-off"
    if good_fulls and good_fulls[-1].export_arn not in keep:
        keep[good_fulls[-1].export_arn] = "the newest good full export (always kept)"
    if not good_fulls:
        # Without a full export in the catalog, nothing says which incrementals are spare.
        for record in ordered:
            if _is_incremental(record) and record.good:
                keep.setdefault(record.export_arn, "no full export catalogued as its baseline")
    _keep_chains(ordered, good_fulls, keep)
    return [
        PruneDecision(record, record.export_arn not in keep, keep.get(record.export_arn, "old"))
        for record in ordered
    ]


def _keep_chains(
    ordered: list[CatalogRecord], good_fulls: list[CatalogRecord], keep: dict[str, str]
) -> None:
    """Keep the baseline and every link of each kept incremental export.

    The table as of an incremental export's window end is its baseline (the newest good full
    export before that end) plus every incremental window that overlaps the time between them.
    """
    kept_incrementals = [
        r for r in ordered if _is_incremental(r) and r.good and r.export_arn in keep
    ]
    for incremental in kept_incrementals:
        end = _moment(incremental)
        bases = [full for full in good_fulls if _moment(full) < end]
        if not bases:
            continue
        base = bases[-1]
        keep.setdefault(
            base.export_arn, f"the baseline of kept incremental {incremental.export_id}"
        )
        for link in ordered:
            if (
                _is_incremental(link)
                and link.good
                and _moment(link) > _moment(base)
                and _start_of(link) < end
            ):
                keep.setdefault(link.export_arn, f"a link of the chain to {incremental.export_id}")


def objects_of(api: ObjectApi, record: CatalogRecord) -> list[str]:
    """Every key that belongs to an export: its folder, and (incremental) its listed data files.

    Incremental exports share ``AWSDynamoDB/data/``: only the files their own manifest lists are
    theirs.
    """
    folder = parse_folder(record.export_folder) if "AWSDynamoDB/" in record.export_folder else None
    keys = [info.key for info in api.list_objects(record.s3_bucket, record.export_folder + "/")]
    if folder is not None and record.export_type == INCREMENTAL and record.manifest_files_key:
        data = api.get_object(record.s3_bucket, record.manifest_files_key)
        # An unreadable manifest leaves its shared data files behind: harmless, never wrong.
        if data is not None:
            with contextlib.suppress(ManifestError):
                keys += [folder.resolve(entry.key) for entry in parse_files(data)]
    return sorted(set(keys))
