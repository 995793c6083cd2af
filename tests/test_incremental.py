"""Incremental mode through the local runner, on the sandbox: chains with no gap and no overlap."""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.catalog.chain import find_chain
from ddbexport.catalog.chainstate import chain_records
from ddbexport.catalog.cursor import cursor_of
from ddbexport.catalog.records import Catalog, CatalogRecord
from ddbexport.catalog.status import OK
from ddbexport.cli.main import cli
from ddbexport.config.model import Config, RunSettings, TableSelector, parse_config_text
from ddbexport.errors import ConfigError
from ddbexport.pipeline.synth import synth
from ddbexport.running.facade import status as table_statuses
from ddbexport.running.report import RunReport
from ddbexport.sandbox import Sandbox, SandboxSettings

from .helpers import BUCKET, REGION, just_past_a_grid_line

#: Sandbox time starts on a grid line, so that every window below is easy to name.
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
TABLE = "orders"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    settings = SandboxSettings(base_duration_s=30, seconds_per_item=0, seed=3, pitr_lag_s=300)
    # Sandbox time runs 60 times faster than real time: a run lasts a sandbox minute or two,
    # so windows do not drift across the 15-minute grid between the steps of a test.
    with Sandbox(settings, time_scale=60, start=START) as box:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.update_continuous_backups(
            TableName=TABLE,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
        box.advance(25 * 60)  # a first grid line inside PITR's window, past both lags
        yield box


def _config(**table: str) -> Config:
    extra = "".join(f'{key} = "{value}"\n' for key, value in table.items())
    return parse_config_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\nprefix = "inc/{{table}}"\n'
        f'[[tables]]\nname = "{TABLE}"\nmode = "incremental"\n{extra}'
        '[run]\npoll_first = "10s"\npoll_min = "10s"\npoll_max = "10s"\n',
        source="test.toml",
    )


def _run(sandbox: Sandbox, config: Config, tmp_path: Path, **options: Any) -> RunReport:
    return ddbexport.run(
        config,
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path / "state",
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
        **options,
    )


def _records() -> list[CatalogRecord]:
    records, unreadable = Catalog(AwsApi(AwsSettings(REGION)), "ddbexport-catalog").records(
        BUCKET, TABLE
    )
    assert unreadable == []
    return records


def _windows() -> list[tuple[datetime, datetime]]:
    return sorted(
        (r.from_time, r.to_time)
        for r in _records()
        if r.export_type == "INCREMENTAL_EXPORT"
        and r.good
        and r.from_time is not None
        and r.to_time is not None
    )


def _put(pk: str) -> None:
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=TABLE, Item={"pk": {"S": pk}})


def test_a_chain_over_many_runs_has_no_gap_and_no_overlap(sandbox: Sandbox, tmp_path: Path) -> None:
    config = _config()
    first = _run(sandbox, config, tmp_path)
    assert first.exit_code == 0, first.to_dict()
    (baseline,) = first.tables
    assert (baseline.export_type, baseline.status) == ("FULL_EXPORT", "COMPLETED")
    # The baseline is taken at the last grid line PITR can serve (now - lag, on 15 minutes).
    assert baseline.export_time.minute % 15 == 0
    assert baseline.export_time.second == 0

    for step in range(6):
        _put(f"item-{step}")
        sandbox.advance(20 * 60)
        report = _run(sandbox, config, tmp_path)
        assert report.exit_code == 0, report.to_dict()
    windows = _windows()
    assert windows, "no window was exported"
    assert windows[0][0] == baseline.export_time
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert start == end  # every window starts where the one before ended
    for start, end in windows:
        assert timedelta(minutes=15) <= end - start <= timedelta(hours=24)
    cursor = cursor_of(_records(), baseline.table_arn)
    assert cursor.end == windows[-1][1]
    assert cursor.ignored == ()
    chain = find_chain(_records())
    assert chain.gaps == ()


def _baseline(sandbox: Sandbox, tmp_path: Path, config: Config) -> datetime:
    report = _run(sandbox, config, tmp_path)
    (baseline,) = report.tables
    assert (baseline.export_type, baseline.status) == ("FULL_EXPORT", "COMPLETED"), baseline
    return baseline.export_time


