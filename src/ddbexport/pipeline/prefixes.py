"""Prefix templates compiled for States.Format, and the escaping of intrinsic string
arguments. Pure."""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

LITERAL_PREFIX = "literal"


@dataclass(frozen=True, slots=True)
class PrefixTemplate:
    """A prefix template compiled for States.Format: '{}' per placeholder, in order."""

    ident: str
    format: str
    arguments: tuple[str, ...]  # table | date | time | run_id
    literal: str = ""  # the prefix itself, braces unescaped, when it has no placeholder
    source: str = ""  # the template as the config gives it


def escape(text: str) -> str:
    """Escape a literal for an intrinsic function's string argument."""
    return "".join("\\" + char if char in "{}'\\" else char for char in text)


def compile_prefix(ident: str, template: str) -> PrefixTemplate:
    """Turn ``dynamodb/{table}/{date}`` into ``dynamodb/{}/{}`` with arguments (table, date).

    ``{{`` and ``}}`` are braces, as in ``str.format`` and the local runner's prefixes: a
    template keeps them escaped for States.Format, and a prefix without placeholders becomes
    the literal the local runner would send (one brace each, no '/' at either end).
    """
    parts: list[str] = []
    literals: list[str] = []
    arguments: list[str] = []
    # parse() hands back the literal text with the escaped braces already undone.
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(escape(literal))
        literals.append(literal)
        if field is not None:
            parts.append("{}")
            arguments.append(field)
    literal_prefix = "" if arguments else "".join(literals).strip("/")
    return PrefixTemplate(
        ident, "".join(parts).strip("/"), tuple(arguments), literal_prefix, template
    )


ARGUMENT_PATHS = {
    "table": "$.entry.tablename",
    "date": "$.run.date",
    "time": "$.run.clock",
    "run_id": "$.run.run_id",
}


def templates_for(prefixes: Sequence[str]) -> tuple[PrefixTemplate, ...]:
    """One compiled template per distinct prefix template, ids t0, t1, …"""
    distinct = list(dict.fromkeys(prefixes))
    return tuple(compile_prefix(f"t{index}", text) for index, text in enumerate(distinct))
