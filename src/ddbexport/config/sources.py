"""Where a run's table list comes from: the config, the seed's ``tablelist`` payload, or SSM."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from ddbexport.core.ports import ExportApi
from ddbexport.errors import ConfigError, ParameterNotFound

from .model import Config, TableSelector, describe_validation_error
from .seedpayload import parse_tablelist, parse_tablelist_text, with_tables


@dataclass(frozen=True, slots=True)
class RunInput:
    """The config to run, and the export time a table-list payload asked for (if any)."""

    config: Config
    payload_time: datetime | None = None


def from_tablelist_text(config: Config, text: str, *, source: str) -> RunInput:
    """Replace the config's tables by the seed payload in ``text`` (its ``time`` included)."""
    tablelist = parse_tablelist_text(text, source=source)
    return RunInput(with_tables(config, tablelist.selectors, source), tablelist.time)


def from_ssm_parameter(config: Config, api: ExportApi, name: str) -> RunInput:
    """Replace the config's tables by the JSON table list stored in an SSM parameter.

    The value may be the seed payload (``{"tablelist": [...]}``), a bare list of its entries, or
    ``{"tables": [...]}`` with entries shaped like the config file's ``[[tables]]``.
    """
    source = f"SSM parameter {name!r}"
    try:
        text = api.get_parameter(name)
    except ParameterNotFound:
        raise ConfigError(f"{source} does not exist (in this account and region)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source} is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); it must "
            'hold {"tablelist": [...]}, a list of tablelist entries, or {"tables": [...]}'
        ) from None
    if isinstance(data, dict) and "tables" in data and "tablelist" not in data:
        selectors = _selectors(data["tables"], source)
        return RunInput(with_tables(config, selectors, source))
    tablelist = parse_tablelist(data, source=source)
    return RunInput(with_tables(config, tablelist.selectors, source), tablelist.time)


def _selectors(raw: object, source: str) -> tuple[TableSelector, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{source}: 'tables' must be a non-empty list of table selectors")
    selectors = []
    for index, entry in enumerate(raw):
        try:
            selectors.append(TableSelector.model_validate(entry))
        except ValidationError as exc:
            raise ConfigError(
                describe_validation_error(exc, f"{source}: tables[{index}]")
            ) from None
    return tuple(selectors)
