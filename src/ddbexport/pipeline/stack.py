"""Deploy, destroy and invoke the pipeline's stack (the I/O half of the pipeline).

Deploys go through a change set: created, waited for, executed, waited for; a failure reports
the stack events that say why. Every wait's poll interval is a parameter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ddbexport.aws.adapter import AwsApi
from ddbexport.catalog.chainstate import chain_key, read_chain_state, write_chain_state
from ddbexport.config.model import Config
from ddbexport.errors import AwsError, ConfigError, DdbExportError

from .names import records_prefix, with_stack_name
from .synth import synth, table_settings
from .template import STATE_MACHINE, Synthesis

#: CloudFormation's limit for TemplateBody; larger templates go through S3.
TEMPLATE_BODY_LIMIT = 51_200

Progress = Callable[[str], None]
Sleep = Callable[[float], None]


class StackError(DdbExportError):
    """A stack operation failed; the message carries CloudFormation's reasons."""


#: Stack states a deploy cannot move on from by itself, and what to do about each.
_STUCK = {
    "DELETE_FAILED": "delete it (ddbexport destroy, or the console keeping what failed)",
    "UPDATE_ROLLBACK_FAILED": "continue its rollback (console or continue-update-rollback)",
    "ROLLBACK_FAILED": "delete it (ddbexport destroy)",
}


@dataclass(slots=True)
class DeployResult:
    """What ``deploy`` did."""

    stack: str
    status: str
    changed: bool
    outputs: dict[str, str] = field(default_factory=dict)


def _quiet(_: str) -> None:
    return None


def _template_source(api: AwsApi, config: Config, synthesis: Synthesis) -> dict[str, str]:
    body = json.dumps(synthesis.template, separators=(",", ":"))
    if len(body.encode()) <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": body}
    bucket = config.defaults.bucket
    if not bucket:
        raise StackError(
            f"the template is {len(body):,} bytes (CloudFormation takes {TEMPLATE_BODY_LIMIT:,} "
            "inline) and the config has no defaults.bucket to stage it in"
        )
    key = f"ddbexport-catalog/templates/{config.pipeline.stack_name}.json"
    api.put_object(bucket, key, body.encode())
    return {"TemplateURL": f"https://{bucket}.s3.amazonaws.com/{key}"}


def _wait(
    read: Callable[[], str | None],
    done: Callable[[str], bool],
    *,
    poll_s: float,
    timeout_s: float,
    sleep: Sleep,
    what: str,
) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        status = read()
        if status is not None and done(status):
            return status
        if time.monotonic() >= deadline:
            raise StackError(f"{what} still {status} after {timeout_s:.0f}s")
        sleep(poll_s)


def _failure_reasons(api: AwsApi, stack: str) -> str:
    try:
        events = api.stack_events(stack)
    except AwsError:
        return ""
    reasons = [
        f"{event.get('LogicalResourceId')}: {event.get('ResourceStatus')}: "
        f"{event.get('ResourceStatusReason')}"
        for event in events
        if str(event.get("ResourceStatus", "")).endswith("FAILED")
    ]
    return "; ".join(reversed(reasons[:10]))


