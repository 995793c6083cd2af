"""``ddbexport iam-policy``: the least-privilege policy a config needs."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import click

from ddbexport.aws.roles import account_api
from ddbexport.config.accounts import Target, account_targets
from ddbexport.config.model import Config, load_config_file
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
    api = aws_api(options, config)
    region = options.region or config.region
    if config.accounts:
        chosen = _account_target(config, account, options.region)
        config, region = chosen.config, chosen.region
        if any(selector.name is None for selector in config.tables) and not unresolved:
            api = account_api(
                replace(api.settings, region=chosen.region),
                account=chosen.account,
                role_arn=chosen.role_arn,
                external_id=chosen.external_id,
                base=api,
            )
    policy = iam_policy(
        config,
        target="pipeline" if target == "pipeline" else "local",
        api=api,
        account=account,
        region=region,
        enable_pitr=enable_pitr,
        resolve=not unresolved,
    )
    click.echo(json.dumps(policy, indent=2))


def _account_target(config: Config, account: str | None, region: str | None) -> Target:
    """The account and region of ``[[accounts]]`` whose role the policy is for."""
    ids = ", ".join(entry.id for entry in config.accounts)
    if account is None:
        raise ConfigError(
            f"this config has [[accounts]] ({ids}): pass --account ID for the policy of that "
            "account's role (and --region for one of its regions)"
        )
    targets = [t for t in account_targets(config, region or config.region) if t.account == account]
    if not targets:
        raise ConfigError(
            f"--account {account}: not an account of [[accounts]] with tables ({ids})"
        )
    if region is None:
        return targets[0]
    for target in targets:
        if target.region == region:
            return target
    regions = ", ".join(t.region for t in targets)
    raise ConfigError(f"--region {region}: account {account} exports in {regions}")
