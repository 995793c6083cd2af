"""Schedule expressions and time zones: exactly what EventBridge accepts, and clear refusals."""

from __future__ import annotations

import pytest

from ddbexport.config.schedule import check_schedule, check_timezone

VALID = [
    "cron(0 3 * * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0 8 1W * ? *)",
    "cron(0 8 L * ? *)",
    "cron(0 8 LW * ? *)",
    "cron(0 8 ? * 6L *)",
    "cron(0 12 ? * L *)",
    "cron(0 8 ? * FRIL *)",
    "cron(0 8 ? * MON#2 *)",
    "cron(0 8 ? * 2#5 *)",
    "cron(0 8 ? * MON-FRI *)",
    "cron(0 8 ? * mon-fri *)",
    "cron(0 8 ? JAN,JUL * 2027)",
    "cron(0 8 ? jan-mar * *)",
    "cron(5,35 14 * * ? *)",
    "cron(0 18 ? * MON-FRI 2026-2030)",
    "cron(10-40/5 */2 1/3 JAN-DEC/2 ? 2026/2)",
    "cron(59 23 31 12 ? 2199)",
    "cron(0 0 ? * 1,7 1970)",
    "cron(*/59 */23 */31 */12 ? *)",
    "cron(0 * ? * * *)",
    "rate(1 hour)",
    "rate(5 minutes)",
    "rate(1 day)",
    "rate(30 days)",
]


@pytest.mark.parametrize("expression", VALID)
def test_valid_expressions_are_accepted(expression: str) -> None:
    assert check_schedule(expression) == expression


def test_surrounding_spaces_are_dropped() -> None:
    assert check_schedule("  cron(0 3 * * ? *) ") == "cron(0 3 * * ? *)"