def deploy(
    config: Config,
    api: AwsApi,
    *,
    stack: str | None = None,
    poll_s: float = 5.0,
    timeout_s: float = 1800.0,
    progress: Progress = _quiet,
    sleep: Sleep = time.sleep,
) -> DeployResult:
    """Create or update the pipeline's stack from ``config``.

    Raises:
        StackError: the change set or the stack operation failed (with CloudFormation's reasons).
    """
    config = with_stack_name(config, stack)
    name = config.pipeline.stack_name
    synthesis = synth(config, api)
    if synthesis.table_list_object is not None:
        # Too big for an SSM parameter: the state machine reads it from S3.
        api.put_object(
            synthesis.records_bucket,
            synthesis.table_list_object,
            synthesis.table_list.object_body.encode(),
            kms_key=config.defaults.kms_key,
            bucket_owner=config.defaults.bucket_owner,
        )
        progress(
            f"table list uploaded to s3://{synthesis.records_bucket}/{synthesis.table_list_object}"
        )
    existing = api.describe_stack(name)
    current = str(existing.get("StackStatus")) if existing else None
    if current == "ROLLBACK_COMPLETE":
        # A first creation that failed leaves an empty stack CloudFormation can only delete.
        progress(f"stack {name} is ROLLBACK_COMPLETE (its creation failed): deleting it first")
        _delete(api, name, poll_s=poll_s, timeout_s=timeout_s, sleep=sleep)
        existing = current = None
    elif current in _STUCK:
        raise StackError(
            f"stack {name} is {current}: {_STUCK[current]} "
            f"({_failure_reasons(api, name) or 'see its events'})"
        )
    elif current and current.endswith("_IN_PROGRESS") and current != "REVIEW_IN_PROGRESS":
        raise StackError(f"stack {name} is busy ({current}); deploy again once it has finished")
    create = existing is None or current == "REVIEW_IN_PROGRESS"
    change_set = "ddbexport-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    arn = api.create_change_set(
        name, change_set, _template_source(api, config, synthesis), create=create
    )
    progress(f"change set {change_set} created ({'new stack' if create else 'update'})")
    status = _wait(
        lambda: str(api.describe_change_set(arn).get("Status")),
        lambda s: s in ("CREATE_COMPLETE", "FAILED"),
        poll_s=poll_s,
        timeout_s=timeout_s,
        sleep=sleep,
        what="change set",
    )
    if status == "FAILED":
        reason = str(api.describe_change_set(arn).get("StatusReason", ""))
        if "didn't contain changes" in reason or "No updates" in reason:
            api.delete_change_set(arn)
            progress("no changes: the stack is up to date")
            return DeployResult(
                name, str((existing or {}).get("StackStatus")), False, _outputs(existing)
            )
        raise StackError(f"change set {change_set} failed: {reason}")
    api.execute_change_set(arn)
    progress("change set executing")
    final = _wait(
        lambda: str((api.describe_stack(name) or {}).get("StackStatus")),
        lambda s: s.endswith("_COMPLETE") or s.endswith("_FAILED"),
        poll_s=poll_s,
        timeout_s=timeout_s,
        sleep=sleep,
        what=f"stack {name}",
    )
    if final not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise StackError(f"stack {name} ended {final}: {_failure_reasons(api, name)}")
    described = api.describe_stack(name)
    progress(f"stack {name}: {final}")
    return DeployResult(name, final, True, _outputs(described))


def _outputs(stack: dict[str, Any] | None) -> dict[str, str]:
    if not stack:
        return {}
    return {str(o["OutputKey"]): str(o["OutputValue"]) for o in stack.get("Outputs", [])}


def destroy(
    config: Config,
    api: AwsApi,
    *,
    stack: str | None = None,
    poll_s: float = 5.0,
    timeout_s: float = 1800.0,
    progress: Progress = _quiet,
    sleep: Sleep = time.sleep,
) -> str:
    """Delete the pipeline's stack (exports and run records in S3 are kept)."""
    name = with_stack_name(config, stack).pipeline.stack_name
    if api.describe_stack(name) is None:
        raise StackError(f"stack {name!r} does not exist (in this account and region)")
    progress(f"deleting stack {name}")
    return _delete(api, name, poll_s=poll_s, timeout_s=timeout_s, sleep=sleep)


def _delete(api: AwsApi, name: str, *, poll_s: float, timeout_s: float, sleep: Sleep) -> str:
    api.delete_stack(name)
    status = _wait(
        lambda: str(
            (api.describe_stack(name) or {"StackStatus": "DELETE_COMPLETE"})["StackStatus"]
        ),
        lambda s: s in ("DELETE_COMPLETE", "DELETE_FAILED"),
        poll_s=poll_s,
        timeout_s=timeout_s,
        sleep=sleep,
        what=f"stack {name}",
    )
    if status != "DELETE_COMPLETE":
        raise StackError(f"stack {name} ended {status}: {_failure_reasons(api, name)}")
    return status


