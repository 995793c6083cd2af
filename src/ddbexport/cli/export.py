"""``ddbexport plan`` and ``ddbexport run``: the exact requests, then the exports themselves."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ddbexport.core.timeparse import parse_duration
from ddbexport.errors import ConfigError
from ddbexport.running.facade import plan as plan_exports
from ddbexport.running.facade import run as run_exports
from ddbexport.running.journal import default_state_dir

from .common import (
    EXIT_INCOMPLETE,
    global_options,
    handle_errors,
    merge_global,
    prepare,
    rebaseline_of,
    rebaseline_option,
    state_dir_option,
    table_source_options,
)
from .render import EventLog, LiveProgress, render_plan, render_summary


@click.command()
@global_options
@table_source_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@rebaseline_option
@state_dir_option
@click.pass_context
@handle_errors
def plan(
    ctx: click.Context,
    /,
    tablelist: str | None,
    tables_from_ssm: str | None,
    as_of: str | None,
    run_id: str | None,
    as_json: bool,
    rebaseline: tuple[str, ...],
    state_dir: Path | None,
    **given: Any,
) -> None:
    """Show the exact export requests a run would send; nothing is started."""
    options = merge_global(ctx, **given)
    run_input, api, export_time = prepare(options, tablelist, tables_from_ssm, as_of)
    export_plan = plan_exports(
        run_input.config,
        api=api,
        as_of=export_time,
        run_id=run_id,
        state_dir=state_dir,
        rebaseline=rebaseline_of(rebaseline),
    )
    if as_json:
        click.echo(json.dumps(export_plan.to_dict(), indent=2))
    else:
        render_plan(export_plan)
    if export_plan.problems:
        sys.exit(EXIT_INCOMPLETE)


@click.command()
@global_options
@table_source_options
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the JSON run report here.",
)
@click.option(
    "--max-concurrency", type=click.IntRange(1, 300), help="Exports in flight at once (1-300)."
)
@click.option(
    "--poll", metavar="adaptive|fixed:DURATION", help="Polling policy (default: adaptive)."
)
@click.option("--timeout", metavar="DURATION", help="Give up tracking after this long, e.g. 6h.")
@click.option("--enable-pitr", is_flag=True, help="Turn on point-in-time recovery where it is off.")
@rebaseline_option
@state_dir_option
@click.pass_context
@handle_errors
def run(
    ctx: click.Context,
    /,
    tablelist: str | None,
    tables_from_ssm: str | None,
    as_of: str | None,
    run_id: str | None,
    report: Path | None,
    max_concurrency: int | None,
    poll: str | None,
    timeout: str | None,
    enable_pitr: bool,
    rebaseline: tuple[str, ...],
    state_dir: Path | None,
    **given: Any,
) -> None:
    """Start, track and report the exports of every selected table."""
    options = merge_global(ctx, **given)
    run_input, api, export_time = prepare(options, tablelist, tables_from_ssm, as_of)
    timeout_s = None
    if timeout is not None:
        try:
            timeout_s = parse_duration(timeout)
        except ValueError as exc:
            raise ConfigError(f"--timeout: {exc}") from None
    if report is not None and report.parent and not report.parent.exists():
        raise ConfigError(f"--report {report}: folder {report.parent} does not exist")

    # A live table for people at a terminal; log records for everything else (and for JSON).
    interactive = sys.stderr.isatty() and options.log_format != "json"
    display: LiveProgress | EventLog = LiveProgress() if interactive else EventLog()

    try:
        result = run_exports(
            run_input.config,
            api=api,
            as_of=export_time,
            run_id=run_id,
            max_concurrency=max_concurrency,
            poll=poll,
            timeout_s=timeout_s,
            enable_pitr=enable_pitr,
            rebaseline=rebaseline_of(rebaseline),
            state_dir=state_dir or default_state_dir(),
            on_event=display.on_event,
            on_plan=display.begin,
        )
    finally:
        display.end()
    written = report
    if report is not None:
        try:
            result.write(report)
        except OSError as exc:
            written = None
            click.echo(f"error: could not write the report to {report}: {exc}", err=True)
    render_summary(result, written)
    sys.exit(result.exit_code if written == report else max(result.exit_code, EXIT_INCOMPLETE))
