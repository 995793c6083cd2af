"""What every command shares: global options, table-list options, error handling, exit codes.

Exit codes: 0 every table completed; 1 one or more tables did not complete (or AWS failed before
anything started); 2 bad input or config, nothing started; 130 interrupted.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.config.model import Config, load_config_file, validate_config
from ddbexport.config.sources import RunInput, from_ssm_parameter, from_tablelist_text
from ddbexport.core.logsetup import LEVELS, LogFormat, configure_logging
from ddbexport.core.timeparse import parse_instant
from ddbexport.errors import AwsError, ConfigError, DdbExportError

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


def merge_global(ctx: click.Context, **given: Any) -> GlobalOptions:
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


def rebaseline_of(values: tuple[str, ...]) -> bool | frozenset[str]:
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


# ---------------------------------------------------------------------------- helpers


def load_run_input(
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


def aws_api(options: GlobalOptions, config: Config | None) -> AwsApi:
    region = options.region or (config.region if config else None)
    return AwsApi(AwsSettings(region, options.profile, options.endpoint_url))


def prepare(
    options: GlobalOptions, tablelist: str | None, tables_from_ssm: str | None, as_of: str | None
) -> tuple[RunInput, AwsApi, datetime | None]:
    # The config may name the region, and SSM needs a client: build the API lazily in two steps.
    preliminary = load_config_file(options.config) if options.config else None
    api = aws_api(options, preliminary)
    run_input = load_run_input(options, api, tablelist, tables_from_ssm)
    export_time = run_input.payload_time
    if as_of:
        try:
            export_time = parse_instant(as_of)
        except ValueError as exc:
            raise ConfigError(f"--as-of: {exc}") from None
    return run_input, api, export_time


class WholeSummaryGroup(click.Group):
    """A command group whose help gives each subcommand's whole first line (click cuts it at
    45 characters)."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=200)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
