"""Writing on a thread of its own, so that writing the output overlaps reading the export."""

from __future__ import annotations

import queue
import threading
from types import TracebackType
from typing import BinaryIO

#: Batches (about a megabyte each) waiting to be written at most: memory stays flat.
DEPTH = 8


class WriteBehind:
    """``write`` hands the bytes to a writer thread; leaving the ``with`` block waits for it.

    A write that fails (a full disk, a closed pipe) is raised from the next ``write`` or from
    the end of the block, as the caller's own write would have been.
    """

    def __init__(self, out: BinaryIO, depth: int = DEPTH) -> None:
        self._out = out
        self._queue: queue.Queue[bytes | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ddbexport-write", daemon=True)

    def __enter__(self) -> WriteBehind:
        self._thread.start()
        return self

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._queue.put(None)
        self._thread.join()
        if kind is None and self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain, so that the reading side never blocks on a full queue
            try:
                self._out.write(data)
            except BaseException as exc:
                self._error = exc
