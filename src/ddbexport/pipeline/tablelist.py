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

from ddbexport.config.model import Destination
from ddbexport.core.timeparse import parse_duration
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
        "template": template_ids[prefix_template(destination)],
        "format": destination.format or "DYNAMODB_JSON",
        "sse": destination.sse or "AES256",
    }
    if destination.kms_key:
        entry["kms_key"] = destination.kms_key
    if destination.bucket_owner:
        entry["bucket_owner"] = destination.bucket_owner
    if setting.table_arn:
        entry["table_arn"] = setting.table_arn
    if destination.mode == "incremental":
        every = destination.full_every
        entry["mode"] = "incremental"
        entry["view"] = destination.view or "NEW_AND_OLD_IMAGES"
        entry["full_every_s"] = (
            None if every in (None, "never") else round(parse_duration(str(every)))
        )
    return entry


def compile_table_list(
    settings: Sequence[TableSetting], templates: Sequence[PrefixTemplate] | None = None
) -> CompiledList:
    """The SSM value for ``settings``. Entries carry an ARN only for tables the config names by
    ARN: the state machine builds the others' from the name in its own region and account,
    which saves space.

    Raises:
        ConfigError: the list is empty, or it (or the run's results) would not fit one
            execution's state.

    ``templates``: the prefix templates of a definition shared by several lists (a StackSet's
    accounts); by default those of ``settings``.
    """
    if not settings:
        raise ConfigError("the pipeline has no tables: the config selects none")
    prefixes = [prefix_template(s.destination) for s in settings]
    templates = tuple(templates) if templates is not None else templates_for(prefixes)
    template_ids = {t.source: t.ident for t in templates}
    entries = [_entry(setting, template_ids) for setting in settings]
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
    for what, size in (
        ("table list", len(value.encode())),
        ("run's results", results_size([s.table for s in settings])),
    ):
        if size > PAYLOAD_LIMIT:
            raise ConfigError(
                f"the pipeline's {what} would be {size:,} bytes ({len(entries):,} tables); one "
                f"execution's state holds 256 KiB and the pipeline keeps {PAYLOAD_LIMIT:,} for "
                "it. Split the tables over several configs, each with its own "
                "pipeline.stack_name"
            )
    return CompiledList(value, templates)


def prefix_template(destination: Destination) -> str:
    """The destination's prefix template, as the local runner reads it: none (``""`` or unset)
    means the bucket's root."""
    return destination.prefix or ""


def results_size(tables: Sequence[str]) -> int:
    """The largest piece of the run's state after the Map: the run record's body, the escaped
    JSON of one ``{"table", "status"}`` result per table plus every status again (for the
    failure count)."""
    size = 0
    for table in tables:
        result = json.dumps({"table": table, "status": "TIMED_OUT"}, separators=(",", ":"))
        size += len(json.dumps(result).encode()) + len(json.dumps('"TIMED_OUT",'))
    return size


def _common(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The settings every entry shares (an entry cannot unset a default: only shared ones go)."""
    defaults: dict[str, Any] = {}
    for key in ("bucketname", "template", "format", "sse", "kms_key", "bucket_owner"):
        values = {json.dumps(entry.get(key)) for entry in entries}
        if len(values) == 1 and values != {"null"}:
            defaults[key] = entries[0][key]
    return defaults
