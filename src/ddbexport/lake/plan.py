"""What a sync applies: the exports of the chain after the last one the Iceberg table holds.

Pure: catalog records and the last applied export (from the table's snapshot summary, see
:mod:`ddbexport.lake.state`) in, the steps out.

* Nothing applied yet, or ``rebuild``: load the newest good full export (the baseline), then
  every incremental window that continues it.
* A good full export newer than the baseline the table was loaded from (a new baseline: the
  chain was restarted, or the table is exported in full mode): load it as a whole, replacing the
  table's rows, then its windows. Reloading is exact whatever happened in between.
* Otherwise the windows after the point the table has reached, link by link (windows are
  ``[from, to)``; a window that overlaps what is applied is fine, its older changes are skipped).
  A window holds no write made at its end: that write is the next window's, so the point a
  window brings the table to (:func:`writes_held_through`) is the microsecond before its end.
* A window that starts after that point is a gap: writes made in between are in no export.
  The links before it are applied; the gap stops the table's sync (:attr:`SyncPlan.gap`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ddbexport.catalog.chain import ChainError, baselines, windows_after
from ddbexport.catalog.records import CatalogRecord
from ddbexport.core.timeparse import format_instant

LOAD = "load"
MERGE = "merge"
#: The unit of write timestamps (``WriteTimestampMicros``), and of Python's datetimes.
_MICROSECOND = timedelta(microseconds=1)


def writes_held_through(as_of: datetime, position: int) -> datetime:
    """The last instant whose writes the table holds once the export at chain ``position``
    (0: the baseline) is applied: a change written after it is still to apply.

    A full export holds the writes made at its export time (the chain's rule, as ``snapshot``
    applies it); a window ``[from, to)`` does not hold those made at ``to``, which the next
    window does: skipping them as already applied would lose them.
    """
    return as_of if position == 0 else as_of - _MICROSECOND


@dataclass(frozen=True, slots=True)
class Applied:
    """The last export an Iceberg table holds, as its snapshot summary records it."""

    table_arn: str
    export_arn: str
    as_of: datetime
    baseline_arn: str
    baseline_time: datetime
    position: int
    snapshot_id: int

    @property
    def held_through(self) -> datetime:
        """See :func:`writes_held_through`."""
        return writes_held_through(self.as_of, self.position)


@dataclass(frozen=True, slots=True)
class Step:
    """One export to apply: a full load or a MERGE of an incremental export's changes."""

    action: str  # LOAD | MERGE
    record: CatalogRecord
    baseline: CatalogRecord
    position: int  # 0 for the baseline, n for the chain's n-th window

    @property
    def as_of(self) -> datetime:
        """The instant the table shows after this step."""
        moment = self.record.as_of
        assert moment is not None  # plan_sync takes only exports with their times
        return moment

    @property
    def held_through(self) -> datetime:
        """See :func:`writes_held_through`."""
        return writes_held_through(self.as_of, self.position)


@dataclass(frozen=True, slots=True)
class SyncPlan:
    steps: tuple[Step, ...]
    why: str
    gap: str | None = None


def plan_sync(
    records: Sequence[CatalogRecord], applied: Applied | None, *, rebuild: bool = False
) -> SyncPlan:
    """The exports of one table (``records``, its catalog records) still to apply.

    Raises:
        ChainError: no good full export, or the Iceberg table mirrors another DynamoDB table.
    """
    arns = sorted({record.table_arn for record in records})
    if len(arns) > 1:
        raise ChainError(f"records of {len(arns)} tables given ({', '.join(arns)})")
    if applied is not None and arns and applied.table_arn != arns[0]:
        raise ChainError(
            f"the Iceberg table mirrors {applied.table_arn}, not {arns[0]}: give each "
            "DynamoDB table its own Iceberg table ([lake] table_name with {region} or "
            "{account})"
        )
    fulls = baselines(records)
    if not fulls:
        raise ChainError(
            "no good full export in the catalog: the Iceberg table starts from one; take a "
            "full export first (`ddbexport run`)"
        )
    newest = fulls[-1]
    assert newest.export_time is not None
    if applied is None or rebuild or newest.export_time > applied.baseline_time:
        why = (
            "first load"
            if applied is None
            else "rebuild"
            if rebuild
            else "a newer baseline, loaded as a whole"
        )
        load = Step(LOAD, newest, newest, 0)
        steps, gap = _windows(records, newest, newest.export_time, 0, "the baseline")
        return SyncPlan((load, *steps), why, gap)
    baseline = next((r for r in fulls if r.export_arn == applied.baseline_arn), None)
    if baseline is None:
        # The baseline's record is gone (pruned): the windows continue it by time all the same.
        baseline = fulls[-1]
    steps, gap = _windows(
        records, baseline, applied.as_of, applied.position, f"export {applied.export_arn}"
    )
    return SyncPlan(tuple(steps), "incremental" if steps else "up to date", gap)


def _windows(
    records: Sequence[CatalogRecord],
    baseline: CatalogRecord,
    reached: datetime,
    position: int,
    last: str,
) -> tuple[list[Step], str | None]:
    windows = windows_after(records, reached)
    steps: list[Step] = []
    for window in windows:
        assert window.from_time is not None
        assert window.to_time is not None
        if window.to_time <= reached:
            continue  # wholly inside what is applied (an overlapping window went first)
        if window.from_time > reached:
            return steps, (
                f"gap in the chain: the table holds {last} up to {format_instant(reached)}, the "
                f"next window {window.export_arn} starts at {format_instant(window.from_time)}; "
                "writes made in between are in no export. Take a new baseline (`ddbexport run "
                "-c FILE --rebaseline TABLE`, or `ddbexport invoke --rebaseline TABLE` for the "
                "pipeline), then sync again: a newer baseline is loaded as a whole"
            )
        position += 1
        steps.append(Step(MERGE, window, baseline, position))
        reached = window.to_time
        last = f"export {window.export_arn}"
    return steps, None
