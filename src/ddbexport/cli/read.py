"""``ddbexport read``: an export's items (or changes) as JSON lines, CSV or Parquet.

Exit codes: 0 written; 1 a file of the export cannot be read, or AWS failed; 2 bad input.
"""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

import click

from ddbexport.data import convert
from ddbexport.errors import ConfigError

from .common import aws_api, global_options, handle_errors, merge_global


@click.command()
@click.argument("target")
@click.option(
    "--to",
    "to",
    type=click.Choice(convert.FORMATS),
    default="jsonl",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file (default: stdout; Parquet needs a file).",
)
@click.option(
    "--typed",
    is_flag=True,
    help='Values as DynamoDB JSON ({"S": "x"}) instead of plain JSON values.',
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Processes decoding a FULL export to JSON lines, threads with the native engine "
    "(JSON lines and Parquet); default: one per CPU, up to 8 (processes: for exports of "
    "200,000 items or more).",
)
@click.option(
    "--engine",
    type=click.Choice(convert.ENGINES),
    default="auto",
    show_default=True,
    help="native: DynamoDB JSON converted to JSON lines or Parquet in C (built at install), "
    "several times faster; python: every line in Python; auto: native where it is built. "
    "Same output either way.",
)
@global_options
@click.pass_context
@handle_errors
def read(
    ctx: click.Context,
    /,
    target: str,
    to: str,
    output: Path | None,
    typed: bool,
    workers: int | None,  # None: let convert pick by the export's size
    engine: str,
    **given: Any,
) -> None:
    """Write what an export holds: the items of a FULL export, the changes of an INCREMENTAL one.

    TARGET: s3://BUCKET/…/AWSDynamoDB/<ExportId>/ or a folder on disk laid out the same way.
    Changes are written as kind (insert, update, delete), keys, old, new and write_time.
    """
    options = merge_global(ctx, **given)
    api = aws_api(options, None) if target.startswith("s3://") else None
    if to == "parquet" and output is None:
        raise ConfigError("--to parquet needs -o PATH: Parquet cannot go to stdout")
    if output is not None:
        result = convert.convert(
            target, to, output, typed=typed, api=api, workers=workers, engine=engine
        )
    else:
        stdout = sys.stdout.buffer
        try:
            result = convert.convert(
                target, to, stdout, typed=typed, api=api, workers=workers, engine=engine
            )
            stdout.flush()
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly, and keep Python from
            # complaining when it flushes stdout at exit.
            _silence_stdout()
            sys.exit(0)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if output is not None:
        what = "changes" if result.changes else "items"
        click.echo(f"wrote {result.rows} {what} to {output} ({to})", err=True)


def _silence_stdout() -> None:
    # Without a real file descriptor (tests) nothing complains at exit either.
    with suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
