"""The items of an export read twice (column discovery, then writing), and the columns' order."""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

from ddbexport.exports.reader import OpenedExport, iter_records
from ddbexport.exports.stores import LocalStore

from .values import NEWLINE


class Pass:
    """The items of an export, twice: the first pass may spool them for the second."""

    def __init__(self, export: OpenedExport) -> None:
        self.export = export
        self._spool: IO[bytes] | None = None
        if not isinstance(export.store, LocalStore):
            self._spool = tempfile.TemporaryFile(prefix="ddbexport-")  # noqa: SIM115

    def first(self) -> Iterator[dict[str, Any]]:
        if self._spool is None:
            yield from iter_records(self.export, _item_of)
            return
        with gzip.open(self._spool, "wb", compresslevel=1) as spool:
            for item in iter_records(self.export, _item_of):
                spool.write(orjson.dumps(item, option=NEWLINE))
                yield item

    def second(self) -> Iterator[dict[str, Any]]:
        if self._spool is None:
            yield from iter_records(self.export, _item_of)
            return
        self._spool.seek(0)
        with gzip.open(self._spool, "rb") as spool:
            rest = b""
            while chunk := spool.read(1 << 20):
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    yield orjson.loads(line)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


def _item_of(record: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = record["Item"]
    return item


def ordered_columns(key_names: Iterable[str], seen: Iterable[str]) -> list[str]:
    columns = list(dict.fromkeys(key_names))
    known = set(columns)
    columns += [name for name in seen if name not in known]
    return columns
