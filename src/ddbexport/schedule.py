"""Schedule expressions (EventBridge cron/rate) and time zones, validated. Pure functions only."""

from __future__ import annotations

import re
import zoneinfo

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
CRON_HELP = (
    "cron(Minutes Hours Day-of-month Month Day-of-week Year), e.g. cron(0 3 * * ? *), with '?' "
    "in day-of-month or day-of-week"
)
RATE_HELP = "rate(N unit), unit minute|minutes|hour|hours|day|days, e.g. rate(6 hours)"
_FIELD = re.compile(r"^[0-9A-Za-z,\-*/?LW#]+$")
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199))
_NAMES = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")


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
    for index, field in enumerate(fields):
        if not _FIELD.fullmatch(field):
            raise ValueError(f"{expression!r}: {_NAMES[index]} field {field!r} is not valid")
        low, high = _RANGES[index]
        for number in re.findall(r"\d+", field):
            if index in (4,) and "#" in field:
                continue  # day-of-week#n: the number after # is an occurrence, not a day
            value = int(number)
            if not low <= value <= high and not (index == 0 and "/" in field):
                raise ValueError(
                    f"{expression!r}: {_NAMES[index]} value {value} is outside {low}-{high}"
                )
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ValueError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    return text


def check_timezone(name: str) -> str:
    """Return ``name`` when it is an IANA time zone; raise ``ValueError`` otherwise."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone; use an IANA name such as UTC, Europe/Paris or "
            "America/New_York"
        ) from None
    return name
