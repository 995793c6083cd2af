"""A table's state at an instant from its exports: a full baseline plus incremental windows.

Pure: which catalogued exports make up the chain (:func:`find_chain`) and how their records
combine (:func:`merge`). Reading the files is the caller's (see :mod:`ddbexport.data.snapshot`).

Rules:

* the baseline is the newest good FULL export whose export time is at or before the instant;
* the incremental exports are the good INCREMENTAL ones whose windows start before the instant
  and end after the baseline, in window order; each must start no later than where the chain
  so far ends (windows are ``[from, to)``) — a later start is a gap: writes in it are missing;
* changes are applied in write-timestamp order; a change written at or before the baseline's
  export time is already in the baseline and is skipped, as is one written after the instant.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from ddbexport.core.timeparse import format_instant
from ddbexport.errors import ConfigError

from .records import CatalogRecord

FULL = "FULL_EXPORT"
INCREMENTAL = "INCREMENTAL_EXPORT"

#: An item as DynamoDB JSON: ``{"pk": {"S": "1"}, …}``.
TypedItem = dict[str, Any]


class ChainError(ConfigError):
    """The exports cannot give the table as of the instant asked for."""


@dataclass(frozen=True, slots=True)
class Gap:
    """Time no export of the chain covers: writes made then are missing."""

    start: datetime
    end: datetime

    def __str__(self) -> str:
        return f"{format_instant(self.start)} to {format_instant(self.end)}"


@dataclass(frozen=True, slots=True)
class Chain:
    """The exports that give a table as of ``as_of``."""

    baseline: CatalogRecord
    incrementals: tuple[CatalogRecord, ...]
    as_of: datetime
    gaps: tuple[Gap, ...] = ()

    @property
    def exports(self) -> tuple[CatalogRecord, ...]:
        """The baseline, then the incrementals in window order."""
        return (self.baseline, *self.incrementals)


def find_chain(
    records: Sequence[CatalogRecord], *, as_of: datetime | None = None, allow_gaps: bool = False
) -> Chain:
    """The chain of one table's catalogued exports that gives it as of ``as_of`` (default: as
    late as the exports reach).

    Raises:
        ChainError: several tables' records, no usable baseline, a gap (unless ``allow_gaps``),
            or exports that stop before ``as_of``.
    """
    arns = {record.table_arn for record in records}
    if len(arns) > 1:
        raise ChainError(f"records of {len(arns)} tables given ({', '.join(sorted(arns))})")
    fulls = baselines(records)
    if as_of is not None:
        fulls = [r for r in fulls if r.export_time is not None and r.export_time <= as_of]
    if not fulls:
        when = f" at or before {format_instant(as_of)}" if as_of is not None else ""
        raise ChainError(f"no good full export{when} in the catalog: nothing to start from")
    baseline = fulls[-1]
    assert baseline.export_time is not None
    windows = windows_after(records, baseline.export_time, starting_before=as_of)
    reached = baseline.export_time
    chosen: list[CatalogRecord] = []
    gaps: list[Gap] = []
    for window in windows:
        assert window.from_time is not None
        assert window.to_time is not None
        if window.to_time <= reached:
            continue  # wholly inside what the chain already covers
        if window.from_time > reached:
            gaps.append(Gap(reached, window.from_time))
        chosen.append(window)
        reached = window.to_time
    target = as_of if as_of is not None else reached
    if reached < target:
        resumes = min(
            (
                r.from_time
                for r in records
                if r.good
                and r.export_type == INCREMENTAL
                and r.from_time is not None
                and r.from_time > reached
            ),
            default=None,
        )
        if resumes is not None:
            raise ChainError(
                f"{format_instant(target)} falls in a gap no export covers "
                f"({format_instant(reached)} to {format_instant(resumes)}): writes made then are "
                "missing, so the table as of that instant is unknown; ask for a time before the "
                "gap (or after it, accepting the gap)"
            )
        raise ChainError(
            f"the exports reach {format_instant(reached)}, before {format_instant(target)}: "
            "export the rest first, or ask for an earlier time"
        )
    if gaps and not allow_gaps:
        raise ChainError(
            "the chain has gaps no export covers (writes made then are missing): "
            + "; ".join(str(gap) for gap in gaps)
            + ". Take a new full export (a new baseline), or accept the gaps (--allow-gaps)"
        )
    return Chain(baseline, tuple(chosen), target, tuple(gaps))


def baselines(records: Iterable[CatalogRecord]) -> list[CatalogRecord]:
    """The good full exports, oldest first (equal times: by export id): what a chain may start
    from. One without an export time could not be placed in time, so it is none."""
    return sorted(
        (r for r in records if r.good and r.export_type == FULL and r.export_time is not None),
        key=lambda r: (r.export_time, r.export_id),
    )


def windows_after(
    records: Iterable[CatalogRecord], instant: datetime, *, starting_before: datetime | None = None
) -> list[CatalogRecord]:
    """The good incremental windows that end after ``instant`` (and, when given, start before
    ``starting_before``), in the order they start: what may continue a chain at ``instant``."""
    return sorted(
        (
            r
            for r in records
            if r.good
            and r.export_type == INCREMENTAL
            and r.from_time is not None
            and r.to_time is not None
            and r.to_time > instant
            and (starting_before is None or r.from_time < starting_before)
        ),
        key=lambda r: (r.from_time, r.to_time, r.export_id),
    )


class Change(Protocol):
    """One record of an incremental export, typed (DynamoDB JSON)."""

    @property
    def keys(self) -> Mapping[str, Any]: ...

    @property
    def new_image(self) -> Mapping[str, Any] | None: ...

    @property
    def write_time(self) -> datetime | None: ...


@dataclass(slots=True)
class MergeResult:
    """The table's items as of the chain's instant (streamed), and what the merge did."""

    items: Iterator[TypedItem]
    applied: int = 0
    skipped: int = 0


def item_key(item: Mapping[str, Any], key_names: Sequence[str]) -> str:
    """A canonical text for an item's primary key (typed values): numbers by value, so that
    ``1.0`` in one export and ``1`` in another are the same item."""
    try:
        key = {name: _canonical(item[name]) for name in key_names}
    except KeyError as exc:
        raise ChainError(f"an item has no key attribute {exc.args[0]!r}") from None
    return json.dumps(key, sort_keys=True)


def _canonical(typed: Any) -> Any:
    if isinstance(typed, Mapping) and set(typed) == {"N"}:
        try:
            return {"N": str(Decimal(str(typed["N"])).normalize())}
        except InvalidOperation:
            raise ChainError(f"a key number {typed['N']!r} is not a number") from None
    return typed


@dataclass(frozen=True, slots=True)
class LastChange:
    """A key's newest change, kept without its old image: only what applying it needs."""

    keys: Mapping[str, Any]
    new_image: Mapping[str, Any] | None
    write_time: datetime


