"""The I/O half of planning: ask AWS which tables exist, then plan their exports."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from ddbexport.config.model import Config
from ddbexport.core.models import ExportPlan, PlanProblem, TableInfo
from ddbexport.core.ports import ExportApi
from ddbexport.core.timeparse import format_instant
from ddbexport.errors import AccessDenied, AwsError, ConfigError

from .incremental import apply_incremental
from .plan import (
    Selection,
    build_plan,
    check_export_time,
    derive_run_id,
    export_time_of_run_id,
    needs_table_listing,
    needs_tags,
    selected_tables,
)

#: DescribeTable and ListTagsOfResource calls in parallel while resolving selectors.
LOOKUP_THREADS = 8

T = TypeVar("T")
R = TypeVar("R")


def parallel_map(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(LOOKUP_THREADS, len(items))) as pool:
        return list(pool.map(function, items))


def describe_or_problem(api: ExportApi, name: str) -> TableInfo | PlanProblem:
    """DescribeTable, turning a per-table failure into a :class:`PlanProblem`."""
    try:
        return api.describe_table(name)
    except AwsError as exc:
        if exc.code in ("ResourceNotFoundException", "TableNotFoundException"):
            return PlanProblem(name, "TableNotFound", f"table {name!r} does not exist")
        return PlanProblem(name, exc.code, str(exc))


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
            and restart their chain (see :mod:`ddbexport.incremental`).
        only: plan these selected tables only (the others are left out of the plan).
        chains: plan incremental tables' next links; ``False`` plans every table as a full
            export (for callers that only need the tables, their ARNs and destinations).

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
    selections, described, unresolved = resolve_tables(config, api, only=only)
    # A service clock is known only once AWS has answered: read it after resolving.
    current = now if isinstance(now, datetime) else now()
    export_time = (as_of or current).replace(microsecond=0)
    check_export_time(export_time, current)
    run_id = run_id or derive_run_id(config, export_time)
    plan = build_plan(selections, described, export_time=export_time, run_id=run_id)
    plan = replace(plan, problems=plan.problems + tuple(unresolved))
    incremental = {
        selection.table: selection.destination
        for selection in selections
        if selection.destination.mode == "incremental"
    }
    if rebaseline is True and not incremental:
        raise ConfigError("--rebaseline applies to incremental tables; this config selects none")
    if not isinstance(rebaseline, bool):
        stray = sorted(set(rebaseline) - set(incremental))
        if stray:
            raise ConfigError(
                f"--rebaseline {', '.join(stray)}: not an incremental table of this config"
            )
    if not incremental or not chains:
        return plan
    if given_as_of is not None:
        names = ", ".join(sorted(incremental))
        raise ConfigError(
            f"--as-of applies to full exports; incremental tables ({names}) export the next "
            "window of their chain, up to what PITR can serve"
        )
    return apply_incremental(
        plan, config, api, incremental, now=current.astimezone(UTC), rebaseline=rebaseline
    )


def resolve_tables(
    config: Config, api: ExportApi, *, only: Collection[str] | None = None
) -> tuple[list[Selection], dict[str, TableInfo | PlanProblem], list[PlanProblem]]:
    """The selected tables, their descriptions, and tables a tag selector could not rule on
    (of the tables in ``only``, when given: the others are not described).

    A table whose tags could not be read (throttling, a server error) may belong to the run: it
    is reported as a problem rather than silently left out. Tags we may not read at all
    (AccessDenied) and tables deleted since the listing simply do not match.
    """
    names = api.list_table_names() if needs_table_listing(config) else []
    described: dict[str, TableInfo | PlanProblem] = {}
    tags: dict[str, dict[str, str]] = {}
    unknown: dict[str, PlanProblem] = {}
    if needs_tags(config):
        candidates = [
            name
            for name in names
            if not any(fnmatch.fnmatchcase(name, pattern) for pattern in config.exclude)
        ]
        for name, info in zip(
            candidates,
            parallel_map(lambda n: describe_or_problem(api, n), candidates),
            strict=True,
        ):
            described[name] = info
        with_arn = [(n, i) for n, i in described.items() if isinstance(i, TableInfo)]
        for (name, _), table_tags in zip(
            with_arn,
            parallel_map(lambda pair: _tags_or_problem(api, pair[1]), with_arn),
            strict=True,
        ):
            if isinstance(table_tags, PlanProblem):
                unknown[name] = table_tags
            else:
                tags[name] = table_tags
        for name, info in described.items():
            if isinstance(info, PlanProblem) and info.code != "TableNotFound":
                unknown[name] = _unresolved(name, info.code, info.message)

    selections = selected_tables(config, names, tags)
    if only is not None:
        selections = [selection for selection in selections if selection.table in only]
        unknown = {name: problem for name, problem in unknown.items() if name in only}
    selected = {selection.table for selection in selections}
    unresolved = [problem for name, problem in unknown.items() if name not in selected]
    missing = [s.table for s in selections if s.table not in described]
    for name, info in zip(
        missing, parallel_map(lambda n: describe_or_problem(api, n), missing), strict=True
    ):
        described[name] = info
    return selections, described, unresolved


def _tags_or_problem(api: ExportApi, info: TableInfo) -> dict[str, str] | PlanProblem:
    try:
        return api.list_tags(info.arn)
    except AccessDenied:
        return {}  # tags we may not read cannot match a tag selector; not an error
    except AwsError as exc:
        if exc.code in ("ResourceNotFoundException", "TableNotFoundException"):
            return {}  # deleted since the listing
        return _unresolved(info.name, exc.code, str(exc))


def _unresolved(table: str, code: str, message: str) -> PlanProblem:
    return PlanProblem(
        table,
        code,
        f"could not tell whether a tags selector picks table {table!r} ({message}); it was "
        "not exported. Run again to retry",
    )


def _check_run_id(run_id: str) -> None:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
    if not 1 <= len(run_id) <= 80 or not set(run_id) <= allowed:
        raise ConfigError(
            f"run id {run_id!r} is invalid: use 1-80 characters among letters, digits and - _ . :"
        )
