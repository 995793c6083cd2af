"""Pipeline commands: ``synth`` (and the stack's life cycle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .cli import _aws_api, _merge_global, cli, global_options, handle_errors
from .config import load_config_file
from .errors import ConfigError
from .pipeline.synth import synth as synthesize_pipeline
from .pipeline.synth import write_synthesis


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for template.json and statemachine.asl.json.",
)
@global_options
@click.pass_context
@handle_errors
def synth(ctx: click.Context, /, output: Path, **given: Any) -> None:
    """Write the pipeline's CloudFormation template and Step Functions definition."""
    options = _merge_global(ctx, **given)
    if options.config is None:
        raise ConfigError("pass -c/--config FILE: the pipeline is built from the config")
    config = load_config_file(options.config)
    dynamic = any(selector.name is None for selector in config.tables)
    api = _aws_api(options, config) if dynamic else None
    synthesis = synthesize_pipeline(config, api)
    for path in write_synthesis(synthesis, output):
        click.echo(f"wrote {path}")
    click.echo(
        f"{len(synthesis.template['Resources'])} resources; table list "
        f"{len(synthesis.table_list.value.encode()):,} bytes ({synthesis.table_list.tier} SSM tier)"
    )