@dataclass(slots=True)
class LatestChanges:
    """Each key's last change written after ``since`` and no later than ``until`` (if given),
    gathered one change at a time: memory grows with the keys changed, never with the changes.

    Attributes:
        key_names: the table's key attributes; when none are given, the first change's.
        by_key: item key (:func:`item_key`) → that key's last change.
        applied: changes in the range (a key written twice counts twice).
        skipped: changes outside it; ``late`` of them written after ``until``.
    """

    since: datetime
    until: datetime | None = None
    key_names: tuple[str, ...] | None = None
    by_key: dict[str, LastChange] = field(default_factory=dict)
    applied: int = 0
    skipped: int = 0
    late: int = 0

    def add(self, change: Change, written: datetime) -> None:
        """Count ``change``, written at ``written`` (its write time, which the caller checked
        is there), and hold it if it is its key's newest so far."""
        if self.key_names is None:
            self.key_names = tuple(sorted(change.keys))
        after_until = self.until is not None and written > self.until
        if written <= self.since or after_until:
            self.skipped += 1
            self.late += after_until
            return
        self.applied += 1
        key = item_key(change.keys, self.key_names)
        held = self.by_key.get(key)
        # Equal times: the later change wins, as a stable sort by write time would let it.
        if held is None or written >= held.write_time:
            self.by_key[key] = LastChange(change.keys, change.new_image, written)


def merge(
    baseline: Iterable[TypedItem],
    changes: Iterable[Change],
    *,
    key_names: Sequence[str],
    since: datetime,
    until: datetime,
) -> MergeResult:
    """Apply ``changes`` (from every incremental export of the chain) to the baseline's items:
    in write-timestamp order, those written after ``since`` (the baseline's export time) and
    no later than ``until``. A change without a write time cannot be placed and is refused.

    Only each key's last change is held (:class:`LatestChanges`); the baseline streams through
    (see :func:`apply_latest`).
    """
    latest = LatestChanges(since, until, tuple(key_names))
    for change in changes:
        latest.add(change, _write_time(change))
    return MergeResult(
        apply_latest(baseline, latest.by_key, key_names), latest.applied, latest.skipped
    )


_Latest = TypeVar("_Latest", bound=Change)


def apply_latest(
    baseline: Iterable[TypedItem], latest: dict[str, _Latest], key_names: Sequence[str]
) -> Iterator[TypedItem]:
    """The baseline's items with each key's last change applied, one item at a time.

    Memory grows with the number of changed keys, never with the table: each baseline item is
    passed on (or replaced, or dropped when its last change deleted it) as it is read; items the
    baseline lacks follow, in key order. ``latest`` is consumed (key → that key's last change).
    """
    for item in baseline:
        change = latest.pop(item_key(item, key_names), None)
        if change is None:
            yield item
        elif change.new_image is not None:
            yield dict(change.new_image)
    for key in sorted(latest):
        image = latest[key].new_image
        if image is not None:
            yield dict(image)
    latest.clear()


def _write_time(change: Change) -> datetime:
    if change.write_time is None:
        raise ChainError(
            f"a change of {dict(change.keys)} has no write timestamp: it cannot be ordered"
        )
    return change.write_time
