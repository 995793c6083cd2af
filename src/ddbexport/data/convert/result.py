"""What a conversion wrote."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConvertResult:
    """What was written.

    Attributes:
        format: ``jsonl``, ``csv`` or ``parquet``.
        rows: items (FULL export) or changes (INCREMENTAL export) written.
        changes: True when the rows are changes.
        columns: the columns, for CSV and Parquet.
        notes: what a reader of the output should know (e.g. columns whose type varies).
    """

    format: str
    rows: int
    changes: bool
    columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
