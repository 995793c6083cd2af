"""``ddbexport restore``: import a full export into a new table (ImportTable).

Exit codes: 0 started (or, with --wait, COMPLETED with TTL and tags applied); 1 the import
FAILED, was CANCELLED, is still running at --timeout, TTL or tags could not be applied, or AWS
failed; 2 bad input, nothing started.
"""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any

import click

from ddbexport.config.model import Config, effective_destination, load_config_file
from ddbexport.core.timeparse import format_duration, parse_duration
from ddbexport.data import restore as restoring
from ddbexport.errors import ConfigError
from ddbexport.exports.stores import parse_s3_url

from .common import GlobalOptions, aws_api, global_options, handle_errors, merge_global


def _duration(option: str, text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None


def _capacity(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    read, colon, write = text.partition(":")
    if not colon or not read.strip().isdigit() or not write.strip().isdigit():
        raise ConfigError(
            f"--capacity {text!r}: expected READ:WRITE capacity units, e.g. 5:5 (whole numbers "
            "of at least 1)"
        )
    return int(read), int(write)


def _config_owner(config: Config | None, bucket: str) -> str | None:
    """The config's ``bucket_owner`` for ``bucket``, when the config exports to it."""
    if config is None:
        return None
    for selector in config.tables:
        destination = effective_destination(config.defaults, selector)
        if destination.bucket == bucket and destination.bucket_owner:
            return destination.bucket_owner
    if config.defaults.bucket == bucket:
        return config.defaults.bucket_owner
    return None


def _progress_line(table: str, progress: restoring.ImportProgress) -> str:
    return (
        f"restore {table}: {progress.status}, {progress.processed_items:,} processed, "
        f"{progress.imported_items:,} imported, {progress.error_count:,} errors "
        f"({format_duration(progress.elapsed_s)})"
    )


def _finish_command(
    result: restoring.RestoreResult, options: GlobalOptions, replay: list[str]
) -> str:
    """The command that follows this import to its end and applies TTL and tags.

    ``replay`` repeats the options that shaped the plan (keys, indexes, encryption …): the
    command plans again, and must decide as this one did.
    """
    plan = result.plan
    words = ["ddbexport", "restore", plan.target, "--table", plan.table, *replay]
    words += ["--import-arn", result.import_arn, "--wait"]
    for flag, value in (
        ("--region", options.region),
        ("--profile", options.profile),
        ("--endpoint-url", options.endpoint_url),
        ("-c", str(options.config) if options.config else None),
    ):
        if value:
            words += [flag, value]
    return shlex.join(words)


@click.command()
@click.argument("target")
@click.option("--table", "table_name", required=True, metavar="NEW", help="The table to create.")
@click.option("--wait", is_flag=True, help="Follow the import to its end, then apply TTL and tags.")
@click.option(
    "--poll",
    default="15s",
    show_default=True,
    metavar="DURATION",
    help="DescribeImport interval (--wait).",
)
@click.option(
    "--timeout",
    default="2h",
    show_default=True,
    metavar="DURATION",
    help="Stop waiting after this long (--wait).",
)
@click.option(
    "--billing-mode",
    type=click.Choice(restoring.BILLING_MODES),
    help="Billing of the new table (default: the source's).",
)
@click.option(
    "--capacity",
    metavar="READ:WRITE",
    help="Provisioned capacity of the table and every GSI (default: the source's).",
)
@click.option(
    "--kms-key",
    metavar="KEY|aws-managed|aws-owned",
    help="Encrypt the new table with this KMS key (default: as the source; see the README).",
)
@click.option(
    "--key",
    "key_text",
    metavar="NAME:TYPE[,NAME:TYPE]",
    help="Partition [and sort] key when the export has no schema sidecar, e.g. pk:S,sk:N.",
)
@click.option(
    "--drop-local-indexes",
    is_flag=True,
    help="Restore a table with local secondary indexes without them (ImportTable has none).",
)
@click.option("--bucket-owner", metavar="ACCOUNT", help="The export bucket's account, if another.")
@click.option("--no-verify", is_flag=True, help="Import without checking the export is whole.")
@click.option(
    "--import-arn",
    metavar="ARN",
    help="Follow an import started earlier (e.g. without --wait) instead of starting one.",
)
@click.option(
    "--new-import",
    is_flag=True,
    help="Start a new import even if one of this export into NEW ended in the last 8 hours.",
)
@click.option("--dry-run", is_flag=True, help="Print the ImportTable request; start nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@global_options
@click.pass_context
@handle_errors
def restore(
    ctx: click.Context,
    /,
    target: str,
    table_name: str,
    wait: bool,
    poll: str,
    timeout: str,
    billing_mode: str | None,
    capacity: str | None,
    kms_key: str | None,
    key_text: str | None,
    drop_local_indexes: bool,
    bucket_owner: str | None,
    no_verify: bool,
    import_arn: str | None,
    new_import: bool,
    dry_run: bool,
    as_json: bool,
    **given: Any,
) -> None:
    """Import a FULL export (s3://BUCKET/…/AWSDynamoDB/<ExportId>/) into a new table."""
    options = merge_global(ctx, **given)
    poll_s = _duration("--poll", poll)
    timeout_s = _duration("--timeout", timeout)
    keys = restoring.parse_keys(key_text) if key_text is not None else None
    if dry_run and import_arn:
        raise ConfigError("--dry-run starts nothing and --import-arn follows a started import")
    replay: list[str] = []
    for flag, value in (
        ("--billing-mode", billing_mode),
        ("--capacity", capacity),
        ("--kms-key", kms_key),
        ("--key", key_text),
        ("--bucket-owner", bucket_owner),
    ):
        if value is not None:
            replay += [flag, value]
    replay += ["--drop-local-indexes"] * drop_local_indexes + ["--no-verify"] * no_verify
    config = load_config_file(options.config) if options.config else None
    api = aws_api(options, config)
    if bucket_owner is None and target.startswith("s3://"):
        bucket_owner = _config_owner(config, parse_s3_url(target)[0])
    settings: dict[str, Any] = {
        "api": api,
        "billing_mode": billing_mode,
        "capacity": _capacity(capacity),
        "kms_key": kms_key,
        "keys": keys,
        "bucket_owner": bucket_owner,
        "drop_local_indexes": drop_local_indexes,
        "verify": not no_verify,
        "new_import": new_import,
    }
    if dry_run:
        plan = restoring.plan_restore(target, table_name, **settings)
        if as_json:
            click.echo(json.dumps(plan.to_dict(), indent=2))
            return
        click.echo(f"would import {plan.target} ({plan.item_count:,} items) into {table_name!r}")
        click.echo(f"definition from the {plan.definition}")
        _echo_plan_details(plan)
        click.echo("ImportTable request:")
        click.echo(json.dumps(plan.request, indent=2))
        return

    def show(progress: restoring.ImportProgress) -> None:
        click.echo(_progress_line(table_name, progress), err=True)

    result = restoring.restore(
        target,
        table_name,
        wait=wait,
        poll_s=poll_s,
        timeout_s=timeout_s,
        progress=show,
        import_arn=import_arn,
        **settings,
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _echo_result(result, _finish_command(result, options, replay))
    _echo_errors(result, _finish_command(result, options, replay))
    sys.exit(result.exit_code)


def _echo_plan_details(plan: restoring.RestorePlan) -> None:
    if plan.ttl_attribute:
        click.echo(f"TTL on {plan.ttl_attribute!r} once the import has completed")
    if plan.tags:
        pairs = ", ".join(f"{key}={value}" for key, value in sorted(plan.tags.items()))
        click.echo(f"tags once the import has completed: {pairs}")
    for note in plan.notes:
        click.echo(f"note: {note}")


def _echo_result(result: restoring.RestoreResult, finish: str) -> None:
    plan = result.plan
    if not result.waited:
        click.echo(f"started importing {plan.target} into table {plan.table!r}")
        click.echo(f"import ARN: {result.import_arn}")
        _echo_plan_details(plan)
        arn = shlex.quote(result.import_arn)
        click.echo(f"follow it:  aws dynamodb describe-import --import-arn {arn}")
        click.echo(f"finish it (waits, then applies TTL and tags): {finish}")
        return
    progress = result.progress
    click.echo(
        f"{result.status}: {plan.target} into table {plan.table!r} "
        f"({result.table_arn or 'no table ARN'}): {progress.imported_items:,} items imported, "
        f"{progress.processed_items:,} processed, {progress.error_count:,} errors, "
        f"{format_duration(progress.elapsed_s)}"
    )
    for done in result.applied:
        click.echo(f"applied: {done}")
    for note in plan.notes:
        click.echo(f"note: {note}")


def _echo_errors(result: restoring.RestoreResult, finish: str) -> None:
    """What went wrong, on stderr, in text and JSON mode alike."""
    if result.status in ("FAILED", "CANCELLED", "CANCELLING"):
        why = ": ".join(part for part in (result.failure_code, result.failure_message) if part)
        click.echo(f"error: the import {result.status}" + (f": {why}" if why else ""), err=True)
    if result.log_group:
        click.echo(
            f"error: {result.progress.error_count:,} item(s) could not be imported; they are "
            f"logged in CloudWatch log group {result.log_group}",
            err=True,
        )
    if result.timed_out:
        click.echo(
            f"error: the import is still {result.status} after "
            f"{format_duration(result.progress.elapsed_s)}; it goes on in AWS. Finish it later "
            f"with: {finish}",
            err=True,
        )
    for problem in result.problems:
        click.echo(f"error: {problem}", err=True)
