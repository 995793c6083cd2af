"""The ``ddbexport`` command: the root group, and every command registered in one place.

``--help`` lists the commands in sections, in the order a user meets them.
"""

from __future__ import annotations

from pathlib import Path

import click

from ddbexport.core.logsetup import LogFormat, configure_logging
from ddbexport.core.version import VERSION

from . import (
    check,
    config_tools,
    estimate,
    export,
    init,
    inventory,
    lake,
    pipeline,
    policy,
    read,
    restore,
    sandbox,
    snapshot,
)
from .common import GlobalOptions, global_options

#: (section title, commands in the order shown). Every command appears exactly once.
SECTIONS: tuple[tuple[str, tuple[click.Command, ...]], ...] = (
    ("Try it (no AWS account)", (sandbox.demo, sandbox.sandbox)),
    ("Export", (init.init, export.plan, export.run, inventory.status, inventory.list_command)),
    ("Pipeline", (pipeline.synth, pipeline.deploy, pipeline.invoke, pipeline.destroy)),
    ("Data", (read.read, snapshot.snapshot, restore.restore, inventory.chain, lake.lake)),
    (
        "Operations",
        (
            check.check,
            inventory.verify,
            inventory.prune,
            inventory.catalog,
            inventory.athena_ddl,
            estimate.estimate,
            policy.iam_policy_command,
        ),
    ),
    (
        "Config",
        (config_tools.config_check, config_tools.config_schema_command, config_tools.completion),
    ),
)


class SectionedGroup(click.Group):
    """A group whose help lists its commands by section, each with its whole first line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [command.name or "" for _, commands in SECTIONS for command in commands]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for title, commands in SECTIONS:
            rows = [
                (command.name or "", command.get_short_help_str(limit=200))
                for command in commands
                if not command.hidden
            ]
            with formatter.section(title):
                formatter.write_dl(rows)


@click.group(cls=SectionedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="ddbexport")
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


for _, _commands in SECTIONS:
    for _command in _commands:
        cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    configure_logging()
    cli(prog_name="ddbexport")
