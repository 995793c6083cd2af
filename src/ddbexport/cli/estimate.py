"""``ddbexport estimate``: what a month of the config's exports costs, pipeline and local runner.

Exit codes: 0 the estimate was printed; 1 AWS failed; 2 bad input.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ddbexport.config.model import load_config_file
from ddbexport.core.models import PlanProblem, TableInfo
from ddbexport.core.ports import ExportApi
from ddbexport.core.timeparse import format_duration, parse_duration
from ddbexport.errors import AwsError, ConfigError
from ddbexport.pipeline.estimate import MAX_RUNS_PER_DAY, Estimate, Prices, TableInput
from ddbexport.pipeline.estimate import estimate as estimate_costs
from ddbexport.pipeline.tablelist import TableSetting
from ddbexport.pipeline.template import synthesize
from ddbexport.planning.gather import parallel_map, resolve_tables

from .common import aws_api, global_options, handle_errors, merge_global

_PRICE = click.FloatRange(min=0, min_open=True)


@click.command()
@click.option(
    "--runs-per-day",
    type=int,
    metavar="N",
    help=f"Runs a day to price, 1-{MAX_RUNS_PER_DAY} (default: from [pipeline] schedule, else 1).",
)
@click.option(
    "--price-export-gb",
    type=_PRICE,
    metavar="USD",
    help=f"Full export price per GB (default {Prices().export_gb:g}).",
)
@click.option(
    "--price-transitions-1k",
    type=_PRICE,
    metavar="USD",
    help=f"Step Functions price per 1,000 state transitions (default {Prices().transitions_1k:g}).",
)
@click.option(
    "--price-storage-gb-month",
    type=_PRICE,
    metavar="USD",
    help=f"S3 storage price per GB-month (default {Prices().storage_gb_month:g}).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
@global_options
@click.pass_context
@handle_errors
def estimate(
    ctx: click.Context,
    /,
    runs_per_day: int | None,
    price_export_gb: float | None,
    price_transitions_1k: float | None,
    price_storage_gb_month: float | None,
    as_json: bool,
    **given: Any,
) -> None:
    """Estimate a month's cost of the config's exports: pipeline and local runner, per table."""
    options = merge_global(ctx, **given)
    if options.config is None:
        raise ConfigError("pass -c/--config FILE: it names the tables, schedule and retention")
    config = load_config_file(options.config)
    if not config.tables:
        raise ConfigError(f"{options.config}: no [[tables]] to estimate")
    if config.accounts:
        raise ConfigError(
            f"{options.config}: estimate reads the tables of one account; for a config with "
            "[[accounts]], estimate each account with a config of its own"
        )
    api = aws_api(options, config)
    selections, described, unresolved = resolve_tables(config, api)
    problems: list[PlanProblem] = list(unresolved)
    found: list[tuple[TableInfo, TableSetting]] = []
    for selection in selections:
        info = described.get(selection.table)
        if isinstance(info, TableInfo):
            named = selection.selector.name
            # As synth does: a table named by ARN keeps it (its own account and region).
            arn = info.arn if named is not None and named.startswith("arn:") else None
            found.append((info, TableSetting(info.name, arn, selection.destination)))
        elif isinstance(info, PlanProblem):
            problems.append(info)
    for problem in problems:
        click.echo(f"warning: not estimated: {problem.table}: {problem.message}", err=True)
    if not found:
        raise ConfigError("the config selects no existing table")

    previous = parallel_map(lambda pair: _previous_duration(api, pair[0]), found)
    for (info, _), (_, error) in zip(found, previous, strict=True):
        if error:
            click.echo(
                f"warning: {info.name}: previous exports unreadable ({error}); duration assumed",
                err=True,
            )
    definition = synthesize(config, [setting for _, setting in found]).definition
    prices = Prices().with_overrides(
        export_gb=price_export_gb,
        transitions_1k=price_transitions_1k,
        storage_gb_month=price_storage_gb_month,
    )
    result = estimate_costs(
        config,
        [
            TableInput(
                info.name,
                info.size_bytes,
                duration,
                incremental=setting.destination.mode == "incremental",
                full_every_s=_full_every_s(setting.destination.full_every),
            )
            for (info, setting), (duration, _) in zip(found, previous, strict=True)
        ],
        definition,
        runs=runs_per_day,
        prices=prices,
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _render(result)


def _previous_duration(api: ExportApi, info: TableInfo) -> tuple[float | None, str]:
    """The table's latest full export's duration, and why it is unknown when it cannot be read."""
    try:
        latest = api.latest_completed_export(info.arn)
    except AwsError as exc:
        return None, str(exc)
    return (latest.duration_s if latest is not None else None), ""


def _money(value: float) -> str:
    # Cents hide a transitions bill of a few tenths of a cent; show those to the tenth of a cent.
    # Rounded half up from the decimal value, so that $30.805 shows as $30.81 (as by hand), not
    # as the $30.80 its binary float would give.
    places = Decimal("0.01") if value >= 1 or value == 0 else Decimal("0.001")
    return f"${Decimal(repr(round(value, 6))).quantize(places, rounding=ROUND_HALF_UP):,}"


def _render(result: Estimate) -> None:
    prices = result.prices
    console = Console(soft_wrap=True)
    console.print(
        f"Estimated monthly cost, {result.assumptions.days_per_month} days x "
        f"{result.runs_per_day.value} run(s) a day = {result.runs_per_month} runs "
        f"({escape(result.runs_per_day.rule)}); retention: {escape(result.kept.rule)}"
    )
    view = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("table", "GB", "export", "exports", "Step Fns", "storage", "pipeline", "local"):
        view.add_column(column, overflow="fold", justify="left" if column == "table" else "right")
    for table in result.tables:
        # The mark sends the reader to the note on assumed durations.
        marker = "" if table.duration_source == "previous export" else "*"
        view.add_row(
            escape(table.table),
            f"{table.size_gb:,.1f}",
            format_duration(table.export_duration_s) + marker,
            _money(table.export_cost),
            _money(table.transitions_cost),
            _money(table.storage_cost),
            _money(table.pipeline_total),
            _money(table.local_total),
        )
    view.add_section()
    view.add_row(
        "total",
        f"{sum(table.size_gb for table in result.tables):,.1f}",
        "",
        _money(result.export_cost),
        _money(result.transitions_cost),
        _money(result.storage_cost),
        _money(result.pipeline_total),
        _money(result.local_total),
        style="bold",
    )
    console.print(view)
    transitions = sum(table.transitions_per_month for table in result.tables)
    stored = sum(table.stored_gb for table in result.tables)
    console.print(
        f"Step Fns: {transitions:,.0f} state transitions a month (pipeline only); storage: "
        f"{stored:,.1f} GB kept in S3 ({result.kept.exports} export(s) a table); "
        "local: the local runner, no Step Functions. * export time assumed."
    )
    given = set(prices.overridden)
    console.print(
        "Prices (USD): "
        + "; ".join(
            f"{label} {value:g}" + (" (given)" if name in given else "")
            for name, label, value in (
                ("export_gb", "full export per GB", prices.export_gb),
                ("transitions_1k", "Step Functions per 1,000 transitions", prices.transitions_1k),
                ("storage_gb_month", "S3 Standard per GB-month", prices.storage_gb_month),
            )
        )
        + f"; list prices of {prices.region}."
    )
    for note in result.notes:
        console.print(escape(note))


def _full_every_s(text: str | None) -> float | None:
    return None if text in (None, "never") else parse_duration(str(text))
