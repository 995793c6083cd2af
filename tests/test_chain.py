"""Chains of exports (baseline + incremental windows) and merging them: pure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ddbexport.catalog.chain import ChainError, LatestChanges, find_chain, merge
from ddbexport.catalog.records import CatalogRecord

ARN = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _full(hours: float, *, good: bool = True, ident: str = "") -> CatalogRecord:
    return CatalogRecord(
        table="orders",
        table_arn=ARN,
        export_arn=f"{ARN}/export/full-{ident or hours}",
        export_type="FULL_EXPORT",
        status="COMPLETED" if good else "FAILED",
        s3_bucket="b",
        s3_prefix=None,
        export_folder=f"AWSDynamoDB/full-{hours}",
        export_time=T0 + timedelta(hours=hours),
    )


def _window(start: float, end: float, *, good: bool = True) -> CatalogRecord:
    return CatalogRecord(
        table="orders",
        table_arn=ARN,
        export_arn=f"{ARN}/export/inc-{start}-{end}",
        export_type="INCREMENTAL_EXPORT",
        status="COMPLETED" if good else "FAILED",
        s3_bucket="b",
        s3_prefix=None,
        export_folder=f"AWSDynamoDB/inc-{start}",
        from_time=T0 + timedelta(hours=start),
        to_time=T0 + timedelta(hours=end),
    )


def test_the_newest_baseline_and_its_windows_in_order() -> None:
    records = [_window(25, 26), _full(0), _full(24.5), _window(24, 25), _window(26, 27)]
    chain = find_chain(records)
    assert chain.baseline.export_time == T0 + timedelta(hours=24.5)
    assert [r.from_time for r in chain.incrementals] == [
        T0 + timedelta(hours=h) for h in (24, 25, 26)
    ]
    assert chain.as_of == T0 + timedelta(hours=27)


def test_an_instant_picks_the_baseline_before_it_and_stops_there() -> None:
    records = [_full(0), _window(0, 1), _window(1, 2), _full(2), _window(2, 3)]
    chain = find_chain(records, as_of=T0 + timedelta(hours=1, minutes=30))
    assert chain.baseline.export_time == T0
    assert len(chain.incrementals) == 2


def test_a_gap_is_refused_unless_accepted() -> None:
    records = [_full(0), _window(0, 1), _window(1.5, 2)]
    with pytest.raises(ChainError, match=r"gaps .* 2026-11-01T01:00:00Z to 2026-11-01T01:30:00Z"):
        find_chain(records)
    chain = find_chain(records, allow_gaps=True)
    assert [str(gap) for gap in chain.gaps] == ["2026-11-01T01:00:00Z to 2026-11-01T01:30:00Z"]


def test_an_instant_inside_a_gap_says_so_even_when_gaps_are_accepted() -> None:
    records = [_full(0), _window(0, 1), _window(1.5, 2)]
    in_gap = T0 + timedelta(hours=1, minutes=10)
    with pytest.raises(
        ChainError,
        match=r"01:10:00Z falls in a gap no export covers \(2026-11-01T01:00:00Z to "
        r"2026-11-01T01:30:00Z\)",
    ):
        find_chain(records, as_of=in_gap, allow_gaps=True)


def test_failed_exports_are_never_links() -> None:
    records = [_full(0), _full(1, good=False), _window(0, 1), _window(1, 2, good=False)]
    with pytest.raises(ChainError, match="reach 2026-11-01T01:00:00Z, before 2026-11-01T02:00"):
        find_chain(records, as_of=T0 + timedelta(hours=2))
    assert find_chain(records).baseline.export_time == T0


def test_no_baseline_before_the_instant() -> None:
    with pytest.raises(ChainError, match="no good full export at or before"):
        find_chain([_full(5)], as_of=T0)


def test_overlapping_and_contained_windows() -> None:
    records = [_full(0), _window(-1, 1), _window(0.5, 0.75), _window(1, 2)]
    chain = find_chain(records)
    assert [r.from_time for r in chain.incrementals] == [
        T0 - timedelta(hours=1),
        T0 + timedelta(hours=1),
    ]
    assert chain.gaps == ()


@dataclass(frozen=True)
class _Change:
    keys: dict[str, Any]
    new_image: dict[str, Any] | None
    write_time: datetime | None


def _item(pk: str, value: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "v": {"S": value}}


def test_merge_applies_changes_in_write_order_between_baseline_and_instant() -> None:
    at = T0 + timedelta(hours=1)
    changes = [
        _Change({"pk": {"S": "b"}}, None, at + timedelta(minutes=2)),  # delete b
        _Change({"pk": {"S": "a"}}, _item("a", "2"), at + timedelta(minutes=1)),  # update a
        _Change({"pk": {"S": "a"}}, _item("a", "0"), at - timedelta(minutes=1)),  # in baseline
        _Change({"pk": {"S": "c"}}, _item("c", "1"), at + timedelta(minutes=3)),  # insert c
        _Change({"pk": {"S": "c"}}, _item("c", "9"), at + timedelta(hours=2)),  # after instant
    ]
    result = merge(
        [_item("a", "1"), _item("b", "1")],
        changes,
        key_names=["pk"],
        since=at,
        until=at + timedelta(hours=1),
    )
    assert list(result.items) == [_item("a", "2"), _item("c", "1")]
    assert (result.applied, result.skipped) == (3, 2)


def test_merge_streams_the_baseline_instead_of_holding_it() -> None:
    """A table of any size merges in memory for its changed keys only: each baseline item is
    passed on as soon as it is read."""
    read = 0

    def baseline() -> Iterator[dict[str, Any]]:
        nonlocal read
        for index in range(1_000_000):
            read += 1
            yield _item(f"k{index:07d}", "1")

    at = T0 + timedelta(hours=1)
    changes = [_Change({"pk": {"S": "k0000000"}}, None, at + timedelta(minutes=1))]
    result = merge(baseline(), changes, key_names=["pk"], since=at, until=at + timedelta(hours=1))
    assert next(result.items) == _item("k0000001", "1")
    assert read == 2


def test_number_keys_match_by_value_not_spelling() -> None:
    at = T0 + timedelta(hours=1)
    typed = {"pk": {"N": "1.0"}, "v": {"S": "old"}}
    newer = {"pk": {"N": "1"}, "v": {"S": "new"}}
    result = merge(
        [typed],
        [_Change({"pk": {"N": "1"}}, newer, at + timedelta(minutes=1))],
        key_names=["pk"],
        since=at,
        until=at + timedelta(hours=1),
    )
    assert list(result.items) == [newer]


def test_a_change_without_write_time_is_refused() -> None:
    with pytest.raises(ChainError, match="no write timestamp"):
        merge([], [_Change({"pk": {"S": "a"}}, None, None)], key_names=["pk"], since=T0, until=T0)


def test_latest_changes_hold_each_keys_newest_change_whatever_the_order_read() -> None:
    """Exports are read one after another, not in write order: the newest write of a key wins,
    the later one read when two have the same time; the first change names the keys."""
    at = T0 + timedelta(minutes=10)
    latest = LatestChanges(T0, T0 + timedelta(hours=1))
    for change in [
        _Change({"pk": {"S": "a"}}, _item("a", "new"), at),
        _Change({"pk": {"S": "a"}}, _item("a", "old"), at - timedelta(minutes=1)),
        _Change({"pk": {"S": "b"}}, _item("b", "first"), at),
        _Change({"pk": {"S": "b"}}, None, at),
        _Change({"pk": {"S": "c"}}, _item("c", "late"), T0 + timedelta(hours=2)),
    ]:
        assert change.write_time is not None
        latest.add(change, change.write_time)
    assert latest.key_names == ("pk",)
    assert {key: change.new_image for key, change in latest.by_key.items()} == {
        '{"pk": {"S": "a"}}': _item("a", "new"),
        '{"pk": {"S": "b"}}': None,
    }
    assert (latest.applied, latest.skipped, latest.late) == (4, 1, 1)
