"""Schedule expressions (EventBridge cron/rate) and time zones, validated. Pure functions only."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
CRON_HELP = (
    "cron(Minutes Hours Day-of-month Month Day-of-week Year), e.g. cron(0 3 * * ? *), with '?' "
    "in day-of-month or day-of-week"
)
RATE_HELP = "rate(N unit), unit minute|minutes|hour|hours|day|days, e.g. rate(6 hours)"
_CHARACTERS = re.compile(r"^[0-9A-Za-z,\-*/?#]+$")
_NUMBER = re.compile(r"^[0-9]+$")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_WEEKDAYS = {
    name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)
}


@dataclass(frozen=True)
class _Field:
    """What one cron field accepts (the EventBridge cron reference, field by field)."""

    name: str
    low: int
    high: int
    symbols: str  # the wildcards besides ',', '-' and '*'
    max_step: int = 0  # largest number after '/'; 0 when '/' is not allowed
    names: Mapping[str, int] = field(default_factory=dict)

    @property
    def values(self) -> str:
        """The values allowed, as the reference lists them: '1-12 or JAN-DEC'."""
        if not self.names:
            return f"{self.low}-{self.high}"
        first, *_, last = self.names
        return f"{self.low}-{self.high} or {first}-{last}"

    @property
    def allowed(self) -> str:
        wildcards = " ".join([",", "-", "*", *self.symbols])
        return f"allowed: {self.values} with {wildcards}"


_MINUTES = _Field("minutes", 0, 59, "/", max_step=59)
_HOURS = _Field("hours", 0, 23, "/", max_step=23)
_DAY_OF_MONTH = _Field("day-of-month", 1, 31, "?/LW", max_step=31)
_MONTH = _Field("month", 1, 12, "/", max_step=12, names=_MONTHS)
_DAY_OF_WEEK = _Field("day-of-week", 1, 7, "?L#", names=_WEEKDAYS)
_YEAR = _Field("year", 1970, 2199, "/", max_step=229)
_FIELDS = (_MINUTES, _HOURS, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK, _YEAR)


class _Invalid(Exception):
    """One field is not valid; the argument says why."""


def check_schedule(expression: str) -> str:
    """Return ``expression`` when EventBridge would accept it; raise ``ValueError`` saying why."""
    text = expression.strip()
    rate = _RATE.fullmatch(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ValueError(f"{expression!r}: the rate must be at least 1")
        if (value == 1) != (not unit.endswith("s")):
            raise ValueError(
                f"{expression!r}: use the singular unit only for 1 (rate(1 hour), rate(5 hours))"
            )
        return text
    cron = _CRON.fullmatch(text)
    if not cron:
        raise ValueError(f"{expression!r} is not a schedule; expected {CRON_HELP} or {RATE_HELP}")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"{expression!r} has {len(fields)} fields; expected 6: {CRON_HELP}")
    for spec, text_field in zip(_FIELDS, fields, strict=True):
        try:
            _check_field(spec, text_field)
        except _Invalid as exc:
            raise ValueError(
                f"{expression!r}: {spec.name} field {text_field!r} is not valid: {exc} "
                f"({spec.allowed})"
            ) from None
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ValueError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    return text


def _check_field(spec: _Field, text: str) -> None:
    """Raise ``_Invalid`` unless ``text`` is a valid value of the cron field ``spec``."""
    if not _CHARACTERS.fullmatch(text):
        bad = next(c for c in text if not _CHARACTERS.fullmatch(c))
        raise _Invalid(f"the character {bad!r} is not allowed")
    for symbol in "/?#":
        if symbol in text and symbol not in spec.symbols:
            raise _Invalid(f"{symbol!r} is not allowed in the {spec.name} field")
    items = text.split(",")
    if "" in items:
        raise _Invalid("a list item is empty; separate values with single commas, e.g. 1,15")
    special = [item for item in items if _is_special(spec, item)]
    if special and len(items) > 1:
        raise _Invalid(
            f"{special[0]!r} cannot be combined with other items; '?', 'L', 'W' and '#' "
            "forms must stand alone"
        )
    if special:
        _check_special(spec, text)
        return
    for item in items:
        _check_item(spec, item)


def _is_special(spec: _Field, item: str) -> bool:
    """Whether ``item`` uses '?', 'L', 'W' or '#', which stand alone in their field."""
    upper = item.upper()
    if upper == "?":
        return True
    if spec is _DAY_OF_MONTH:
        return "L" in upper or "W" in upper
    if spec is _DAY_OF_WEEK:
        return "#" in upper or upper.endswith("L")
    return False


def _check_special(spec: _Field, text: str) -> None:
    """Check a field that is a single '?', 'L', 'LW', 'nW', 'nL' or 'n#k'."""
    upper = text.upper()
    if upper == "?":
        return
    if spec is _DAY_OF_MONTH:
        if upper in ("L", "LW"):
            return
        if "L" in upper:
            raise _Invalid(
                f"'L' stands alone (the last day of the month) or as LW, not in {text!r}"
            )
        day = upper[:-1]
        if not upper.endswith("W") or "W" in day or not _NUMBER.fullmatch(day):
            raise _Invalid(f"'W' follows a single day 1-31, e.g. 15W, not {text!r}")
        _value(spec, day)
        return
    if "#" in upper:
        day, _, occurrence = upper.partition("#")
        if not day or "-" in day or "/" in day or "*" in day or "L" in day:
            raise _Invalid(f"'#' follows a single weekday, e.g. MON#2 or 2#1, not {text!r}")
        _value(spec, day)
        if not _NUMBER.fullmatch(occurrence):
            raise _Invalid(f"'#' needs an occurrence 1-5 after it, e.g. MON#2, not {text!r}")
        if not 1 <= int(occurrence) <= 5:
            raise _Invalid(f"occurrence {int(occurrence)} after '#' is outside 1-5")
        return
    day = upper[:-1]
    if not day:
        # EventBridge reads a bare L in day-of-week as the week's last day (7, Saturday).
        return
    if "-" in day or "/" in day or "*" in day or "L" in day:
        raise _Invalid(f"'L' follows a single weekday, e.g. 6L or FRIL, not {text!r}")
    _value(spec, day)


def _check_item(spec: _Field, item: str) -> None:
    """Check ``*``, a value, a range ``a-b`` or a step ``x/y`` (x: ``*``, a value or a range)."""
    base, slash, step = item.partition("/")
    if slash:
        if not step:
            raise _Invalid(f"{item!r} needs a step number after '/', e.g. */5")
        if not _NUMBER.fullmatch(step):
            raise _Invalid(f"the step {step!r} after '/' is not a number")
        if not 1 <= int(step) <= spec.max_step:
            raise _Invalid(f"the step {int(step)} is outside 1-{spec.max_step}")
        if not base:
            raise _Invalid(f"{item!r} needs a start before '/', e.g. */{step} or 0/{step}")
    if base == "*":
        return
    if "-" in base:
        start, _, end = base.partition("-")
        if not start or not end or "-" in end:
            raise _Invalid(f"{base!r} is not a range; write first-last, e.g. {spec.values}")
        first, last = _value(spec, start), _value(spec, end)
        if first > last:
            raise _Invalid(f"the range {base!r} runs backwards; write the smaller value first")
        return
    _value(spec, base)


def _value(spec: _Field, text: str) -> int:
    """The number a single value stands for: digits in the field's range, or a name."""
    if _NUMBER.fullmatch(text):
        number = int(text)
        if not spec.low <= number <= spec.high:
            raise _Invalid(f"{number} is outside {spec.low}-{spec.high}")
        return number
    named = spec.names.get(text.upper())
    if named is None:
        raise _Invalid(f"{text!r} is not a value; use {spec.values}")
    return named


_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@functools.cache
def _time_zones() -> frozenset[str]:
    """The IANA zone names EventBridge Scheduler accepts (no aliases of the local zone, no
    ``posix/`` or ``right/`` variants)."""
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in _NOT_ZONES and not name.startswith(("posix/", "right/"))
    )


def check_timezone(name: str) -> str:
    """Return ``name`` when it is an IANA time zone; raise ``ValueError`` otherwise."""
    if name not in _time_zones():
        raise ValueError(
            f"{name!r} is not a time zone; use an IANA name such as UTC, Europe/Paris or "
            "America/New_York"
        )
    return name