def test_a_backlog_of_three_days_is_caught_up_in_24_hour_windows_in_one_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = _config()
    base = _baseline(sandbox, tmp_path, config)
    sandbox.advance(3 * 24 * 3600 + 40 * 60)
    report = _run(sandbox, config, tmp_path)
    assert report.exit_code == 0, report.to_dict()
    windows = [(t.from_time, t.to_time) for t in report.tables]
    assert [end - start for start, end in windows[:3]] == [timedelta(hours=24)] * 3
    assert windows[0][0] == base
    assert all(b[0] == a[1] for a, b in itertools.pairwise(windows))
    assert len(windows) == 4  # the remainder, at least 15 minutes, in a fourth round
    assert timedelta(minutes=15) <= windows[3][1] - windows[3][0] < timedelta(hours=24)
    assert _windows() == windows
    assert {t.export_type for t in report.tables} == {"INCREMENTAL_EXPORT"}


def test_less_than_15_minutes_waits_and_the_next_run_exports_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = _config()
    base = _baseline(sandbox, tmp_path, config)
    report = _run(sandbox, config, tmp_path)
    (waiting,) = report.tables
    assert waiting.status == "WAITING"
    assert report.exit_code == 0
    assert waiting.note is not None
    assert "next window ends at" in waiting.note
    assert _windows() == []
    sandbox.advance(15 * 60)
    (window,) = _run(sandbox, config, tmp_path).tables
    assert window.status == "COMPLETED"
    assert (window.from_time, window.to_time) == (base, base + timedelta(minutes=15))


def test_a_failed_window_is_exported_again_by_the_next_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = _config()
    base = _baseline(sandbox, tmp_path, config)
    sandbox.advance(30 * 60)
    sandbox.fail_exports_of(TABLE, "S3AccessDenied", "no access")
    failed = _run(sandbox, config, tmp_path)
    assert failed.exit_code == 1
    (window,) = failed.tables
    assert (window.status, window.from_time) == ("FAILED", base)
    assert window.error is not None
    assert "the next run exports it again" in window.error.message
    assert _windows() == []  # the cursor did not move
    sandbox.service.faults.failing_tables.clear()
    retried = _run(sandbox, config, tmp_path)
    assert retried.exit_code == 0, retried.to_dict()
    (again,) = retried.tables
    assert again.from_time == base  # the same window, under a token of its own
    assert again.client_token != window.client_token
    assert _windows()[0][0] == base


def test_a_pitr_gap_stops_the_table_until_a_rebaseline(sandbox: Sandbox, tmp_path: Path) -> None:
    config = _config()
    _baseline(sandbox, tmp_path, config)
    ddb = boto3.client("dynamodb", region_name=REGION)
    for enabled in (False, True):
        ddb.update_continuous_backups(
            TableName=TABLE,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled},
        )
    sandbox.advance(40 * 60)
    stopped = _run(sandbox, config, tmp_path)
    assert stopped.exit_code == 1
    (table,) = stopped.tables
    assert table.error is not None
    assert table.error.code == "PitrGap"
    assert "--rebaseline" in table.error.message
    assert _windows() == []

    rebased = _run(sandbox, config, tmp_path, rebaseline=True)
    assert rebased.exit_code == 0, rebased.to_dict()
    (full,) = rebased.tables
    assert full.export_type == "FULL_EXPORT"
    sandbox.advance(20 * 60)
    (window,) = _run(sandbox, config, tmp_path).tables
    assert (window.status, window.from_time) == ("COMPLETED", full.export_time)


