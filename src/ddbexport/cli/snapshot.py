"""``ddbexport snapshot``: a table as of an instant, from its baseline and incremental exports.

Exit codes: 0 written; 1 a file of an export cannot be read, or AWS failed; 2 bad input (no
chain for the instant, a gap without --allow-gaps, an output that may not be written), nothing
written.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import click

from ddbexport.config.model import load_config_file
from ddbexport.core.timeparse import format_instant, parse_instant
from ddbexport.data import snapshot as snapshots
from ddbexport.errors import ConfigError

from .common import aws_api, global_options, handle_errors, merge_global


@click.command()
@click.option("--table", required=True, metavar="NAME|ARN", help="The table to rebuild.")
@click.option(
    "--as-of",
    metavar="ISO8601",
    help="The instant to show the table at (default: as late as its exports reach).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="PATH",
    help="A new or empty folder, s3://BUCKET/PREFIX (dynamodb-json), or a file (jsonl, parquet).",
)
@click.option(
    "--to",
    "to",
    type=click.Choice(snapshots.FORMATS),
    help="Output format (default: by -o: .jsonl, .parquet, else dynamodb-json).",
)
@click.option(
    "--typed",
    is_flag=True,
    help='jsonl/parquet values as DynamoDB JSON ({"S": "x"}) instead of plain values.',
)
@click.option(
    "--allow-gaps",
    is_flag=True,
    help="Merge even when no export covers part of the time (writes made then are missing).",
)
@click.option("--force", is_flag=True, help="Replace what the output holds.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@global_options
@click.pass_context
@handle_errors
def snapshot(
    ctx: click.Context,
    /,
    table: str,
    as_of: str | None,
    output: str,
    to: str | None,
    typed: bool,
    allow_gaps: bool,
    force: bool,
    as_json: bool,
    **given: Any,
) -> None:
    """Write a table as of an instant: its full export with its incremental exports merged in.

    The exports come from the catalog of the config's buckets. A dynamodb-json snapshot is laid
    out as a full export (PATH/AWSDynamoDB/<ExportId>/): `ddbexport restore` imports it once it
    is in S3.
    """
    options = merge_global(ctx, **given)
    if options.config is None:
        raise ConfigError(
            "pass -c/--config FILE: its buckets hold the catalog that lists the table's exports"
        )
    instant = None
    if as_of is not None:
        try:
            instant = parse_instant(as_of)
        except ValueError as exc:
            raise ConfigError(f"--as-of: {exc}") from None
    config = load_config_file(options.config)
    result = snapshots.snapshot(
        config,
        aws_api(options, config),
        table=table,
        output=output if output.startswith("s3://") else Path(output),
        to=to,
        as_of=instant,
        allow_gaps=allow_gaps,
        force=force,
        typed=typed,
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _echo_result(result)
    for gap in result.gaps:
        click.echo(
            f"warning: no export covers {gap}: writes made then are missing from the snapshot",
            err=True,
        )
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


def _echo_result(result: snapshots.SnapshotResult) -> None:
    click.echo(
        f"wrote {result.items:,} items of table {result.table!r} as of "
        f"{format_instant(result.as_of)} to {result.output} ({result.format})"
    )
    baseline = result.baseline
    when = format_instant(baseline.export_time) if baseline.export_time else "?"
    click.echo(f"  baseline     {baseline.export_arn} (full, as of {when})")
    for record in result.incrementals:
        start = format_instant(record.from_time) if record.from_time else "?"
        end = format_instant(record.to_time) if record.to_time else "?"
        click.echo(f"  incremental  {record.export_arn} ({start} to {end})")
    click.echo(
        f"  changes      {result.changes_applied:,} applied, {result.changes_skipped:,} skipped "
        "(already in the baseline, or after the instant)"
    )
    if result.export_folder is None:
        return
    folder = result.export_folder.rstrip("/")
    if folder.startswith("s3://"):
        click.echo(f"restore it:  ddbexport restore {shlex.quote(folder + '/')} --table NEW")
        return
    export_id = folder.rsplit("/", 1)[-1]
    click.echo(
        "restore it:  aws s3 sync "
        f"{shlex.quote(folder)} s3://BUCKET/PREFIX/AWSDynamoDB/{export_id}/\n"
        f"             ddbexport restore s3://BUCKET/PREFIX/AWSDynamoDB/{export_id}/ --table NEW"
    )
