"""What an Iceberg table holds, from its snapshots' summaries: the table is its own sync state.

Each snapshot a sync commits carries ``ddbexport.*`` properties in its summary: the export
applied, its instant, the baseline, the chain position. The newest snapshot that has them (a
compaction by another engine may come after it) says where the next sync starts; nothing else is
kept anywhere, so a second machine syncing the same table continues where the first stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from ddbexport.core.timeparse import format_instant, parse_instant

from .plan import Applied, Step

TABLE_ARN = "ddbexport.table-arn"
EXPORT_ARN = "ddbexport.export-arn"
EXPORT_TYPE = "ddbexport.export-type"
EXPORT_TIME = "ddbexport.export-time"
BASELINE_ARN = "ddbexport.baseline-arn"
BASELINE_TIME = "ddbexport.baseline-time"
POSITION = "ddbexport.chain-position"


def summary_properties(step: Step) -> dict[str, str]:
    """The summary properties of the snapshot that applies ``step``."""
    baseline_time = step.baseline.export_time
    assert baseline_time is not None
    return {
        TABLE_ARN: step.record.table_arn,
        EXPORT_ARN: step.record.export_arn,
        EXPORT_TYPE: step.record.export_type,
        EXPORT_TIME: format_instant(step.as_of),
        BASELINE_ARN: step.baseline.export_arn,
        BASELINE_TIME: format_instant(baseline_time),
        POSITION: str(step.position),
    }


def applied_state(table: Table) -> Applied | None:
    """The last export the table holds; None when no sync ever committed to it."""
    for snapshot in _history(table):
        properties = snapshot.summary.additional_properties if snapshot.summary else {}
        if EXPORT_ARN not in properties:
            continue
        try:
            return Applied(
                table_arn=properties[TABLE_ARN],
                export_arn=properties[EXPORT_ARN],
                as_of=parse_instant(properties[EXPORT_TIME]),
                baseline_arn=properties[BASELINE_ARN],
                baseline_time=parse_instant(properties[BASELINE_TIME]),
                position=int(properties[POSITION]),
                snapshot_id=snapshot.snapshot_id,
            )
        except (KeyError, ValueError) as exc:
            raise ValueError(
                f"snapshot {snapshot.snapshot_id} of Iceberg table {table.name()} has a damaged "
                f"ddbexport summary ({exc}); `ddbexport lake sync --rebuild` reloads the table"
            ) from None
    return None


@dataclass(frozen=True, slots=True)
class ExportSnapshot:
    """A snapshot that applied an export: time travel to ``snapshot_id`` shows the table as of
    ``as_of``."""

    snapshot_id: int
    export_arn: str
    as_of: datetime


def export_snapshots(table: Table) -> list[ExportSnapshot]:
    """The snapshots of the current history that applied an export, oldest first."""
    found = []
    for snapshot in _history(table):
        properties = snapshot.summary.additional_properties if snapshot.summary else {}
        if EXPORT_ARN in properties and EXPORT_TIME in properties:
            found.append(
                ExportSnapshot(
                    snapshot.snapshot_id,
                    properties[EXPORT_ARN],
                    parse_instant(properties[EXPORT_TIME]),
                )
            )
    return found[::-1]


def snapshot_as_of(table: Table, instant: datetime) -> ExportSnapshot | None:
    """The snapshot showing the table as of ``instant``: the newest export at or before it."""
    chosen = None
    for snapshot in export_snapshots(table):
        if snapshot.as_of <= instant and (chosen is None or snapshot.as_of >= chosen.as_of):
            chosen = snapshot
    return chosen


def _history(table: Table) -> Iterator[Snapshot]:
    """The current snapshot and its ancestors, newest first."""
    snapshot = table.current_snapshot()
    while snapshot is not None:
        yield snapshot
        parent = snapshot.parent_snapshot_id
        snapshot = table.snapshot_by_id(parent) if parent is not None else None
