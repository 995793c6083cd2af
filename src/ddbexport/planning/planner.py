"""Planning, start to end: gather what AWS knows (:mod:`.gather`), then plan purely.

No AWS call happens once planning has begun: the tables, their descriptions and tags, and the
chains of incremental tables are all read first.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime

from ddbexport.config.model import Config
from ddbexport.core.models import ExportPlan
from ddbexport.core.ports import ExportApi
from ddbexport.core.timeparse import format_instant
from ddbexport.errors import ConfigError

from .gather import gather_chains, resolve_tables
from .incremental import apply_incremental
from .plan import build_plan, check_export_time, derive_run_id, export_time_of_run_id


def make_plan(
    config: Config,
    api: ExportApi,
    *,
    now: datetime | Callable[[], datetime],
    as_of: datetime | None = None,
    run_id: str | None = None,
    run_export_time: datetime | None = None,
    rebaseline: bool | Collection[str] = False,
    only: Collection[str] | None = None,
    chains: bool = True,
    strict_rebaseline: bool = True,
) -> ExportPlan:
    """Resolve the config's selectors against the account and plan one export per table.

    Args:
        config: the validated configuration.
        api: the AWS adapter.
        now: the current time (UTC), or a function giving it (called once the tables are
            resolved, so that a service clock learnt from the responses applies); the export
            time defaults to it, to the second.
        as_of: the shared export time, when given (``--as-of`` or the seed payload's ``time``).
        run_id: the run id; by default derived from the config and the export time.
        run_export_time: the export time this run id was first run with (from its journal).
            A run id fixes its export time, so that running it again sends identical requests.
        rebaseline: incremental tables (all: ``True``, or those named) take a new full export
            and restart their chain (see :mod:`ddbexport.planning.incremental`).
        only: plan these selected tables only (the others are left out of the plan).
        chains: plan incremental tables' next links; ``False`` plans every table as a full
            export (for callers that only need the tables, their ARNs and destinations).
        strict_rebaseline: refuse ``rebaseline`` names that are not incremental tables here
            (``False`` where another account may hold them: the caller checks the whole run).

    Raises:
        ConfigError: no tables are configured, a pattern or tag selector matches nothing, or the
            export time is in the future.
    """
    if not config.tables:
        raise ConfigError(
            "no tables to export: add [[tables]] to the config, or pass --tablelist or "
            "--tables-from-ssm"
        )
    given_as_of = as_of
    if run_id is not None:
        _check_run_id(run_id)
        fixed = run_export_time or export_time_of_run_id(run_id)
        if as_of is not None and fixed is not None and as_of.replace(microsecond=0) != fixed:
            raise ConfigError(
                f"run id {run_id!r} was run with export time {format_instant(fixed)}, not "
                f"{format_instant(as_of)}; drop --as-of to resume it, or use another --run-id"
            )
        as_of = as_of or fixed
    if isinstance(now, datetime):
        # A fixed "now": reject a future export time before any AWS call.
        check_export_time((as_of or now).replace(microsecond=0), now)
    # Gathering: every AWS call planning needs, before it plans.
    selections, described, unresolved = resolve_tables(config, api, only=only)
    incremental = {
        selection.table: selection.destination
        for selection in selections
        if selection.destination.mode == "incremental"
    }
    if strict_rebaseline:
        _check_rebaseline(rebaseline, incremental)
    chained = incremental if chains else {}
    if chained and given_as_of is not None:
        names = ", ".join(sorted(chained))
        raise ConfigError(
            f"--as-of applies to full exports; incremental tables ({names}) export the next "
            "window of their chain, up to what PITR can serve"
        )
    chain_inputs = gather_chains(config, api, selections, described) if chained else {}
    # A service clock is known only once AWS has answered: read it after gathering.
    current = now if isinstance(now, datetime) else now()

    # Planning: pure from here on.
    export_time = (as_of or current).replace(microsecond=0)
    check_export_time(export_time, current)
    run_id = run_id or derive_run_id(config, export_time)
    plan = build_plan(selections, described, export_time=export_time, run_id=run_id)
    plan = replace(plan, problems=plan.problems + tuple(unresolved))
    if not chained:
        return plan
    return apply_incremental(
        plan, chained, chain_inputs, now=current.astimezone(UTC), rebaseline=rebaseline
    )


def _check_rebaseline(rebaseline: bool | Collection[str], incremental: Collection[str]) -> None:
    if rebaseline is True and not incremental:
        raise ConfigError("--rebaseline applies to incremental tables; this config selects none")
    if not isinstance(rebaseline, bool):
        stray = sorted(set(rebaseline) - set(incremental))
        if stray:
            raise ConfigError(
                f"--rebaseline {', '.join(stray)}: not an incremental table of this config"
            )


def _check_run_id(run_id: str) -> None:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
    if not 1 <= len(run_id) <= 80 or not set(run_id) <= allowed:
        raise ConfigError(
            f"run id {run_id!r} is invalid: use 1-80 characters among letters, digits and - _ . :"
        )
