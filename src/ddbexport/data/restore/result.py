"""What a restore reports: one look at an import (:class:`ImportProgress`) and the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .plan import RestorePlan


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """One look at an import (DescribeImport)."""

    status: str
    processed_items: int
    imported_items: int
    error_count: int
    processed_bytes: int
    elapsed_s: float

    @classmethod
    def from_description(cls, description: Mapping[str, Any], elapsed_s: float) -> ImportProgress:
        """From an ImportTableDescription."""
        return cls(
            status=str(description.get("ImportStatus") or "IN_PROGRESS"),
            processed_items=int(description.get("ProcessedItemCount") or 0),
            imported_items=int(description.get("ImportedItemCount") or 0),
            error_count=int(description.get("ErrorCount") or 0),
            processed_bytes=int(description.get("ProcessedSizeBytes") or 0),
            elapsed_s=elapsed_s,
        )


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What a restore did.

    Attributes:
        plan: the decisions and the request sent.
        import_arn: the import's ARN; ``table_arn`` the new table's.
        progress: the last DescribeImport (or ImportTable) answer.
        waited: whether the restore waited for the import; ``timed_out`` whether it gave up.
        failure_code, failure_message: why a FAILED or CANCELLED import ended.
        log_group: the CloudWatch log group holding the item errors, when there were any.
        applied: what was applied to the new table after the import (TTL, tags).
        problems: what should have been applied but was not, with how to do it by hand.
    """

    plan: RestorePlan
    import_arn: str
    table_arn: str | None
    progress: ImportProgress
    waited: bool
    timed_out: bool = False
    failure_code: str | None = None
    failure_message: str | None = None
    log_group: str | None = None
    applied: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """The import's last known status."""
        return self.progress.status

    @property
    def ok(self) -> bool:
        """Started (not waiting), or COMPLETED with TTL and tags applied (waiting)."""
        if not self.waited:
            return self.status not in ("FAILED", "CANCELLED", "CANCELLING")
        return self.status == "COMPLETED" and not self.problems

    @property
    def exit_code(self) -> int:
        """0 when :attr:`ok`, else 1."""
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "table": self.plan.table,
            "table_arn": self.table_arn,
            "import_arn": self.import_arn,
            "status": self.status,
            "ok": self.ok,
            "waited": self.waited,
            "timed_out": self.timed_out,
            "processed_items": self.progress.processed_items,
            "imported_items": self.progress.imported_items,
            "error_count": self.progress.error_count,
            "processed_bytes": self.progress.processed_bytes,
            "elapsed_s": round(self.progress.elapsed_s, 3),
            "failure_code": self.failure_code,
            "failure_message": self.failure_message,
            "cloudwatch_log_group": self.log_group,
            "applied": list(self.applied),
            "problems": list(self.problems),
            "plan": self.plan.to_dict(),
        }
