"""Commands over what has been exported: verify, list, status, prune, catalog rebuild, athena-ddl.

Exit codes: 0 fine; 1 problems found (verify) or AWS failed; 2 bad input; 3 a table is stale,
missing or failing (status).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ddbexport.catalog import inventory
from ddbexport.catalog.chainstate import chain_records
from ddbexport.catalog.cursor import cursor_of, cursor_to_dict
from ddbexport.catalog.status import OK
from ddbexport.config.model import Config, load_config_file
from ddbexport.core.timeparse import format_duration, format_instant, parse_duration
from ddbexport.errors import ConfigError
from ddbexport.running.facade import status as table_statuses

from .common import (
    EXIT_INCOMPLETE,
    GlobalOptions,
    WholeSummaryGroup,
    aws_api,
    global_options,
    handle_errors,
    load_run_input,
    merge_global,
    table_list_options,
)
from .render import is_wide, print_whole

EXIT_STALE = 3


def _config(
    options: GlobalOptions, tablelist: str | None = None, tables_from_ssm: str | None = None
) -> Config:
    """The config, with the tables of --tablelist / --tables-from-ssm when given."""
    if tablelist or tables_from_ssm:
        preliminary = load_config_file(options.config) if options.config else None
        api = aws_api(options, preliminary)
        return load_run_input(options, api, tablelist, tables_from_ssm).config
    if options.config is None:
        raise ConfigError(
            "pass -c/--config FILE (or --tablelist / --tables-from-ssm): they name the buckets "
            "and tables to look at"
        )
    return load_config_file(options.config)


def _duration(option: str, text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def _console() -> Console:
    return Console(soft_wrap=True)


# ---------------------------------------------------------------------------- verify


@click.command()
@click.argument("target")
@click.option("--deep", is_flag=True, help="Also read every data file: MD5, gzip, item counts.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@global_options
@click.pass_context
@handle_errors
def verify(ctx: click.Context, /, target: str, deep: bool, as_json: bool, **given: Any) -> None:
    """Prove an export is whole. TARGET: s3://BUCKET/…/AWSDynamoDB/<ExportId>/ or a folder."""
    options = merge_global(ctx, **given)
    api = aws_api(options, None) if target.startswith("s3://") else None
    result = inventory.verify(target, deep=deep, api=api)
    if as_json:
        _print_json(result.to_dict())
    else:
        summary = result.summary
        if summary is not None:
            when = summary.export_time or summary.to_time
            click.echo(
                f"{summary.export_type} {summary.export_arn}\n"
                f"  as of {format_instant(when) if when else '?'}, {summary.item_count} items in "
                f"{result.data_files} data files ({'deep' if deep else 'cheap'} checks)"
            )
        for problem in result.problems:
            click.echo(f"PROBLEM {problem}")
        click.echo("OK: the export is whole" if result.ok else f"{len(result.problems)} problem(s)")
    sys.exit(0 if result.ok else EXIT_INCOMPLETE)


# ---------------------------------------------------------------------------- list


@click.command(name="list")
@click.option("--table", metavar="NAME", help="Only this table's exports.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON lines.")
@table_list_options
@global_options
@click.pass_context
@handle_errors
def list_command(
    ctx: click.Context,
    /,
    table: str | None,
    as_json: bool,
    tablelist: str | None,
    tables_from_ssm: str | None,
    **given: Any,
) -> None:
    """Show the catalog: every export made into the config's buckets."""
    options = merge_global(ctx, **given)
    config = _config(options, tablelist, tables_from_ssm)
    listing = inventory.list_exports(config, aws_api(options, config), table=table)
    if as_json:
        for record in listing.records:
            click.echo(record.to_json())
    else:
        view = Table(title=f"{len(listing.records)} export(s)")
        for column in ("table", "type", "as of", "status", "items", "verified", "export"):
            view.add_column(column, overflow="fold")
        for record in listing.records:
            verified = {True: "yes", False: "NO", None: "-"}[record.verified]
            view.add_row(
                escape(record.table),
                "incremental" if record.export_type == "INCREMENTAL_EXPORT" else "full",
                format_instant(record.as_of) if record.as_of else "",
                record.status,
                "" if record.item_count is None else str(record.item_count),
                verified,
                escape(f"s3://{record.s3_bucket}/{record.export_folder}/"),
            )
        _console().print(view)
    for key in listing.unreadable:
        click.echo(f"warning: {key} is not a catalog record", err=True)


