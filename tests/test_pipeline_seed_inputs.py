"""The pipeline at its edges: the seed's ``tablelist`` as EventBridge sends it (prefixes with
slashes or null, entries missing a field, entries that are not entries), literal prefixes with
escaped braces, and the room a child execution's history leaves for retries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.config.model import validate_config
from ddbexport.errors import ConfigError
from ddbexport.pipeline.statemachine import MAX_WAITS, compile_prefix, wait_schedule
from ddbexport.pipeline.synth import synth
from ddbexport.pipeline.transitions import TASK_EVENTS, child_walk
from ddbexport.planning.plan import render_prefix
from ddbexport.sandbox import Sandbox

from .helpers import BUCKET, REGION
from .test_pipeline import (
    _config,
    _deploy_definition,
    _execute,
    _records,
    _tables,
    executing_sandbox,
)

#: Step Functions fails an execution whose history reaches this many events.
HISTORY_LIMIT = 25_000
#: One poll: Wait, Finished? and Next poll (2 events each) and DescribeExport (a Task).
POLL_EVENTS = 2 * 2 + TASK_EVENTS  # Wait, Finished? and DescribeExport


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox executing state machines, with quick exports and a bucket."""
    with executing_sandbox() as box:
        yield box


def _run_seed(sandbox: Sandbox, tablelist: list[Any]) -> dict[str, Any]:
    """One execution driven by a seed payload; the config's own list is never read."""
    machine = _deploy_definition(_config([{"name": "unused"}]))
    moment = sandbox.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    return _execute(machine, {"time": moment, "tablelist": tablelist})


def _run_record(run_id: str = "run-1") -> dict[str, Any]:
    """The run's record (run.json) the parent writes after the Map."""
    body = boto3.client("s3", region_name=REGION).get_object(
        Bucket=BUCKET, Key=f"ddbexport-catalog/runs/{run_id}/run.json"
    )["Body"]
    record: dict[str, Any] = json.loads(body.read())
    return record