@dataclass(slots=True)
class InvokeResult:
    """An execution started by ``invoke`` and, when followed, how it ended."""

    execution_arn: str
    run_id: str
    status: str
    tables: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def request_rebaseline(config: Config, api: AwsApi, tables: Collection[str]) -> None:
    """Mark the chain objects of ``tables`` (incremental tables of ``config``) so that the
    pipeline's next run takes a new full export of each.

    Raises:
        ConfigError: a name that is not an incremental table of the config.
    """
    settings = {setting.table: setting for setting in table_settings(config, api)}
    incremental = {
        name for name, setting in settings.items() if setting.destination.mode == "incremental"
    }
    stray = sorted(set(tables) - incremental)
    if stray:
        raise ConfigError(
            f"--rebaseline {', '.join(stray)}: not an incremental table of this config"
        )
    for table in sorted(tables):
        destination = settings[table].destination
        assert destination.bucket is not None
        key = chain_key(config.catalog.prefix, table)
        state = read_chain_state(api, destination.bucket, key) or {"version": 1, "table": table}
        write_chain_state(
            api,
            destination.bucket,
            key,
            {**state, "rebaseline": True},
            kms_key=destination.kms_key,
            bucket_owner=destination.bucket_owner,
        )


def invoke(
    config: Config,
    api: AwsApi,
    *,
    stack: str | None = None,
    run_id: str | None = None,
    as_of: datetime | None = None,
    follow: bool = False,
    poll_s: float = 10.0,
    timeout_s: float = 24 * 3600.0,
    progress: Progress = _quiet,
    sleep: Sleep = time.sleep,
    rebaseline: Collection[str] = (),
) -> InvokeResult:
    """Start an execution now (as of ``as_of``, else its start) and, with ``follow``, wait for it
    and read each table's record.

    ``rebaseline``: incremental tables whose chain object is marked first, so that this run
    takes a new full export of them and restarts their chains.
    """
    name = with_stack_name(config, stack).pipeline.stack_name
    if api.describe_stack(name) is None:
        raise StackError(f"stack {name!r} does not exist: run ddbexport deploy first")
    machine = api.stack_resource(name, STATE_MACHINE)
    if not machine:
        raise StackError(f"stack {name!r} has no state machine (is it still being created?)")
    if rebaseline:
        request_rebaseline(config, api, rebaseline)
        progress(f"new baseline asked for: {', '.join(sorted(rebaseline))}")
    run = run_id or "manual-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    payload: dict[str, Any] = {}
    if as_of is not None:
        payload["time"] = as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    arn = api.start_execution(machine, run, json.dumps(payload))
    progress(f"started {run}")
    result = InvokeResult(arn, run, "RUNNING")
    if not follow:
        return result
    described: dict[str, Any] = {}
    bucket = config.defaults.bucket or next(
        (selector.bucket for selector in config.tables if selector.bucket), None
    )
    seen: dict[str, dict[str, Any]] = {}

    def collect() -> None:
        """Read the table records written so far, reporting each new one as it appears."""
        if bucket is None:
            return
        for info in api.list_objects(bucket, f"{records_prefix(config)}/{run}/tables/"):
            if info.key in seen:
                continue
            data = api.get_object(bucket, info.key)
            if data is None:
                continue
            record = json.loads(data)
            seen[info.key] = record
            progress(f"{record.get('table')}: {record.get('status')} ({len(seen)} done)")

    def status() -> str:
        nonlocal described
        described = api.describe_execution(arn)
        collect()
        return str(described.get("status"))

    result.status = _wait(
        status, lambda s: s != "RUNNING", poll_s=poll_s, timeout_s=timeout_s, sleep=sleep, what=run
    )
    if described.get("error"):
        result.error = f"{described.get('error')}: {described.get('cause', '')}".rstrip(": ")
    collect()
    result.tables = sorted(seen.values(), key=lambda record: str(record.get("table")))
    progress(f"{run}: {result.status}")
    return result
