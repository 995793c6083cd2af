"""``ddbexport check``: every preflight check, with the fix for each finding."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ddbexport.running.facade import check as check_tables

from .common import (
    EXIT_INCOMPLETE,
    global_options,
    handle_errors,
    merge_global,
    prepare,
    table_source_options,
)


@click.command()
@global_options
@table_source_options
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_context
@handle_errors
def check(
    ctx: click.Context,
    /,
    tablelist: str | None,
    tables_from_ssm: str | None,
    as_of: str | None,
    run_id: str | None,
    as_json: bool,
    **given: Any,
) -> None:
    """Check tables, PITR, buckets and KMS keys; exit 1 when something needs fixing."""
    options = merge_global(ctx, **given)
    run_input, api, export_time = prepare(options, tablelist, tables_from_ssm, as_of)
    report = check_tables(run_input.config, api=api, as_of=export_time)
    if as_json:
        click.echo(
            json.dumps(
                {"ok": report.ok, "findings": [f.to_dict() for f in report.findings]}, indent=2
            )
        )
    else:
        view = Table(title="ddbexport check")
        for column in ("table", "check", "", "detail", "fix"):
            view.add_column(column, overflow="fold")
        for finding in report.findings:
            mark = "[green]ok[/]" if finding.ok else "[red]PROBLEM[/]"
            view.add_row(
                escape(finding.table),
                finding.subject,
                mark,
                escape(finding.detail),
                escape(finding.fix),
            )
        Console(soft_wrap=True).print(view)
        problems = len(report.problems)
        click.echo("all checks passed" if report.ok else f"{problems} problem(s) to fix")
    sys.exit(0 if report.ok else EXIT_INCOMPLETE)
