"""Pipeline commands: ``synth`` (and the stack's life cycle)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ddbexport.config.model import Config, load_config_file
from ddbexport.core.timeparse import parse_duration, parse_instant
from ddbexport.errors import ConfigError
from ddbexport.pipeline.names import with_stack_name
from ddbexport.pipeline.stack import deploy as deploy_stack
from ddbexport.pipeline.stack import destroy as destroy_stack
from ddbexport.pipeline.stack import invoke as invoke_pipeline
from ddbexport.pipeline.stackset import COMMANDS_FILE, synth_stackset, write_stackset
from ddbexport.pipeline.synth import synth as synthesize_pipeline
from ddbexport.pipeline.synth import write_synthesis
from ddbexport.running.accounts import role_connector

from .common import aws_api, global_options, handle_errors, merge_global

stack_option = click.option("--stack-name", help="Stack name (default: pipeline.stack_name).")


@click.command()
@stack_option
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for template.json and statemachine.asl.json.",
)
@click.option(
    "--stackset",
    is_flag=True,
    help="For [[accounts]]: one template for a StackSet, parameters per account and region, "
    "and deploy-stackset.sh.",
)
@global_options
@click.pass_context
@handle_errors
def synth(
    ctx: click.Context, /, stack_name: str | None, output: Path, stackset: bool, **given: Any
) -> None:
    """Write the pipeline's CloudFormation template and Step Functions definition."""
    options = merge_global(ctx, **given)
    if options.config is None:
        raise ConfigError("pass -c/--config FILE: the pipeline is built from the config")
    config = with_stack_name(load_config_file(options.config), stack_name)
    if stackset:
        _synth_stackset(options, config, output)
        return
    dynamic = any(selector.name is None for selector in config.tables)
    api = aws_api(options, config) if dynamic else None
    synthesis = synthesize_pipeline(config, api)
    for path in write_synthesis(synthesis, output):
        click.echo(f"wrote {path}")
    size = len(synthesis.table_list.value.encode())
    if synthesis.table_list_object is None:
        where = f"SSM parameter {synthesis.parameter_name} ({synthesis.table_list.tier} tier)"
    else:
        where = (
            f"s3://{synthesis.records_bucket}/{synthesis.table_list_object} (too big for SSM; "
            "deploy uploads it)"
        )
    click.echo(
        f"{len(synthesis.template['Resources'])} resources; table list {size:,} bytes in {where}"
    )


def _synth_stackset(options: Any, config: Config, output: Path) -> None:
    base = aws_api(options, config)
    dynamic = any(selector.name is None for selector in config.tables)
    needs_region = config.region is None and any(a.regions is None for a in config.accounts)
    region = base.region_name() if needs_region and options.region is None else options.region
    synthesis = synth_stackset(
        config,
        default_region=region or config.region,
        connect=role_connector(base) if dynamic else None,
    )
    for path in write_stackset(synthesis, output):
        click.echo(f"wrote {path}")
    click.echo(
        f"{len(synthesis.template['Resources'])} resources; "
        f"{len(synthesis.instances)} stack instance(s): "
        + ", ".join(f"{i.account}/{i.region} ({len(i.tables)} tables)" for i in synthesis.instances)
    )
    click.echo(f"deploy with {output / COMMANDS_FILE} (see the README: Many accounts and regions)")


def _stack_config(ctx: click.Context, given: dict[str, Any]) -> tuple[Any, Any]:
    options = merge_global(ctx, **given)
    if options.config is None:
        raise ConfigError("pass -c/--config FILE: the stack is built from the config")
    config = load_config_file(options.config)
    return config, aws_api(options, config)


def _poll(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"--poll: {exc}") from None


poll_option = click.option(
    "--poll", default="5s", show_default=True, help="How often to check on CloudFormation."
)


@click.command()
@stack_option
@poll_option
@global_options
@click.pass_context
@handle_errors
def deploy(ctx: click.Context, /, stack_name: str | None, poll: str, **given: Any) -> None:
    """Create or update the pipeline's stack (change set, wait, outputs)."""
    config, api = _stack_config(ctx, given)
    result = deploy_stack(config, api, stack=stack_name, poll_s=_poll(poll), progress=click.echo)
    for key, value in sorted(result.outputs.items()):
        click.echo(f"{key} = {value}")


@click.command()
@stack_option
@poll_option
@global_options
@click.pass_context
@handle_errors
def destroy(ctx: click.Context, /, stack_name: str | None, poll: str, **given: Any) -> None:
    """Delete the pipeline's stack (exports and records in S3 stay)."""
    config, api = _stack_config(ctx, given)
    status = destroy_stack(config, api, stack=stack_name, poll_s=_poll(poll), progress=click.echo)
    click.echo(status)


@click.command()
@stack_option
@click.option("--run-id", help="The execution's name (default: manual-<UTC time>).")
@click.option("--as-of", metavar="ISO8601", help="Export time (default: the execution's start).")
@click.option("--follow", is_flag=True, help="Wait for the execution and show every table.")
@click.option("--poll", default="10s", show_default=True, help="How often to check (--follow).")
@click.option(
    "--rebaseline",
    multiple=True,
    metavar="TABLE",
    help="Incremental table: take a new full export and restart its chain (repeatable).",
)
@global_options
@click.pass_context
@handle_errors
def invoke(
    ctx: click.Context,
    /,
    stack_name: str | None,
    run_id: str | None,
    as_of: str | None,
    follow: bool,
    poll: str,
    rebaseline: tuple[str, ...],
    **given: Any,
) -> None:
    """Start the deployed pipeline now; with --follow, wait and report each table."""
    config, api = _stack_config(ctx, given)
    moment = None
    if as_of:
        try:
            moment = parse_instant(as_of)
        except ValueError as exc:
            raise ConfigError(f"--as-of: {exc}") from None
    result = invoke_pipeline(
        config,
        api,
        stack=stack_name,
        run_id=run_id,
        as_of=moment,
        follow=follow,
        poll_s=_poll(poll),
        progress=lambda line: click.echo(line, err=True),
        rebaseline=rebaseline,
    )
    click.echo(result.execution_arn)
    if not follow:
        return
    for record in result.tables:
        error = record.get("error") or {}
        export = record.get("export") or {}
        detail = error.get("Error") or export.get("FailureCode") or export.get("ExportArn", "")
        click.echo(f"{record.get('table')}\t{record.get('status')}\t{detail}")
    if result.error:
        click.echo(f"{result.run_id} ended {result.status}: {result.error}", err=True)
    sys.exit(0 if result.status == "SUCCEEDED" else 1)
