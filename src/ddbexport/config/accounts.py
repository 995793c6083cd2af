"""Many accounts and regions: the ``[[accounts]]`` of a config as targets. Pure.

A target is one account in one region, with how to reach it (a role to assume, or the caller's
own credentials) and a config of its own: ``[defaults]`` with the account's settings over them,
and the ``[[tables]]`` entries that apply there. Everything downstream (planning, running,
aftercare, the pipeline's table list) then works on a target's config exactly as on a
single-account one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ddbexport.errors import ConfigError

from .model import Config, TableSelector, account_defaults

_TABLE_ARN = re.compile(r"^arn:aws[a-z-]*:dynamodb:([a-z0-9-]+):([0-9]{12}):table/")


@dataclass(frozen=True, slots=True)
class Target:
    """One account in one region, and the config of its tables there."""

    account: str
    region: str
    role_arn: str | None
    external_id: str | None
    config: Config

    @property
    def label(self) -> str:
        """How reports and messages name it: ``111122223333/eu-west-1``."""
        return f"{self.account}/{self.region}"


def account_targets(config: Config, default_region: str | None) -> list[Target]:
    """One target per account and region of ``config``'s ``[[accounts]]``, in file order.

    A table named by ARN is exported only in the account and region of its ARN; a selector with
    ``accounts`` or ``regions`` only where they say. A target whose selectors are all elsewhere
    has nothing to export and is left out.

    Raises:
        ConfigError: an account has no region (none in the config, the account or
            ``default_region``).
    """
    targets = []
    for account in config.accounts:
        regions = account.regions or ((config.region or default_region,))
        for region in regions:
            if region is None:
                raise ConfigError(
                    f"account {account.id}: no region; set its regions, 'region' in the config, "
                    "--region, or AWS_REGION"
                )
            selectors = tuple(
                _local(selector)
                for selector in config.tables
                if _applies(selector, account.id, region)
            )
            if config.tables and not selectors:
                continue
            local = config.model_copy(
                update={
                    "region": region,
                    "accounts": (),
                    "defaults": account_defaults(config, account),
                    "tables": selectors,
                }
            )
            targets.append(Target(account.id, region, account.role_arn, account.external_id, local))
    return targets


def _applies(selector: TableSelector, account: str, region: str) -> bool:
    if selector.accounts is not None and account not in selector.accounts:
        return False
    if selector.regions is not None and region not in selector.regions:
        return False
    if selector.name is not None:
        found = _TABLE_ARN.match(selector.name)
        if found is not None:
            return found.group(1) == region and found.group(2) == account
    return True


def _local(selector: TableSelector) -> TableSelector:
    """The selector as a single-account config holds it (without accounts and regions)."""
    return selector.model_copy(update={"accounts": None, "regions": None})