def test_full_every_takes_a_new_baseline_and_the_chain_restarts(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = _config(full_every="2h")
    _baseline(sandbox, tmp_path, config)
    sandbox.advance(2 * 3600 + 20 * 60)
    report = _run(sandbox, config, tmp_path)
    (full,) = report.tables
    assert full.export_type == "FULL_EXPORT", report.to_dict()
    sandbox.advance(20 * 60)
    (window,) = _run(sandbox, config, tmp_path).tables
    assert window.from_time == full.export_time


def test_two_runs_at_once_export_each_window_once(sandbox: Sandbox, tmp_path: Path) -> None:
    config = _config()
    _baseline(sandbox, tmp_path, config)
    sandbox.advance(3 * 3600)
    reports: list[RunReport] = []

    def one_run(name: str) -> None:
        reports.append(_run(sandbox, config, tmp_path / name))

    threads = [threading.Thread(target=one_run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [report.exit_code for report in reports] == [0, 0]
    exported: dict[datetime | None, set[str | None]] = {}
    for report in reports:
        for table in report.tables:
            if table.status == "COMPLETED":
                exported.setdefault(table.from_time, set()).add(table.export_arn)
    assert exported, "neither run exported anything"
    assert all(len(arns) == 1 for arns in exported.values()), exported  # one export per window
    windows = _windows()
    assert len(windows) == len(set(windows))
    assert all(b[0] == a[1] for a, b in itertools.pairwise(windows))
    exports = [r for r in _records() if r.export_type == "INCREMENTAL_EXPORT"]
    assert len(exports) == len(windows)


def test_plan_shows_the_window_and_the_backlog(sandbox: Sandbox, tmp_path: Path) -> None:
    config = _config(view="NEW_IMAGE")
    base = _baseline(sandbox, tmp_path, config)
    sandbox.advance(30 * 3600)
    plan = ddbexport.plan(config, api=AwsApi(AwsSettings(REGION)), now=sandbox.now())
    (request,) = plan.requests
    assert (request.from_time, request.to_time) == (base, base + timedelta(hours=24))
    assert request.view == "NEW_IMAGE"
    assert request.api_kwargs()["IncrementalExportSpecification"] == {
        "ExportFromTime": base,
        "ExportToTime": base + timedelta(hours=24),
        "ExportViewType": "NEW_IMAGE",
    }
    assert "ExportTime" not in request.api_kwargs()
    assert [start for start, _ in request.later] == [base + timedelta(hours=24)]
    shown = plan.to_dict()["exports"][0]
    assert shown["export_type"] == "INCREMENTAL_EXPORT"
    assert shown["later"][0]["from_time"] == shown["to_time"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('prefix = "x/{run_id}"\n', "cannot use {run_id}"),
        ('prefix = "x/{run_id!s}"\n', "format spec or conversion"),
        ('prefix = "x/{date:>12}"\n', "format spec or conversion"),
        ("[catalog]\nenabled = false\n", "keeps each table's chain of exports in the catalog"),
        ('full_every = "10m"\n', "shorter than an hour"),
        ('full_every = "weekly"\n', "full_every"),
        ('view = "OLD_IMAGE"\n', "NEW_AND_OLD_IMAGES"),
        ('mode = "delta"\n', "incremental"),
    ],
)
def test_bad_incremental_settings_are_refused(text: str, message: str) -> None:
    table = f'[[tables]]\nname = "{TABLE}"\nmode = "incremental"\n'
    if text.startswith("[catalog]"):
        body = table + text
    elif text.startswith("mode"):
        body = f'[[tables]]\nname = "{TABLE}"\n' + text
    else:
        body = table + text
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config_text(
            f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\n{body}', source="t.toml"
        )


def test_as_of_and_a_stray_rebaseline_are_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    config = _config()
    api = AwsApi(AwsSettings(REGION))
    with pytest.raises(ConfigError, match="--as-of applies to full exports"):
        ddbexport.plan(config, api=api, as_of=START + timedelta(minutes=20), now=sandbox.now())
    with pytest.raises(ConfigError, match="not an incremental table"):
        ddbexport.plan(config, api=api, rebaseline=["other"], now=sandbox.now())


# ---------------------------------------------------------------------------- the CLI


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, [*args, "--region", REGION], catch_exceptions=False, env={"COLUMNS": "400"}
    )
    return result.exit_code, result.stdout, result.stderr


def test_cli_plan_run_rebaseline_and_chain(sandbox: Sandbox, tmp_path: Path) -> None:
    config_file = tmp_path / "ddbexport.toml"
    config_file.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\nprefix = "inc/{{table}}"\n'
        f'[[tables]]\nname = "{TABLE}"\nmode = "incremental"\n'
        '[run]\npoll_first = "100ms"\npoll_min = "100ms"\npoll_max = "200ms"\n'
    )
    state = ["--state-dir", str(tmp_path / "state")]
    code, out, err = _cli("plan", "-c", str(config_file), *state)
    assert code == 0, err
    assert "full as of" in out
    assert "no baseline yet" in out
    code, out, err = _cli("run", "-c", str(config_file), *state, "--poll", "fixed:100ms")
    assert code == 0, err
    sandbox.advance(2 * 3600)
    just_past_a_grid_line(sandbox, time_scale=20)  # the run plans the window the plan showed
    code, out, err = _cli("plan", "-c", str(config_file), *state, "--json")
    assert code == 0, err
    (request,) = json.loads(out)["exports"]
    assert request["export_type"] == "INCREMENTAL_EXPORT"
    code, out, err = _cli("run", "-c", str(config_file), *state, "--poll", "fixed:100ms")
    assert code == 0, err
    assert "window" in out

    code, out, err = _cli("chain", "-c", str(config_file), "--table", TABLE, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["baseline"]["export_type"] == "FULL_EXPORT"
    assert [link["from_time"] for link in shown["links"]] == [request["from_time"]]
    assert shown["end"] == request["to_time"]
    code, out, err = _cli("chain", "-c", str(config_file), "--table", TABLE)
    assert code == 0, err
    assert "window 1" in out

    code, out, err = _cli("run", "-c", str(config_file), *state, "--rebaseline", "nope")
    assert code == 2
    assert "not an incremental table" in err
    code, out, err = _cli("plan", "-c", str(config_file), *state, "--rebaseline", TABLE)
    assert code == 0, err
    assert "new baseline asked for" in out
    code, out, err = _cli("plan", "-c", str(config_file), *state, "--as-of", "2026-11-02T00:30:00Z")
    assert code == 2
    assert "--as-of applies to full exports" in err


def test_the_pipeline_role_reads_pitr_windows_and_chain_objects_of_incremental_tables() -> None:
    template = synth(_config().model_copy(update={"run": RunSettings()})).template
    policy = template["Resources"]["StateMachineRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]
    by_sid = {statement["Sid"]: statement for statement in policy["Statement"]}
    assert by_sid["ReadPitrWindows"]["Action"] == ["dynamodb:DescribeContinuousBackups"]
    chains = f"arn:${{AWS::Partition}}:s3:::{BUCKET}/ddbexport-catalog/chains/*"
    assert by_sid["ReadAndWriteChains"]["Resource"] == [{"Fn::Sub": chains}]
    assert by_sid["ListChains"]["Condition"] == {
        "StringLike": {"s3:prefix": ["ddbexport-catalog/chains/*"]}
    }
    full_mode = _config().model_copy(
        update={"tables": (TableSelector(name=TABLE),), "run": RunSettings()}
    )
    full_only = synth(full_mode).template
    statements = full_only["Resources"]["StateMachineRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"]
    assert "ReadPitrWindows" not in {statement["Sid"] for statement in statements}


def test_only_a_chains_own_baselines_start_it() -> None:
    """A full export made some other way (full mode before, an ad-hoc run) is no baseline."""
    arn = f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}"
    common = {
        "table": TABLE,
        "table_arn": arn,
        "status": "COMPLETED",
        "s3_bucket": BUCKET,
        "s3_prefix": None,
    }
    chained = CatalogRecord(
        export_arn=f"{arn}/export/1",
        export_type="FULL_EXPORT",
        export_folder="AWSDynamoDB/1",
        export_time=START,
        extra={"chain": True},
        **common,
    )
    ad_hoc = CatalogRecord(
        export_arn=f"{arn}/export/2",
        export_type="FULL_EXPORT",
        export_folder="AWSDynamoDB/2",
        export_time=START + timedelta(hours=1),
        **common,
    )
    window = CatalogRecord(
        export_arn=f"{arn}/export/3",
        export_type="INCREMENTAL_EXPORT",
        export_folder="AWSDynamoDB/3",
        from_time=START,
        to_time=START + timedelta(hours=2),
        **common,
    )
    kept = chain_records([chained, ad_hoc, window])
    assert kept == [chained, window]
    assert cursor_of(kept, arn).end == START + timedelta(hours=2)
    # Unfiltered, the later ad-hoc export would take over and the window would be ignored.
    assert cursor_of([chained, ad_hoc, window], arn).end == START + timedelta(hours=1)
    assert cursor_of(chain_records([ad_hoc, window]), arn).baseline is None


def test_status_lists_an_incremental_table_even_with_nothing_to_export(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = _config()
    base = _baseline(sandbox, tmp_path, config)
    (waiting,) = _run(sandbox, config, tmp_path).tables
    assert waiting.status == "WAITING"
    api = AwsApi(AwsSettings(REGION))
    (fresh,) = table_statuses(config, api, max_age_s=3600, now=sandbox.now)
    assert (fresh.table, fresh.state) == (TABLE, OK)
    assert fresh.latest is not None
    assert fresh.latest.as_of == base
