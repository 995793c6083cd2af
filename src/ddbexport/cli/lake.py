"""``ddbexport lake sync``: keep one Iceberg table per DynamoDB table, one snapshot per export.

Exit codes: 0 every table is up to date; 1 an export's file cannot be read, or AWS failed; 2 bad
input, or a table stopped at a gap in its chain (the exports before the gap are applied).
"""

from __future__ import annotations

import json
from typing import Any

import click

from ddbexport.config.model import load_config_file
from ddbexport.core.timeparse import format_instant
from ddbexport.errors import ConfigError

from .common import WholeSummaryGroup, aws_api, global_options, handle_errors, merge_global


@click.group(cls=WholeSummaryGroup)
def lake() -> None:
    """Mirror the exported tables into Apache Iceberg tables."""


@lake.command()
@click.option(
    "--table",
    "tables",
    multiple=True,
    metavar="NAME|ARN",
    help="Only this table (repeatable; default: every table the catalogs list).",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Reload from the newest baseline, whatever the Iceberg table holds.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@global_options
@click.pass_context
@handle_errors
def sync(
    ctx: click.Context, /, tables: tuple[str, ...], rebuild: bool, as_json: bool, **given: Any
) -> None:
    """Apply each table's new exports to its Iceberg table: the baseline, then every
    incremental export as a MERGE, one Iceberg snapshot per export."""
    # Imported here: pyiceberg is an extra, and the other commands must not need it.
    try:
        from ddbexport import lake as lakes  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"lake sync needs the lake extra ({exc.name} is missing): pip install 'ddbexport[lake]'"
        ) from None
    options = merge_global(ctx, **given)
    if options.config is None:
        raise ConfigError(
            "pass -c/--config FILE: its buckets hold the catalog of exports, its [lake] section "
            "says where the Iceberg tables go"
        )
    config = load_config_file(options.config)
    result = lakes.sync(config, aws_api(options, config), tables=tables, rebuild=rebuild)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for table in result.tables:
            _echo_table(table)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for table in result.tables:
        if table.gap is not None:
            click.echo(f"error: {table.table}: {table.gap}", err=True)
    if not result.ok:
        ctx.exit(2)


def _echo_table(table: Any) -> None:
    when = format_instant(table.as_of) if table.as_of else "nothing yet"
    if not table.steps:
        click.echo(f"{table.table} → {table.iceberg_table}: up to date (as of {when})")
        return
    click.echo(f"{table.table} → {table.iceberg_table}: {table.why}, now as of {when}")
    for step in table.steps:
        if step.action == "load":
            what = f"{step.rows:,} items loaded"
        else:
            what = (
                f"{step.changes:,} changes ({step.rows:,} upserted, {step.deleted:,} deleted, "
                f"{step.skipped:,} already applied), {step.files_rewritten} files rewritten"
            )
        extra = ""
        if step.columns_added:
            extra += f"; new columns {', '.join(step.columns_added)}"
        if step.columns_retyped:
            extra += f"; retyped {', '.join(step.columns_retyped)}"
        click.echo(
            f"  {step.action:5}  {step.export_arn} (as of {format_instant(step.as_of)}): "
            f"{what}{extra} → snapshot {step.snapshot_id} in {step.seconds:.2f}s"
        )
