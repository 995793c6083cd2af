"""The Iceberg mirror: one Apache Iceberg table per DynamoDB table, kept by ``lake sync``.

The first sync loads the table's baseline (a full export); each incremental export of the chain
after it is applied as a MERGE (each key's last change: a delete removes the row, an insert or
update replaces it), one Iceberg snapshot per export whose summary names the export and its
instant, so time travel to that snapshot is the table as of that export
(:func:`snapshot_as_of`). The snapshot summaries are the sync's only state: a second sync applies
nothing twice, and a gap in the chain stops the table with the way out in the message.

Modules: :mod:`.columns` (attribute types → Iceberg columns), :mod:`.schema` (adding and
retyping columns), :mod:`.plan` (pure: which exports to apply), :mod:`.state` (what the table
holds, from its snapshots), :mod:`.writing` (one export → one snapshot), :mod:`.connect` (the
catalog ``[lake]`` names), :mod:`.sync` (the entry point). Nothing here prints or exits.
"""

from __future__ import annotations

from .connect import catalog_properties, connect, iceberg_name
from .errors import LakeError
from .plan import Applied, SyncPlan, plan_sync
from .state import ExportSnapshot, applied_state, export_snapshots, snapshot_as_of
from .sync import StepResult, SyncResult, TableSync, sync

__all__ = [
    "Applied",
    "ExportSnapshot",
    "LakeError",
    "StepResult",
    "SyncPlan",
    "SyncResult",
    "TableSync",
    "applied_state",
    "catalog_properties",
    "connect",
    "export_snapshots",
    "iceberg_name",
    "plan_sync",
    "snapshot_as_of",
    "sync",
]