# ---------------------------------------------------------------------------- chain


@click.command()
@click.option("--table", required=True, metavar="NAME", help="The table whose chain to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the chain as JSON.")
@global_options
@click.pass_context
@handle_errors
def chain(ctx: click.Context, /, table: str, as_json: bool, **given: Any) -> None:
    """Show a table's chain: its baseline and the incremental windows that continue it."""
    options = merge_global(ctx, **given)
    config = _config(options, None, None)
    listing = inventory.list_exports(config, aws_api(options, config), table=table)
    arns = sorted({record.table_arn for record in listing.records})
    if not arns:
        raise ConfigError(f"the catalog holds no export of table {table!r}")
    records = chain_records(listing.records)
    chains = [cursor_to_dict(arn, cursor_of(records, arn)) for arn in arns]
    if as_json:
        _print_json(chains if len(chains) > 1 else chains[0])
    else:
        for shown in chains:
            _print_chain(shown)
    for key in listing.unreadable:
        click.echo(f"warning: {key} is not a catalog record", err=True)


def _print_chain(shown: dict[str, Any]) -> None:
    console = _console()
    baseline = shown["baseline"]
    if baseline is None:
        console.print(escape(f"{shown['table_arn']}: no good full export, so no chain yet"))
        return
    view = Table(title=escape(f"{shown['table_arn']}: chain up to {shown['end']}"))
    for column in ("link", "from", "to", "items", "export folder"):
        view.add_column(column, overflow="fold")
    view.add_row(
        "baseline", "", baseline["export_time"], str(baseline["items"] or ""), baseline["folder"]
    )
    for number, link in enumerate(shown["links"], start=1):
        view.add_row(
            f"window {number}",
            link["from_time"],
            link["to_time"],
            str(link["items"] if link["items"] is not None else ""),
            escape(link["folder"]),
        )
    console.print(view)
    for ignored in shown["ignored"]:
        console.print(escape(f"not in the chain ({ignored['kind']}): {ignored['reason']}"))


# ---------------------------------------------------------------------------- status


@click.command()
@click.option(
    "--max-age",
    default="26h",
    show_default=True,
    help="A table whose latest good export is older than this is stale.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the statuses as JSON.")
@table_list_options
@global_options
@click.pass_context
@handle_errors
def status(
    ctx: click.Context,
    /,
    max_age: str,
    as_json: bool,
    tablelist: str | None,
    tables_from_ssm: str | None,
    **given: Any,
) -> None:
    """Each table's latest good export and its age; exit 3 when any is stale, missing or failing."""
    options = merge_global(ctx, **given)
    config = _config(options, tablelist, tables_from_ssm)
    max_age_s = _duration("--max-age", max_age)
    api = aws_api(options, config)
    statuses = table_statuses(config, api, max_age_s=max_age_s, now=api.service_now)
    if as_json:
        _print_json([item.to_dict() for item in statuses])
    else:
        console = _console()
        rows = []
        for item in statuses:
            latest = item.latest
            rows.append(
                (
                    item.table,
                    item.state,
                    format_duration(item.age_s) if item.age_s is not None else "",
                    format_instant(latest.as_of) if latest and latest.as_of else "",
                    "" if latest is None or latest.item_count is None else str(latest.item_count),
                    item.reason,
                )
            )
        if is_wide(console):
            view = Table(title=f"max age {format_duration(max_age_s)}")
            for column in ("table", "state", "age", "as of", "items", "why"):
                view.add_column(column, overflow="fold")
            for name, state, age, as_of, items, why in rows:
                style = "green" if state == OK else "red"
                view.add_row(escape(name), f"[{style}]{state}[/]", age, as_of, items, escape(why))
            console.print(view)
        else:
            # One line per table, the reason whole on the next: nothing is folded mid-word.
            console.print(f"max age {format_duration(max_age_s)}")
            for name, state, age, as_of, items, why in rows:
                labelled = (f"age {age}" if age else "", f"as of {as_of}" if as_of else "")
                facts = ", ".join(
                    part for part in (*labelled, f"{items} items" if items else "") if part
                )
                style = "green" if state == OK else "red"
                print_whole(
                    console,
                    f"  {escape(name)}  [{style}]{state}[/]" + (f"  {facts}" if facts else ""),
                )
                if why:
                    print_whole(console, f"    {escape(why)}")
    sys.exit(0 if all(item.state == OK for item in statuses) else EXIT_STALE)


