"""ImportTable I/O: start the planned import (or follow an earlier one), wait for it, finish it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ddbexport.errors import AwsError, ConfigError, RetryableAwsError

from .api import RestoreApi
from .finish import aftercare
from .plan import RestorePlan, plan_restore
from .result import ImportProgress, RestoreResult
from .source import KeyAttribute

#: Import states after which nothing changes any more (CANCELLING still moves on).
TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
DEFAULT_POLL_S = 15.0
DEFAULT_TIMEOUT_S = 2 * 3600.0


def restore(
    target: str,
    table_name: str,
    *,
    api: RestoreApi,
    wait: bool = False,
    poll_s: float = DEFAULT_POLL_S,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[ImportProgress], None] | None = None,
    billing_mode: str | None = None,
    capacity: tuple[int, int] | None = None,
    kms_key: str | None = None,
    keys: Sequence[KeyAttribute] | None = None,
    bucket_owner: str | None = None,
    drop_local_indexes: bool = False,
    verify: bool = True,
    import_arn: str | None = None,
    new_import: bool = False,
) -> RestoreResult:
    """Import the FULL export ``target`` into the new table ``table_name``.

    Args:
        wait: follow the import to its end (DescribeImport every ``poll_s``, at most
            ``timeout_s``), then apply the source's TTL and tags.
        sleep, clock: how waits are made and time is measured (tests pass fast ones).
        progress: called with every DescribeImport answer while waiting.
        import_arn: an import this function started before (e.g. without ``wait``): follow it
            instead of starting one; the table then exists already.

    Other arguments as for :func:`plan_restore`.

    Raises:
        ConfigError: bad input; nothing was started.
        AwsError: an AWS call failed (ImportTable: nothing was started).
    """
    if poll_s <= 0 or timeout_s <= 0:
        raise ConfigError("the poll interval and the timeout must be longer than zero")
    if new_import and import_arn is not None:
        raise ConfigError("--new-import starts an import and --import-arn follows one: not both")
    plan = plan_restore(
        target,
        table_name,
        api=api,
        billing_mode=billing_mode,
        capacity=capacity,
        kms_key=kms_key,
        keys=keys,
        bucket_owner=bucket_owner,
        drop_local_indexes=drop_local_indexes,
        verify=verify,
        check_table=import_arn is None,
        new_import=new_import,
    )
    if import_arn is None:
        description = _start(api, plan)
    else:
        try:
            description = api.describe_import(import_arn)
        except AwsError as exc:
            if exc.code != "ImportNotFoundException":
                raise
            raise ConfigError(
                f"--import-arn {import_arn}: no such import (AWS lists imports for 90 days)"
            ) from None
        _check_same_import(plan, import_arn, description)
    arn = str(description.get("ImportArn") or import_arn or "")
    started = clock()
    timed_out = False
    if wait:
        if progress is not None:
            progress(ImportProgress.from_description(description, 0.0))
        while description.get("ImportStatus") not in TERMINAL_STATUSES:
            remaining = timeout_s - (clock() - started)
            if remaining <= 0:
                timed_out = True
                break
            sleep(min(poll_s, remaining))
            try:
                description = api.describe_import(arn)
            except RetryableAwsError:
                continue  # throttled or a server hiccup: the import goes on, look again later
            if progress is not None:
                progress(ImportProgress.from_description(description, clock() - started))
    state = ImportProgress.from_description(description, clock() - started)
    table_arn = description.get("TableArn")
    applied: list[str] = []
    problems: list[str] = []
    if wait and state.status == "COMPLETED":
        applied, problems = aftercare(api, plan, str(table_arn or ""))
    return RestoreResult(
        plan=plan,
        import_arn=arn,
        table_arn=str(table_arn) if table_arn else None,
        progress=state,
        waited=wait,
        timed_out=timed_out,
        failure_code=description.get("FailureCode"),
        failure_message=description.get("FailureMessage"),
        log_group=description.get("CloudWatchLogGroupArn") if state.error_count else None,
        applied=tuple(applied),
        problems=tuple(problems),
    )


def _start(api: RestoreApi, plan: RestorePlan) -> dict[str, Any]:
    called = datetime.now(UTC)
    try:
        description = api.import_table(plan.request)
    except AwsError as exc:
        if exc.code == "ResourceInUseException":
            # Created between the check and the call: still bad input, still nothing started.
            raise ConfigError(
                f"table {plan.table!r} already exists ({exc}): ImportTable only creates new tables"
            ) from None
        if "IdempotentParameterMismatch" in exc.code:
            raise ConfigError(
                f"an import of this export into {plan.table!r} with other settings was started "
                "in the last 8 hours (same ClientToken, other parameters): follow that one with "
                "--import-arn, or restore into another table name"
            ) from None
        raise
    if _an_earlier_import(description, called):
        raise ConfigError(
            f"AWS returned an earlier import of this export into {plan.table!r}, started at "
            f"{description['StartTime']} and {description['ImportStatus']} "
            f"({description.get('ImportArn')}): an import's ClientToken is remembered for 8 "
            "hours, so nothing new was started. Run again with --new-import to start a new import"
        )
    return description


#: How much earlier than our call an import must have started to be taken for an earlier one
#: (clocks differ; an emulator may finish an import within the call).
_EARLIER_IMPORT_SLACK = timedelta(minutes=1)


def _an_earlier_import(description: Mapping[str, Any], called: datetime) -> bool:
    """Whether ImportTable gave back an import that had ended before this call.

    A new import is IN_PROGRESS. An ended one that started before the call is an earlier import
    with the same ClientToken, which AWS returns for 8 hours instead of starting anything.
    """
    if description.get("ImportStatus") not in TERMINAL_STATUSES:
        return False
    started = description.get("StartTime")
    if isinstance(started, str):
        try:
            started = datetime.fromisoformat(started)
        except ValueError:
            return False
    if not isinstance(started, datetime):
        return False
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return started < called - _EARLIER_IMPORT_SLACK


def _check_same_import(plan: RestorePlan, import_arn: str, description: Mapping[str, Any]) -> None:
    """Refuse to follow an import of another table or another export."""
    table_arn = str(description.get("TableArn") or "")
    if table_arn and table_arn.rsplit("/", 1)[-1] != plan.table:
        raise ConfigError(f"import {import_arn} creates {table_arn}, not table {plan.table!r}")
    source = description.get("S3BucketSource")
    expected = plan.request["S3BucketSource"]
    if isinstance(source, Mapping) and (
        source.get("S3Bucket") != expected["S3Bucket"]
        or (source.get("S3KeyPrefix") or "") != expected["S3KeyPrefix"]
    ):
        raise ConfigError(
            f"import {import_arn} reads s3://{source.get('S3Bucket')}/"
            f"{source.get('S3KeyPrefix') or ''}, not this export's "
            f"s3://{expected['S3Bucket']}/{expected['S3KeyPrefix']}"
        )
