"""Incremental mode: turn a table's full-export request into the next link of its chain.

A table with ``mode = "incremental"`` is planned from what its bucket's catalog says (the
chain of COMPLETED exports), its PITR window and the time, by :func:`ddbexport.windows.plan_table`.
This module gathers those inputs (the only AWS calls: catalog reads, ListExports,
DescribeExport of exports still running, DescribeContinuousBackups) and writes the result into
the run's :class:`~ddbexport.models.ExportPlan`:

* the first export the table needs (its baseline, or the next window) replaces the table's
  request; the windows after it are listed in ``later`` and exported by later rounds of the
  same run, each once the one before it COMPLETED;
* a table with nothing to export yet is listed in ``waiting`` with the reason; a table whose
  chain cannot go on (PITR gap, PITR off, unreadable catalog) becomes a problem.

Why no lock: window tokens are derived from the table and the window alone, so two runs that
plan the same window send the same ClientToken and DynamoDB gives both the same export. A run
that finds an export of the table still running which is *not* the one it would start plans
nothing for that table (the chain goes on once that export has ended).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from ddbexport.catalog.chainstate import chain_key, chain_records, read_chain_state
from ddbexport.catalog.records import Catalog
from ddbexport.config.model import Config, Destination
from ddbexport.core.models import ExportPlan, ExportRequest, PlanProblem
from ddbexport.core.ports import ExportApi, ObjectApi
from ddbexport.core.timeparse import parse_duration
from ddbexport.errors import AwsError, ConfigError, PitrUnavailable

from .plan import render_prefix
from .windows import (
    FullExport,
    IncrementalSettings,
    PitrGapError,
    TableHistory,
    TablePlan,
    plan_table,
)

log = logging.getLogger(__name__)


@runtime_checkable
class IncrementalApi(ExportApi, ObjectApi, Protocol):
    """What incremental planning needs beyond exporting: S3 (the catalog) and ListExports."""

    def exports_in_progress(self, table_arn: str) -> list[str]:
        """ARNs of the table's exports that are still IN_PROGRESS."""
        ...


def incremental_settings(destination: Destination) -> IncrementalSettings:
    """The window settings of a table in incremental mode."""
    every = destination.full_every
    full_every = None if every in (None, "never") else timedelta(seconds=parse_duration(str(every)))
    return IncrementalSettings(view=destination.view or "NEW_AND_OLD_IMAGES", full_every=full_every)


def apply_incremental(
    plan: ExportPlan,
    config: Config,
    api: ExportApi,
    destinations: Mapping[str, Destination],
    *,
    now: datetime,
    rebaseline: bool | Collection[str] = False,
) -> ExportPlan:
    """Replace the requests of the tables in ``destinations`` (incremental ones) by their next
    export; see the module's description.

    Args:
        rebaseline: take a new full export of every incremental table (``True``) or of the
            tables named, restarting their chains.

    Raises:
        ConfigError: ``api`` cannot read S3 or list exports (incremental tables need both).
    """
    if not isinstance(api, IncrementalApi):
        raise ConfigError(
            "incremental tables are planned from the catalog in S3 and from ListExports; this "
            "AWS adapter offers neither"
        )
    catalog = Catalog(api, config.catalog.prefix)
    requests: list[ExportRequest] = []
    problems = list(plan.problems)
    waiting = list(plan.waiting)
    for request in plan.requests:
        destination = destinations.get(request.table)
        if destination is None:
            requests.append(request)
            continue
        again = rebaseline is True or (
            not isinstance(rebaseline, bool) and request.table in rebaseline
        )
        try:
            table_plan = _plan(catalog, api, request, destination, now, rebaseline=again)
        except PitrGapError as exc:
            problems.append(PlanProblem(request.table, "PitrGap", str(exc)))
            continue
        except PitrUnavailable as exc:
            problems.append(
                PlanProblem(
                    request.table,
                    exc.code,
                    f"{exc}. Enable it with `aws dynamodb update-continuous-backups "
                    f"--table-name {request.table} --point-in-time-recovery-specification "
                    "PointInTimeRecoveryEnabled=true`; the chain starts with a full export",
                )
            )
            continue
        except (AwsError, ConfigError) as exc:
            problems.append(PlanProblem(request.table, getattr(exc, "code", "Error"), str(exc)))
            continue
        if not table_plan.actions:
            waiting.append(
                PlanProblem(request.table, "Waiting", table_plan.waiting_reason or "up to date")
            )
            continue
        requests.append(_first_request(request, destination, table_plan, plan.run_id))
    return replace(plan, requests=tuple(requests), problems=tuple(problems), waiting=tuple(waiting))


def _plan(
    catalog: Catalog,
    api: IncrementalApi,
    request: ExportRequest,
    destination: Destination,
    now: datetime,
    *,
    rebaseline: bool,
) -> TablePlan:
    prefix = catalog.prefix
    records, unreadable = catalog.records(request.bucket, request.table)
    if unreadable:
        shown = ", ".join(f"s3://{request.bucket}/{key}" for key in unreadable[:3])
        raise ConfigError(
            f"{len(unreadable)} catalog record(s) of table {request.table} cannot be read "
            f"({shown}): a link of its chain may be among them, so nothing is planned. Fix or "
            "remove them, or run `ddbexport catalog rebuild`"
        )
    records = chain_records(records)
    # The pipeline's way to ask for a new baseline (invoke --rebaseline) marks the chain object.
    state = read_chain_state(api, request.bucket, chain_key(prefix, request.table))
    rebaseline = rebaseline or bool(state and state.get("rebaseline") is True)
    settings = incremental_settings(destination)
    pitr = api.describe_pitr(request.table)
    history = TableHistory.of(records, request.table_arn)
    table_plan = plan_table(history, pitr, settings, now, rebaseline=rebaseline)
    running = api.exports_in_progress(request.table_arn)
    if not running or not table_plan.actions:
        return table_plan
    # An export already running with the token this run would send is this very export
    # (started by another run): following it is safe. Any other one blocks the table.
    planned = table_plan.actions[0].client_token
    others = [arn for arn in running if api.describe_export(arn).client_token != planned]
    if not others:
        return table_plan
    return plan_table(
        TableHistory.of(records, request.table_arn, in_flight=others),
        pitr,
        settings,
        now,
        rebaseline=rebaseline,
    )


def _first_request(
    request: ExportRequest, destination: Destination, table_plan: TablePlan, run_id: str
) -> ExportRequest:
    action = table_plan.actions[0]
    moment = action.export_time if isinstance(action, FullExport) else action.to_time
    linked = replace(
        request,
        export_time=moment,
        client_token=action.client_token,
        prefix=render_prefix(
            destination.prefix or "", table=request.table, export_time=moment, run_id=run_id
        ),
        chained=True,
    )
    if isinstance(action, FullExport):
        return replace(linked, reason=action.reason)
    return replace(
        linked,
        from_time=action.from_time,
        to_time=action.to_time,
        view=action.view,
        later=tuple(
            (later.from_time, later.to_time)
            for later in table_plan.actions[1:]
            if not isinstance(later, FullExport)
        ),
    )
