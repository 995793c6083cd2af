"""Planning: selectors, shared export time, run ids, client tokens and prefixes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ddbexport.config.model import validate_config
from ddbexport.core.models import TableInfo
from ddbexport.errors import AccessDenied, ConfigError, RetryableAwsError
from ddbexport.planning.plan import (
    build_plan,
    client_token,
    derive_run_id,
    render_prefix,
    selected_tables,
)
from ddbexport.planning.planner import make_plan
from ddbexport.testing import FakeTable, SimClock

from .helpers import fake_api

EXPORT_TIME = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def _config(tables: list[dict[str, object]], **extra: object) -> object:
    return validate_config(
        {"defaults": {"bucket": "exports"}, "tables": tables, **extra}, source="t"
    )


def test_name_selector_wins_over_patterns_and_first_pattern_wins() -> None:
    """Explicit names take their own settings; among patterns the first match decides."""
    config = validate_config(
        {
            "defaults": {"bucket": "exports"},
            "tables": [
                {"match": "prod-*", "prefix": "first/{table}"},
                {"match": "prod-orders*", "prefix": "second/{table}"},
                {"name": "prod-orders", "prefix": "named/{table}"},
            ],
        },
        source="t",
    )
    chosen = selected_tables(config, ["prod-orders", "prod-users", "dev-users"])
    by_table = {s.table: s.destination.prefix for s in chosen}
    assert by_table == {"prod-orders": "named/{table}", "prod-users": "first/{table}"}


def test_exclude_removes_pattern_matches_but_not_named_tables() -> None:
    """``exclude`` filters match/tags selections; an explicitly named table stays."""
    config = validate_config(
        {
            "exclude": ["*-tmp"],
            "defaults": {"bucket": "exports"},
            "tables": [{"match": "*"}, {"name": "keep-tmp"}],
        },
        source="t",
    )
    chosen = [s.table for s in selected_tables(config, ["aaa", "bbb-tmp", "keep-tmp"])]
    assert chosen == ["aaa", "keep-tmp"]


def test_tag_selector_needs_every_tag() -> None:
    """A tags selector picks tables that carry all of its tags with equal values."""
    config = validate_config(
        {
            "defaults": {"bucket": "exports"},
            "tables": [{"tags": {"backup": "daily", "env": "prod"}}],
        },
        source="t",
    )
    tags = {
        "aaa": {"backup": "daily", "env": "prod", "team": "x"},
        "bbb": {"backup": "daily"},
        "ccc": {"backup": "weekly", "env": "prod"},
    }
    assert [s.table for s in selected_tables(config, list(tags), tags)] == ["aaa"]


def test_pattern_matching_nothing_is_a_config_error() -> None:
    """A match selector that finds no table stops the run before anything starts."""
    config = validate_config(
        {"defaults": {"bucket": "exports"}, "tables": [{"match": "nothing-*"}]}, source="t"
    )
    with pytest.raises(ConfigError, match=r"tables\[0\] \(match 'nothing-\*'\) matched no table"):
        selected_tables(config, ["aaa", "bbb"])


def test_prefix_template_renders_date_time_and_run_id() -> None:
    """{date} is YYYY/MM/DD of the export time; slashes at the ends are dropped."""
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    rendered = render_prefix(
        "/x/{table}/{date}/{time}/{run_id}/", table="t", export_time=moment, run_id="r1"
    )
    assert rendered == "x/t/2026/01/02/030405/r1"


def test_run_id_depends_on_config_and_time_not_on_run_settings() -> None:
    """The default run id changes with what is exported and when, not with how it is polled."""
    base = validate_config(
        {"defaults": {"bucket": "exports"}, "tables": [{"name": "aaa"}]}, source="t"
    )
    tuned = validate_config(
        {
            "defaults": {"bucket": "exports"},
            "tables": [{"name": "aaa"}],
            "run": {"max_concurrency": 9},
        },
        source="t",
    )
    other = validate_config(
        {"defaults": {"bucket": "other"}, "tables": [{"name": "aaa"}]}, source="t"
    )
    assert derive_run_id(base, EXPORT_TIME) == derive_run_id(tuned, EXPORT_TIME)
    assert derive_run_id(base, EXPORT_TIME) != derive_run_id(other, EXPORT_TIME)
    later = EXPORT_TIME + timedelta(seconds=1)
    assert derive_run_id(base, EXPORT_TIME) != derive_run_id(base, later)
    assert derive_run_id(base, EXPORT_TIME).startswith("20261128T030000Z-")


def test_client_tokens_are_deterministic_per_run_and_table() -> None:
    """Same (run, table) → same token; any other run or table → another token."""
    arn = "arn:aws:dynamodb:eu-west-1:111111111111:table/aaa"
    assert client_token("r1", arn) == client_token("r1", arn)
    assert client_token("r1", arn) != client_token("r2", arn)
    assert client_token("r1", arn) != client_token("r1", arn + "b")


def test_build_plan_makes_exact_requests_with_one_export_time() -> None:
    """Every request carries the shared export time, its ARN from DescribeTable and the settings."""
    config = validate_config(
        {
            "defaults": {"bucket": "exports", "prefix": "ddb/{table}/{date}"},
            "tables": [
                {"name": "aaa"},
                {"name": "bbb", "sse": "KMS", "kms_key": "alias/k", "bucket_owner": "222222222222"},
            ],
        },
        source="t",
    )
    selections = selected_tables(config, [])
    infos = {
        "aaa": TableInfo("aaa", "arn:aws:dynamodb:eu-west-1:111111111111:table/aaa", 10),
        "bbb": TableInfo("bbb", "arn:aws:dynamodb:eu-west-1:111111111111:table/bbb", 20),
    }
    plan = build_plan(selections, infos, export_time=EXPORT_TIME, run_id="r1")
    assert {r.export_time for r in plan.requests} == {EXPORT_TIME}
    bbb = plan.requests[1].api_kwargs()
    assert bbb == {
        "TableArn": "arn:aws:dynamodb:eu-west-1:111111111111:table/bbb",
        "ExportTime": EXPORT_TIME,
        "ClientToken": client_token("r1", "arn:aws:dynamodb:eu-west-1:111111111111:table/bbb"),
        "S3Bucket": "exports",
        "S3Prefix": "ddb/bbb/2026/11/28",
        "S3SseAlgorithm": "KMS",
        "S3SseKmsKeyId": "alias/k",
        "S3BucketOwner": "222222222222",
        "ExportFormat": "DYNAMODB_JSON",
        "ExportType": "FULL_EXPORT",
    }
    assert "S3SseKmsKeyId" not in plan.requests[0].api_kwargs()
    assert "S3BucketOwner" not in plan.requests[0].api_kwargs()


def test_rendered_prefix_over_1024_bytes_is_rejected() -> None:
    """A template that only becomes too long once the table name is filled in is caught."""
    config = validate_config(
        {
            "defaults": {"bucket": "exports", "prefix": "p" * 1000 + "/{table}"},
            "tables": [{"name": "a" * 40}],
        },
        source="t",
    )
    infos = {"a" * 40: TableInfo("a" * 40, "arn:aws:dynamodb:eu-west-1:1:table/x")}
    with pytest.raises(ConfigError, match="at most 1,024"):
        build_plan(selected_tables(config, []), infos, export_time=EXPORT_TIME, run_id="r")


def test_make_plan_resolves_tags_and_reports_missing_tables(clock: SimClock) -> None:
    """Tags come from ListTagsOfResource; a missing named table becomes a plan problem."""
    api = fake_api(
        clock,
        FakeTable("aaa", tags={"backup": "daily"}),
        FakeTable("bbb", tags={"backup": "never"}),
        FakeTable("ccc"),
    )
    config = validate_config(
        {
            "defaults": {"bucket": "exports"},
            "tables": [{"tags": {"backup": "daily"}}, {"name": "ghost"}],
        },
        source="t",
    )
    plan = make_plan(config, api, now=clock.now())
    assert [r.table for r in plan.requests] == ["aaa"]
    assert plan.requests[0].table_arn == api.table_arn("aaa")
    assert [(p.table, p.code) for p in plan.problems] == [("ghost", "TableNotFound")]


def test_tables_a_tags_selector_cannot_rule_on_are_reported_not_dropped(clock: SimClock) -> None:
    """Throttled tag or table lookups make plan problems; tags we may not read just don't match."""
    throttled = RetryableAwsError("Rate exceeded", code="ThrottlingException")
    api = fake_api(
        clock,
        FakeTable("aaa", tags={"backup": "daily"}),
        FakeTable("tags-throttled", tags={"backup": "daily"}, errors={"list_tags": throttled}),
        FakeTable("describe-failed", errors={"describe_table": throttled}),
        FakeTable("denied", errors={"list_tags": AccessDenied("no", code="AccessDeniedException")}),
        FakeTable("skipped", errors={"list_tags": throttled}),
    )
    config = validate_config(
        {
            "defaults": {"bucket": "exports"},
            "tables": [{"tags": {"backup": "daily"}}],
            "exclude": ["skip*"],
        },
        source="t",
    )
    plan = make_plan(config, api, now=clock.now())
    assert [r.table for r in plan.requests] == ["aaa"]
    problems = {p.table: p for p in plan.problems}
    assert sorted(problems) == ["describe-failed", "tags-throttled"]
    assert problems["tags-throttled"].code == "ThrottlingException"
    assert "could not tell whether a tags selector picks table 'tags-throttled'" in (
        problems["tags-throttled"].message
    )


