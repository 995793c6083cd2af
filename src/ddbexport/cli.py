"""The ``ddbexport`` command line: a thin layer over the library.

Exit codes: 0 every table completed; 1 one or more tables did not complete (or AWS failed before
anything started); 2 bad input or config, nothing started; 130 interrupted.
"""

from __future__ import annotations

import functools
import json
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from ._facade import plan as plan_exports
from ._facade import run as run_exports
from ._render import EventLog, LiveProgress, render_plan, render_summary
from .aws import AwsApi, AwsSettings
from .config import Config, load_config_file, validate_config
from .errors import AwsError, ConfigError, DdbExportError
from .journal import default_state_dir
from .logsetup import LEVELS, LogFormat, configure_logging
from .sources import RunInput, from_ssm_parameter, from_tablelist_text
from .timeparse import parse_duration, parse_instant

EXIT_INCOMPLETE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class GlobalOptions:
    """Options every command accepts, before or after the command name."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    config: Path | None = None
    log_format: LogFormat | None = None
    log_level: str | None = None


def _merge_global(ctx: click.Context, **given: Any) -> GlobalOptions:
    parent: GlobalOptions = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    options = GlobalOptions(
        region=given.get("region") or parent.region,
        profile=given.get("profile") or parent.profile,
        endpoint_url=given.get("endpoint_url") or parent.endpoint_url,
        config=given.get("config") or parent.config,
        log_format=given.get("log_format") or parent.log_format,
        log_level=given.get("log_level") or parent.log_level,
    )
    configure_logging(options.log_format or "text", options.log_level or "info")
    return options


def global_options(function: F) -> F:
    """Add ``--region``, ``--profile``, ``--endpoint-url`` and ``-c/--config`` to a command."""
    options = [
        click.option("--region", help="AWS region (default: config 'region', then AWS_REGION)."),
        click.option("--profile", help="Named AWS profile from the shared config files."),
        click.option(
            "--endpoint-url",
            metavar="URL",
            help="One endpoint for every AWS service (moto server, other emulators).",
        ),
        click.option(
            "-c",
            "--config",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Config file (TOML, or JSON ending in .json).",
        ),
        click.option(
            "--log-format",
            type=click.Choice(["text", "json"]),
            envvar="DDBEXPORT_LOG_FORMAT",
            help="Logs on stderr as text lines or JSON lines (default text).",
        ),
        click.option(
            "--log-level",
            type=click.Choice(LEVELS, case_sensitive=False),
            envvar="DDBEXPORT_LOG_LEVEL",
            help="Least severe level logged (default info; debug adds the AWS SDK's).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def table_list_options(function: F) -> F:
    """Add ``--tablelist`` and ``--tables-from-ssm``: the table list instead of the config's."""
    options = [
        click.option(
            "--tablelist",
            metavar="FILE|-",
            help="The seed's EventBridge payload with a 'tablelist' ('-' reads stdin).",
        ),
        click.option(
            "--tables-from-ssm",
            metavar="NAME",
            help="Read a JSON table list from an SSM parameter.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def table_source_options(function: F) -> F:
    """Add the options that choose the table list and the export time."""
    options = [
        click.option(
            "--as-of",
            metavar="ISO8601",
            help="Export every table as of this instant (default: the payload's time, else now).",
        ),
        click.option(
            "--run-id",
            metavar="ID",
            help="Run id; re-running the same id resumes instead of exporting again.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return table_list_options(function)


rebaseline_option = click.option(
    "--rebaseline",
    "rebaseline",
    multiple=True,
    metavar="TABLE|all",
    help="Incremental tables: take a new full export and restart the chain (repeatable).",
)


def _rebaseline(values: tuple[str, ...]) -> bool | frozenset[str]:
    if not values:
        return False
    if "all" in values:
        return True
    return frozenset(values)


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="DDBEXPORT_STATE_DIR",
    help="Where run journals are kept (default: ~/.local/state/ddbexport).",
)


def handle_errors(function: F) -> F:
    """Turn library errors into a clear message and the documented exit status."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except AwsError as exc:
            starts = function.__name__ in ("run", "plan")
            click.echo(f"error: {exc}" + (" (nothing was started)" if starts else ""), err=True)
            sys.exit(EXIT_INCOMPLETE)
        except ModuleNotFoundError as exc:
            if exc.name != "moto" and not (exc.name or "").startswith("moto."):
                raise
            click.echo(
                "error: the sandbox needs moto; install it with: pip install 'ddbexport[sandbox]'",
                err=True,
            )
            sys.exit(EXIT_BAD_INPUT)
        except DdbExportError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INCOMPLETE)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ddbexport")
@global_options
@click.pass_context
def cli(
    ctx: click.Context,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    config: Path | None,
    log_format: LogFormat | None,
    log_level: str | None,
) -> None:
    """Export many DynamoDB tables to S3 with native point-in-time exports."""
    ctx.obj = GlobalOptions(region, profile, endpoint_url, config, log_format, log_level)
    configure_logging(log_format or "text", log_level or "info")


# ---------------------------------------------------------------------------- helpers


def _load_run_input(
    options: GlobalOptions, api: AwsApi, tablelist: str | None, tables_from_ssm: str | None
) -> RunInput:
    if tablelist and tables_from_ssm:
        raise ConfigError("give either --tablelist or --tables-from-ssm, not both")
    config = load_config_file(options.config) if options.config else validate_config({}, source="")
    if tablelist:
        if tablelist == "-":
            text, source = sys.stdin.read(), "--tablelist (stdin)"
        else:
            try:
                text = Path(tablelist).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"--tablelist {tablelist}: cannot read: {exc.strerror}") from None
            source = tablelist
        return from_tablelist_text(config, text, source=source)
    if tables_from_ssm:
        return from_ssm_parameter(config, api, tables_from_ssm)
    if options.config is None:
        raise ConfigError(
            "no tables: pass -c/--config FILE, --tablelist FILE|- or --tables-from-ssm NAME"
        )
    return RunInput(config)


def _aws_api(options: GlobalOptions, config: Config | None) -> AwsApi:
    region = options.region or (config.region if config else None)
    return AwsApi(AwsSettings(region, options.profile, options.endpoint_url))


def _prepare(
    options: GlobalOptions, tablelist: str | None, tables_from_ssm: str | None, as_of: str | None
) -> tuple[RunInput, AwsApi, datetime | None]:
    # The config may name the region, and SSM needs a client: build the API lazily in two steps.
    preliminary = load_config_file(options.config) if options.config else None
    api = _aws_api(options, preliminary)
    run_input = _load_run_input(options, api, tablelist, tables_from_ssm)
    export_time = run_input.payload_time
    if as_of:
        try:
            export_time = parse_instant(as_of)
        except ValueError as exc:
            raise ConfigError(f"--as-of: {exc}") from None
    return run_input, api, export_time


# ---------------------------------------------------------------------------- commands


@cli.command()
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
    options = _merge_global(ctx, **given)
    run_input, api, export_time = _prepare(options, tablelist, tables_from_ssm, as_of)
    export_plan = plan_exports(
        run_input.config,
        api=api,
        as_of=export_time,
        run_id=run_id,
        state_dir=state_dir,
        rebaseline=_rebaseline(rebaseline),
    )
    if as_json:
        click.echo(json.dumps(export_plan.to_dict(), indent=2))
    else:
        render_plan(export_plan)
    if export_plan.problems:
        sys.exit(EXIT_INCOMPLETE)


@cli.command()
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
    options = _merge_global(ctx, **given)
    run_input, api, export_time = _prepare(options, tablelist, tables_from_ssm, as_of)
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
            rebaseline=_rebaseline(rebaseline),
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


def main() -> None:
    """Console-script entry point."""
    configure_logging()
    cli(prog_name="ddbexport")


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("ddbexport-demo"),
    show_default=True,
    help="Where the exported files are downloaded (laid out as in S3).",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=1),
    default=200.0,
    show_default=True,
    help="Sandbox seconds per real second (a 5-minute export takes 1.5 s at 200).",
)
@handle_errors
def demo(output: Path, time_scale: float) -> None:
    """Show ddbexport working end to end in a local sandbox (no AWS account needed)."""
    # The sandbox needs moto (the [sandbox] extra): import it only when asked for.
    from .demo import TABLES, run_demo  # noqa: PLC0415

    interactive = sys.stderr.isatty()
    display: LiveProgress | EventLog = LiveProgress() if interactive else EventLog()

    def step(text: str) -> None:
        display.end()
        click.echo(f"\n== {text}")

    click.echo(
        f"ddbexport demo: a sandbox AWS, {len(TABLES)} tables, the sandbox clock {time_scale:g}x"
    )
    with tempfile.TemporaryDirectory(prefix="ddbexport-demo-state-") as state:
        result = run_demo(
            output,
            time_scale=time_scale,
            state_dir=Path(state),
            on_event=display.on_event,
            on_plan=display.begin,
            on_step=step,
            on_planned=render_plan,
        )
    display.end()
    render_summary(result.first, None)
    render_summary(result.second, None)
    click.echo(
        f"\n{len(result.downloaded)} exported objects downloaded to {output}/ "
        f"(e.g. {result.downloaded[0].relative_to(output) if result.downloaded else '-'})"
    )
    click.echo(
        "what happened: every table was exported as of one instant; 'audit-log' failed alone "
        "(no PITR) with the fix in the message; the same run id with --enable-pitr resumed the "
        "finished exports without starting them again and exported 'audit-log'."
    )
    sys.exit(0 if result.second.all_completed else EXIT_INCOMPLETE)


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=4566, show_default=True)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Sandbox seconds per real second.",
)
@handle_errors
def sandbox(port: int, time_scale: float) -> None:
    """Serve a local AWS (moto) whose DynamoDB exports behave like the real ones."""
    from .sandbox.server import serve  # noqa: PLC0415 - needs the [sandbox] extra

    with serve(port, time_scale=time_scale) as (endpoint, _):
        click.echo(f"sandbox listening on {endpoint} (time scale {time_scale:g}x); Ctrl-C stops it")
        click.echo(f"try: ddbexport plan --endpoint-url {endpoint} -c ddbexport.toml")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("sandbox stopped")


# Further commands live in their own modules; importing them registers them.
from . import (  # noqa: E402, F401
    cli_check,
    cli_config,
    cli_estimate,
    cli_init,
    cli_inventory,
    cli_pipeline,
    cli_policy,
    cli_read,
    cli_restore,
    cli_snapshot,
)
