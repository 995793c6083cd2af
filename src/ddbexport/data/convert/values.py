"""Values made JSON-safe (plain ones and DynamoDB JSON) for orjson to write; changes as records."""

from __future__ import annotations

from binascii import a2b_base64, b2a_base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from ddbexport.exports.reader import Change

CHANGE_COLUMNS = ("kind", "write_time", "keys", "old", "new")
NEWLINE = orjson.OPT_APPEND_NEWLINE


def json_safe(value: Any) -> Any:
    """A plain value (as :func:`ddbexport.exports.reader.iter_items` yields) that orjson can write.

    ``Decimal`` → a JSON number with exactly its digits, ``bytes`` → base64, sets → sorted lists.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, dict):
        return {name: json_safe(inner) for name, inner in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(inner) for inner in value]
    if isinstance(value, bytes | bytearray):
        return base64_text(value)
    if isinstance(value, set | frozenset):
        return [json_safe(inner) for inner in sorted(value)]
    raise TypeError(f"{type(value).__name__} is not a DynamoDB value")


def _number(value: Decimal) -> orjson.Fragment:
    # A Fragment is written verbatim: the number keeps every digit (floats would keep ~17).
    return orjson.Fragment(decimal_text(value))


def decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a DynamoDB number")
    return str(value)


def _number_as_written(text: str) -> orjson.Fragment:
    # The export's own text when it is a JSON number (orjson says so faster than Decimal can
    # parse it, and the text is exact by definition); anything else goes through Decimal.
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = None
    if type(parsed) is int or type(parsed) is float:
        return orjson.Fragment(text)
    return _number(Decimal(text))


def base64_text(data: bytes | bytearray) -> str:
    return b2a_base64(data, newline=False).decode("ascii")


def json_safe_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """``json_safe(plain_item(item))`` straight from a DynamoDB-JSON item (see
    :func:`json_safe_typed`)."""
    safe: dict[str, Any] = {}
    for name, typed in item.items():
        # Strings and numbers are most values: converting them inline saves a call for each.
        if "S" in typed:
            safe[name] = typed["S"]
        elif "N" in typed:
            safe[name] = _number_as_written(typed["N"])
        else:
            safe[name] = json_safe_typed(typed)
    return safe


def json_safe_typed(typed: Mapping[str, Any]) -> Any:
    """``json_safe(plain_value(typed))`` straight from DynamoDB JSON, without building Decimals
    and bytes that would only be written out again (this runs for every value written).

    Numbers keep the text the export holds when it is a JSON number (the same value as the
    ``Decimal``, possibly written differently, e.g. ``1e2`` for ``1E+2``).
    """
    if "S" in typed:
        return typed["S"]
    if "N" in typed:
        return _number_as_written(typed["N"])
    if "M" in typed:
        return json_safe_item(typed["M"])
    if "L" in typed:
        return [json_safe_typed(inner) for inner in typed["L"]]
    if "BOOL" in typed:
        return bool(typed["BOOL"])
    if "NULL" in typed:
        return None
    if "B" in typed:
        return base64_text(a2b_base64(typed["B"]))
    if "SS" in typed:
        return sorted(set(typed["SS"]))
    if "NS" in typed:
        return [_number(number) for number in sorted({Decimal(text) for text in typed["NS"]})]
    if "BS" in typed:
        return [base64_text(blob) for blob in sorted({a2b_base64(text) for text in typed["BS"]})]
    raise ValueError(f"{dict(typed)!r} is not a DynamoDB-JSON value")


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def _utc_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def change_json(change: Change, typed: bool) -> dict[str, Any]:
    image: Callable[[Any], Any] = _identity if typed else json_safe
    return {
        "kind": change.kind,
        "keys": image(change.keys),
        "old": None if change.old_image is None else image(change.old_image),
        "new": None if change.new_image is None else image(change.new_image),
        "write_time": _utc_text(change.write_time),
    }


def _identity(value: Any) -> Any:
    return value
