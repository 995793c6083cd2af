"""The table list the pipeline reads from SSM, compiled from the config. Pure.

The parameter holds ``{"defaults": {...}, "tables": [{"tablename": ..., ...}]}``: settings shared
by most tables are said once in ``defaults`` and each entry carries only what differs, so that
the list fits SSM's value limit (4 KB standard, 8 KB advanced) for as many tables as possible.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ddbexport.config import DEFAULT_PREFIX, Destination
from ddbexport.errors import ConfigError

from .statemachine import PrefixTemplate, templates_for

#: SSM's value limits: standard parameters, and advanced ones.
STANDARD_LIMIT = 4096
ADVANCED_LIMIT = 8192
#: Beyond this the list itself would crowd the execution's 256 KiB state payload.
PAYLOAD_LIMIT = 192 * 1024


@dataclass(frozen=True, slots=True)
class TableSetting:
    """One table the pipeline exports, with its destination."""

    table: str
    table_arn: str | None
    destination: Destination


@dataclass(frozen=True, slots=True)
class CompiledList:
    """The parameter's JSON and the prefix templates the definition must know."""

    value: str
    templates: tuple[PrefixTemplate, ...]

    @property
    def tier(self) -> str:
        """The SSM tier the value needs."""
        return "Standard" if len(self.value.encode()) <= STANDARD_LIMIT else "Advanced"

    @property
    def in_ssm(self) -> bool:
        """Whether an SSM parameter can hold the list (else it is kept in S3)."""
        return len(self.value.encode()) <= ADVANCED_LIMIT


def _entry(setting: TableSetting, template_ids: dict[str, str]) -> dict[str, Any]:
    destination = setting.destination
    entry: dict[str, Any] = {
        "tablename": setting.table,
        "bucketname": destination.bucket,
        "template": template_ids[destination.prefix or DEFAULT_PREFIX],
        "format": destination.format or "DYNAMODB_JSON",
        "sse": destination.sse or "AES256",
    }
    if destination.kms_key:
        entry["kms_key"] = destination.kms_key
    if destination.bucket_owner:
        entry["bucket_owner"] = destination.bucket_owner
    if setting.table_arn:
        entry["table_arn"] = setting.table_arn
    return entry


def compile_table_list(
    settings: Sequence[TableSetting], *, keep_arns: bool = False
) -> CompiledList:
    """The SSM value for ``settings`` (ARNs are left out unless ``keep_arns``: the state machine
    builds them from the name in its own region and account, which saves space).

    Raises:
        ConfigError: the list is empty or larger than an SSM parameter can hold.
    """
    if not settings:
        raise ConfigError("the pipeline has no tables: the config selects none")
    templates = templates_for([s.destination.prefix or DEFAULT_PREFIX for s in settings])
    ordered = list(dict.fromkeys(s.destination.prefix or DEFAULT_PREFIX for s in settings))
    template_ids = {prefix: f"t{index}" for index, prefix in enumerate(ordered)}
    entries = [
        _entry(
            setting if keep_arns else TableSetting(setting.table, None, setting.destination),
            template_ids,
        )
        for setting in settings
    ]
    defaults = _common(entries)
    compact = [
        {
            key: value
            for key, value in entry.items()
            if key == "tablename" or defaults.get(key) != value
        }
        for entry in entries
    ]
    value = json.dumps({"defaults": defaults, "tables": compact}, separators=(",", ":"))
    if len(value.encode()) > PAYLOAD_LIMIT:
        raise ConfigError(
            f"the pipeline's table list is {len(value.encode()):,} bytes ({len(entries)} tables); "
            f"one execution's state holds at most 256 KiB. Split the tables over several stacks "
            "(pipeline.stack_name)"
        )
    return CompiledList(value, templates)


def _common(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The settings every entry shares (an entry cannot unset a default: only shared ones go)."""
    defaults: dict[str, Any] = {}
    for key in ("bucketname", "template", "format", "sse", "kms_key", "bucket_owner"):
        values = {json.dumps(entry.get(key)) for entry in entries}
        if len(values) == 1 and values != {"null"}:
            defaults[key] = entries[0][key]
    return defaults
