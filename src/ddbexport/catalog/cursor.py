"""Where a table's chain of COMPLETED exports stands: its baseline, its links, its end. Pure.

Both runners continue a chain from here: the local runner plans its next window from the cursor
(:mod:`ddbexport.planning.windows`), and the chain object the pipeline reads is written from it
(:mod:`ddbexport.catalog.chainstate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ddbexport.core.timeparse import format_instant, require_utc

from .chain import ChainError, find_chain, windows_after
from .records import CatalogRecord

#: Ignored records: one starting inside the chain but not where a link ends (or a second
#: window from the same start that the chain does not go through), and one starting after the
#: chain's end, which leaves writes between them unexported.
OVERLAP = "overlap"
GAP = "gap"


@dataclass(frozen=True, slots=True)
class IgnoredRecord:
    """A good incremental export the chain does not go through."""

    record: CatalogRecord
    kind: str  # OVERLAP | GAP
    reason: str


@dataclass(frozen=True, slots=True)
class ChainCursor:
    """Where a table's chain of COMPLETED exports stands.

    Attributes:
        baseline: the newest good full export, or ``None``.
        links: the incremental exports from the baseline to ``end``, in order.
        end: where the chain ends (the next window's ExportFromTime); ``None`` without baseline.
        ignored: good incremental exports after the baseline that are not links.
    """

    baseline: CatalogRecord | None
    links: tuple[CatalogRecord, ...] = ()
    end: datetime | None = None
    ignored: tuple[IgnoredRecord, ...] = ()


def cursor_to_dict(table_arn: str, cursor: ChainCursor) -> dict[str, Any]:
    """A JSON-ready view of a table's chain: baseline, links in order, end, ignored exports."""

    def export(record: CatalogRecord) -> dict[str, Any]:
        return {
            "export_arn": record.export_arn,
            "export_type": record.export_type,
            "export_time": _instant(record.export_time),
            "from_time": _instant(record.from_time),
            "to_time": _instant(record.to_time),
            "folder": f"s3://{record.s3_bucket}/{record.export_folder}/",
            "items": record.item_count,
        }

    return {
        "table_arn": table_arn,
        "baseline": export(cursor.baseline) if cursor.baseline else None,
        "links": [export(link) for link in cursor.links],
        "end": _instant(cursor.end),
        "ignored": [
            {**export(item.record), "kind": item.kind, "reason": item.reason}
            for item in cursor.ignored
        ],
    }


def _instant(moment: datetime | None) -> str | None:
    return format_instant(moment) if moment is not None else None


def cursor_of(records: Sequence[CatalogRecord], table_arn: str) -> ChainCursor:
    """Where the chain of ``table_arn``'s COMPLETED exports ends.

    Unlike :func:`.chain.find_chain`, which reads through overlapping windows, a link here must
    start exactly where the chain so far ends: the planner then never plans around an export it
    cannot account for. When several windows share a start, the chain follows the branch that
    reaches furthest. Windows wholly before the baseline (older chains) are skipped; other good
    windows that are not links are returned in ``ignored``.

    Raises:
        ConfigError: a record's times are naive (no timezone).
    """
    own = [record for record in records if record.table_arn == table_arn]
    for record in own:
        for name in ("export_time", "from_time", "to_time"):
            value = getattr(record, name)
            if value is not None:
                require_utc(value, f"{name} of {record.export_arn}")
    try:
        baseline = find_chain(own, allow_gaps=True).baseline
    except ChainError:
        # With one table's records and gaps allowed, the only refusal is "no good full export".
        return ChainCursor(None)
    assert baseline.export_time is not None
    start = baseline.export_time
    candidates = windows_after(own, start)
    # Windows only go forward in time, so in start order every way into a start is known
    # before the windows leaving it: one pass finds every instant the chain can reach.
    reached_by: dict[datetime, CatalogRecord | None] = {start: None}
    for record in candidates:
        assert record.from_time is not None
        assert record.to_time is not None
        if record.from_time in reached_by and record.to_time not in reached_by:
            reached_by[record.to_time] = record
    end = max(reached_by)
    links: list[CatalogRecord] = []
    moment = end
    while (link := reached_by[moment]) is not None:
        links.append(link)
        assert link.from_time is not None
        moment = link.from_time
    links.reverse()
    chosen = {link.export_arn for link in links}
    ignored: list[IgnoredRecord] = []
    for record in candidates:
        if record.export_arn in chosen:
            continue
        assert record.from_time is not None
        assert record.to_time is not None
        span = f"{format_instant(record.from_time)} to {format_instant(record.to_time)}"
        if record.from_time > end:
            ignored.append(
                IgnoredRecord(
                    record,
                    GAP,
                    f"{span} starts after the chain's end {format_instant(end)}: "
                    "the writes in between are in no export",
                )
            )
        else:
            ignored.append(
                IgnoredRecord(
                    record,
                    OVERLAP,
                    f"{span} overlaps the chain ({format_instant(start)} to "
                    f"{format_instant(end)}) without being one of its links",
                )
            )
    return ChainCursor(baseline, tuple(links), end, tuple(ignored))
