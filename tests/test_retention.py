"""Pure rules: prune decisions with incremental chains, status states, the Ion reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ddbexport.catalog.prune import plan_prune
from ddbexport.catalog.records import CatalogRecord
from ddbexport.catalog.status import FAILING, MISSING, OK, STALE, table_status
from ddbexport.exports.ion import IonError, read_record
from ddbexport.sandbox.layout import ion_struct

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _record(day: float, *, incremental: bool = False, **changes: Any) -> CatalogRecord:
    moment = T0 + timedelta(days=day)
    export_id = f"{int(moment.timestamp() * 1000):014d}-0000000{int(incremental)}"
    fields: dict[str, Any] = {
        "table": "orders",
        "table_arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
        "export_arn": f"arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/{export_id}",
        "export_type": "INCREMENTAL_EXPORT" if incremental else "FULL_EXPORT",
        "status": "COMPLETED",
        "s3_bucket": "b-1",
        "s3_prefix": None,
        "export_folder": f"AWSDynamoDB/{export_id}",
        "verification": {"ok": True},
    }
    if incremental:
        fields["from_time"] = moment - timedelta(days=1)
        fields["to_time"] = moment
    else:
        fields["export_time"] = moment
    fields.update(changes)
    return CatalogRecord(**fields)


def _deleted(decisions: list[Any]) -> list[str]:
    return [d.record.export_id for d in decisions if d.delete]


def test_keep_last_keeps_the_newest_fulls_and_the_incrementals_after_them() -> None:
    """Weekly fulls with daily incrementals: keep-last 1 keeps the last full and its chain."""
    fulls = [_record(0), _record(7), _record(14)]
    incrementals = [_record(day, incremental=True) for day in range(1, 18) if day % 7]
    decisions = plan_prune(fulls + incrementals, now=T0 + timedelta(days=18), keep_last=1)
    kept = {d.record.export_id for d in decisions if not d.delete}
    assert fulls[2].export_id in kept
    after_last_full = {
        r.export_id for r in incrementals if r.from_time and r.from_time >= T0 + timedelta(days=14)
    }
    assert len(after_last_full) == 3
    assert after_last_full <= kept
    assert fulls[0].export_id in _deleted(decisions)
    assert incrementals[0].export_id in _deleted(decisions)


def test_older_than_never_breaks_a_kept_chain() -> None:
    """A young incremental keeps its old baseline and every link between them."""
    base = _record(0)
    links = [_record(day, incremental=True) for day in range(1, 6)]
    decisions = plan_prune([base, *links], now=T0 + timedelta(days=5, hours=12), older_than_s=86400)
    assert _deleted(decisions) == []
    reasons = {d.record.export_id: d.reason for d in decisions}
    assert "baseline" in reasons[base.export_id] or "always kept" in reasons[base.export_id]
    assert reasons[links[0].export_id].startswith("a link of the chain")


def test_failed_and_unverified_exports_are_never_a_baseline() -> None:
    """The newest *good* full export is kept; failed and broken ones after it may go."""
    good = _record(0)
    failed = _record(1, status="FAILED", verification=None)
    broken = _record(2, verification={"ok": False})
    decisions = plan_prune([good, failed, broken], now=T0 + timedelta(days=30), older_than_s=86400)
    assert _deleted(decisions) == [failed.export_id, broken.export_id]


@pytest.mark.parametrize(
    ("records", "state"),
    [
        ([], MISSING),
        ([_record(9)], OK),
        ([_record(5)], STALE),
        (
            [_record(9), _record(9.5, status="FAILED", failure={"code": "X", "message": "m"})],
            FAILING,
        ),
        ([_record(9), _record(9.5, verification={"ok": False, "problems": [{}]})], FAILING),
        ([_record(8, status="FAILED"), _record(9)], OK),
    ],
)
def test_status_states(records: list[CatalogRecord], state: str) -> None:
    """OK, STALE past the max age, MISSING with nothing good, FAILING after a bad latest one."""
    result = table_status(
        "orders", "b-1", records, now=T0 + timedelta(days=10), max_age_s=26 * 3600
    )
    assert result.state == state


def test_ion_reader_reads_what_aws_writes() -> None:
    """Every DynamoDB type survives the trip to Ion text and back."""
    item = {
        "pk": {"S": 'he said "hi"\n'},
        "n": {"N": "103"},
        "f": {"N": "-1.5"},
        "big": {"N": "6E2"},
        "b": {"B": "AAE="},
        "ok": {"BOOL": False},
        "nothing": {"NULL": True},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": ["AAE="]},
        "list": {"L": [{"S": "x"}, {"M": {"deep": {"N": "1"}}}]},
        "map": {"M": {"with space": {"S": "y"}, "null": {"S": "keyword"}}},
    }
    line = "$ion_1_0 {Item:" + ion_struct(item) + "}"
    assert read_record(line) == {"Item": item}


def test_ion_reader_rejects_what_it_does_not_know() -> None:
    """Text outside the subset is an IonError naming the place."""
    with pytest.raises(IonError, match="unsupported annotation"):
        read_record("$ion_1_0 {Item:{a:other::[1]}}")
    with pytest.raises(IonError, match="text after the record"):
        read_record("$ion_1_0 {Item:{}} extra")


def test_an_incremental_that_straddles_the_baseline_is_kept() -> None:
    """Schedules rarely line up: the window covering the full export's time is a chain link."""
    full = _record(5.5)
    straddling = _record(6, incremental=True)  # window day 5 .. 6
    after = _record(7, incremental=True)  # window day 6 .. 7
    decisions = plan_prune([full, straddling, after], now=T0 + timedelta(days=8), keep_last=1)
    assert _deleted(decisions) == []


def test_incrementals_without_a_catalogued_full_export_are_kept() -> None:
    """No baseline in the catalog: nothing tells which incrementals are spare, so none go."""
    incrementals = [_record(day, incremental=True) for day in range(1, 6)]
    assert _deleted(plan_prune(incrementals, now=T0 + timedelta(days=9), keep_last=1)) == []


def test_tables_of_the_same_name_in_other_regions_are_pruned_apart() -> None:
    """Exports are grouped by table ARN, not name: each region keeps its own newest export."""
    ireland = [_record(day) for day in (1, 2)]
    virginia = [
        _record(day + 0.5, table_arn="arn:aws:dynamodb:us-east-1:123456789012:table/orders")
        for day in (3, 4)
    ]
    decisions = plan_prune(ireland + virginia, now=T0 + timedelta(days=9), keep_last=1)
    assert sorted(_deleted(decisions)) == sorted([ireland[0].export_id, virginia[0].export_id])
