"""The checks of ``[[accounts]]`` and of the ``accounts``/``regions`` of ``[[tables]]`` entries.
Pure; each raises ``ValueError`` with a message naming the entry, as the model reports it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

ACCOUNT_PATTERN = re.compile(r"^[0-9]{12}$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
ROLE_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}):role/[\w+=,.@/-]{1,512}$")
#: STS's ExternalId: 2-1,224 characters of letters, digits and +=,.@:/-
EXTERNAL_ID_PATTERN = re.compile(r"^[\w+=,.@:/-]{2,1224}$")


class _Account(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def regions(self) -> tuple[str, ...] | None: ...


class _Selector(Protocol):
    @property
    def accounts(self) -> tuple[str, ...] | None: ...
    @property
    def regions(self) -> tuple[str, ...] | None: ...
    def describe(self) -> str: ...


class _Config(Protocol):
    @property
    def region(self) -> str | None: ...
    @property
    def accounts(self) -> Sequence[_Account]: ...
    @property
    def tables(self) -> Sequence[_Selector]: ...


def check_account_ids(value: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """A selector's ``accounts``: 12-digit ids, each once."""
    for item in value or ():
        if not ACCOUNT_PATTERN.fullmatch(item):
            raise ValueError(f"accounts: {item!r} is not a 12-digit AWS account id")
    _check_unique(value, "accounts")
    return value


def check_regions(value: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """``regions``: region names, each once."""
    for item in value or ():
        if not REGION_PATTERN.fullmatch(item):
            raise ValueError(f"regions: {item!r} is not an AWS region name (e.g. 'eu-west-1')")
    _check_unique(value, "regions")
    return value


def _check_unique(value: tuple[str, ...] | None, key: str) -> None:
    seen: set[str] = set()
    for item in value or ():
        if item in seen:
            raise ValueError(f"{key}: {item!r} is listed twice")
        seen.add(item)


def check_account_id(value: str) -> str:
    """An ``[[accounts]]`` entry's ``id``."""
    if not ACCOUNT_PATTERN.fullmatch(value):
        raise ValueError(f"id {value!r} must be a 12-digit AWS account id (e.g. '111122223333')")
    return value


def check_account(account: str, role_arn: str | None, external_id: str | None) -> None:
    """An ``[[accounts]]`` entry: a role of that same account to assume, its external id."""
    if external_id is not None and not EXTERNAL_ID_PATTERN.fullmatch(external_id):
        raise ValueError(
            "external_id must be 2-1,224 characters: letters, digits and + = , . @ : / - _"
        )
    if role_arn is None:
        if external_id is not None:
            raise ValueError(f"account {account}: external_id is sent with role_arn; set both")
        return
    found = ROLE_ARN_PATTERN.fullmatch(role_arn)
    if found is None:
        raise ValueError(
            f"account {account}: role_arn {role_arn!r} is not an IAM role ARN "
            "(arn:aws:iam::<12-digit account>:role/<name>)"
        )
    if found.group(1) != account:
        raise ValueError(
            f"account {account}: role_arn {role_arn!r} is a role of account {found.group(1)}; "
            "the role assumed must be in the account whose tables it exports"
        )


def check_accounts(config: _Config) -> None:
    """Accounts listed once; selectors name only listed accounts and regions they have."""
    ids = [account.id for account in config.accounts]
    seen: set[str] = set()
    for index, account_id in enumerate(ids):
        if account_id in seen:
            raise ValueError(
                f"accounts[{index}]: account {account_id} is listed twice; give each account one "
                "entry, with every region it has in its regions"
            )
        seen.add(account_id)
    for index, selector in enumerate(config.tables):
        where = f"tables[{index}] ({selector.describe()})"
        if not config.accounts:
            if selector.accounts is not None or selector.regions is not None:
                key = "accounts" if selector.accounts is not None else "regions"
                raise ValueError(f"{where}: {key} applies with [[accounts]]; this config has none")
            continue
        unknown = [item for item in selector.accounts or () if item not in ids]
        if unknown:
            raise ValueError(
                f"{where}: account {unknown[0]} is not in [[accounts]] (listed: {', '.join(ids)})"
            )
        if selector.regions is not None:
            _check_selector_regions(config, selector, where)


def _check_selector_regions(config: _Config, selector: _Selector, where: str) -> None:
    mine = [a for a in config.accounts if selector.accounts is None or a.id in selector.accounts]
    # An account without regions runs in the environment's region, unknown here.
    if any(account.regions is None and config.region is None for account in mine):
        return
    known = {
        region
        for account in mine
        for region in account.regions or ((config.region,) if config.region else ())
    }
    stray = [region for region in selector.regions or () if region not in known]
    if stray:
        raise ValueError(
            f"{where}: region {stray[0]} is not a region of its accounts "
            f"({', '.join(sorted(known))})"
        )
