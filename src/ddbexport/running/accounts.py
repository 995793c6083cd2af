"""Runs across many accounts and regions (``[[accounts]]``).

Each account and region is a :class:`~ddbexport.config.accounts.Target` with a config of its own
and an API of its own (its role's credentials). Targets are reached, planned and run side by
side, each exactly as a single-account run would be (its own runner, concurrency cap, journal
and aftercare), all with one run id and one export time; their plans and reports are then put
together, every table tagged with its account and region. A target that cannot be reached (its
role cannot be assumed) or planned fails its own tables only: the others go on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from ddbexport.aws.adapter import AwsApi
from ddbexport.aws.roles import account_api
from ddbexport.config.accounts import Target
from ddbexport.core.models import ExportPlan, ExportRequest, PlanProblem
from ddbexport.core.ports import ExportApi, ServiceTime
from ddbexport.errors import ConfigError, DdbExportError
from ddbexport.planning.plan import check_export_time
from ddbexport.planning.planner import make_plan

from .journal import RunJournal
from .preflight import (
    TABLE,
    CheckReport,
    Finding,
    PreflightApi,
    apply_cheap_checks,
    check_plan,
)
from .report import ErrorInfo, RunReport, TableResult, problem_result
from .tracking import EventHandler

#: Accounts and regions reached, planned and run at once. Each one's exports run in AWS; here
#: a target costs a thread that mostly sleeps between DescribeExport calls.
TARGET_THREADS = 64
#: Longest slice of one wait, in service seconds, before a Ctrl-C is noticed.
WAIT_SLICE_S = 1.0

Connect = Callable[[Target], ExportApi]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class TargetPlan:
    """One account and region: its API (None when it could not be reached) and its plan."""

    target: Target
    api: ExportApi | None
    plan: ExportPlan


@dataclass(frozen=True, slots=True)
class AccountsPlan:
    """Every target's plan, and all of them as one plan (tables tagged with account and
    region)."""

    targets: tuple[TargetPlan, ...]
    plan: ExportPlan


def role_connector(base: AwsApi) -> Connect:
    """Makes each target's API: its role assumed with ``base``'s credentials (or ``base``'s
    own credentials, checked to be the account's), in the target's region."""

    def connect(target: Target) -> ExportApi:
        return account_api(
            replace(base.settings, region=target.region),
            account=target.account,
            role_arn=target.role_arn,
            external_id=target.external_id,
            base=base,
        )

    return connect


def target_state_dir(state_dir: Path, target: Target) -> Path:
    """Where a target's run journals are kept: ``<state dir>/accounts/<account>-<region>``."""
    return state_dir / "accounts" / f"{target.account}-{target.region}"


def plan_accounts(
    targets: Sequence[Target],
    connect: Connect,
    *,
    now: Callable[[], datetime],
    digest_of: Callable[[datetime], str],
    as_of: datetime | None = None,
    run_id: str | None = None,
    run_export_time: datetime | None = None,
    rebaseline: bool | Collection[str] = False,
    chains: bool = True,
) -> AccountsPlan:
    """Reach every target, then plan each one with the run's id and export time.

    Args:
        targets: the accounts and regions (:func:`~ddbexport.config.accounts.account_targets`).
        connect: makes a target's API (assumes its role); raises ``DdbExportError``.
        now: the current time, read once every target has been reached (so that a service
            clock learnt from their answers applies).
        digest_of: the default run id for an export time.
        as_of, run_id, run_export_time, rebaseline, chains: as for
            :func:`~ddbexport.planning.planner.make_plan`.

    Raises:
        ConfigError: the export time is in the future.
    """
    reached = _parallel(lambda target: _reach(target, connect), targets)
    export_time = (as_of or run_export_time or now()).replace(microsecond=0)
    check_export_time(export_time, now())
    run_id = run_id or digest_of(export_time)

    def plan_target(pair: tuple[Target, ExportApi | DdbExportError]) -> TargetPlan:
        target, api = pair
        if isinstance(api, DdbExportError):
            return TargetPlan(target, None, _failed_plan(target, run_id, export_time, api))
        try:
            plan = make_plan(
                target.config,
                api,
                now=now,
                as_of=as_of,
                run_id=run_id,
                run_export_time=export_time,
                rebaseline=rebaseline,
                chains=chains,
                strict_rebaseline=False,
            )
        except DdbExportError as exc:
            return TargetPlan(target, api, _failed_plan(target, run_id, export_time, exc))
        return TargetPlan(target, api, tag_plan(plan, target))

    planned = _parallel(plan_target, list(zip(targets, reached, strict=True)))
    planned = _shared_chains(planned)
    _check_rebaseline(rebaseline, planned)
    whole = ExportPlan(
        run_id=run_id,
        export_time=export_time,
        requests=tuple(request for item in planned for request in item.plan.requests),
        problems=tuple(problem for item in planned for problem in item.plan.problems),
        waiting=tuple(waiting for item in planned for waiting in item.plan.waiting),
    )
    return AccountsPlan(tuple(planned), whole)


def apply_checks(plans: AccountsPlan, *, explicit_time: bool) -> AccountsPlan:
    """:func:`~.preflight.apply_cheap_checks` in every reachable target."""

    def checked(item: TargetPlan) -> TargetPlan:
        if not isinstance(item.api, PreflightApi) or not item.plan.requests:
            return item
        try:
            plan = apply_cheap_checks(item.plan, item.api, explicit_time=explicit_time)
        except DdbExportError as exc:
            return replace(
                item, plan=_failed_plan(item.target, item.plan.run_id, item.plan.export_time, exc)
            )
        return replace(item, plan=tag_plan(plan, item.target))

    targets = tuple(_parallel(checked, plans.targets))
    whole = replace(
        plans.plan,
        requests=tuple(request for item in targets for request in item.plan.requests),
        problems=tuple(problem for item in targets for problem in item.plan.problems),
    )
    return AccountsPlan(targets, whole)


def check_accounts(plans: AccountsPlan) -> CheckReport:
    """Every preflight check in every target; findings name ``account/region/table``."""
    report = CheckReport()
    for item in plans.targets:
        if isinstance(item.api, PreflightApi):
            findings = check_plan(item.plan, item.api).findings
        else:
            findings = [
                Finding(problem.table, TABLE, False, problem.message, code=problem.code)
                for problem in item.plan.problems
            ]
        report.findings += [
            replace(finding, table=f"{item.target.label}/{finding.table}") for finding in findings
        ]
    report.findings.sort(key=lambda finding: finding.table)
    return report


RunTarget = Callable[[TargetPlan, "TargetTime"], RunReport]


@dataclass(frozen=True, slots=True)
class TargetTime:
    """A target's time sources and event handler (tagged with its account and region)."""

    clock: Callable[[], float]
    sleep: Callable[[float], None]
    now: Callable[[], datetime]
    on_event: EventHandler | None


def run_accounts(
    plans: AccountsPlan,
    run_target: RunTarget,
    *,
    state_dir: Path,
    on_event: EventHandler | None,
    clock: Callable[[], float] | None,
    sleep: Callable[[float], None] | None,
    now: Callable[[], datetime],
) -> RunReport:
    """Run every target's plan side by side (``run_target`` runs one) and put the reports
    together. Ctrl-C stops every target as it stops one run: nothing new starts, and what is in
    flight is reported INTERRUPTED (running the same run id again resumes it)."""
    whole = plans.plan
    RunJournal(state_dir, whole.run_id).record_run(whole.export_time)
    stop = threading.Event()
    started_at = now()

    def run_one(item: TargetPlan) -> RunReport:
        if item.api is None:
            return _unreached_report(item, now())
        if stop.is_set():
            report = _not_started_report(item, now())
            return replace(report, tables=tuple(tag_result(r, item.target) for r in report.tables))
        api = item.api
        own_clock = clock or (api.service_monotonic if isinstance(api, ServiceTime) else None)
        own_sleep = sleep or (api.service_sleep if isinstance(api, ServiceTime) else None)
        target = item.target
        sources = TargetTime(
            clock=own_clock or time.monotonic,
            sleep=_stoppable(own_sleep or time.sleep, stop),
            now=api.service_now,
            on_event=_tagged_events(on_event, target),
        )
        report = run_target(item, sources)
        return replace(report, tables=tuple(tag_result(r, target) for r in report.tables))

    reports = _parallel(run_one, plans.targets, stop=stop)
    tables = sorted(
        (result for report in reports for result in report.tables),
        key=lambda r: (r.table, r.account or "", r.region or "", r.from_time or r.export_time),
    )
    return RunReport(
        run_id=whole.run_id,
        export_time=whole.export_time,
        started_at=started_at,
        finished_at=now(),
        tables=tuple(tables),
        interrupted=stop.is_set() or any(report.interrupted for report in reports),
    )


# ---------------------------------------------------------------------------- tagging


def tag_plan(plan: ExportPlan, target: Target) -> ExportPlan:
    """The plan with every table tagged with the target's account and region."""
    account, region = target.account, target.region
    return replace(
        plan,
        requests=tuple(replace(r, account=account, region=region) for r in plan.requests),
        problems=tuple(replace(p, account=account, region=region) for p in plan.problems),
        waiting=tuple(replace(w, account=account, region=region) for w in plan.waiting),
    )


def tag_result(result: TableResult, target: Target) -> TableResult:
    """A report row tagged with the target's account and region."""
    return replace(result, account=target.account, region=target.region)


def _tagged_events(on_event: EventHandler | None, target: Target) -> EventHandler | None:
    if on_event is None:
        return None
    handler = on_event
    return lambda event: handler(replace(event, account=target.account, region=target.region))


# ---------------------------------------------------------------------------- failures


def _reach(target: Target, connect: Connect) -> ExportApi | DdbExportError:
    try:
        return connect(target)
    except DdbExportError as exc:
        return exc


def _failed_plan(
    target: Target, run_id: str, export_time: datetime, error: DdbExportError
) -> ExportPlan:
    """A target none of whose tables can be planned: one problem per table it names, and one
    for the tables its match and tags selectors would have found."""
    code = getattr(error, "code", "") or type(error).__name__
    message = str(error)
    named = [
        selector.name.rsplit("/", 1)[-1]
        for selector in target.config.tables
        if selector.name is not None
    ]
    problems = [PlanProblem(name, code, message) for name in dict.fromkeys(named)]
    dynamic = [s.describe() for s in target.config.tables if s.name is None]
    if dynamic:
        problems.append(
            PlanProblem("*", code, f"{message} (tables of {'; '.join(dynamic)} not listed)")
        )
    plan = ExportPlan(run_id=run_id, export_time=export_time, requests=(), problems=())
    return tag_plan(replace(plan, problems=tuple(problems)), target)


def _unreached_report(item: TargetPlan, moment: datetime) -> RunReport:
    plan = item.plan
    rows = tuple(problem_result(problem, plan.export_time) for problem in plan.problems)
    return RunReport(plan.run_id, plan.export_time, moment, moment, rows)


def _check_rebaseline(rebaseline: bool | Collection[str], planned: list[TargetPlan]) -> None:
    """``--rebaseline`` names incremental tables of some account (each target plans it where
    the table is incremental)."""
    if rebaseline is False:
        return
    incremental = {
        request.table for item in planned for request in item.plan.requests if request.chained
    } | {waiting.table for item in planned for waiting in item.plan.waiting}
    if rebaseline is True:
        if not incremental:
            raise ConfigError("--rebaseline applies to incremental tables; no account selects one")
        return
    stray = sorted(set(rebaseline) - incremental)
    if stray:
        raise ConfigError(
            f"--rebaseline {', '.join(stray)}: not an incremental table of any account"
        )


def _not_started_report(item: TargetPlan, moment: datetime) -> RunReport:
    """A target Ctrl-C stopped before it began: its tables INTERRUPTED, nothing started."""
    plan = item.plan
    rows = [
        TableResult(
            table=request.table,
            table_arn=request.table_arn,
            status="INTERRUPTED",
            export_time=request.export_time,
            client_token=request.client_token,
            error=ErrorInfo("Interrupted", "interrupted before the export was started"),
        )
        for request in plan.requests
    ]
    rows += _unreached_report(item, moment).tables
    return RunReport(plan.run_id, plan.export_time, moment, moment, tuple(rows), interrupted=True)


def _shared_chains(planned: list[TargetPlan]) -> list[TargetPlan]:
    """Incremental tables of the same name in two accounts or regions that write to one bucket
    would share the chain object the pipeline keeps per table name and bucket: both are refused
    (a problem each) rather than corrupting each other's chain."""
    owners: dict[tuple[str, str], set[str]] = {}
    for item in planned:
        for request in item.plan.requests:
            if request.chained:
                owners.setdefault((request.bucket, request.table), set()).add(request.table_arn)
    clashing = {key for key, arns in owners.items() if len(arns) > 1}
    if not clashing:
        return planned
    result = []
    for item in planned:
        keep: list[ExportRequest] = []
        problems = list(item.plan.problems)
        for request in item.plan.requests:
            if (request.bucket, request.table) in clashing:
                problems.append(
                    PlanProblem(
                        request.table,
                        "SharedChain",
                        f"incremental table {request.table!r} of several accounts or regions "
                        f"exports to bucket {request.bucket}, where each table name has one "
                        "chain: give each account its own bucket (bucket in [[accounts]])",
                        request.account,
                        request.region,
                    )
                )
            else:
                keep.append(request)
        result.append(
            replace(item, plan=replace(item.plan, requests=tuple(keep), problems=tuple(problems)))
        )
    return result


# ---------------------------------------------------------------------------- threads and time


def _parallel(
    function: Callable[[T], R], items: Sequence[T], *, stop: threading.Event | None = None
) -> list[R]:
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(TARGET_THREADS, len(items))) as pool:
        futures: list[Future[R]] = []
        try:
            for item in items:
                futures.append(pool.submit(function, item))
            wait(futures)
        except KeyboardInterrupt:
            if stop is None:
                raise
            # Every runner stops as one does on Ctrl-C, then reports; targets not yet begun
            # report their tables as not started.
            stop.set()
            for item in items[len(futures) :]:
                futures.append(pool.submit(function, item))
            wait(futures)
        return [future.result() for future in futures]


def _stoppable(sleep: Callable[[float], None], stop: threading.Event) -> Callable[[float], None]:
    """``sleep`` in slices; once ``stop`` is set it raises KeyboardInterrupt, which a runner
    handles as Ctrl-C (Python delivers the real one to the main thread alone)."""

    def stoppable(seconds: float) -> None:
        remaining = seconds
        while True:
            if stop.is_set():
                raise KeyboardInterrupt
            if remaining <= 0:
                return
            step = min(remaining, WAIT_SLICE_S)
            sleep(step)
            remaining -= step

    return stoppable