def _catalog_folders() -> dict[str, str]:
    """Each catalogued table's export folder, from the catalog records in the bucket."""
    s3 = boto3.client("s3", region_name=REGION)
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix="ddbexport-catalog/exports/")
    records = [
        json.loads(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
        for item in listing.get("Contents", [])
    ]
    return {record["table"]: record["export_folder"] for record in records}


# ---------------------------------------------------------------------------- seed prefixes


def test_a_null_or_missing_seed_prefix_exports_to_the_bucket_root(sandbox: Sandbox) -> None:
    """``"prefix": null`` and no prefix at all both mean the bucket's root, as ``""`` does:
    no S3Prefix sent, an empty prefix in the record, and the catalog's folder AWSDynamoDB/…"""
    _tables(sandbox, "test", "test2")
    result = _run_seed(
        sandbox,
        [
            {"tablename": "test", "bucketname": BUCKET, "prefix": None},
            {"tablename": "test2", "bucketname": BUCKET},
        ],
    )
    assert result["status"] == "SUCCEEDED", result
    requests = [export.request for export in sandbox.service.exports.values()]
    assert len(requests) == 2
    assert all("S3Prefix" not in request for request in requests), requests
    records = _records("run-1")
    assert {records[t]["s3_prefix"] for t in ("test", "test2")} == {""}
    folders = _catalog_folders()
    assert set(folders) == {"test", "test2"}
    assert all(folder.startswith("AWSDynamoDB/") for folder in folders.values()), folders


def test_a_seed_prefix_with_a_slash_at_either_end_is_refused_alone(sandbox: Sandbox) -> None:
    """A leading or trailing '/' would put '//' in the export's keys (the state machine cannot
    strip it): that table is FAILED with a record saying why, the others export, and the
    execution ends FAILED."""
    _tables(sandbox, "test", "test2", "test3")
    result = _run_seed(
        sandbox,
        [
            {"tablename": "test", "bucketname": BUCKET, "prefix": "exported/test/"},
            {"tablename": "test2", "bucketname": BUCKET, "prefix": "/exported"},
            {"tablename": "test3", "bucketname": BUCKET, "prefix": "exported/test3"},
        ],
    )
    assert result["status"] == "FAILED"
    assert result["error"] == "ExportsFailed"
    records = _records("run-1")
    assert records["test3"]["status"] == "COMPLETED"
    for table, prefix in (("test", "exported/test/"), ("test2", "/exported")):
        record = records[table]
        assert record["status"] == "FAILED"
        assert record["error"]["Error"] == "InvalidTableEntry"
        assert "'prefix' must not start or end with '/'" in record["error"]["Cause"]
        assert record["entry"]["prefix"] == prefix
    (export,) = sandbox.service.exports.values()
    assert export.request["S3Prefix"] == "exported/test3"
    assert "//" not in _catalog_folders()["test3"]


# ---------------------------------------------------------------------------- seed entries


def test_entries_missing_a_field_fail_alone_with_a_record_naming_it(sandbox: Sandbox) -> None:
    """tablename and bucketname must be strings, prefix a string or null: an entry that breaks
    this is FAILED with a record naming the field (an entry without a usable name is named by
    its place in the list), every other table goes on, and the execution ends FAILED."""
    _tables(sandbox, "test")
    result = _run_seed(
        sandbox,
        [
            {"bucketname": BUCKET, "prefix": "exported/x"},
            {"tablename": 42, "bucketname": BUCKET},
            {"tablename": "nobucket", "prefix": "exported/nobucket"},
            {"tablename": "badbucket", "bucketname": ["b"]},
            {"tablename": "badprefix", "bucketname": BUCKET, "prefix": 7},
            {"tablename": "test", "bucketname": BUCKET, "prefix": "exported/test"},
        ],
    )
    assert result["status"] == "FAILED", result
    assert result["error"] == "ExportsFailed"
    records = _records("run-1")
    assert records["test"]["status"] == "COMPLETED"
    expected = {
        "tablelist[0]": "'tablename' is missing",
        "tablelist[1]": "'tablename' must be a string",
        "nobucket": "'bucketname' is missing",
        "badbucket": "'bucketname' must be a string",
        "badprefix": "'prefix' must be a string",
    }
    for table, problem in expected.items():
        record = records[table]
        assert record["status"] == "FAILED", record
        assert record["error"]["Error"] == "InvalidTableEntry"
        assert problem in record["error"]["Cause"], record["error"]["Cause"]
    assert records["nobucket"]["entry"]["prefix"] == "exported/nobucket"
    (export,) = sandbox.service.exports.values()
    assert export.table.name == "test"
    summary = _run_record()
    assert (summary["table_count"], summary["completed"], summary["not_completed"]) == (6, 1, 5)


def test_a_result_the_map_loses_counts_as_a_failure(sandbox: Sandbox) -> None:
    """An entry that is not an object cannot even start its child: the Map Run counts it as a
    failed child. It counts as a failure: the run record shows one table of two completed and
    the execution ends FAILED."""
    _tables(sandbox, "test")
    result = _run_seed(
        sandbox,
        [{"tablename": "test", "bucketname": BUCKET, "prefix": "exported/test"}, "test2"],
    )
    assert result["status"] == "FAILED", result
    assert result["error"] == "ExportsFailed"
    assert _records("run-1")["test"]["status"] == "COMPLETED"
    summary = _run_record()
    assert (summary["table_count"], summary["completed"], summary["not_completed"]) == (2, 1, 1)


@pytest.mark.parametrize(
    "tablelist", [[], "test", {"tablename": "test"}], ids=["empty", "str", "obj"]
)
def test_a_tablelist_that_is_no_list_of_entries_is_no_tables(
    sandbox: Sandbox, tablelist: object
) -> None:
    """Empty, or not a list: the execution fails as NoTables before any table is tried."""
    machine = _deploy_definition(_config([{"name": "unused"}]))
    result = _execute(machine, {"tablelist": tablelist})
    assert result["status"] == "FAILED"
    assert result["error"] == "NoTables"
    assert not sandbox.service.exports


# ---------------------------------------------------------------------------- history room


def _fixed_polls(count: int) -> dict[str, Any]:
    return {
        "region": REGION,
        "defaults": {"bucket": BUCKET, "prefix": "dynamodb/{table}/{date}"},
        "tables": [{"name": "orders"}],
        "run": {"poll": "fixed:1s", "timeout": f"{count}s"},
    }


def test_the_most_polls_allowed_leave_room_for_every_retry() -> None:
    """The longest child: its export COMPLETED at the last of MAX_WAITS polls, then its
    records written. Even if every Task it runs uses all its retries once and each of the other
    polls is retried once more, it stays under the 25,000-event history (a retried attempt logs 3
    events: scheduled, started, failed)."""
    config = validate_config(_fixed_polls(MAX_WAITS), source="test")
    waits = wait_schedule(config.run)
    assert len(waits) == MAX_WAITS
    definition = synth(config).definition
    states = definition["States"]["Export every table"]["ItemProcessor"]["States"]
    walked = child_walk(definition, duration_s=sum(waits))
    one_poll_less = child_walk(definition, duration_s=sum(waits) - waits[-1])
    assert walked.events - one_poll_less.events == POLL_EVENTS
    assert walked.events > POLL_EVENTS * MAX_WAITS
    tasks = ("Export", "Describe export", "Write table record", "Write catalog record")
    full_retries = sum(r["MaxAttempts"] for name in tasks for r in states[name]["Retry"])
    worst = (
        2  # the child execution's own started and succeeded events
        + walked.events
        + 3 * full_retries
        + 3 * (MAX_WAITS - 1)  # one more retry on each of the other polls
    )
    assert worst < HISTORY_LIMIT, worst


def test_a_schedule_beyond_the_most_polls_is_refused() -> None:
    """One poll more than MAX_WAITS: the wait schedule is refused, saying what to change."""
    config = validate_config(_fixed_polls(MAX_WAITS + 1), source="test")
    with pytest.raises(ConfigError, match=f"at most {MAX_WAITS:,}"):
        wait_schedule(config.run)


# ---------------------------------------------------------------------------- literal prefixes


def _states_format(template: str, arguments: list[str]) -> str:
    """States.Format as AWS documents it: each ``{}`` takes the next argument, and a backslash
    makes the character after it (' { } \\) plain text. (moto's own keeps the backslash.)"""
    out: list[str] = []
    values = iter(arguments)
    index = 0
    while index < len(template):
        char = template[index]
        if char == "\\":
            out.append(template[index + 1])
            index += 2
        elif template.startswith("{}", index):
            out.append(next(values))
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


@pytest.mark.parametrize(
    "template",
    [
        "raw/{{x}}",
        "raw/{{x}}/",
        "{{a}}}}b{{",
        "plain/prefix",
        "/lead/",
        "it's\\here",
        "{table}/{{x}}",
        "{{{table}}}/{date}/{time}-{run_id}/",
    ],
)
def test_compiled_prefixes_render_as_the_local_runner_renders(template: str) -> None:
    """``{{`` and ``}}`` are braces (str.format), one each, and '/' goes at both ends: the
    literal a prefix without placeholders compiles to, and what States.Format makes of a
    template's format, are what the local runner sends."""
    instant = datetime(2026, 11, 28, 3, 4, 5, tzinfo=UTC)
    compiled = compile_prefix("t0", template)
    rendered = render_prefix(template, table="orders", export_time=instant, run_id="run-1")
    if compiled.arguments:
        values = {"table": "orders", "date": "2026/11/28", "time": "030405", "run_id": "run-1"}
        formatted = _states_format(compiled.format, [values[a] for a in compiled.arguments])
        assert formatted == rendered
    else:
        assert compiled.literal == rendered
    assert compiled.source == template


def test_braces_in_literal_prefixes_reach_aws_as_the_local_runner_sends_them(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Literal prefixes with escaped braces: the pipeline and a local run send the same
    S3Prefix for each table. (Templates are checked above: moto's States.Format does not
    read a backslash as AWS does.)"""
    _tables(sandbox, "orders", "users")
    config = _config(
        [{"name": "orders", "prefix": "raw/{{x}}/"}, {"name": "users", "prefix": "{{a}}}}b"}]
    )
    result = _execute(_deploy_definition(config), {})
    assert result["status"] == "SUCCEEDED", result
    pipeline = {e.table.name: e.request["S3Prefix"] for e in sandbox.service.exports.values()}
    assert pipeline == {"orders": "raw/{x}", "users": "{a}}b"}
    before = set(sandbox.service.exports)
    local = ddbexport.run(
        config,
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path,
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )
    assert {r.status for r in local.tables} == {"COMPLETED"}
    sent = {
        export.table.name: export.request["S3Prefix"]
        for arn, export in sandbox.service.exports.items()
        if arn not in before
    }
    assert sent == pipeline
