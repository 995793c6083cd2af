"""What a snapshot wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ddbexport.catalog.chain import Gap
from ddbexport.catalog.records import CatalogRecord
from ddbexport.core.timeparse import format_instant


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """What a snapshot wrote.

    Attributes:
        table, table_arn: the table.
        as_of: the instant the items show the table at.
        format: ``dynamodb-json``, ``jsonl`` or ``parquet``.
        output: the folder, file or ``s3://`` prefix written.
        export_folder: (``dynamodb-json``) the snapshot's export folder in ``output``: what
            ``restore`` takes once it is in S3.
        items: items written.
        baseline: the FULL export the snapshot starts from.
        incrementals: the INCREMENTAL exports merged in, in window order.
        gaps: time no export covers (only with ``allow_gaps``): writes made then are missing.
        changes_applied: changes written after the baseline and no later than ``as_of``.
        changes_skipped: changes already in the baseline, or written after ``as_of``.
        notes: what a reader of the snapshot should know.
    """

    table: str
    table_arn: str
    as_of: datetime
    format: str
    output: str
    export_folder: str | None
    items: int
    baseline: CatalogRecord
    incrementals: tuple[CatalogRecord, ...]
    gaps: tuple[Gap, ...]
    changes_applied: int
    changes_skipped: int
    notes: tuple[str, ...] = ()

    @property
    def exports(self) -> tuple[str, ...]:
        """The ARNs of the exports merged: the baseline, then the incrementals."""
        return (self.baseline.export_arn, *(record.export_arn for record in self.incrementals))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "table": self.table,
            "table_arn": self.table_arn,
            "as_of": format_instant(self.as_of),
            "format": self.format,
            "output": self.output,
            "export_folder": self.export_folder,
            "items": self.items,
            "baseline": self.baseline.export_arn,
            "incrementals": [record.export_arn for record in self.incrementals],
            "gaps": [
                {"from": format_instant(gap.start), "to": format_instant(gap.end)}
                for gap in self.gaps
            ],
            "changes_applied": self.changes_applied,
            "changes_skipped": self.changes_skipped,
            "notes": list(self.notes),
        }
