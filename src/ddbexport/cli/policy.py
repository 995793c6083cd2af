"""``ddbexport iam-policy``: the least-privilege policy a config needs."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from ddbexport.config.model import load_config_file
from ddbexport.errors import ConfigError
from ddbexport.pipeline.permissions import iam_policy

from .common import aws_api, global_options, handle_errors, merge_global


@click.command("iam-policy")
@click.option(
    "--for",
    "target",
    type=click.Choice(["local", "pipeline"]),
    default="local",
    show_default=True,
    help="Who needs it: whoever runs `ddbexport run`, or the deployed pipeline's role.",
)
@click.option("--account", metavar="ID", help="Account id for the ARNs (default: ask STS).")
@click.option("--enable-pitr", is_flag=True, help="Also allow `run --enable-pitr`.")
@click.option(
    "--unresolved",
    is_flag=True,
    help="Keep CloudFormation's ${AWS::…} placeholders (no AWS call for named tables).",
)
@global_options
@click.pass_context
@handle_errors
def iam_policy_command(
    ctx: click.Context,
    /,
    target: str,
    account: str | None,
    enable_pitr: bool,
    unresolved: bool,
    **given: Any,
) -> None:
    """Print the IAM policy JSON this config needs, and nothing more."""
    options = merge_global(ctx, **given)
    if options.config is None:
        raise ConfigError("pass -c/--config FILE: the policy is built from the config")
    if account is not None and not re.fullmatch(r"[0-9]{12}", account):
        raise ConfigError(f"--account {account!r}: an account id is 12 digits")
    config = load_config_file(options.config)
    policy = iam_policy(
        config,
        target="pipeline" if target == "pipeline" else "local",
        api=aws_api(options, config),
        account=account,
        region=options.region or config.region,
        enable_pitr=enable_pitr,
        resolve=not unresolved,
    )
    click.echo(json.dumps(policy, indent=2))
