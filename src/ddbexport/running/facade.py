"""The top-level library calls: ``load_config``, ``plan`` and ``run``."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.catalog.records import Catalog, CatalogRecord
from ddbexport.catalog.status import MISSING, TableStatus, table_status
from ddbexport.config.accounts import account_targets
from ddbexport.config.model import Config, PollSpec, RunSettings, load_config_file
from ddbexport.core.models import ExportPlan
from ddbexport.core.ports import ExportApi, ServiceTime
from ddbexport.core.timeparse import utc_now
from ddbexport.errors import ConfigError
from ddbexport.planning.plan import derive_run_id
from ddbexport.planning.planner import make_plan

from .accounts import (
    AccountsPlan,
    Connect,
    TargetPlan,
    TargetTime,
    apply_checks,
    check_accounts,
    plan_accounts,
    role_connector,
    run_accounts,
    target_state_dir,
)
from .aftercare import Aftercare, AftercareApi
from .journal import RunJournal, default_state_dir
from .preflight import CheckReport, PreflightApi, apply_cheap_checks, check_plan
from .report import RunReport, TableResult
from .runner import EventHandler, Runner


def load_config(path: str | Path) -> Config:
    """Read and validate a config file (TOML, or JSON when it ends in ``.json``)."""
    return load_config_file(Path(path))


def _api_for(config: Config, api: ExportApi | None, aws: AwsSettings | None) -> ExportApi:
    if api is not None:
        return api
    return AwsApi(_settings_for(config, aws))


def plan(
    config: Config,
    *,
    api: ExportApi | None = None,
    aws: AwsSettings | None = None,
    as_of: datetime | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
    state_dir: Path | None = None,
    rebaseline: bool | Collection[str] = False,
    connect: Connect | None = None,
) -> ExportPlan:
    """Resolve the config's tables and compute every export request; nothing is started.

    Args:
        config: the validated configuration.
        api: an :class:`~ddbexport.core.ports.ExportApi`; by default boto3 clients from ``aws``.
        aws: region, profile and endpoint for the default clients.
        as_of: the shared export time; by default ``now`` to the second.
        run_id: by default derived from the config and the export time.
        now: the current time; by default the service's clock (the local one, corrected by the
            HTTP Date of AWS's responses).
        state_dir: where run journals are kept; a journaled run id keeps its export time.
        rebaseline: incremental tables (all, or those named) take a new full export and
            restart their chains.
        connect: with ``[[accounts]]``, makes the API of one account and region (by default
            :func:`ddbexport.aws.roles.account_api`: the account's role, assumed with the
            credentials of ``api`` or ``aws``). Every table of the plan then carries its
            account and region.
    """
    if config.accounts:
        return plan_many(
            config,
            api=api,
            aws=aws,
            connect=connect,
            as_of=as_of,
            run_id=run_id,
            now=(lambda: now) if now else None,
            state_dir=state_dir,
            rebaseline=rebaseline,
        ).plan
    export_api = _api_for(config, api, aws)
    return make_plan(
        config,
        export_api,
        now=now or export_api.service_now,
        as_of=as_of,
        run_id=run_id,
        run_export_time=journaled_export_time(state_dir or default_state_dir(), run_id),
        rebaseline=rebaseline,
    )


def check(
    config: Config,
    *,
    api: ExportApi | None = None,
    aws: AwsSettings | None = None,
    as_of: datetime | None = None,
    connect: Connect | None = None,
) -> CheckReport:
    """Every preflight check for every table the config selects; nothing is started.

    Per table: it exists; PITR is on and its window holds the export time; the bucket exists and
    belongs to ``bucket_owner`` (or to the table's account); the KMS key is enabled.

    Raises:
        ConfigError: ``api`` cannot check buckets and keys (it is not an AWS adapter).
    """
    if config.accounts:
        return check_accounts(
            plan_many(config, api=api, aws=aws, connect=connect, as_of=as_of, chains=False)
        )
    export_api = _api_for(config, api, aws)
    if not isinstance(export_api, PreflightApi):
        raise ConfigError("check needs an API that can read S3 buckets and KMS keys (AwsApi)")
    export_plan = make_plan(config, export_api, now=export_api.service_now, as_of=as_of)
    return check_plan(export_plan, export_api)


def run(
    config: Config,
    *,
    api: ExportApi | None = None,
    aws: AwsSettings | None = None,
    as_of: datetime | None = None,
    run_id: str | None = None,
    max_concurrency: int | None = None,
    poll: str | None = None,
    timeout_s: float | None = None,
    enable_pitr: bool = False,
    state_dir: Path | None = None,
    on_event: EventHandler | None = None,
    on_plan: Callable[[ExportPlan], None] | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    now: Callable[[], datetime] | None = None,
    rebaseline: bool | Collection[str] = False,
    connect: Connect | None = None,
) -> RunReport:
    """Export every table the config selects, as of one shared instant, and report the outcome.

    Per-table failures are recorded in the report and never stop the other tables. Ctrl-C ends the
    run early with every unfinished table INTERRUPTED; running the same ``run_id`` again resumes.

    Args:
        config: the validated configuration; ``max_concurrency``, ``poll`` (``adaptive`` or
            ``fixed:15s``) and ``timeout_s`` override its ``[run]`` settings.
        api, aws, as_of, run_id: as for :func:`plan`.
        enable_pitr: turn point-in-time recovery on where it is off, instead of failing the table.
        state_dir: where run journals are kept (default:
            :func:`ddbexport.running.journal.default_state_dir`).
        on_event: receives a :class:`~.runner.RunEvent` for every step of every table.
        on_plan: receives the plan before anything starts (e.g. to show the run id).
        clock, sleep, now: time sources, injectable for tests. By default all three follow the
            service's clock, as ``now`` does for :func:`plan`: an API with a
            :class:`~ddbexport.core.ports.ServiceTime` (``AwsApi``) waits at the service's pace
            — real time on AWS, the sandbox's when its clock runs faster — else
            ``time.monotonic`` and ``time.sleep``.
        rebaseline, connect: as for :func:`plan`.

    With ``[[accounts]]``, every account and region is reached (its role assumed), planned and
    run side by side, each with its own cap of ``max_concurrency`` exports in flight (AWS's
    quota is per account), its own journal and its own aftercare; one run id and export time
    for all. An account that cannot be reached fails its own tables only.

    Incremental tables export one link of their chain at a time: after a round of exports, the
    tables whose window COMPLETED and whose backlog holds more windows are planned again from
    the catalog and exported in another round (journaled as ``<run id>.<round>``), until every
    backlog is exported, a window fails, or :data:`MAX_ROUNDS` is reached.

    Raises:
        ConfigError: bad input; nothing was started.
        AwsError: AWS failed while the tables were being resolved; nothing was started.
    """
    settings = _override(config.run, max_concurrency, poll, timeout_s)
    state_dir = state_dir or default_state_dir()
    if config.accounts:
        many = plan_many(
            config,
            api=api,
            aws=aws,
            connect=connect,
            as_of=as_of,
            run_id=run_id,
            now=now,
            state_dir=state_dir,
            rebaseline=rebaseline,
        )
        many = apply_checks(many, explicit_time=as_of is not None)
        if on_plan is not None:
            on_plan(many.plan)
        fixed_state_dir = state_dir

        def run_target(item: TargetPlan, sources: TargetTime) -> RunReport:
            assert item.api is not None  # run_accounts runs reachable targets only
            context = RunContext(
                settings,
                target_state_dir(fixed_state_dir, item.target),
                enable_pitr,
                sources.on_event,
                sources.clock,
                sources.sleep,
                now or sources.now,
            )
            return run_plan(item.target.config, item.api, item.plan, context)

        return run_accounts(
            many,
            run_target,
            state_dir=state_dir,
            on_event=on_event,
            clock=clock,
            sleep=sleep,
            now=now or utc_now,
        )
    export_api = _api_for(config, api, aws)
    now = now or export_api.service_now
    if isinstance(export_api, ServiceTime):
        clock = clock or export_api.service_monotonic
        sleep = sleep or export_api.service_sleep
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    export_plan = make_plan(
        config,
        export_api,
        now=now,
        as_of=as_of,
        run_id=run_id,
        run_export_time=journaled_export_time(state_dir, run_id),
        rebaseline=rebaseline,
    )
    if isinstance(export_api, PreflightApi):
        export_plan = apply_cheap_checks(export_plan, export_api, explicit_time=as_of is not None)
    if on_plan is not None:
        on_plan(export_plan)
    return run_plan(
        config,
        export_api,
        export_plan,
        RunContext(settings, state_dir, enable_pitr, on_event, clock, sleep, now),
    )


@dataclass(frozen=True, slots=True)
class RunContext:
    """How :func:`run_plan` runs: settings, where journals go, and the time sources."""

    settings: RunSettings
    state_dir: Path
    enable_pitr: bool
    on_event: EventHandler | None
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    now: Callable[[], datetime]


def run_plan(
    config: Config, export_api: ExportApi, export_plan: ExportPlan, context: RunContext
) -> RunReport:
    """Run a plan made from ``config`` with ``export_api``, in rounds while incremental tables
    have backlogged windows (see :func:`run`)."""
    state_dir, now = context.state_dir, context.now

    def run_round(round_plan: ExportPlan, journal_id: str) -> RunReport:
        journal = RunJournal(state_dir, journal_id)
        journal.record_run(round_plan.export_time)
        runner = Runner(
            export_api,
            context.settings,
            journal=journal,
            enable_pitr=context.enable_pitr,
            aftercare=make_aftercare(config, export_api, now),
            on_event=context.on_event,
            clock=context.clock,
            sleep=context.sleep,
            now=now,
        )
        return runner.run(replace(round_plan, run_id=export_plan.run_id))

    first = report = run_round(export_plan, export_plan.run_id)
    results = list(report.tables)
    current = export_plan
    for round_number in range(2, MAX_ROUNDS + 1):
        more = _backlogged(current, report)
        if not more or report.interrupted:
            break
        current = make_plan(
            config,
            export_api,
            now=now,
            run_id=f"{export_plan.run_id}.{round_number}",
            only=more,
        )
        report = run_round(current, current.run_id)
        results += [result for result in report.tables if result.status != "WAITING"]
    if report is first:
        return first
    return replace(
        report,
        started_at=first.started_at,
        tables=tuple(sorted(results, key=_result_order)),
    )


def plan_many(
    config: Config,
    *,
    api: ExportApi | None,
    aws: AwsSettings | None,
    connect: Connect | None,
    as_of: datetime | None = None,
    run_id: str | None = None,
    now: Callable[[], datetime] | None = None,
    state_dir: Path | None = None,
    rebaseline: bool | Collection[str] = False,
    chains: bool = True,
) -> AccountsPlan:
    """Every account and region of ``config``'s ``[[accounts]]`` reached and planned."""
    base = api if isinstance(api, AwsApi) else None
    if base is None and connect is None:
        base = AwsApi(_settings_for(config, aws))
    default_region = config.region or (base.settings.region if base else None)
    if (
        default_region is None
        and base is not None
        and any(account.regions is None for account in config.accounts)
    ):
        default_region = base.region_name()
    if connect is None:
        assert base is not None
        connect = role_connector(base)
    clock = now or (base.service_now if base else utc_now)
    return plan_accounts(
        account_targets(config, default_region),
        connect,
        now=clock,
        digest_of=lambda moment: derive_run_id(config, moment),
        as_of=as_of,
        run_id=run_id,
        run_export_time=journaled_export_time(state_dir or default_state_dir(), run_id),
        rebaseline=rebaseline,
        chains=chains,
    )


def _settings_for(config: Config, aws: AwsSettings | None) -> AwsSettings:
    settings = aws or AwsSettings()
    if settings.region is None and config.region is not None:
        settings = AwsSettings(config.region, settings.profile, settings.endpoint_url)
    return settings


#: Rounds of one run at most: a backlog of 7 days in 24-hour windows needs 8.
MAX_ROUNDS = 10


def _backlogged(plan: ExportPlan, report: RunReport) -> set[str]:
    """Incremental tables whose window COMPLETED soundly and that have more windows to go."""
    sound = {(result.table, result.from_time) for result in report.tables if result.sound}
    return {
        request.table
        for request in plan.requests
        if request.later and (request.table, request.from_time) in sound
    }


def _result_order(result: TableResult) -> tuple[str, datetime]:
    return (result.table, result.from_time or result.export_time)


def make_aftercare(config: Config, api: ExportApi, now: Callable[[], datetime]) -> Aftercare | None:
    """Verification and cataloguing as the config asks, when ``api`` can reach S3."""
    catalog_prefix = config.catalog.prefix if config.catalog.enabled else None
    if not isinstance(api, AftercareApi) or (catalog_prefix is None and not config.run.verify):
        return None
    return Aftercare(api, catalog_prefix=catalog_prefix, verify=config.run.verify, now=now)


def journaled_export_time(state_dir: Path, run_id: str | None) -> datetime | None:
    """The export time a run id was first run with, from its journal in ``state_dir``."""
    return RunJournal(state_dir, run_id).export_time() if run_id else None


def _override(
    settings: RunSettings, max_concurrency: int | None, poll: str | None, timeout_s: float | None
) -> RunSettings:
    changes: dict[str, Any] = {}
    if max_concurrency is not None:
        if not 1 <= max_concurrency <= 300:
            raise ConfigError(f"max concurrency {max_concurrency} is outside 1..300")
        changes["max_concurrency"] = max_concurrency
    if poll is not None:
        try:
            changes["poll"] = PollSpec.parse(poll)
        except ValueError as exc:
            raise ConfigError(f"--poll: {exc}") from None
    if timeout_s is not None:
        if timeout_s <= 0:
            raise ConfigError("timeout must be longer than zero")
        changes["timeout_s"] = timeout_s
    return settings.model_copy(update=changes) if changes else settings


def status(
    config: Config,
    api: AwsApi,
    *,
    max_age_s: float,
    now: Callable[[], datetime] = utc_now,
) -> list[TableStatus]:
    """Per table the config selects: its latest good export and whether it is fresh enough."""
    if config.accounts:
        raise ConfigError(
            "status reads the tables of one account and region; for a config with "
            "[[accounts]], check each account with a config of its own"
        )
    # Every selected table with its destination, incremental ones included (even when they
    # have nothing to export right now).
    plan = make_plan(config, api, now=now(), chains=False)
    catalog = Catalog(api, config.catalog.prefix)
    cache: dict[tuple[str, str], list[CatalogRecord]] = {}
    result = []
    moment = now()
    for request in plan.requests:
        key = (request.bucket, request.table)
        if key not in cache:
            cache[key] = catalog.records(request.bucket, request.table)[0]
        # Same-named tables of other regions or accounts may share the bucket: match the ARN.
        records = [r for r in cache[key] if r.table_arn == request.table_arn]
        result.append(
            table_status(request.table, request.bucket, records, now=moment, max_age_s=max_age_s)
        )
    for problem in plan.problems:
        result.append(
            TableStatus(
                problem.table, "", MISSING, None, None, f"{problem.code}: {problem.message}"
            )
        )
    return sorted(result, key=lambda item: item.table)
