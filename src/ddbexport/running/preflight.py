"""Checks before exporting: tables, PITR windows, buckets (and their owners), KMS keys.

``ddbexport check`` runs all of them and prints a fix for each finding. ``run`` performs the cheap
ones (one HeadBucket per bucket, one DescribeKey per key) before it starts anything, so a typo in a
bucket name fails its tables at once with the reason, instead of as exports that end FAILED later.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from ddbexport.core.models import ExportPlan, ExportRequest, PlanProblem
from ddbexport.core.ports import ExportApi
from ddbexport.core.timeparse import format_instant
from ddbexport.errors import AccessDenied, AwsError, BucketNotFound, ConfigError, KeyNotFound

TABLE = "table"
PITR = "pitr"
BUCKET = "bucket"
KMS = "kms"


@runtime_checkable
class PreflightApi(ExportApi, Protocol):
    """The reads the checks need beyond the planner's."""

    def check_bucket(self, bucket: str, expected_owner: str | None = None) -> None:
        """HeadBucket; raises BucketNotFound or AccessDenied."""

    def describe_key(self, key: str) -> dict[str, Any]:
        """KMS DescribeKey's KeyMetadata."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One check of one table: what was checked, whether it passed, and how to fix it."""

    table: str
    subject: str  # table | pitr | bucket | kms
    ok: bool
    detail: str
    fix: str = ""
    code: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "table": self.table,
            "check": self.subject,
            "ok": self.ok,
            "detail": self.detail,
            "fix": self.fix,
            "code": self.code,
        }


