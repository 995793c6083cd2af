"""The seed's table list: the EventBridge payload ``{"tablelist": [...], "time": ...}`` (or a
bare list of its entries) read as table selectors and an export time."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import ValidationError, field_validator

from ddbexport.core.timeparse import parse_instant
from ddbexport.errors import ConfigError

from .model import (
    Config,
    StrictModel,
    TableSelector,
    check_bucket,
    check_table_name,
    describe_validation_error,
    validate_config,
)


class TableList(StrictModel):
    """The seed's EventBridge payload: ``{"tablelist": [...], "time": ...}``."""

    selectors: tuple[TableSelector, ...]
    time: datetime | None = None


class _SeedEntry(StrictModel):
    tablename: str
    bucketname: str
    prefix: str | None = None

    _bucket = field_validator("bucketname")(check_bucket)
    _name = field_validator("tablename")(check_table_name)


def parse_tablelist(data: object, *, source: str) -> TableList:
    """Read the seed's ``tablelist`` payload (or a bare list of its entries).

    Unknown top-level keys (an EventBridge event's ``id``, ``detail`` …) are ignored; ``time``,
    when present, becomes the run's export time. Entries are strict: a misspelt key is an error.
    """
    raw_time: object = None
    if isinstance(data, dict):
        if "tablelist" not in data:
            raise ConfigError(f"{source}: no 'tablelist' key; expected {_TABLELIST_SHAPE}")
        entries, raw_time = data["tablelist"], data.get("time")
    else:
        entries = data
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: 'tablelist' must be a non-empty list; {_TABLELIST_SHAPE}")
    selectors = []
    for index, entry in enumerate(entries):
        try:
            parsed = _SeedEntry.model_validate(entry)
        except ValidationError as exc:
            raise ConfigError(
                describe_validation_error(exc, f"{source}: tablelist[{index}]")
            ) from None
        prefix = (parsed.prefix or "").strip("/") or None
        selectors.append(
            TableSelector(name=parsed.tablename, bucket=parsed.bucketname, prefix=_literal(prefix))
        )
    time = None
    if raw_time is not None:
        if not isinstance(raw_time, str):
            raise ConfigError(f"{source}: 'time' must be an ISO-8601 string, got {raw_time!r}")
        try:
            time = parse_instant(raw_time)
        except ValueError as exc:
            raise ConfigError(f"{source}: time: {exc}") from None
    return TableList(selectors=tuple(selectors), time=time)


def parse_tablelist_text(text: str, *, source: str) -> TableList:
    """Parse a JSON table list document (the seed payload, or a list of its entries)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg}); "
            f"expected {_TABLELIST_SHAPE}"
        ) from None
    return parse_tablelist(data, source=source)


def with_tables(config: Config, selectors: tuple[TableSelector, ...], source: str) -> Config:
    """Return ``config`` whose table selectors are replaced by ``selectors`` (validated again)."""
    data = config.model_dump(exclude_none=True)
    data["tables"] = [selector.model_dump(exclude_none=True) for selector in selectors]
    return validate_config(data, source=source)


_TABLELIST_SHAPE = (
    '{"tablelist": [{"tablename": "...", "bucketname": "...", "prefix": "..."}], '
    '"time": "2026-11-28T03:00:00Z"}'
)


def _literal(prefix: str | None) -> str | None:
    # Seed prefixes are literal paths: escape braces so they are not read as placeholders.
    return None if prefix is None else prefix.replace("{", "{{").replace("}", "}}")
