"""The pipeline at scale: thousands of tables through one execution (the Map reads its items
from S3 and writes its results there), and the first poll at a table's expected duration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import pytest

from ddbexport.config.model import RunSettings, validate_config
from ddbexport.core.models import ExportRequest
from ddbexport.errors import ConfigError
from ddbexport.pipeline.statemachine import first_wait, max_waits, near_schedule, wait_schedule
from ddbexport.pipeline.synth import learn_durations, synth, table_settings, write_synthesis
from ddbexport.pipeline.tablelist import compile_table_list
from ddbexport.pipeline.transitions import child_walk, detection_lag
from ddbexport.pipeline.waits import NEAR_WINDOW_S
from ddbexport.sandbox import Sandbox
from ddbexport.testing import FakeExportApi, FakeTable, SimClock

from .helpers import BUCKET, REGION, create_table, statelint_problems
from .test_pipeline import ACCOUNT, _execute, executing_sandbox

#: 1,000 tables in the suite (a 30 KB list, four times what SSM holds, and a minute of moto on
#: two cores); DDBEXPORT_SCALE_TABLES=3000 (or 10000) runs the same test at that size.
TABLES = int(os.environ.get("DDBEXPORT_SCALE_TABLES", "1000"))
#: Each table's name is this long (``t-00000-`` and padding): 30 bytes of list per table.
NAME_PAD = 16


def _names(count: int) -> list[str]:
    return [f"t-{index:05d}-" + "x" * NAME_PAD for index in range(count)]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with executing_sandbox() as box:
        yield box


def _create(names: list[str]) -> None:
    for name in names:
        create_table(name, items=0)


def _history_sizes(execution_arn: str) -> list[int]:
    """The size of every state input and output in an execution's history."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    sizes = []
    for event in sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]:
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            details = event.get(key, {})
            for field in ("input", "output"):
                if field in details:
                    sizes.append(len(details[field].encode()))
    return sizes


@pytest.mark.long
def test_thousands_of_tables_run_through_the_executed_definition(sandbox: Sandbox) -> None:
    """Thousands of tables in one execution (TABLES): the list is an S3 object the Map reads
    (ItemReader), the results go to S3 (ResultWriter) and the parent's state stays a few
    kilobytes (the list and the results never enter it). The run record counts; a table that
    fails is counted and named in the FAILED results file, and the execution ends FAILED."""
    names = _names(TABLES)
    _create(names[:-1])  # the last one does not exist: its export fails
    sandbox.advance(600)
    config = validate_config(
        {
            "region": REGION,
            "defaults": {"bucket": BUCKET, "prefix": "x/{table}"},
            "tables": [{"name": name} for name in names],
            "catalog": {"enabled": False},
            "run": {
                "poll_first": "30s",
                "poll_min": "15s",
                "poll_max": "60s",
                "max_concurrency": 100,
                "timeout": "1h",
            },
        },
        source="test",
    )
    synthesis = synth(config)
    assert synthesis.table_list_object is not None  # far beyond SSM's 8 KB
    body = synthesis.table_list.object_body.encode()
    assert len(body) > 20 * TABLES
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key=synthesis.table_list_object, Body=body)
    machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="scale",
        definition=json.dumps(synthesis.definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/ddbexport",
    )["stateMachineArn"]
    # About 0.03 s of moto per table on two cores (some 30 s for 1,000, 90 s for 3,000): each
    # poll of the execution costs as much as a table, so a poll a second.
    result = _execute(machine, {}, timeout_s=1500, poll_s=1)
    assert result["status"] == "FAILED", result
    assert result["error"] == "ExportsFailed"
    assert len(sandbox.service.exports) == TABLES - 1
    run = json.loads(
        s3.get_object(Bucket=BUCKET, Key="ddbexport-catalog/runs/run-1/run.json")["Body"].read()
    )
    assert (run["table_count"], run["completed"], run["not_completed"]) == (TABLES, TABLES - 1, 1)
    bucket, key = run["results_manifest"].removeprefix("s3://").split("/", 1)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    results = json.loads(s3.get_object(Bucket=bucket, Key=succeeded["Key"])["Body"].read())
    assert len(results) == TABLES - 1
    (failed,) = manifest["ResultFiles"]["FAILED"]
    (failure,) = json.loads(s3.get_object(Bucket=bucket, Key=failed["Key"])["Body"].read())
    assert json.loads(failure["Cause"])["table"] == names[-1]
    # The parent's state: the run's facts and counts, never the list or the results.
    assert max(_history_sizes(result["executionArn"])) < 8_000


def test_the_first_poll_waits_the_previous_duration_then_short_waits() -> None:
    """A known previous duration: the first wait is that long, then waits of at most a minute
    for half an hour; unknown: poll_first, or half a size-based guess for a big table."""
    run = RunSettings()
    assert first_wait(run, expected_s=3600.4) == 3600
    assert first_wait(run) == 240
    assert first_wait(run, size_bytes=100 * 1024**3) == round(100 * 1024**3 / (50 * 1024**2) / 2)
    near = near_schedule(run)
    assert near[:3] == (15, 30, 60)
    within, total = [], 0
    for wait in near:
        if total >= NEAR_WINDOW_S:
            break
        within.append(wait)
        total += wait
    assert max(within) == 60
    assert sum(near) >= run.timeout_s
    assert max(near) == 600
    fixed = validate_config(
        {
            "defaults": {"bucket": BUCKET},
            "tables": [{"name": "aaa"}],
            "run": {"poll": "fixed:15s", "timeout": "1h"},
        },
        source="test",
    ).run
    assert first_wait(fixed, expected_s=3600) == 15
    # The first wait is a poll of its own: after it, the rest of the fixed schedule.
    assert near_schedule(fixed) == wait_schedule(fixed)[1:]


