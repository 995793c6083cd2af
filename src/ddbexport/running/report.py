"""The run report: one record per table plus a summary, as ``ddbexport run --report`` writes it."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ddbexport.core.models import PlanProblem, where
from ddbexport.core.timeparse import format_instant

#: Terminal statuses a table can end a run with.
#: WAITING: an incremental table with nothing to export this run (``note`` says why).
TABLE_STATUSES = ("COMPLETED", "FAILED", "TIMED_OUT", "INTERRUPTED", "WAITING")


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why a table did not complete: AWS's (or our) error code and a message saying what to do."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class TableResult:
    """How one table's export ended."""

    table: str
    table_arn: str
    status: str
    export_time: datetime
    client_token: str
    export_arn: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str | None = None
    item_count: int | None = None
    billed_size_bytes: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    describe_calls: int = 0
    error: ErrorInfo | None = None
    verification: dict[str, Any] | None = None
    catalog_key: str | None = None
    schema_key: str | None = None
    warnings: tuple[str, ...] = ()
    export_type: str = "FULL_EXPORT"
    #: An incremental window ``[from_time, to_time)``.
    from_time: datetime | None = None
    to_time: datetime | None = None
    note: str | None = None
    #: With ``[[accounts]]``: the table's account and region (two accounts may hold tables of
    #: the same name).
    account: str | None = None
    region: str | None = None

    @property
    def sound(self) -> bool:
        """COMPLETED, not found broken by verification, and catalogued without trouble."""
        verified = self.verification is None or bool(self.verification.get("ok"))
        return self.status == "COMPLETED" and verified and not self.warnings

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the report's ``tables`` entries)."""
        return {
            "table": self.table,
            **where(self.account, self.region),
            "table_arn": self.table_arn,
            "status": self.status,
            "export_arn": self.export_arn,
            "s3_bucket": self.s3_bucket,
            "s3_prefix": self.s3_prefix,
            "item_count": self.item_count,
            "billed_size_bytes": self.billed_size_bytes,
            "start_time": _instant(self.start_time),
            "end_time": _instant(self.end_time),
            "describe_calls": self.describe_calls,
            "export_type": self.export_type,
            "export_time": format_instant(self.export_time),
            "from_time": _instant(self.from_time),
            "to_time": _instant(self.to_time),
            "note": self.note,
            "client_token": self.client_token,
            "error": self.error.to_dict() if self.error else None,
            "verification": self.verification,
            "catalog_key": self.catalog_key,
            "schema_key": self.schema_key,
            "warnings": list(self.warnings),
        }


def problem_result(problem: PlanProblem, export_time: datetime) -> TableResult:
    """The report's row for a table the plan found it could not export (missing, unreadable,
    its account unreachable …)."""
    return TableResult(
        table=problem.table,
        table_arn="",
        status="FAILED",
        export_time=export_time,
        client_token="",
        error=ErrorInfo(problem.code, problem.message),
        account=problem.account,
        region=problem.region,
    )


@dataclass(frozen=True, slots=True)
class RunReport:
    """The outcome of a run."""

    run_id: str
    export_time: datetime
    started_at: datetime
    finished_at: datetime
    tables: tuple[TableResult, ...]
    interrupted: bool = False
    summary: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        counts = Counter(result.status for result in self.tables)
        summary = {status: counts.get(status, 0) for status in TABLE_STATUSES}
        summary["total"] = len(self.tables)
        summary["not_sound"] = sum(
            1 for result in self.tables if result.status == "COMPLETED" and not result.sound
        )
        object.__setattr__(self, "summary", summary)

    @property
    def all_completed(self) -> bool:
        """True when every table's export COMPLETED."""
        return all(result.status == "COMPLETED" for result in self.tables)

    @property
    def exit_code(self) -> int:
        """0 every export completed and sound (incremental tables may be WAITING), 130
        interrupted, 1 otherwise (the CLI's exit status)."""
        if self.interrupted:
            return 130
        fine = all(result.sound or result.status == "WAITING" for result in self.tables)
        return 0 if fine else 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "export_time": format_instant(self.export_time),
            "started_at": format_instant(self.started_at),
            "finished_at": format_instant(self.finished_at),
            "interrupted": self.interrupted,
            "tables": [result.to_dict() for result in self.tables],
            "summary": self.summary,
        }

    def write(self, path: Path) -> None:
        """Write the report as indented JSON (atomically: a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        partial.replace(path)


def _instant(moment: datetime | None) -> str | None:
    return format_instant(moment) if moment else None
