"""Config tooling: ``config-schema``, ``config-check`` and ``completion``. None of it calls AWS."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import click
from click.shell_completion import get_completion_class

from ddbexport.config.model import Config, effective_destination, load_config_file
from ddbexport.config.schema import config_schema
from ddbexport.errors import ConfigError
from ddbexport.pipeline.synth import synth

from .common import EXIT_BAD_INPUT, global_options, handle_errors, merge_global

SHELLS = ("bash", "zsh", "fish")
# The variable click's completion scripts set when they ask the CLI for completions; main()
# runs the group as "ddbexport", whose variable this is.
COMPLETE_VAR = "_DDBEXPORT_COMPLETE"


@dataclass(frozen=True, slots=True)
class ConfigCheck:
    """What ``config-check`` found in a config that validated.

    Attributes:
        source: the file, as named in messages.
        config: the validated config.
        pipeline_checked: whether the pipeline was synthesized (only when every table is named:
            ``match``/``tags`` selectors are resolved against the account).
        pipeline_problems: what would stop ``ddbexport synth``/``deploy``, in the config-error
            style ``file: pipeline: problem``.
        pipeline_resources: the resources of the synthesized template (0 when not checked).
    """

    source: str
    config: Config
    pipeline_checked: bool
    pipeline_problems: tuple[str, ...]
    pipeline_resources: int = 0

    def summary(self) -> dict[str, Any]:
        """The config at a glance: tables, selectors, buckets and the pipeline's schedule."""
        config = self.config
        destinations = [effective_destination(config.defaults, s) for s in config.tables]
        buckets = {d.bucket for d in destinations} if config.tables else {config.defaults.bucket}
        pipeline = config.pipeline
        return {
            "region": config.region,
            "tables": [s.name for s in config.tables if s.name is not None],
            "selectors": [s.describe() for s in config.tables if s.name is None],
            "exclude": list(config.exclude),
            "buckets": sorted(bucket for bucket in buckets if bucket is not None),
            "pipeline": {
                "stack_name": pipeline.stack_name,
                "schedule": pipeline.schedule,
                "timezone": pipeline.timezone,
                "trigger": pipeline.trigger,
                "enabled": pipeline.enabled,
                "checked": self.pipeline_checked,
                "resources": self.pipeline_resources,
            },
        }


def check_config(config: Config, *, source: str) -> ConfigCheck:
    """Run the pipeline's synth-time checks on ``config`` when that needs no AWS access.

    Raises nothing for pipeline problems: a config used only for local runs may still be fine,
    so the caller decides whether they count.
    """
    if any(selector.name is None for selector in config.tables):
        return ConfigCheck(source, config, pipeline_checked=False, pipeline_problems=())
    try:
        synthesis = synth(config)
    except ConfigError as exc:
        problem = f"{source}: pipeline: {exc}"
        return ConfigCheck(source, config, pipeline_checked=True, pipeline_problems=(problem,))
    return ConfigCheck(
        source,
        config,
        pipeline_checked=True,
        pipeline_problems=(),
        pipeline_resources=len(synthesis.template.get("Resources", {})),
    )


@click.command("config-schema")
def config_schema_command() -> None:
    """Print the JSON Schema of the config file, for editors and CI."""
    click.echo(json.dumps(config_schema(), indent=2))


@click.command("config-check")
@global_options
@click.option(
    "--pipeline",
    "for_pipeline",
    is_flag=True,
    help="The config is deployed: pipeline problems are errors, not warnings.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_context
@handle_errors
def config_check(ctx: click.Context, /, for_pipeline: bool, as_json: bool, **given: Any) -> None:
    """Validate a config file without calling AWS; exit 2 when it has errors."""
    options = merge_global(ctx, **given)
    if options.config is None:
        raise ConfigError("pass -c/--config FILE: the config file to check")
    source = str(options.config)
    try:
        config = load_config_file(options.config)
    except ConfigError as exc:
        if not as_json:
            raise
        _print_json(source, errors=str(exc).splitlines(), warnings=[], summary=None)
        sys.exit(EXIT_BAD_INPUT)
    found = check_config(config, source=source)
    errors = list(found.pipeline_problems) if for_pipeline else []
    warnings = [] if for_pipeline else list(found.pipeline_problems)
    if as_json:
        _print_json(source, errors=errors, warnings=warnings, summary=found.summary())
    else:
        for problem in errors:
            click.echo(f"error: {problem}", err=True)
        for problem in warnings:
            click.echo(
                f"warning: {problem} (local runs are unaffected; --pipeline makes this an error)",
                err=True,
            )
        if not errors:
            _print_summary(found)
    sys.exit(EXIT_BAD_INPUT if errors else 0)


@click.command()
@click.argument("shell", type=click.Choice(SHELLS), metavar="|".join(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script, e.g. eval "$(ddbexport completion bash)"."""
    completer = get_completion_class(shell)
    if completer is None:  # click registers every shell of SHELLS; kept for a future click
        raise click.BadParameter(f"no completion for {shell!r}", param_hint="SHELL")
    click.echo(completer(ctx.find_root().command, {}, "ddbexport", COMPLETE_VAR).source())


def _print_json(
    source: str, *, errors: list[str], warnings: list[str], summary: dict[str, Any] | None
) -> None:
    outcome = {
        "ok": not errors,
        "config": source,
        "errors": errors,
        "warnings": warnings,
        "summary": summary,
    }
    click.echo(json.dumps(outcome, indent=2))


def _print_summary(found: ConfigCheck) -> None:
    summary = found.summary()
    pipeline = summary["pipeline"]
    schedule = f"{pipeline['schedule']} {pipeline['timezone']} via {pipeline['trigger']}"
    if not pipeline["enabled"]:
        schedule += " (disabled)"
    if not found.pipeline_checked:
        checked = "not synthesized: match/tags selectors need the account (ddbexport synth)"
    elif found.pipeline_problems:
        checked = "has problems (see the warning)"
    else:
        checked = f"synthesizes ({pipeline['resources']} resources)"
    rows = [
        ("region", summary["region"] or "from --region / the AWS environment"),
        ("tables", ", ".join(summary["tables"]) or "none named"),
        ("selectors", "; ".join(summary["selectors"]) or "none"),
        ("exclude", ", ".join(summary["exclude"]) or "none"),
        ("buckets", ", ".join(summary["buckets"]) or "none"),
        ("pipeline", f"stack {pipeline['stack_name']}: {schedule}; {checked}"),
    ]
    click.echo(f"{found.source}: valid")
    for label, value in rows:
        click.echo(f"  {label:<10} {value}")