def test_make_plan_uses_no_listing_for_named_tables(clock: SimClock) -> None:
    """Only named selectors: no ListTables, no tags, one DescribeTable per table."""
    api = fake_api(clock, FakeTable("aaa"), FakeTable("bbb"))
    config = validate_config(
        {"defaults": {"bucket": "exports"}, "tables": [{"name": "aaa"}, {"name": "bbb"}]},
        source="t",
    )
    make_plan(config, api, now=clock.now())
    assert api.calls["list_table_names"] == 0
    assert api.calls["list_tags"] == 0
    assert api.calls["describe_table"] == 2


def test_export_time_in_future_is_rejected(clock: SimClock) -> None:
    """--as-of after now is refused before anything is called."""
    api = fake_api(clock, FakeTable("aaa"))
    config = validate_config(
        {"defaults": {"bucket": "exports"}, "tables": [{"name": "aaa"}]}, source="t"
    )
    with pytest.raises(ConfigError, match="is in the future"):
        make_plan(config, api, now=clock.now(), as_of=clock.now() + timedelta(minutes=1))
    assert sum(api.calls.values()) == 0


def test_export_time_is_truncated_to_the_second(clock: SimClock) -> None:
    """The shared export time has whole seconds, as AWS's ExportTime granularity."""
    clock.advance(1.75)
    api = fake_api(clock, FakeTable("aaa"))
    config = validate_config(
        {"defaults": {"bucket": "exports"}, "tables": [{"name": "aaa"}]}, source="t"
    )
    plan = make_plan(config, api, now=clock.now())
    assert plan.export_time.microsecond == 0
    assert plan.export_time == clock.now().replace(microsecond=0)


def test_no_tables_and_bad_run_id_are_config_errors(clock: SimClock) -> None:
    """An empty selection and an unusable run id are refused."""
    api = fake_api(clock, FakeTable("aaa"))
    with pytest.raises(ConfigError, match="no tables to export"):
        make_plan(validate_config({}, source="t"), api, now=clock.now())
    config = validate_config(
        {"defaults": {"bucket": "exports"}, "tables": [{"name": "aaa"}]}, source="t"
    )
    with pytest.raises(ConfigError, match="run id 'has space' is invalid"):
        make_plan(config, api, now=clock.now(), run_id="has space")
