"""How fresh each table's exports are, from its catalog records. Pure functions only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ddbexport.core.timeparse import format_duration, format_instant

from .records import CatalogRecord

#: States; every one but OK makes ``ddbexport status`` exit 3.
OK = "OK"
STALE = "STALE"
MISSING = "MISSING"
FAILING = "FAILING"


@dataclass(frozen=True, slots=True)
class TableStatus:
    """One table's latest good export and what is wrong, if anything."""

    table: str
    bucket: str
    state: str
    latest: CatalogRecord | None
    age_s: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        latest = self.latest
        return {
            "table": self.table,
            "bucket": self.bucket,
            "state": self.state,
            "reason": self.reason,
            "age_s": None if self.age_s is None else round(self.age_s),
            "export_arn": latest.export_arn if latest else None,
            "export_type": latest.export_type if latest else None,
            "as_of": format_instant(latest.as_of) if latest and latest.as_of else None,
            "item_count": latest.item_count if latest else None,
            "verified": latest.verified if latest else None,
        }


def table_status(
    table: str,
    bucket: str,
    records: Sequence[CatalogRecord],
    *,
    now: datetime,
    max_age_s: float,
) -> TableStatus:
    """The state of ``table`` given its catalog records (any order)."""
    ordered = sorted(records, key=lambda r: (r.as_of or r.start_time or now, r.export_id))
    good = [record for record in ordered if record.good]
    latest = good[-1] if good else None
    newest = ordered[-1] if ordered else None
    age = (now - latest.as_of).total_seconds() if latest and latest.as_of else None
    if newest is not None and not newest.good:
        # A failure after the last good export is news even when that export is still fresh.
        why = _failure_text(newest)
        return TableStatus(table, bucket, FAILING, latest, age, why)
    if latest is None:
        return TableStatus(table, bucket, MISSING, None, None, "no completed export catalogued")
    if age is not None and age > max_age_s:
        reason = (
            f"latest good export is {format_duration(age)} old (max {format_duration(max_age_s)})"
        )
        return TableStatus(table, bucket, STALE, latest, age, reason)
    return TableStatus(table, bucket, OK, latest, age, "")


def _failure_text(record: CatalogRecord) -> str:
    when = format_instant(record.as_of) if record.as_of else "?"
    if record.status == "FAILED":
        failure = record.failure or {}
        code = failure.get("code", "ExportFailed")
        return f"latest export ({when}) FAILED: {code}: {failure.get('message', '')}".rstrip(": ")
    problems = (record.verification or {}).get("problems", [])
    return f"latest export ({when}) failed verification ({len(problems)} problem(s))"
