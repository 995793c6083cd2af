"""State transitions and history events of a Step Functions definition, counted by walking it.

Pure: nothing runs in AWS and nothing sleeps. A :class:`Walk` follows a definition state by state
as Step Functions would run it for one table whose export takes a given time: Wait states advance
a simulated clock, DescribeExport answers IN_PROGRESS until the export's duration has passed, and
Choice rules are evaluated on facts the caller gives (a table's entry, a prefix …). Every state
entered is one billed state transition; history events follow the documented counts (a Task logs
5 events, other states 2 — Choice and Wait are assumed to log 2 as well).

The walk assumes the happy path: no retries (each retry would be one more billed transition), no
failure, the export completing at the first poll at or after its duration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

#: History events a Task state logs: entered, scheduled, started, succeeded, exited.
TASK_EVENTS = 5
#: History events any other state logs: entered and exited.
OTHER_EVENTS = 2
#: No definition ddbexport generates comes near this many states in one walk; a walk that does
#: is in a loop its facts cannot leave.
MAX_STEPS = 1_000_000


class Simulated(Enum):
    """Values the walk supplies itself when a fact names them."""

    #: The export's status: IN_PROGRESS until its duration has passed, then COMPLETED.
    EXPORT_STATUS = "export status"
    #: The zero-based number of the latest poll (Wait states passed, less one).
    POLL_ATTEMPT = "poll attempt"
    #: Whether the waits are used up (as many Wait states passed as the walk has waits).
    POLL_OVER = "poll over"


EXPORT_STATUS = Simulated.EXPORT_STATUS
POLL_ATTEMPT = Simulated.POLL_ATTEMPT
POLL_OVER = Simulated.POLL_OVER

#: What the walk knows while it walks the child workflow of ddbexport's definition, for a valid
#: entry of a table given by name only (no ARN, KMS key or bucket owner: those ``IsPresent``
#: tests fail), with the first prefix template and a non-empty prefix. Each branch these facts
#: choose between has the same number of states as the others, so the count holds for every
#: table of the pipeline.
CHILD_FACTS: Mapping[str, object] = {
    "$.entry.tablename": "orders",
    "$.entry.bucketname": "exports-bucket",
    "$.entry.prefix": "",
    "$.described.description.ExportStatus": EXPORT_STATUS,
    "$.record.status": EXPORT_STATUS,
    "$.poll.attempt": POLL_ATTEMPT,
    "$.poll.over": POLL_OVER,
    "$.entry.template": "t0",
    "$.prefix.value": "orders/2026/11/28",
}

#: What the walk knows while it walks the parent of ddbexport's definition: a scheduled run (the
#: schedule sends ``time``), the table list read from SSM or S3, and every table exported.
PARENT_FACTS: Mapping[str, object] = {
    "$.time": "2026-11-28T03:00:00Z",
    "$.tables[0]": {"tablename": "orders"},
    "$.counts.succeeded": 1,
    "$.counts.total": 1,
}

#: Where the definition keeps the polling waits (the child reads them from the run's facts).
_WAITS_STATE = "Run facts"


@dataclass(frozen=True, slots=True)
class WalkResult:
    """What one walk through a definition costs."""

    #: States entered: what Step Functions Standard bills.
    transitions: int
    #: History events logged (an execution fails at 25,000).
    events: int


class Walk:
    """One table through a definition's states, counting transitions and history events.

    Args:
        states: the ``States`` of the (sub-)definition to walk.
        start: its ``StartAt``.
        duration_s: how long the table's export takes, in seconds.
        waits: the wait before each poll, for Wait states that take ``SecondsPath`` (the first
            wait, then the others); the last one repeats. Wait states with ``Seconds`` use
            their own value.
        facts: values of the paths Choice rules test; :class:`Simulated` members stand for the
            values the walk tracks. A path missing here is absent: ``IsPresent`` is false, and
            any other test of it raises ``ValueError``.
    """

    def __init__(
        self,
        states: Mapping[str, Any],
        start: str,
        duration_s: float,
        waits: Sequence[int] = (),
        facts: Mapping[str, object] | None = None,
    ) -> None:
        self.states = states
        self.start = start
        self.duration_s = duration_s
        self.waits = tuple(waits)
        self.facts: Mapping[str, object] = facts or {}
        self._clock = 0.0
        self._polls = 0
        self._status = "IN_PROGRESS"

    def run(self) -> WalkResult:
        """Walk from the start to a Succeed or Fail state, or a state with ``End``.

        Raises:
            ValueError: a state or a rule the walk cannot follow, or a walk that never ends.
        """
        self._clock, self._polls, self._status = 0.0, 0, "IN_PROGRESS"
        transitions = events = 0
        name: str | None = self.start
        while name is not None:
            if transitions >= MAX_STEPS:
                raise ValueError(f"the walk did not end after {MAX_STEPS:,} states")
            if name not in self.states:
                raise ValueError(f"the walk reached {name!r}, which the definition lacks")
            state = self.states[name]
            kind = state["Type"]
            transitions += 1
            events += TASK_EVENTS if kind == "Task" else OTHER_EVENTS
            if kind == "Wait":
                self._clock += self._wait_seconds(name, state)
                self._polls += 1
            elif kind == "Task" and "describeExport" in str(state.get("Resource", "")):
                self._status = "COMPLETED" if self._clock >= self.duration_s else "IN_PROGRESS"
            if kind in ("Succeed", "Fail") or state.get("End"):
                break
            name = self._choose(state) if kind == "Choice" else str(state["Next"])
        return WalkResult(transitions, events)

    def _wait_seconds(self, name: str, state: Mapping[str, Any]) -> float:
        if "Seconds" in state:
            return float(state["Seconds"])
        if not self.waits:
            raise ValueError(f"Wait state {name!r} reads its seconds from the input: give waits")
        return float(self.waits[min(self._polls, len(self.waits) - 1)])

    def _choose(self, state: Mapping[str, Any]) -> str:
        for rule in state.get("Choices", []):
            if self._holds(rule):
                return str(rule["Next"])
        if "Default" not in state:
            raise ValueError("no Choice rule holds and the state has no Default")
        return str(state["Default"])

    def _value(self, variable: str) -> object:
        value = self.facts[variable]
        if value is EXPORT_STATUS:
            return self._status
        if value is POLL_ATTEMPT:
            return max(self._polls - 1, 0)
        if value is POLL_OVER:
            return self._polls >= len(self.waits)
        return value

    def _holds(self, rule: Mapping[str, Any]) -> bool:
        if "And" in rule:
            return all(self._holds(part) for part in rule["And"])
        if "Or" in rule:
            return any(self._holds(part) for part in rule["Or"])
        if "Not" in rule:
            return not self._holds(rule["Not"])
        variable = str(rule["Variable"])
        if "IsPresent" in rule:
            return (variable in self.facts) == bool(rule["IsPresent"])
        if variable not in self.facts:
            raise ValueError(f"the walk cannot evaluate {variable}: give its value as a fact")
        value = self._value(variable)
        for test, expected in rule.items():
            if test in ("Variable", "Next"):
                continue
            if test in _TYPE_TESTS:
                return _TYPE_TESTS[test](value) == bool(expected)
            if test.endswith("Path"):
                other = str(expected)
                if other not in self.facts:
                    raise ValueError(f"the walk cannot evaluate {other}: give its value as a fact")
                return _compare(test.removesuffix("Path"), value, self._value(other), variable)
            return _compare(test, value, expected, variable)
        raise ValueError(f"the rule on {variable} has no test")


#: Choice rules that test a value's JSON type (bool is not numeric in JSON).
_TYPE_TESTS: dict[str, Callable[[object], bool]] = {
    "IsNull": lambda value: value is None,
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsNumeric": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
}


def _compare(test: str, value: object, expected: object, variable: str) -> bool:
    if test in ("StringEquals", "BooleanEquals"):
        return value == expected
    if test == "StringMatches" and isinstance(value, str) and isinstance(expected, str):
        return _matches(value, expected)
    if isinstance(value, int | float) and isinstance(expected, int | float):
        numeric = {
            "NumericEquals": value == expected,
            "NumericGreaterThan": value > expected,
            "NumericGreaterThanEquals": value >= expected,
            "NumericLessThan": value < expected,
            "NumericLessThanEquals": value <= expected,
        }
        if test in numeric:
            return numeric[test]
    raise ValueError(f"the walk cannot evaluate {test} on {variable}")


def _matches(value: str, pattern: str) -> bool:
    """StringMatches: ``*`` is any run of characters; ``\\*`` and ``\\\\`` are themselves."""
    parts: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append(".*" if char == "*" else re.escape(char))
    return re.fullmatch("".join(parts), value, re.DOTALL) is not None


def _item_processor(definition: Mapping[str, Any]) -> Mapping[str, Any]:
    for state in definition["States"].values():
        if state.get("Type") == "Map" and "ItemProcessor" in state:
            processor: Mapping[str, Any] = state["ItemProcessor"]
            return processor
    raise ValueError("the definition has no Map state with an ItemProcessor")


def definition_waits(
    definition: Mapping[str, Any], expected_s: float | None = None
) -> tuple[int, ...]:
    """The waits before each poll that ddbexport's definition carries in its run facts: for a
    table whose previous export took ``expected_s``, that long and then the near waits; else
    the first wait of a table nothing is known of (``poll_first``) and the others."""
    try:
        run = definition["States"][_WAITS_STATE]["Parameters"]["run"]
        waits = [int(wait) for wait in run["waits"]]
        near = [int(wait) for wait in run.get("near_waits", waits[1:])]
    except (KeyError, TypeError):
        raise ValueError(f"the definition has no waits in its {_WAITS_STATE!r} state") from None
    if expected_s is not None and expected_s > 0:
        return (max(round(expected_s), 1), *near)
    return tuple(waits)


def child_walk(
    definition: Mapping[str, Any], duration_s: float, expected_s: float | None = None
) -> WalkResult:
    """One table's child execution in ddbexport's definition, for an export of ``duration_s``.

    Args:
        definition: the state machine definition ``ddbexport synth`` generates.
        duration_s: how long the table's export takes, in seconds.
        expected_s: how long its previous export took, when the table list says so (its
            first wait); None: the first wait is ``poll_first``.
    """
    processor = _item_processor(definition)
    walk = Walk(
        processor["States"],
        str(processor["StartAt"]),
        duration_s,
        definition_waits(definition, expected_s),
        CHILD_FACTS,
    )
    return walk.run()


def detection_lag(
    definition: Mapping[str, Any], duration_s: float, expected_s: float | None = None
) -> float:
    """Seconds between the export's end and the poll that sees it, on :func:`child_walk`'s
    waits (the last one repeating)."""
    waits = definition_waits(definition, expected_s)
    clock = 0.0
    for index in range(MAX_STEPS):
        clock += waits[min(index, len(waits) - 1)]
        if clock >= duration_s:
            return clock - duration_s
    raise ValueError("the export never ends within the walk's reach")


def parent_walk(definition: Mapping[str, Any]) -> WalkResult:
    """The parent execution of one scheduled run of ddbexport's definition, all tables exported.

    Its Distributed Map state counts once here; each table's child execution is
    :func:`child_walk`'s. The parent does not grow with the number of tables.
    """
    return Walk(definition["States"], str(definition["StartAt"]), 0.0, facts=PARENT_FACTS).run()
