"""The table list the pipeline reads, compiled from the config. Pure.

The SSM parameter holds ``{"defaults": {...}, "tables": [{"tablename": ..., ...}]}``: settings
shared by most tables are said once in ``defaults`` and each entry carries only what differs, so
that the list fits SSM's value limit (4 KB standard, 8 KB advanced) for as many tables as
possible. A longer list is an S3 object holding the entries alone (a JSON array, as the
Distributed Map's ItemReader reads it); its defaults are written into the definition.

Each entry may say how long the table's previous export took (``expected_s``) and how long to
wait before its first poll (``first_wait_s``): that duration, else ``poll_first`` or half a
size-based guess.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ddbexport.config.model import Destination, RunSettings
from ddbexport.core.timeparse import parse_duration
from ddbexport.errors import ConfigError

from .statemachine import PrefixTemplate, first_wait, templates_for

#: SSM's value limits: standard parameters, and advanced ones.
STANDARD_LIMIT = 4096
ADVANCED_LIMIT = 8192


@dataclass(frozen=True, slots=True)
class TableSetting:
    """One table the pipeline exports, with its destination."""

    table: str
    table_arn: str | None
    destination: Destination
    #: How long the table's previous export took, when known (the catalog or ListExports).
    expected_s: float | None = None
    #: The table's size, when known (for a first wait without a previous export).
    size_bytes: int = 0


@dataclass(frozen=True, slots=True)
class CompiledList:
    """The parameter's JSON and the prefix templates the definition must know."""

    value: str
    templates: tuple[PrefixTemplate, ...]
    #: The settings every entry shares, and the entries without them.
    defaults: dict[str, Any]
    entries: tuple[dict[str, Any], ...]

    @property
    def object_body(self) -> str:
        """The S3 object's content when SSM cannot hold the list: the entries, a JSON array."""
        return json.dumps(list(self.entries), separators=(",", ":"))

    @property
    def tier(self) -> str:
        """The SSM tier the value needs."""
        return "Standard" if len(self.value.encode()) <= STANDARD_LIMIT else "Advanced"

    @property
    def in_ssm(self) -> bool:
        """Whether an SSM parameter can hold the list (else it is kept in S3)."""
        return len(self.value.encode()) <= ADVANCED_LIMIT


def _entry(
    setting: TableSetting, template_ids: dict[str, str], run: RunSettings | None
) -> dict[str, Any]:
    destination = setting.destination
    entry: dict[str, Any] = {
        "tablename": setting.table,
        "bucketname": destination.bucket,
        "template": template_ids[prefix_template(destination)],
        "format": destination.format or "DYNAMODB_JSON",
        "sse": destination.sse or "AES256",
    }
    if run is not None:
        expected = setting.expected_s if run.poll.mode == "adaptive" else None
        if expected is not None and expected > 0:
            entry["expected_s"] = max(round(expected), 1)
        entry["first_wait_s"] = first_wait(
            run, expected_s=entry.get("expected_s"), size_bytes=setting.size_bytes
        )
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
    settings: Sequence[TableSetting],
    run: RunSettings | None = None,
    templates: Sequence[PrefixTemplate] | None = None,
) -> CompiledList:
    """The SSM value for ``settings``. Entries carry an ARN only for tables the config names by
    ARN: the state machine builds the others' from the name in its own region and account,
    which saves space. With ``run``, each entry gets its first wait (``first_wait_s``) and, for
    a table whose previous export's duration is known, that duration (``expected_s``).

    The list's length has no bound here: the Map reads it from S3 and writes its results
    there, so neither passes through the execution's 256 KiB state.

    Raises:
        ConfigError: the list is empty.

    ``templates``: the prefix templates of a definition shared by several lists (a StackSet's
    accounts); by default those of ``settings``.
    """
    if not settings:
        raise ConfigError("the pipeline has no tables: the config selects none")
    prefixes = [prefix_template(s.destination) for s in settings]
    templates = tuple(templates) if templates is not None else templates_for(prefixes)
    template_ids = {t.source: t.ident for t in templates}
    entries = [_entry(setting, template_ids, run) for setting in settings]
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
    return CompiledList(value, templates, defaults, tuple(compact))


def prefix_template(destination: Destination) -> str:
    """The destination's prefix template, as the local runner reads it: none (``""`` or unset)
    means the bucket's root."""
    return destination.prefix or ""


def _common(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The settings every entry shares (an entry cannot unset a default: only shared ones go)."""
    defaults: dict[str, Any] = {}
    for key in (
        "bucketname",
        "template",
        "format",
        "sse",
        "kms_key",
        "bucket_owner",
        "first_wait_s",
    ):
        values = {json.dumps(entry.get(key)) for entry in entries}
        if len(values) == 1 and values != {"null"}:
            defaults[key] = entries[0][key]
    return defaults
