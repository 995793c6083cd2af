"""Ion text as DynamoDB writes it: escapes held against the official Ion library (amazon.ion)."""

from __future__ import annotations

import pytest
from amazon.ion import simpleion
from hypothesis import given
from hypothesis import strategies as st

from ddbexport.exports.ion import IonError, read_record
from ddbexport.sandbox.layout import ion_struct

# Any text DynamoDB accepts: every code point but lone surrogates, control characters included.
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


def _official(name: str, value: str) -> str:
    """The line ion-python (same escaping as ion-java, which AWS uses) writes for one string."""
    return simpleion.dumps({"Item": {name: value}}, binary=False)


@given(_text.filter(bool), _text)
def test_reads_any_string_as_the_official_library_writes_it(name: str, value: str) -> None:
    assert read_record(_official(name, value)) == {"Item": {name: {"S": value}}}


@given(_text.filter(bool), _text)
def test_sandbox_writes_strings_exactly_as_the_official_library(name: str, value: str) -> None:
    line = "$ion_1_0 {Item:" + ion_struct({name: {"S": value}}) + "}"
    assert line == _official(name, value)
    assert simpleion.loads(line) == {"Item": {name: value}}


def test_control_characters_use_ions_own_escapes() -> None:
    line = "$ion_1_0 {Item:{'a\\0b':\"\\0\\a\\b\\t\\n\\v\\f\\r\\x1F\\x7f\\?\\/\\'\\\"\\\\\"}}"
    assert read_record(line) == {"Item": {"a\0b": {"S": "\0\a\b\t\n\v\f\r\x1f\x7f?/'\"\\"}}}


def test_unicode_escapes_and_surrogate_pairs() -> None:
    line = '$ion_1_0 {Item:{s:"\\x41\\u00e9\\U0001F600\\uD83D\\uDE00"}}'
    assert read_record(line) == {"Item": {"s": {"S": "Aé😀😀"}}}


def test_a_backslash_before_a_newline_joins_the_lines() -> None:
    assert read_record('{Item:{s:"one \\\ntwo"}}') == {"Item": {"s": {"S": "one two"}}}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{Item:{s:"\\q"}}', "bad escape '\\\\q'"),
        ('{Item:{s:"\\x4"}}', "bad escape"),
        ('{Item:{s:"\\UFFFFFFFF"}}', "beyond Unicode"),
        ('{Item:{s:"\\uD83D"}}', "lone surrogate"),
        ('{Item:{s:"open}}', "unterminated string"),
    ],
)
def test_bad_escapes_are_clear_errors(text: str, says: str) -> None:
    with pytest.raises(IonError, match=says.replace("\\", "\\\\")) as caught:
        read_record(text)
    assert "at character" in str(caught.value)
