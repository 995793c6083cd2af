"""Parsing and formatting of durations (``90s``, ``1h30m``, ``7d``) and ISO-8601 instants."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ddbexport.errors import ConfigError

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
DURATION_HELP = "a duration such as 90s, 15m, 1h30m or 7d (units: ms, s, m, h, d)"


def parse_duration(text: str) -> float:
    """Return the number of seconds in ``text``.

    Raises:
        ValueError: ``text`` is not a positive duration; the message says what is allowed.
    """
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned:
        raise ValueError(f"empty duration; expected {DURATION_HELP}")
    position = 0
    total = 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(cleaned):
        raise ValueError(f"{text!r} is not a duration; expected {DURATION_HELP}")
    if total <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return total


def format_duration(seconds: float) -> str:
    """Render seconds compactly, e.g. ``3725`` → ``1h2m5s``."""
    if seconds < 1:
        return f"{seconds:.2f}s" if seconds else "0s"
    whole = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant into an aware UTC datetime truncated to the second.

    A value without a UTC offset is taken as UTC. Both ``Z`` and ``+hh:mm`` are accepted.

    Raises:
        ValueError: ``text`` is not an ISO-8601 date-time.
    """
    try:
        parsed = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO-8601 date-time; expected e.g. 2026-11-28T03:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


def format_instant(moment: datetime) -> str:
    """Render an instant as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC), the form AWS and our reports use."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> datetime:
    """The local clock's now, aware, in UTC."""
    return datetime.now(UTC)


def require_utc(moment: datetime, what: str) -> datetime:
    """``moment`` in UTC; raises ``ConfigError`` naming ``what`` when it has no timezone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ConfigError(
            f"{what} ({moment.isoformat()}) has no timezone: pass an aware datetime, "
            "e.g. datetime.now(UTC)"
        )
    return moment.astimezone(UTC)


def canonical_instant(moment: datetime) -> str:
    """An instant as client tokens name it: UTC, ``Z``, microseconds only when there are any."""
    moment = require_utc(moment, "a window bound")
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"
