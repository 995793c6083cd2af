"""An export read twice (column discovery, then writing), and the columns' order."""

from __future__ import annotations

import dataclasses
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

from ddbexport.core.ports import ExportStore, ObjectInfo
from ddbexport.exports.reader import OpenedExport
from ddbexport.exports.stores import LocalStore


@contextmanager
def spooled(export: OpenedExport) -> Iterator[OpenedExport]:
    """``export`` to read more than once: data files in S3 are copied (as they are, gzip'd) to
    a temporary folder as the first reading streams them, and later readings use the copies."""
    if isinstance(export.store, LocalStore):
        yield export
        return
    with tempfile.TemporaryDirectory(prefix="ddbexport-") as folder:
        yield dataclasses.replace(export, store=_SpoolingStore(export.store, Path(folder)))


class _SpoolingStore:
    """A store whose files are copied to a folder as they are first read to the end."""

    def __init__(self, store: ExportStore, folder: Path) -> None:
        self._store = store
        self._folder = folder
        self._copied: dict[str, Path] = {}
        self.location = store.location

    def read(self, key: str) -> bytes | None:
        return self._store.read(key)

    def stat(self, key: str) -> ObjectInfo | None:
        return self._store.stat(key)

    def url(self, key: str) -> str:
        return self._store.url(key)

    def open(self, key: str) -> BinaryIO:
        copy = self._copied.get(key)
        if copy is not None:
            return copy.open("rb")
        path = self._folder / f"{len(self._copied)}-{os.getpid()}.gz"
        return cast("BinaryIO", _Tee(self._store.open(key), path, self._copied, key))


class _Tee(io.RawIOBase):
    """A stream read through, its bytes written to ``path``; a copy read to the end counts."""

    def __init__(self, source: BinaryIO, path: Path, copied: dict[str, Path], key: str) -> None:
        self._source = source
        self._copy = path.open("wb")
        self._path = path
        self._copied = copied
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        self._copy.write(data)
        if not data:
            self._copy.close()
            self._copied[self._key] = self._path
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._copy.close()
            self._source.close()
        super().close()


def ordered_columns(key_names: Iterable[str], seen: Iterable[str]) -> list[str]:
    columns = list(dict.fromkeys(key_names))
    known = set(columns)
    columns += [name for name in seen if name not in known]
    return columns