# (expression, parts the message must contain: the field, the offending token, the reason)
INVALID: list[tuple[str, list[str]]] = [
    ("cron(61 3 * * ? *)", ["minutes field '61' is not valid: 61 is outside 0-59"]),
    ("cron(0 24 * * ? *)", ["hours field '24'", "24 is outside 0-23"]),
    ("cron(0 3 0 * ? *)", ["day-of-month field '0'", "0 is outside 1-31"]),
    ("cron(0 3 32 * ? *)", ["day-of-month field '32'", "32 is outside 1-31"]),
    ("cron(0 3 * 13 ? *)", ["month field '13'", "13 is outside 1-12"]),
    ("cron(0 3 ? * 0 *)", ["day-of-week field '0'", "0 is outside 1-7"]),
    ("cron(0 3 ? * 8 *)", ["day-of-week field '8'", "8 is outside 1-7"]),
    ("cron(0 3 * * ? 1969)", ["year field '1969'", "1969 is outside 1970-2199"]),
    ("cron(0 3 * * ? 2200)", ["year field '2200'", "2200 is outside 1970-2199"]),
    ("cron(0 3 * * ? 2026-2300)", ["year field '2026-2300'", "2300 is outside 1970-2199"]),
    ("cron(0/60 3 * * ? *)", ["minutes field '0/60'", "step 60 is outside 1-59"]),
    ("cron(0 */24 * * ? *)", ["hours field '*/24'", "step 24 is outside 1-23"]),
    ("cron(*/0 3 * * ? *)", ["minutes field '*/0'", "step 0 is outside 1-59"]),
    ("cron(*/ 3 * * ? *)", ["minutes field '*/'", "needs a step number after '/'"]),
    ("cron(/5 3 * * ? *)", ["minutes field '/5'", "needs a start before '/'"]),
    ("cron(0/x 3 * * ? *)", ["minutes field '0/x'", "step 'x' after '/' is not a number"]),
    ("cron(0 3 1,,2 * ? *)", ["day-of-month field '1,,2'", "a list item is empty"]),
    ("cron(0,3, 3 * * ? *)", ["minutes field '0,3,'", "a list item is empty"]),
    ("cron(0 3 5-1 * ? *)", ["day-of-month field '5-1'", "'5-1' runs backwards"]),
    ("cron(0 3 ? * FRI-MON *)", ["day-of-week field 'FRI-MON'", "'FRI-MON' runs backwards"]),
    ("cron(0 3 1-2-3 * ? *)", ["day-of-month field '1-2-3'", "'1-2-3' is not a range"]),
    ("cron(0 3 1- * ? *)", ["day-of-month field '1-'", "'1-' is not a range"]),
    ("cron(0 X * * ? *)", ["hours field 'X'", "'X' is not a value; use 0-23"]),
    ("cron(0 3 * FOO ? *)", ["month field 'FOO'", "'FOO' is not a value; use 1-12 or JAN-DEC"]),
    ("cron(0 3 ? * MONDAY *)", ["day-of-week field 'MONDAY'", "use 1-7 or SUN-SAT"]),
    ("cron(0 3 * MON ? *)", ["month field 'MON'", "'MON' is not a value"]),
    ("cron(0 3 ? * JAN *)", ["day-of-week field 'JAN'", "'JAN' is not a value"]),
    ("cron(0 3 L * ? *)x", ["is not a schedule"]),
    ("cron(L 3 * * ? *)", ["minutes field 'L'", "'L' is not a value"]),
    ("cron(0 3 * L ? *)", ["month field 'L'", "'L' is not a value"]),
    ("cron(0 3W * * ? *)", ["hours field '3W'", "'3W' is not a value"]),
    ("cron(0 3 * * ? 2026W)", ["year field '2026W'", "'2026W' is not a value"]),
    ("cron(0 3 * * ? *%)", ["year field '*%'", "the character '%' is not allowed"]),
    ("cron(? 3 * * ? *)", ["minutes field '?'", "'?' is not allowed in the minutes field"]),
    ("cron(0 3 * ? ? *)", ["month field '?'", "'?' is not allowed in the month field"]),
    ("cron(0 3 ? * 1,? *)", ["day-of-week field '1,?'", "'?' cannot be combined"]),
    ("cron(0 3 ?,1 * * *)", ["day-of-month field '?,1'", "'?' cannot be combined"]),
    ("cron(0 3 ? * */2 *)", ["day-of-week field '*/2'", "'/' is not allowed"]),
    ("cron(0 3 ? * MON#0 *)", ["day-of-week field 'MON#0'", "occurrence 0 after '#'"]),
    ("cron(0 3 ? * MON#6 *)", ["day-of-week field 'MON#6'", "occurrence 6 after '#'"]),
    ("cron(0 3 ? * MON# *)", ["day-of-week field 'MON#'", "'#' needs an occurrence 1-5"]),
    ("cron(0 3 ? * #2 *)", ["day-of-week field '#2'", "'#' follows a single weekday"]),
    ("cron(0 3 ? * 9#2 *)", ["day-of-week field '9#2'", "9 is outside 1-7"]),
    ("cron(0 3 ? * MON-FRI#2 *)", ["day-of-week field 'MON-FRI#2'", "a single weekday"]),
    ("cron(0 3 ? * MON#2,FRI *)", ["day-of-week field 'MON#2,FRI'", "'MON#2' cannot be"]),
    ("cron(0 3 ? * 3#1,6#3 *)", ["day-of-week field '3#1,6#3'", "cannot be combined"]),
    ("cron(0 3 * * 1#2 *)", ["exactly one of day-of-month and day-of-week must be '?'"]),
    ("cron(0 3 1#2 * ? *)", ["day-of-month field '1#2'", "'#' is not allowed"]),
    ("cron(0 3 ? * 1-5L *)", ["day-of-week field '1-5L'", "'L' follows a single weekday"]),
    ("cron(0 3 ? * 8L *)", ["day-of-week field '8L'", "8 is outside 1-7"]),
    ("cron(0 3 ? * 6L,1 *)", ["day-of-week field '6L,1'", "'6L' cannot be combined"]),
    ("cron(0 3 1-5W * ? *)", ["day-of-month field '1-5W'", "'W' follows a single day 1-31"]),
    ("cron(0 3 */2W * ? *)", ["day-of-month field '*/2W'", "'W' follows a single day"]),
    ("cron(0 3 W * ? *)", ["day-of-month field 'W'", "'W' follows a single day"]),
    ("cron(0 3 32W * ? *)", ["day-of-month field '32W'", "32 is outside 1-31"]),
    ("cron(0 3 0W * ? *)", ["day-of-month field '0W'", "0 is outside 1-31"]),
    ("cron(0 3 1W,15 * ? *)", ["day-of-month field '1W,15'", "'1W' cannot be combined"]),
    ("cron(0 3 L,15 * ? *)", ["day-of-month field 'L,15'", "'L' cannot be combined"]),
    ("cron(0 3 L-2 * ? *)", ["day-of-month field 'L-2'", "'L' stands alone"]),
    ("cron(0 3 5L * ? *)", ["day-of-month field '5L'", "'L' stands alone"]),
    ("cron(0 3 * * ? *", ["is not a schedule; expected cron("]),
    ("cron(0 3 * * *)", ["has 5 fields; expected 6"]),
    ("cron(0 3 * * ? * *)", ["has 7 fields; expected 6"]),
    ("cron(0 3 * * * *)", ["exactly one of day-of-month and day-of-week must be '?'"]),
    ("cron(0 3 ? * ? *)", ["exactly one of day-of-month and day-of-week must be '?'"]),
    ("rate(5 hour)", ["use the singular unit only for 1"]),
    ("rate(1 hours)", ["use the singular unit only for 1"]),
    ("rate(0 minutes)", ["the rate must be at least 1"]),
    ("rate(5 weeks)", ["is not a schedule"]),
    ("every day", ["is not a schedule"]),
    ("", ["is not a schedule"]),
]


@pytest.mark.parametrize(("expression", "parts"), INVALID, ids=[case[0] for case in INVALID])
def test_invalid_expressions_are_refused_with_a_clear_message(
    expression: str, parts: list[str]
) -> None:
    with pytest.raises(ValueError, match=r".") as raised:
        check_schedule(expression)
    message = str(raised.value)
    assert message.startswith(repr(expression))
    for part in parts:
        assert part in message


def test_field_message_names_what_is_allowed() -> None:
    with pytest.raises(ValueError, match=r"allowed: 1-7 or SUN-SAT with , - \* \? L #"):
        check_schedule("cron(0 3 ? * MON#6 *)")
    with pytest.raises(ValueError, match=r"allowed: 1-31 with , - \* \? / L W"):
        check_schedule("cron(0 3 32 * ? *)")


@pytest.mark.parametrize("name", ["Europe/Paris", "UTC", "America/New_York", "Asia/Tokyo"])
def test_iana_time_zones_are_accepted(name: str) -> None:
    assert check_timezone(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "localtime",
        "Factory",
        "posixrules",
        "right/UTC",
        "posix/UTC",
        "posix/Europe/Paris",
        "/etc/localtime",
        "/usr/share/zoneinfo/UTC",
        "../zoneinfo/UTC",
        "Europe/../UTC",
        "Mars/Olympus",
        "europe/paris",
        " UTC",
        "",
    ],
)
def test_other_time_zone_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match=r"is not a time zone; use an IANA name") as raised:
        check_timezone(name)
    assert str(raised.value).startswith(f"{name!r} is not a time zone")