# ---------------------------------------------------------------------------- prune


@click.command()
@click.option("--keep-last", type=int, metavar="N", help="Keep the newest N full exports.")
@click.option("--older-than", metavar="DURATION", help="Delete exports older than this (30d).")
@click.option("--table", metavar="NAME", help="Only this table's exports.")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the decisions as JSON.")
@table_list_options
@global_options
@click.pass_context
@handle_errors
def prune(
    ctx: click.Context,
    /,
    keep_last: int | None,
    older_than: str | None,
    table: str | None,
    dry_run: bool,
    as_json: bool,
    tablelist: str | None,
    tables_from_ssm: str | None,
    **given: Any,
) -> None:
    """Delete old exports (objects and catalog records), never a baseline a kept chain needs."""
    options = merge_global(ctx, **given)
    config = _config(options, tablelist, tables_from_ssm)
    older_than_s = _duration("--older-than", older_than) if older_than is not None else None
    api = aws_api(options, config)
    result = inventory.prune(
        config,
        api,
        keep_last=keep_last,
        older_than_s=older_than_s,
        dry_run=dry_run,
        table=table,
        now=api.service_now,
    )
    if as_json:
        _print_json(
            [
                {
                    "table": d.record.table,
                    "export_arn": d.record.export_arn,
                    "as_of": format_instant(d.record.as_of) if d.record.as_of else None,
                    "delete": d.delete,
                    "reason": d.reason,
                    "objects": len(result.objects.get(d.record.export_arn, [])),
                }
                for d in result.decisions
            ]
        )
        return
    verb = "would delete" if dry_run else "deleted"
    for decision in result.decisions:
        record = decision.record
        when = format_instant(record.as_of) if record.as_of else "?"
        if decision.delete:
            count = len(result.objects.get(record.export_arn, []))
            click.echo(f"{verb} {record.table} {when} {record.export_id} ({count} objects)")
        else:
            click.echo(f"keep   {record.table} {when} {record.export_id}: {decision.reason}")
    kept = len(result.decisions) - len(result.deleted)
    done = "would be deleted" if dry_run else "deleted"
    click.echo(f"{len(result.deleted)} export(s) {done}, {kept} kept")


# ---------------------------------------------------------------------------- catalog rebuild


@click.group(cls=WholeSummaryGroup)
def catalog() -> None:
    """Maintain the catalog of exports."""


@catalog.command()
@click.option("--prefix", default="", help="Only look for exports under this S3 prefix.")
@global_options
@click.pass_context
@handle_errors
def rebuild(ctx: click.Context, /, prefix: str, **given: Any) -> None:
    """Recreate catalog records from the export manifests in the config's buckets."""
    options = merge_global(ctx, **given)
    config = _config(options)
    api = aws_api(options, config)
    result = inventory.rebuild_catalog(config, api, prefix=prefix, now=api.service_now)
    broken = 0
    for record in result.written:
        state = "verified" if record.verified else "FAILED verification"
        broken += not record.verified
        click.echo(f"recorded {record.table} {record.export_id} ({state})")
    for problem in result.problems:
        click.echo(f"PROBLEM {problem}", err=True)
    for found in result.snapshots:
        click.echo(f"skipped {found} (a snapshot, not an export)")
    click.echo(
        f"{len(result.written)} record(s) written, {broken} failed verification, "
        f"{len(result.problems)} unreadable"
    )
    sys.exit(0 if not result.problems and not broken else EXIT_INCOMPLETE)


# ---------------------------------------------------------------------------- athena-ddl


@click.command(name="athena-ddl")
@click.argument("target")
@click.option("--table-name", help="The Athena table's name (default: <table>_<export id>).")
@global_options
@click.pass_context
@handle_errors
def athena_ddl(ctx: click.Context, /, target: str, table_name: str | None, **given: Any) -> None:
    """Print CREATE EXTERNAL TABLE for an export (s3://…/AWSDynamoDB/<ExportId>/ or a folder)."""
    options = merge_global(ctx, **given)
    api = aws_api(options, None) if target.startswith("s3://") else None
    click.echo(inventory.athena_ddl(target, api=api, table_name=table_name), nl=False)
