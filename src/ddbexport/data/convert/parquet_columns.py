"""Parquet column types: what the values seen in a column need, and how each value is stored."""

from __future__ import annotations

from binascii import a2b_base64
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .values import decimal_text, json_safe_typed, json_text

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_DECIMAL_DIGITS = 38
NUMBER_TEXT = "number-text"


@dataclass(slots=True)
class _Numbers:
    """What the numbers of one column (or one number set column) need to be stored exactly."""

    integers: bool = True  # every value an integer that fits int64
    scale: int = 0  # the most digits after the point
    whole_digits: int = 0  # the most digits before it

    def add(self, text: str) -> None:
        _sign, digits, exponent = Decimal(text).as_tuple()
        if not isinstance(exponent, int):
            raise ValueError(f"{text!r} is not a DynamoDB number")
        # Trailing zeros after the point change neither the value nor what it fits in.
        while exponent < 0 and len(digits) > 1 and digits[-1] == 0:
            digits = digits[:-1]
            exponent += 1
        if exponent < 0 and digits == (0,):
            exponent = 0
        scale = max(-exponent, 0)
        whole = max(len(digits) + exponent, 0)
        self.scale = max(self.scale, scale)
        self.whole_digits = max(self.whole_digits, whole)
        if self.integers and (scale or (whole > 18 and not _fits_int64(text))):
            self.integers = False

    def include(self, other: _Numbers) -> None:
        """Also need what ``other``'s numbers need."""
        self.integers = self.integers and other.integers
        self.scale = max(self.scale, other.scale)
        self.whole_digits = max(self.whole_digits, other.whole_digits)

    def arrow_type(self, pa: Any) -> tuple[Any, str]:
        """The Parquet type and how to convert a number's text to it (int, decimal, text)."""
        if self.integers:
            return pa.int64(), "int"
        if self.whole_digits + self.scale <= _DECIMAL_DIGITS:
            return pa.decimal128(_DECIMAL_DIGITS, self.scale), "decimal"
        return pa.string(), "text"


def _fits_int64(text: str) -> bool:
    return _INT64_MIN <= int(Decimal(text)) <= _INT64_MAX


@dataclass(slots=True)
class Column:
    kinds: dict[str, None] = field(default_factory=dict)  # DynamoDB types seen, in order
    numbers: _Numbers = field(default_factory=_Numbers)

    def add(self, typed: Mapping[str, Any]) -> None:
        for kind, value in typed.items():
            if kind == "NULL":
                return
            self.kinds.setdefault(kind, None)
            if kind == "N":
                self.numbers.add(value)
            elif kind == "NS":
                for text in value:
                    self.numbers.add(text)
            return

    def include(self, other: Column) -> None:
        """Also hold what ``other`` holds: its types (those new here after ours, in its order)
        and its numbers."""
        for kind in other.kinds:
            self.kinds.setdefault(kind, None)
        self.numbers.include(other.numbers)


def _number_converter(how: str) -> Callable[[str], Any]:
    if how == "int":
        return _to_int
    if how == "decimal":
        return Decimal
    return _number_text


def _to_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # "1E+2" and the like
        return int(Decimal(text))


def _number_text(text: str) -> str:
    return decimal_text(Decimal(text))


def column_plan(
    pa: Any, name: str, column: Column, typed: bool
) -> tuple[Any, Callable[[Mapping[str, Any]], Any], str | None]:
    """(Parquet field, typed value → column value, a note: why the column holds JSON text
    (``typed``, ``varying``, ``nested``), ``number-text`` for numbers kept as text, or None)."""
    kinds = list(column.kinds)
    json_meta = {b"ddbexport.encoding": b"json"}
    if typed:
        return pa.field(name, pa.string(), metadata=json_meta), json_text, "typed"
    if not kinds:
        return pa.field(name, pa.string()), _none, None
    if len(kinds) > 1:
        return (
            pa.field(name, pa.string(), metadata=json_meta),
            _plain_json_text,
            "varying",
        )
    kind = kinds[0]
    if kind == "S":
        return pa.field(name, pa.string()), _get("S"), None
    if kind == "BOOL":
        return pa.field(name, pa.bool_()), _get("BOOL"), None
    if kind == "B":
        return pa.field(name, pa.binary()), _blob, None
    if kind == "N":
        arrow, how = column.numbers.arrow_type(pa)
        number = _number_converter(how)
        return (
            pa.field(name, arrow),
            lambda typed: number(typed["N"]),
            NUMBER_TEXT if how == "text" else None,
        )
    if kind == "SS":
        return pa.field(name, pa.list_(pa.string())), _string_set, None
    if kind == "BS":
        return pa.field(name, pa.list_(pa.binary())), _blob_set, None
    if kind == "NS":
        arrow, how = column.numbers.arrow_type(pa)
        number = _number_converter(how)
        return (
            pa.field(name, pa.list_(arrow)),
            lambda typed: [number(text) for text in _sorted_numbers(typed["NS"])],
            NUMBER_TEXT if how == "text" else None,
        )
    return pa.field(name, pa.string(), metadata=json_meta), _plain_json_text, "nested"


def _none(typed: Mapping[str, Any]) -> None:
    return None


def _get(kind: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda typed: typed[kind]


def _blob(typed: Mapping[str, Any]) -> bytes:
    return a2b_base64(typed["B"])


def _string_set(typed: Mapping[str, Any]) -> list[str]:
    return sorted(set(typed["SS"]))


def _blob_set(typed: Mapping[str, Any]) -> list[bytes]:
    return sorted({a2b_base64(text) for text in typed["BS"]})


def _sorted_numbers(texts: Iterable[str]) -> list[str]:
    return [str(number) for number in sorted({Decimal(text) for text in texts})]


def _plain_json_text(typed: Mapping[str, Any]) -> str:
    return json_text(json_safe_typed(typed))
