"""``ddbexport synth``: resolve the config's tables and write the template and the definition."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from ddbexport.config.model import Config, effective_destination
from ddbexport.core.models import TableInfo
from ddbexport.core.ports import ExportApi
from ddbexport.errors import AwsError, ConfigError
from ddbexport.planning.gather import parallel_map, resolve_tables

from .statemachine import definition_json
from .tablelist import TableSetting
from .template import Synthesis, synthesize

TEMPLATE_FILE = "template.json"
DEFINITION_FILE = "statemachine.asl.json"
#: Written when the table list is too big for SSM: deploy uploads it to the records bucket.
TABLES_FILE = "tables.json"

log = logging.getLogger(__name__)


def table_settings(config: Config, api: ExportApi | None) -> list[TableSetting]:
    """The tables the pipeline exports (see :func:`_resolve_settings`)."""
    return _resolve_settings(config, api)[0]


def _resolve_settings(
    config: Config, api: ExportApi | None
) -> tuple[list[TableSetting], Mapping[str, TableInfo]]:
    """The tables the pipeline exports, and the descriptions read to find them (by name).
    Named tables need no AWS call; ``match`` and ``tags`` selectors are resolved against the
    account (``api``), as ``plan`` does. A table the config names by ARN keeps its ARN (its
    account and region); the others are exported in the stack's own account and region.

    Raises:
        ConfigError: no tables, a dynamic selector without an ``api``, or a named table missing.
    """
    if not config.tables:
        raise ConfigError("the pipeline needs [[tables]] in the config")
    if all(selector.name is not None for selector in config.tables):
        settings: dict[str, TableSetting] = {}
        for selector in config.tables:
            assert selector.name is not None
            arn = selector.name if selector.name.startswith("arn:") else None
            name = selector.name.rsplit("/", 1)[-1]
            settings.setdefault(
                arn or name,
                TableSetting(name, arn, effective_destination(config.defaults, selector)),
            )
        return list(settings.values()), {}
    if api is None:
        raise ConfigError(
            "match/tags selectors are resolved against the account: AWS access needed"
        )
    selections, described, _ = resolve_tables(config, api)
    found: list[TableSetting] = []
    for selection in selections:
        info = described.get(selection.table)
        if isinstance(info, TableInfo):
            named = selection.selector.name
            arn = info.arn if named is not None and named.startswith("arn:") else None
            found.append(TableSetting(info.name, arn, selection.destination))
    if not found:
        raise ConfigError("the config selects no existing table")
    return found, {name: info for name, info in described.items() if isinstance(info, TableInfo)}


def learn_durations(
    settings: Sequence[TableSetting],
    api: ExportApi,
    described: Mapping[str, TableInfo] | None = None,
) -> list[TableSetting]:
    """Each table's size and its previous export's duration (DescribeTable, then ListExports
    and DescribeExport of its newest COMPLETED full export), for its first wait. A table AWS
    cannot describe keeps what it had: its first wait is then ``poll_first``.

    ``described``: descriptions already read (resolving ``match``/``tags`` selectors), by
    table name; those tables are not described again. Tables are looked up side by side, as
    planning describes them (thousands of tables: two or three calls each)."""

    def learn(setting: TableSetting) -> TableSetting:
        try:
            known = None if setting.table_arn else (described or {}).get(setting.table)
            info = known or api.describe_table(setting.table_arn or setting.table)
            previous = api.latest_completed_export(info.arn)
        except AwsError as exc:
            log.debug("no previous export duration for %s: %s", setting.table, exc)
            return setting
        return dataclasses.replace(
            setting,
            size_bytes=info.size_bytes,
            expected_s=previous.duration_s if previous is not None else None,
        )

    return parallel_map(learn, settings)


def synth(config: Config, api: ExportApi | None = None, *, learn: bool = True) -> Synthesis:
    """The pipeline for ``config`` (see :func:`ddbexport.pipeline.template.synthesize`). With
    ``api``, each table's first wait comes from its previous export (:func:`learn_durations`);
    without (or with ``learn`` false), it is ``poll_first``.

    Raises:
        ConfigError: as :func:`table_settings`; the config has ``[[accounts]]`` (see
            :mod:`ddbexport.pipeline.stackset`).
    """
    if config.accounts:
        raise ConfigError(
            "this config has [[accounts]]: one stack serves one account and region. Build a "
            "StackSet with `ddbexport synth --stackset`, or use a config of one account"
        )
    settings, described = _resolve_settings(config, api)
    if api is not None and learn and config.run.poll.mode == "adaptive":
        settings = learn_durations(settings, api, described)
    return synthesize(config, settings)


def write_synthesis(synthesis: Synthesis, folder: Path) -> list[Path]:
    """Write ``template.json`` and ``statemachine.asl.json``; returns their paths."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        template = folder / TEMPLATE_FILE
        template.write_text(json.dumps(synthesis.template, indent=2) + "\n", encoding="utf-8")
        definition = folder / DEFINITION_FILE
        definition.write_text(definition_json(synthesis.definition), encoding="utf-8")
        written = [template, definition]
        if synthesis.table_list_object is not None:
            tables = folder / TABLES_FILE
            tables.write_text(synthesis.table_list.object_body + "\n", encoding="utf-8")
            written.append(tables)
    except OSError as exc:
        raise ConfigError(f"-o {folder}: cannot write: {exc}") from None
    return written