@pytest.mark.parametrize("poll", ["adaptive", "fixed:60s"])
def test_polls_after_a_known_duration_fit_the_history_too(poll: str) -> None:
    """Waits of a minute, timeouts of about max_waits() minutes: whichever schedule a table
    follows, its polls (the first wait, as long as the previous export, ends in one too) are at
    most max_waits(); the limit is reached, and a timeout beyond it is refused."""

    def run(minutes: int) -> RunSettings:
        return validate_config(
            {
                "defaults": {"bucket": BUCKET},
                "tables": [{"name": "aaa"}],
                "run": {
                    "poll": poll,
                    "poll_first": "60s",
                    "poll_min": "60s",
                    "poll_max": "60s",
                    "timeout": f"{minutes * 60}s",
                },
            },
            source="test",
        ).run

    def polls(schedule: Callable[[RunSettings], tuple[int, ...]], first: int, minutes: int) -> int:
        return first + len(schedule(run(minutes)))

    for schedule, first in ((wait_schedule, 0), (near_schedule, 1)):
        minutes, counts = max_waits() - 2, []
        while minutes <= max_waits() + 1:
            try:
                counts.append(polls(schedule, first, minutes))
            except ConfigError:
                break
            minutes += 1
        assert counts[-1] == max_waits()  # the longest timeout that fits fills the history
        with pytest.raises(ConfigError, match="polls"):
            polls(schedule, first, minutes)


def test_a_known_one_hour_export_costs_at_most_twenty_transitions() -> None:
    """The walk of the generated child: a one-hour export whose previous one took an hour is
    seen at its first poll, with no lag; late by ten minutes, it is seen within a minute."""
    config = validate_config(
        {"defaults": {"bucket": BUCKET}, "tables": [{"name": "aaa"}]}, source="test"
    )
    definition = synth(config).definition
    known = child_walk(definition, 3600, expected_s=3600)
    assert known.transitions <= 20
    assert detection_lag(definition, 3600, 3600) == 0
    assert detection_lag(definition, 4200, 3600) <= 60
    unknown = child_walk(definition, 3600)
    assert known.transitions < unknown.transitions


def test_deploy_learns_each_tables_previous_duration() -> None:
    """With AWS access, each entry carries its previous export's duration and waits that long
    first; a table never exported waits poll_first (a big one, half a size-based guess)."""
    clock = SimClock()
    api = FakeExportApi(
        clock,
        [
            FakeTable("orders", export_duration_s=3000),
            FakeTable("users"),
            FakeTable("huge", size_bytes=200 * 1024**3),
        ],
        buckets={BUCKET},
    )
    api.export_table(_request(api, "orders"))
    clock.advance(4000)
    config = validate_config(
        {
            "defaults": {"bucket": BUCKET},
            "tables": [{"name": "orders"}, {"name": "users"}, {"name": "huge"}],
        },
        source="test",
    )
    settings = learn_durations(table_settings(config, None), api)
    compiled = compile_table_list(settings, config.run)
    entries = {entry["tablename"]: {**compiled.defaults, **entry} for entry in compiled.entries}
    assert entries["orders"]["expected_s"] == 3000
    assert entries["orders"]["first_wait_s"] == 3000
    assert "expected_s" not in entries["users"]
    assert entries["users"]["first_wait_s"] == 240
    assert entries["huge"]["first_wait_s"] == 2048


def _request(api: FakeExportApi, table: str) -> ExportRequest:
    return ExportRequest(
        table=table,
        table_arn=api.table_arn(table),
        bucket=BUCKET,
        prefix="",
        format="DYNAMODB_JSON",
        sse="AES256",
        export_time=api.clock.now() - timedelta(minutes=10),
        client_token="t" * 32,
    )


def test_the_large_list_definition_and_template_lint_clean(tmp_path: Path) -> None:
    """10,000 tables synthesize (no refusal): statelint and cfn-lint (with its informational
    checks, I3011 included: the log group and the topic are retained) report nothing."""
    config = validate_config(
        {
            "region": REGION,
            "defaults": {"bucket": BUCKET},
            "tables": [{"name": name} for name in _names(10_000)],
            "pipeline": {"notify_email": "ops@example.com"},
        },
        source="test",
    )
    synthesis = synth(config)
    assert synthesis.table_list_object is not None
    written = write_synthesis(synthesis, tmp_path)
    assert statelint_problems(tmp_path / "statemachine.asl.json") == []
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "-c", "I", "--", str(written[0])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    resources = synthesis.template["Resources"]
    for name in ("LogGroup", "Topic"):
        assert resources[name]["DeletionPolicy"] == "Retain"
        assert resources[name]["UpdateReplacePolicy"] == "Retain"