@dataclass(slots=True)
class CheckReport:
    """Every finding of a check, in table order."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        """The findings that did not pass."""
        return [finding for finding in self.findings if not finding.ok]

    @property
    def ok(self) -> bool:
        """True when nothing needs fixing."""
        return not self.problems


def account_of(table_arn: str) -> str | None:
    """The account id in a table ARN."""
    parts = table_arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


class _Resources:
    """Bucket and key checks, each made once however many tables share them."""

    def __init__(self, api: PreflightApi) -> None:
        self._api = api
        self._buckets: dict[tuple[str, str | None], Finding] = {}
        self._keys: dict[str, Finding] = {}

    def bucket(self, request: ExportRequest) -> Finding:
        owner = request.bucket_owner or account_of(request.table_arn)
        cache_key = (request.bucket, owner)
        if cache_key not in self._buckets:
            self._buckets[cache_key] = self._check_bucket(request, owner)
        return replace(self._buckets[cache_key], table=request.table)

    def _check_bucket(self, request: ExportRequest, owner: str | None) -> Finding:
        bucket = request.bucket
        try:
            self._api.check_bucket(bucket, owner)
        except BucketNotFound as exc:
            return Finding(
                request.table,
                BUCKET,
                False,
                f"bucket {bucket!r} does not exist",
                "create it, or correct the bucket name in the config",
                exc.code,
            )
        except AccessDenied as exc:
            if request.bucket_owner:
                fix = (
                    f"check that account {request.bucket_owner} owns {bucket!r} and that its "
                    "bucket policy lets this account write exports"
                )
            else:
                fix = (
                    "if the bucket belongs to another account, set bucket_owner to that account "
                    "id; else grant s3:ListBucket on it"
                )
            return Finding(request.table, BUCKET, False, str(exc), fix, exc.code)
        except AwsError as exc:
            return Finding(request.table, BUCKET, False, str(exc), "", exc.code)
        owned = f", owned by {owner}" if owner else ""
        return Finding(request.table, BUCKET, True, f"bucket {bucket!r} exists{owned}")

    def key(self, request: ExportRequest) -> Finding | None:
        if not request.kms_key:
            return None
        if request.kms_key not in self._keys:
            self._keys[request.kms_key] = self._check_key(request.table, request.kms_key)
        return replace(self._keys[request.kms_key], table=request.table)

    def _check_key(self, table: str, key: str) -> Finding:
        try:
            metadata = self._api.describe_key(key)
        except KeyNotFound as exc:
            fix = "correct kms_key (a key id, ARN or alias/NAME in the table's region)"
            return Finding(table, KMS, False, f"KMS key {key!r} does not exist", fix, exc.code)
        except AccessDenied as exc:
            fix = "grant kms:DescribeKey, kms:GenerateDataKey and kms:Decrypt on the key"
            return Finding(table, KMS, False, str(exc), fix, exc.code)
        except AwsError as exc:
            return Finding(table, KMS, False, str(exc), "", exc.code)
        state = str(metadata.get("KeyState", "Enabled"))
        usage = str(metadata.get("KeyUsage", "ENCRYPT_DECRYPT"))
        if state != "Enabled":
            return Finding(
                table,
                KMS,
                False,
                f"KMS key {key!r} is {state}",
                f"enable it: aws kms enable-key --key-id {key}",
                "KeyUnusable",
            )
        if usage != "ENCRYPT_DECRYPT":
            return Finding(
                table,
                KMS,
                False,
                f"KMS key {key!r} is for {usage}, not ENCRYPT_DECRYPT",
                "use a symmetric encryption key",
                "KeyUnusable",
            )
        return Finding(table, KMS, True, f"KMS key {key!r} is enabled")


def check_plan(plan: ExportPlan, api: PreflightApi) -> CheckReport:
    """Every check for every table of the plan (``ddbexport check``)."""
    report = CheckReport()
    resources = _Resources(api)
    for problem in plan.problems:
        fix = "check the table name and the region" if problem.code == "TableNotFound" else ""
        report.findings.append(
            Finding(problem.table, TABLE, False, problem.message, fix, problem.code)
        )
    for request in plan.requests:
        report.findings.append(Finding(request.table, TABLE, True, request.table_arn))
        report.findings.append(_pitr_finding(api, request))
        report.findings.append(resources.bucket(request))
        key = resources.key(request)
        if key is not None:
            report.findings.append(key)
    report.findings.sort(key=lambda finding: finding.table)
    return report


def _pitr_finding(api: ExportApi, request: ExportRequest) -> Finding:
    table = request.table
    try:
        window = api.describe_pitr(table)
    except AwsError as exc:
        return Finding(table, PITR, False, str(exc), "", exc.code)
    if not window.enabled:
        return Finding(
            table,
            PITR,
            False,
            "point-in-time recovery is off",
            f"aws dynamodb update-continuous-backups --table-name {table} "
            "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true "
            "(or run with --enable-pitr)",
            "PointInTimeRecoveryUnavailableException",
        )
    earliest = format_instant(window.earliest) if window.earliest else "?"
    latest = format_instant(window.latest) if window.latest else "?"
    if window.earliest is not None and request.export_time < window.earliest:
        return Finding(
            table,
            PITR,
            False,
            f"export time {format_instant(request.export_time)} is before the PITR window "
            f"({earliest} .. {latest})",
            "choose a later --as-of",
            "InvalidExportTimeException",
        )
    return Finding(table, PITR, True, f"PITR window {earliest} .. {latest}")


def apply_cheap_checks(plan: ExportPlan, api: PreflightApi, *, explicit_time: bool) -> ExportPlan:
    """What ``run`` checks before starting: buckets and keys (tables that fail them become plan
    problems), and, for an export time given explicitly, every table's PITR window.

    Raises:
        ConfigError: an explicit export time lies before a table's PITR window; nothing started.
    """
    if explicit_time:
        outside = [
            finding
            for finding in (_pitr_finding(api, request) for request in plan.requests)
            if finding.code == "InvalidExportTimeException"
        ]
        if outside:
            tables = "; ".join(f"table {f.table!r}: {f.detail}" for f in outside)
            raise ConfigError(
                f"{tables}. Choose a later export time (--as-of, or the payload's time), or "
                "leave those tables out"
            )
    resources = _Resources(api)
    keep: list[ExportRequest] = []
    problems = list(plan.problems)
    for request in plan.requests:
        failed = [
            finding
            for finding in (resources.bucket(request), resources.key(request))
            if finding is not None and not finding.ok
        ]
        if failed:
            first = failed[0]
            message = first.detail + (f"; {first.fix}" if first.fix else "")
            problems.append(PlanProblem(request.table, first.code or "PreflightFailed", message))
        else:
            keep.append(request)
    return replace(plan, requests=tuple(keep), problems=tuple(problems))
