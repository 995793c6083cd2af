"""Every write to every sandbox table, timed, so an export can see a table as of any instant."""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .layout import Change

Item = Mapping[str, Any]


@dataclass(slots=True)
class _KeyHistory:
    keys: dict[str, Any]
    times: list[int] = field(default_factory=list)
    images: list[Item | None] = field(default_factory=list)

    def at(self, micros: int) -> Item | None:
        """The image in force at ``micros`` (writes at exactly that time included)."""
        index = bisect.bisect_right(self.times, micros)
        return self.images[index - 1] if index else None

    def before(self, micros: int) -> Item | None:
        """The image in force just before ``micros``."""
        index = bisect.bisect_left(self.times, micros)
        return self.images[index - 1] if index else None


class WriteHistory:
    """Per table and primary key, the timeline of item images (``None`` = deleted)."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, _KeyHistory]] = {}
        self._lock = threading.Lock()

    def record(self, table: str, keys: Mapping[str, Any], image: Item | None, micros: int) -> None:
        """Remember that the item with these keys became ``image`` at ``micros``."""
        key = json.dumps(dict(sorted(keys.items())), sort_keys=True)
        with self._lock:
            timeline = self._tables.setdefault(table, {}).get(key)
            if timeline is None:
                timeline = self._tables[table][key] = _KeyHistory(dict(keys))
            if timeline.times and micros < timeline.times[-1]:
                micros = timeline.times[-1]  # never let a timeline run backwards
            timeline.times.append(micros)
            timeline.images.append(None if image is None else dict(image))

    def forget(self, table: str) -> None:
        """Drop a deleted table's history."""
        with self._lock:
            self._tables.pop(table, None)

    def items_at(self, table: str, micros: int) -> list[tuple[dict[str, Any], Item]]:
        """(keys, item) of every item that existed at ``micros``."""
        with self._lock:
            timelines = list(self._tables.get(table, {}).values())
        found = []
        for timeline in timelines:
            image = timeline.at(micros)
            if image is not None:
                found.append((timeline.keys, image))
        return found

    def changes(self, table: str, start: int, end: int) -> list[Change]:
        """The net change of every key written in ``[start, end)``; no-ops are left out."""
        with self._lock:
            timelines = list(self._tables.get(table, {}).values())
        result = []
        for timeline in timelines:
            first = bisect.bisect_left(timeline.times, start)
            last = bisect.bisect_left(timeline.times, end)
            if first == last:
                continue
            old = timeline.before(start)
            new = timeline.images[last - 1]
            if old is None and new is None:
                continue
            result.append(Change(timeline.keys, old, new, timeline.times[last - 1]))
        return result

    def size_bytes(self, table: str, micros: int) -> int:
        """Approximate table size at ``micros`` (JSON length of its items)."""
        return sum(len(json.dumps(item)) for _, item in self.items_at(table, micros))
