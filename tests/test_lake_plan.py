"""The lake's sync plan (pure), its config section and its table names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ddbexport.catalog.chain import ChainError
from ddbexport.catalog.records import CatalogRecord
from ddbexport.config.model import parse_config_text
from ddbexport.errors import ConfigError
from ddbexport.lake import Applied, catalog_properties, iceberg_name, plan_sync

ARN = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-eu.v2"
T0 = datetime(2026, 11, 2, tzinfo=UTC)


def _full(at: datetime, name: str = "full") -> CatalogRecord:
    return CatalogRecord(
        "orders-eu.v2",
        ARN,
        f"{ARN}/export/{name}",
        "FULL_EXPORT",
        "COMPLETED",
        "b",
        None,
        "f",
        export_time=at,
    )


def _window(start: datetime, minutes: int = 15, name: str | None = None) -> CatalogRecord:
    end = start + timedelta(minutes=minutes)
    return CatalogRecord(
        "orders-eu.v2",
        ARN,
        f"{ARN}/export/{name or start.isoformat()}",
        "INCREMENTAL_EXPORT",
        "COMPLETED",
        "b",
        None,
        "f",
        from_time=start,
        to_time=end,
    )


def _applied(record: CatalogRecord, baseline: CatalogRecord, position: int) -> Applied:
    assert record.as_of is not None
    assert baseline.export_time is not None
    return Applied(
        ARN, record.export_arn, record.as_of, baseline.export_arn, baseline.export_time, position, 1
    )


def test_first_sync_loads_the_newest_baseline_then_its_windows() -> None:
    old, new = _full(T0 - timedelta(days=1), "old"), _full(T0)
    windows = [_window(T0), _window(T0 + timedelta(minutes=15))]
    plan = plan_sync([old, new, *windows], None)
    assert [(s.action, s.record, s.position) for s in plan.steps] == [
        ("load", new, 0),
        ("merge", windows[0], 1),
        ("merge", windows[1], 2),
    ]
    assert (plan.why, plan.gap) == ("first load", None)


def test_a_later_sync_continues_where_the_table_stands_and_then_has_nothing() -> None:
    full = _full(T0)
    windows = [_window(T0 + timedelta(minutes=15 * n)) for n in range(3)]
    plan = plan_sync([full, *windows], _applied(windows[0], full, 1))
    assert [(s.record, s.position) for s in plan.steps] == [(windows[1], 2), (windows[2], 3)]
    done = plan_sync([full, *windows], _applied(windows[2], full, 3))
    assert (done.steps, done.why) == ((), "up to date")


def test_a_window_holds_the_writes_before_its_end_a_baseline_those_at_its_time() -> None:
    """Windows are [from, to): a write at a window's end is the next window's to apply."""
    full = _full(T0)
    window = _window(T0)
    load, merge = plan_sync([full, window], None).steps
    assert load.held_through == T0
    assert merge.held_through == T0 + timedelta(minutes=15) - timedelta(microseconds=1)
    assert _applied(full, full, 0).held_through == T0
    assert _applied(window, full, 1).held_through == merge.held_through


def test_an_overlapping_window_continues_the_chain() -> None:
    full = _full(T0)
    first = _window(T0, 30)
    overlap = _window(T0 + timedelta(minutes=15), 30)
    plan = plan_sync([full, first, overlap], _applied(first, full, 1))
    assert [s.record for s in plan.steps] == [overlap]


def test_a_gap_applies_the_links_before_it_and_names_both_ends() -> None:
    full = _full(T0)
    first, late = _window(T0), _window(T0 + timedelta(minutes=30), name="late")
    plan = plan_sync([full, first, late], None)
    assert [s.action for s in plan.steps] == ["load", "merge"]
    assert plan.gap is not None
    assert "2026-11-02T00:15:00Z" in plan.gap
    assert "2026-11-02T00:30:00Z" in plan.gap
    assert "--rebaseline" in plan.gap


def test_a_newer_baseline_is_loaded_as_a_whole() -> None:
    old = _full(T0, "old")
    window = _window(T0)
    new = _full(T0 + timedelta(hours=2), "new")
    plan = plan_sync([old, window, new], _applied(window, old, 1))
    assert [(s.action, s.record) for s in plan.steps] == [("load", new)]
    assert plan.why == "a newer baseline, loaded as a whole"
    rebuilt = plan_sync([old, window], _applied(window, old, 1), rebuild=True)
    assert [s.action for s in rebuilt.steps] == ["load", "merge"]


def test_refusals() -> None:
    with pytest.raises(ChainError, match="no good full export"):
        plan_sync([_window(T0)], None)
    other = Applied(
        "arn:aws:dynamodb:us-east-1:111122223333:table/orders-eu.v2", "x", T0, "y", T0, 0, 1
    )
    with pytest.raises(ChainError, match="mirrors arn:aws:dynamodb:us-east-1"):
        plan_sync([_full(T0)], other)


def test_config_and_names() -> None:
    config = parse_config_text(
        '[lake]\ncatalog = "glue"\nwarehouse = "s3://lake-bucket/iceberg"\nnamespace = "ddb"\n'
        'table_name = "{table}_{region}"\n',
        source="t.toml",
    )
    assert iceberg_name(config.lake, ARN) == ("ddb", "orders_eu_v2_eu_west_1")
    assert catalog_properties(config.lake, region="eu-west-1") == {
        "type": "glue",
        "warehouse": "s3://lake-bucket/iceberg",
        "glue.region": "eu-west-1",
        "s3.region": "eu-west-1",
    }
    tables = parse_config_text(
        '[lake]\ncatalog = "s3tables"\n'
        'table_bucket_arn = "arn:aws:s3tables:us-east-2:111122223333:bucket/lake"\n',
        source="t.toml",
    )
    properties = catalog_properties(tables.lake)
    assert properties["uri"] == "https://s3tables.us-east-2.amazonaws.com/iceberg"
    assert properties["rest.signing-name"] == "s3tables"
    for text, message in [
        ('catalog = "glue"', "needs warehouse = 's3://"),
        ('catalog = "rest"', "needs properties.uri"),
        ('catalog = "s3tables"', "needs table_bucket_arn"),
        ('table_name = "{tbl}"', "unknown placeholder {tbl}"),
        ('namespace = "My-Lake"', "lowercase letters"),
        ('table_bucket_arn = "arn:aws:s3tables:us-east-2:111122223333:bucket/x"', "is for"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_config_text(f"[lake]\n{text}\n", source="t.toml")
