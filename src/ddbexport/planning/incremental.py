"""Incremental mode: turn a table's full-export request into the next link of its chain.

A table with ``mode = "incremental"`` is planned from what its bucket's catalog says (the
chain of COMPLETED exports), its PITR window and the time, by :func:`.windows.plan_table`.
:func:`ddbexport.planning.gather.gather_chains` reads those inputs first (catalog records, the
chain object, DescribeContinuousBackups, the exports still running); this module is pure: it
writes the next links into the run's :class:`~ddbexport.core.models.ExportPlan`:

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

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ddbexport.catalog.records import CatalogRecord
from ddbexport.config.model import Destination
from ddbexport.core.models import ExportPlan, ExportRequest, PitrWindow, PlanProblem
from ddbexport.core.timeparse import parse_duration
from ddbexport.errors import AwsError, ConfigError, DdbExportError, PitrUnavailable

from .plan import render_prefix
from .windows import (
    FullExport,
    IncrementalSettings,
    PitrGapError,
    TableHistory,
    TablePlan,
    plan_table,
)


@dataclass(frozen=True, slots=True)
class ChainInputs:
    """What AWS and the bucket say about one incremental table, read before planning.

    Attributes:
        records: the table's catalog records that may be links of its chain.
        rebaseline_requested: the chain object asks for a new baseline (``invoke --rebaseline``).
        pitr: the table's PITR state and window.
        running: the table's exports still IN_PROGRESS, as (export ARN, client token).
    """

    records: tuple[CatalogRecord, ...]
    rebaseline_requested: bool
    pitr: PitrWindow
    running: tuple[tuple[str, str | None], ...] = ()


def incremental_settings(destination: Destination) -> IncrementalSettings:
    """The window settings of a table in incremental mode."""
    every = destination.full_every
    full_every = None if every in (None, "never") else timedelta(seconds=parse_duration(str(every)))
    return IncrementalSettings(view=destination.view or "NEW_AND_OLD_IMAGES", full_every=full_every)


def apply_incremental(
    plan: ExportPlan,
    destinations: Mapping[str, Destination],
    inputs: Mapping[str, ChainInputs | DdbExportError],
    *,
    now: datetime,
    rebaseline: bool | Collection[str] = False,
) -> ExportPlan:
    """Replace the requests of the tables in ``destinations`` (incremental ones) by their next
    export; see the module's description.

    Args:
        inputs: per incremental table, what was read about it, or the error reading it raised.
        rebaseline: take a new full export of every incremental table (``True``) or of the
            tables named, restarting their chains.
    """
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
            found = inputs[request.table]
            if isinstance(found, DdbExportError):
                raise found
            table_plan = _plan(found, request, destination, now, rebaseline=again)
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
    inputs: ChainInputs,
    request: ExportRequest,
    destination: Destination,
    now: datetime,
    *,
    rebaseline: bool,
) -> TablePlan:
    rebaseline = rebaseline or inputs.rebaseline_requested
    settings = incremental_settings(destination)
    history = TableHistory.of(inputs.records, request.table_arn)
    table_plan = plan_table(history, inputs.pitr, settings, now, rebaseline=rebaseline)
    if not inputs.running or not table_plan.actions:
        return table_plan
    # An export already running with the token this run would send is this very export
    # (started by another run): following it is safe. Any other one blocks the table.
    planned = table_plan.actions[0].client_token
    others = [arn for arn, token in inputs.running if token != planned]
    if not others:
        return table_plan
    return plan_table(
        TableHistory.of(inputs.records, request.table_arn, in_flight=others),
        inputs.pitr,
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
