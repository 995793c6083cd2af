"""Read the Ion text DynamoDB writes in ION exports, as DynamoDB JSON. Pure functions only.

ION exports hold one record per line, each starting with the ``$ion_1_0`` marker, e.g.
``$ion_1_0 {Item:{Id:103.,Tags:$dynamodb_SS::["a","b"],Blob:{{AAE=}}}}``. Values map back to
DynamoDB types: strings → S, decimals and integers → N, ``{{…}}`` → B, booleans → BOOL, ``null`` →
NULL, structs → M, lists → L, and lists annotated ``$dynamodb_SS`` / ``_NS`` / ``_BS`` → sets.
Only this subset of Ion is read; anything else is a clear :class:`IonError`.
"""

from __future__ import annotations

import re
from typing import Any

_MARKER = "$ion_1_0"
_SYMBOL = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"[-+]?[0-9][0-9_]*(\.[0-9_]*)?([dDeE][-+]?[0-9]+)?")
_SETS = {"$dynamodb_SS": "SS", "$dynamodb_NS": "NS", "$dynamodb_BS": "BS"}


class IonError(ValueError):
    """Text outside the Ion subset DynamoDB writes."""


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, what: str) -> IonError:
        return IonError(f"{what} at character {self.at + 1}: {self.text[self.at : self.at + 20]!r}")

    def skip_space(self) -> None:
        while self.at < len(self.text) and self.text[self.at] in " \t\r\n":
            self.at += 1

    def peek(self, token: str) -> bool:
        self.skip_space()
        return self.text.startswith(token, self.at)

    def expect(self, token: str) -> None:
        if not self.peek(token):
            raise self.fail(f"expected {token!r}")
        self.at += len(token)

    def value(self) -> dict[str, Any]:
        self.skip_space()
        annotation = None
        match = _SYMBOL.match(self.text, self.at)
        if match and self.text.startswith("::", match.end()):
            annotation = match.group()
            self.at = match.end() + 2
            self.skip_space()
        if annotation is not None:
            if annotation not in _SETS or not self.peek("["):
                raise self.fail(f"unsupported annotation {annotation!r}")
            members = self.list_values()
            kind = _SETS[annotation]
            inner = {"SS": "S", "NS": "N", "BS": "B"}[kind]
            return {kind: [member[inner] for member in members]}
        if self.peek("{{"):
            end = self.text.find("}}", self.at)
            if end < 0:
                raise self.fail("unterminated blob")
            blob = self.text[self.at + 2 : end].strip()
            self.at = end + 2
            return {"B": blob}
        if self.peek("{"):
            return {"M": self.struct()}
        if self.peek("["):
            return {"L": self.list_values()}
        if self.peek('"'):
            return {"S": self.string()}
        for word, typed in (("true", {"BOOL": True}), ("false", {"BOOL": False})):
            if self.peek(word):
                self.at += len(word)
                return typed
        if self.peek("null"):
            self.at += len("null")
            if self.peek(".null"):
                self.at += len(".null")
            return {"NULL": True}
        number = _NUMBER.match(self.text, self.at)
        if number:
            self.at = number.end()
            return {"N": _decimal_text(number.group())}
        raise self.fail("unexpected value")

    def string(self) -> str:
        return self.quoted('"')

    def quoted(self, quote: str) -> str:
        """The text between ``quote`` marks at the cursor, with Ion's escapes decoded."""
        start = self.at
        self.at += 1
        while self.at < len(self.text):
            char = self.text[self.at]
            if char == "\\":
                self.at += 2
                continue
            if char == quote:
                self.at += 1
                try:
                    return _unescape(self.text[start + 1 : self.at - 1])
                except IonError as error:
                    self.at = start
                    raise self.fail(str(error)) from None
            self.at += 1
        raise self.fail("unterminated string")

    def symbol(self) -> str:
        self.skip_space()
        if self.peek("'"):
            return self.quoted("'")
        if self.peek('"'):
            return self.string()
        match = _SYMBOL.match(self.text, self.at)
        if not match:
            raise self.fail("expected a field name")
        self.at = match.end()
        return match.group()

    def struct(self) -> dict[str, Any]:
        self.expect("{")
        fields: dict[str, Any] = {}
        if self.peek("}"):
            self.at += 1
            return fields
        while True:
            name = self.symbol()
            self.expect(":")
            fields[name] = self.value()
            if self.peek(","):
                self.at += 1
                continue
            self.expect("}")
            return fields

    def list_values(self) -> list[dict[str, Any]]:
        self.expect("[")
        values: list[dict[str, Any]] = []
        if self.peek("]"):
            self.at += 1
            return values
        while True:
            values.append(self.value())
            if self.peek(","):
                self.at += 1
                continue
            self.expect("]")
            return values


# Ion's escapes (amazon-ion text spec): the single-character ones, \xHH, \uHHHH, \UHHHHHHHH, and
# a backslash before a newline, which joins lines. ion-java and ion-python write control
# characters as \0, \a, \v, \x1F, none of which JSON can decode.
_ESCAPE = re.compile(
    r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(\r\n|.)|$)", re.S
)
_SIMPLE_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    "v": "\v",
    "?": "?",
    "/": "/",
    "'": "'",
    '"': '"',
    "\\": "\\",
    "\n": "",
    "\r": "",
    "\r\n": "",
}


def _unescape(raw: str) -> str:
    """Decode the escapes of an Ion quoted string or symbol (quotes already removed)."""
    if "\\" not in raw:
        return raw

    def decode(match: re.Match[str]) -> str:
        hex_digits = match.group(1) or match.group(2) or match.group(3)
        if hex_digits:
            code = int(hex_digits, 16)
            if code > 0x10FFFF:
                raise IonError(f"escape {match.group()!r} is beyond Unicode")
            return chr(code)
        single = match.group(4)
        if single is None or single not in _SIMPLE_ESCAPES:
            raise IonError(f"bad escape {match.group()!r}")
        return _SIMPLE_ESCAPES[single]

    text = _ESCAPE.sub(decode, raw)
    # \uD83D\uDE00 spells one character as a UTF-16 surrogate pair.
    if any("\ud800" <= char <= "\udfff" for char in text):
        try:
            text = text.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            raise IonError("lone surrogate in an escape") from None
    return text


def _decimal_text(text: str) -> str:
    """Ion decimal text (``103.``, ``6d2``) as a DynamoDB number string (``103``, ``6E2``)."""
    cleaned = text.replace("_", "").replace("d", "E").replace("D", "E")
    mantissa, _, exponent = cleaned.partition("E")
    if mantissa.endswith("."):
        mantissa = mantissa[:-1]
    return f"{mantissa}E{exponent}" if exponent else mantissa


def read_record(line: str) -> dict[str, Any]:
    """One line of an ION data file as the DynamoDB JSON record AWS would have written.

    Each top-level field (``Item``, ``Keys``, ``NewImage``, ``OldImage``, ``Metadata``) is an
    attribute map, e.g. ``{"Item": {"Id": {"N": "103"}}}``.
    """
    text = line.strip()
    if text.startswith(_MARKER):
        text = text[len(_MARKER) :]
    reader = _Reader(text)
    record = reader.struct()
    reader.skip_space()
    if reader.at != len(text):
        raise reader.fail("text after the record")
    images: dict[str, Any] = {}
    for name, typed in record.items():
        if "M" not in typed:
            raise IonError(f"field {name!r} is not a struct")
        images[name] = typed["M"]
    return images
