"""``ddbexport init``: a starter config from the tables the account has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ddbexport.errors import ConfigError
from ddbexport.planning.starter import starter_config, survey, write_starter

from .common import aws_api, global_options, handle_errors, merge_global


def _tags(values: tuple[str, ...]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key:
            raise ConfigError(f"--tag {value!r}: expected KEY=VALUE, e.g. --tag backup=daily")
        tags[key] = tag_value
    return tags


@click.command()
@click.option(
    "-o",
    "--output",
    default="ddbexport.toml",
    show_default=True,
    metavar="FILE|-",
    help="Where to write the config ('-' prints it).",
)
@click.option("--match", metavar="GLOB", help="Only tables whose name matches (e.g. 'prod-*').")
@click.option(
    "--tag",
    "tag_values",
    multiple=True,
    metavar="KEY=VALUE",
    help="Only tables with this tag (repeatable).",
)
@click.option("--bucket", metavar="NAME", help="The bucket exports go to.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@global_options
@click.pass_context
@handle_errors
def init(
    ctx: click.Context,
    /,
    output: str,
    match: str | None,
    tag_values: tuple[str, ...],
    bucket: str | None,
    force: bool,
    **given: Any,
) -> None:
    """Look at the account's tables and write a commented starter config."""
    options = merge_global(ctx, **given)
    tags = _tags(tag_values)
    api = aws_api(options, None)
    facts = survey(api, match=match, tags=tags)
    text = starter_config(
        facts,
        region=api.region_name(),
        bucket=bucket,
        generated_at=api.service_now(),
        match=match,
        tags=tags,
    )
    without = sum(1 for fact in facts if not fact.pitr)
    if output == "-":
        write_starter(text, Path("ddbexport.toml"), check_only=True, source="the starter config")
        click.echo(text, nl=False)
    else:
        write_starter(text, Path(output), force=force)
        click.echo(f"wrote {output}", err=True)
    click.echo(
        f"{len(facts)} table(s); {len(facts) - without} ready, {without} left commented out "
        "(PITR off or unreadable)" + ("" if bucket else "; set defaults.bucket before running"),
        err=True,
    )
