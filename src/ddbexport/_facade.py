"""The top-level library calls: ``load_config``, ``plan`` and ``run``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from .aftercare import Aftercare, AftercareApi
from .api import ExportApi
from .aws import AwsApi, AwsSettings
from .config import Config, PollSpec, RunSettings, load_config_file
from .errors import ConfigError
from .journal import RunJournal, default_state_dir
from .models import ExportPlan
from .preflight import CheckReport, PreflightApi, apply_cheap_checks, check_plan
from .report import RunReport
from .resolve import make_plan
from .runner import EventHandler, Runner


def load_config(path: str | Path) -> Config:
    """Read and validate a config file (TOML, or JSON when it ends in ``.json``)."""
    return load_config_file(Path(path))


def _api_for(config: Config, api: ExportApi | None, aws: AwsSettings | None) -> ExportApi:
    if api is not None:
        return api
    settings = aws or AwsSettings()
    if settings.region is None and config.region is not None:
        settings = AwsSettings(config.region, settings.profile, settings.endpoint_url)
    return AwsApi(settings)


def plan(
    config: Config,
    *,
    api: ExportApi | None = None,
    aws: AwsSettings | None = None,
    as_of: datetime | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
    state_dir: Path | None = None,
) -> ExportPlan:
    """Resolve the config's tables and compute every export request; nothing is started.

    Args:
        config: the validated configuration.
        api: an :class:`~ddbexport.api.ExportApi`; by default boto3 clients built from ``aws``.
        aws: region, profile and endpoint for the default clients.
        as_of: the shared export time; by default ``now`` to the second.
        run_id: by default derived from the config and the export time.
        now: the current time; by default the service's clock (the local one, corrected by the
            HTTP Date of AWS's responses).
        state_dir: where run journals are kept; a journaled run id keeps its export time.
    """
    export_api = _api_for(config, api, aws)
    return make_plan(
        config,
        export_api,
        now=now or export_api.service_now,
        as_of=as_of,
        run_id=run_id,
        run_export_time=journaled_export_time(state_dir or default_state_dir(), run_id),
    )


def check(
    config: Config,
    *,
    api: ExportApi | None = None,
    aws: AwsSettings | None = None,
    as_of: datetime | None = None,
) -> CheckReport:
    """Every preflight check for every table the config selects; nothing is started.

    Per table: it exists; PITR is on and its window holds the export time; the bucket exists and
    belongs to ``bucket_owner`` (or to the table's account); the KMS key is enabled.

    Raises:
        ConfigError: ``api`` cannot check buckets and keys (it is not an AWS adapter).
    """
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
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] | None = None,
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
            :func:`ddbexport.journal.default_state_dir`).
        on_event: receives a :class:`~ddbexport.runner.RunEvent` for every step of every table.
        on_plan: receives the plan before anything starts (e.g. to show the run id).
        clock, sleep, now: time sources, injectable for tests; ``now`` defaults to the service's
            clock, as for :func:`plan`.

    Raises:
        ConfigError: bad input; nothing was started.
        AwsError: AWS failed while the tables were being resolved; nothing was started.
    """
    settings = _override(config.run, max_concurrency, poll, timeout_s)
    export_api = _api_for(config, api, aws)
    now = now or export_api.service_now
    state_dir = state_dir or default_state_dir()
    export_plan = make_plan(
        config,
        export_api,
        now=now,
        as_of=as_of,
        run_id=run_id,
        run_export_time=journaled_export_time(state_dir, run_id),
    )
    if isinstance(export_api, PreflightApi):
        export_plan = apply_cheap_checks(export_plan, export_api, explicit_time=as_of is not None)
    if on_plan is not None:
        on_plan(export_plan)
    journal = RunJournal(state_dir, export_plan.run_id)
    journal.record_run(export_plan.export_time)
    runner = Runner(
        export_api,
        settings,
        journal=journal,
        enable_pitr=enable_pitr,
        aftercare=make_aftercare(config, export_api, now),
        on_event=on_event,
        clock=clock,
        sleep=sleep,
        now=now,
    )
    return runner.run(export_plan)


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
