"""``ddbexport estimate``: the pricing (pure), the transitions walk, the command on the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ddbexport.cli.main import cli
from ddbexport.config.model import Config, validate_config
from ddbexport.errors import ConfigError
from ddbexport.pipeline.estimate import (
    GB,
    Assumptions,
    Prices,
    TableInput,
    estimate,
    incremental_export_cost,
    runs_per_day,
)
from ddbexport.pipeline.synth import synth
from ddbexport.pipeline.transitions import EXPORT_STATUS, Walk, child_walk, parent_walk
from ddbexport.sandbox import Sandbox, SandboxSettings

from .helpers import BUCKET, REGION

SEED = Path(__file__).parents[1] / "bench" / "seed-statemachine.asl.json"


def _config(tables: tuple[str, ...] = ("small", "large"), **extra: Any) -> Config:
    return validate_config(
        {
            "region": "us-east-1",
            "defaults": {"bucket": BUCKET},
            "tables": [{"name": name} for name in tables],
            **extra,
        },
        source="test",
    )


def _definition(config: Config) -> dict[str, Any]:
    return synth(config).definition


# ---------------------------------------------------------------------------- the hand computation


def test_two_tables_match_the_hand_computation() -> None:
    """10 GB and 50 GB, the default daily schedule, keep_last 7, default prices and assumptions.

    Runs: cron(0 3 * * ? *) is daily, so 1 run a day x 30 days = 30 runs a month.

    Export durations (no previous export: 10 min + 1 min per GB): small 20 min = 1,200 s,
    large 60 min = 3,600 s.

    Child execution transitions. The default waits are 240 s, then 15, 30, 60, 120, 240, 480,
    600, 600, ... s; the clock after each wait: 240, 255, 285, 345, 465, 705, 1185, 1785, 2385,
    2985, 3585, 4185. The export is seen COMPLETED at the first poll at or after its duration:
    1,200 s -> 8th poll (1785), 3,600 s -> 12th poll (4185). States entered:
      before polling 6 (Check entry, ARN from name, Prefix, Prefix t0, Export options, Export);
      per poll 3 (Wait for the export or Wait, Describe export, Finished?); after 9 (Completed,
      Write table record, Catalogue?, Export folder, Folder under the prefix, Catalog record,
      Catalog options, Write catalog record, Result).
      small: 6 + 8 x 3 + 9 = 39;  large: 6 + 12 x 3 + 9 = 51.
    Parent execution: 14 states a run (Export time, Time from event, Split time, Run facts,
    Table list, Read table list, Tables from parameter, Any tables?, Write table list, Export
    every table, Count outcomes, Write run record, Any failed?, All exported), 7 per table.

      small: exports     30 x 10 GB x $0.10              = $30.00
             transitions 30 x (39 + 7) = 1,380 -> 1,380 / 1,000 x $0.025 = $0.0345
             storage     7 kept x 10 GB x 0.5 = 35 GB -> 35 x $0.023      = $0.805
             pipeline    30 + 0.0345 + 0.805 = $30.8395;  local 30 + 0.805 = $30.805
      large: exports     30 x 50 GB x $0.10              = $150.00
             transitions 30 x (51 + 7) = 1,740 -> 1,740 / 1,000 x $0.025 = $0.0435
             storage     7 x 50 GB x 0.5 = 175 GB -> 175 x $0.023        = $4.025
             pipeline    150 + 0.0435 + 4.025 = $154.0685;  local 150 + 4.025 = $154.025
      total: pipeline $184.908;  local $184.83
    """
    config = _config(retention={"keep_last": 7})
    result = estimate(
        config,
        [TableInput("small", 10 * GB), TableInput("large", 50 * GB)],
        _definition(config),
    )
    small, large = result.tables
    assert result.runs_per_day.value == 1
    assert result.runs_per_month == 30
    assert result.parent_transitions_per_run == 14
    assert (small.export_duration_s, small.duration_source) == (1200, "assumed")
    assert large.export_duration_s == 3600
    assert small.transitions_per_run == 46
    assert large.transitions_per_run == 58
    assert small.transitions_per_month == 1380
    assert large.transitions_per_month == 1740
    assert small.export_cost == pytest.approx(30.0)
    assert small.transitions_cost == pytest.approx(0.0345)
    assert small.stored_gb == pytest.approx(35.0)
    assert small.storage_cost == pytest.approx(0.805)
    assert small.pipeline_total == pytest.approx(30.8395)
    assert small.local_total == pytest.approx(30.805)
    assert large.export_cost == pytest.approx(150.0)
    assert large.transitions_cost == pytest.approx(0.0435)
    assert large.storage_cost == pytest.approx(4.025)
    assert large.pipeline_total == pytest.approx(154.0685)
    assert result.pipeline_total == pytest.approx(184.908)
    assert result.local_total == pytest.approx(184.83)
    totals = result.to_dict()["totals"]
    assert totals == {
        "export_cost": 180.0,
        "transitions_cost": 0.078,
        "storage_cost": 4.83,
        "pipeline": 184.908,
        "local": 184.83,
    }
    assert result.kept.bounded
    assert any("Estimates, not a bill" in note and "us-east-1" in note for note in result.notes)


# ---------------------------------------------------------------------------- retention


def _kept(retention: dict[str, Any], runs: int) -> tuple[int, bool, tuple[str, ...]]:
    config = _config(("small",), retention=retention)
    result = estimate(config, [TableInput("small", 2 * GB)], _definition(config), runs=runs)
    table = result.tables[0]
    # 2 GB at half size is 1 GB per kept export.
    assert table.stored_gb == pytest.approx(table.kept_exports * 1.0)
    assert table.storage_cost == pytest.approx(table.kept_exports * 0.023)
    return table.kept_exports, result.kept.bounded, result.notes


@pytest.mark.parametrize(
    ("retention", "runs", "kept"),
    [
        ({"keep_last": 3}, 4, 3),  # keep_last ignores how often it runs
        ({"older_than": "7d"}, 1, 7),  # 1 a day x 7 days
        ({"older_than": "7d"}, 4, 28),  # 4 a day x 7 days
        ({"older_than": "36h"}, 1, 2),  # ages 0 h and 24 h are younger than 36 h
        ({"older_than": "1h"}, 1, 1),  # the newest export is always there
    ],
)
def test_retention_rules_set_the_exports_kept(
    retention: dict[str, Any], runs: int, kept: int
) -> None:
    assert _kept(retention, runs)[:2] == (kept, True)


def test_without_retention_storage_is_a_months_accumulation_and_flagged() -> None:
    kept, bounded, notes = _kept({}, 2)
    assert (kept, bounded) == (60, False)  # 2 a day x 30 days
    assert any("grows without bound" in note for note in notes)


# ---------------------------------------------------------------------------- durations


def test_a_previous_exports_duration_replaces_the_assumption() -> None:
    """A near-empty table is assumed to take 10 min (6 polls: 7 + 6 x 4 - 1 + 9 = 39 states);
    when its last export took an hour, the walk is the hour's 63. One table carries the
    parent's 14 alone."""
    config = _config(("small",))
    definition = _definition(config)
    assumed = estimate(config, [TableInput("small", 0)], definition).tables[0]
    known = estimate(config, [TableInput("small", 0, 3600.0)], definition).tables[0]
    assert (assumed.export_duration_s, assumed.duration_source) == (600, "assumed")
    assert assumed.transitions_per_run == 33 + 14
    assert (known.export_duration_s, known.duration_source) == (3600, "previous export")
    # Known: the first wait is the previous duration, and the export is seen at that poll.
    assert known.transitions_per_run == 18 + 14


def test_assumptions_and_price_overrides_are_applied() -> None:
    config = _config(("small",), retention={"keep_last": 1})
    prices = Prices().with_overrides(export_gb=0.2, storage_gb_month=0.05)
    result = estimate(
        config,
        [TableInput("small", 4 * GB)],
        _definition(config),
        prices=prices,
        assumptions=Assumptions(compressed_fraction=0.25),
    )
    table = result.tables[0]
    assert table.export_cost == pytest.approx(30 * 4 * 0.2)  # $24
    assert table.storage_cost == pytest.approx(1 * 4 * 0.25 * 0.05)  # 1 GB kept, $0.05
    assert prices.overridden == ("export_gb", "storage_gb_month")
    assert prices.transitions_1k == 0.025
    assert "except export_gb, storage_gb_month (given)" in result.notes[0]


def test_incremental_exports_bill_at_least_ten_megabytes() -> None:
    prices = Prices()
    assert incremental_export_cost(1, prices) == pytest.approx(10_000_000 / 2**30 * 0.10)
    assert incremental_export_cost(3 * GB, prices) == pytest.approx(0.30)


def test_an_incremental_table_pays_for_its_baselines_and_a_minimum_per_window() -> None:
    """40 GB, 24 runs a day, full_every 7d, keep_last 2, default prices.

    Runs: 24 x 30 = 720 a month, each one window (at most 96 a day, so all 720).
    Baselines: 30 days / 7 days = 4.3 -> 5 a month.
    Exports: 5 x 40 GB x $0.10 = $20; windows 720 x 10,000,000 B / 2^30 x $0.10 = $0.6706.
    Storage: 2 kept baselines x 40 GB x 0.5 = 40 GB -> 40 x $0.023 = $0.92.
    The same table in full mode: 720 x 40 GB x $0.10 = $2,880.
    """
    config = _config(retention={"keep_last": 2})
    definition = _definition(config)
    table = TableInput("events", 40 * GB, incremental=True, full_every_s=7 * 86_400)
    (incremental,) = estimate(config, [table], definition, runs=24).tables
    assert incremental.exports_per_month == 5 + 720
    assert incremental.export_cost == pytest.approx(20 + 720 * 10_000_000 / GB * 0.10)
    assert incremental.stored_gb == pytest.approx(40)
    (full,) = estimate(config, [TableInput("events", 40 * GB)], definition, runs=24).tables
    assert full.export_cost == pytest.approx(2880)
    never = TableInput("events", 40 * GB, incremental=True, full_every_s=None)
    result = estimate(config, [never], definition, runs=200)
    assert result.tables[0].exports_per_month == 1 + 30 * 96  # one window per 15 minutes
    assert any("incremental table(s)" in note for note in result.notes)


def test_prices_must_be_positive() -> None:
    with pytest.raises(ValueError, match="export_gb must be greater than 0"):
        Prices(export_gb=0)


# ---------------------------------------------------------------------------- runs per day


@pytest.mark.parametrize(
    ("schedule", "runs"),
    [
        ("cron(0 3 * * ? *)", 1),
        ("cron(30 2 ? * * *)", 1),
        ("cron(0 */6 * * ? *)", 4),
        ("cron(0,30 3,15 * * ? *)", 4),
        ("cron(0 9-17 * * ? *)", 9),
        ("cron(0 3 ? * MON-FRI *)", 1),  # not every day: the 1-a-day default
        ("cron(0 3 1 * ? *)", 1),  # monthly: the default
        ("rate(1 hour)", 24),
        ("rate(5 hours)", 5),  # 24 / 5 = 4.8: the runs starting in a day, rounded up
        ("rate(15 minutes)", 96),
        ("rate(5 minutes)", 288),
        ("rate(1 day)", 1),
        ("rate(7 days)", 1),  # less than daily is priced as daily
    ],
)
def test_runs_per_day_come_from_the_schedule(schedule: str, runs: int) -> None:
    assert runs_per_day(_config(pipeline={"schedule": schedule})).value == runs


def test_runs_per_day_given_wins_over_the_schedule() -> None:
    config = _config(pipeline={"schedule": "rate(1 hour)"})
    assert runs_per_day(config, 3).value == 3
    assert runs_per_day(config, 3).rule == "given"


@pytest.mark.parametrize("given", [0, -1, 289])
def test_runs_per_day_out_of_range_is_refused(given: int) -> None:
    with pytest.raises(ConfigError, match=r"--runs-per-day: .* runs a day; the estimate prices 1"):
        runs_per_day(_config(), given)


@pytest.mark.parametrize("schedule", ["rate(1 minute)", "rate(4 minutes)"])
def test_a_schedule_too_frequent_to_price_asks_for_runs_per_day(schedule: str) -> None:
    with pytest.raises(ConfigError, match=r"pipeline.schedule .* pass --runs-per-day N"):
        runs_per_day(_config(pipeline={"schedule": schedule}))


# ---------------------------------------------------------------------------- the walk


@pytest.mark.parametrize(
    ("minutes", "transitions", "events"),
    [(5, 27, 75), (15, 36, 102), (60, 51, 147), (180, 87, 255)],
)
def test_child_walk_matches_the_benchmarks_figures(
    minutes: int, transitions: int, events: int
) -> None:
    """The figures ``bench/stepfunctions.py`` prints for the default config."""
    result = child_walk(_definition(_config(("orders",))), minutes * 60)
    assert (result.transitions, result.events) == (transitions, events)


def test_parent_walk_is_one_run_whatever_the_tables() -> None:
    many = _config(tuple(f"table-{index:03d}" for index in range(50)))
    notified = _config(pipeline={"notify_email": "ops@example.com"})
    assert parent_walk(_definition(_config(("orders",)))).transitions == 14
    assert parent_walk(_definition(many)).transitions == 14
    # Notify runs only when a table failed: a good run's walk is the same.
    assert parent_walk(_definition(notified)).transitions == 14


def test_generic_walk_counts_the_seed_definition() -> None:
    """The seed polls every 15 s: an hour's export is 240 polls of 3 states, plus the start
    and the end: 1 + 241 x 2 + 240 + 1 = 724 states."""
    iterator = json.loads(SEED.read_text())["States"]["Map"]["Iterator"]
    walk = Walk(
        iterator["States"],
        iterator["StartAt"],
        3600,
        [15],
        {"$.ExportDescription.ExportStatus": EXPORT_STATUS},
    )
    assert walk.run().transitions == 724


def test_walk_refuses_a_rule_it_cannot_evaluate() -> None:
    states = {
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.mystery", "StringEquals": "x", "Next": "Done"}],
            "Default": "Done",
        },
        "Done": {"Type": "Succeed"},
    }
    with pytest.raises(ValueError, match=r"cannot evaluate \$.mystery"):
        Walk(states, "Pick", 0).run()


# ---------------------------------------------------------------------------- the command


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox with a bucket and one table, whose one-minute exports finish in a blink."""
    with Sandbox(SandboxSettings(base_duration_s=60, seed=7), time_scale=3600) as box:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for name in ("orders", "users"):
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            dynamodb.put_item(TableName=name, Item={"pk": {"S": f"{name}-1"}})
        box.advance(600)
        yield box


def _config_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "ddbexport.toml"
    path.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\n'
        f'[[tables]]\nmatch = "*"\n[retention]\nkeep_last = 7\n{extra}'
    )
    return path


def _invoke(tmp_path: Path, *args: str, extra: str = "") -> tuple[int, str, str]:
    config = str(_config_file(tmp_path, extra))
    result = CliRunner().invoke(cli, ["estimate", "-c", config, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_estimate_command_prices_the_account_as_json(sandbox: Sandbox, tmp_path: Path) -> None:
    """'orders' has a finished export: its duration is the previous export's; 'users' has none."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    arn = dynamodb.describe_table(TableName="orders")["Table"]["TableArn"]
    dynamodb.export_table_to_point_in_time(TableArn=arn, S3Bucket=BUCKET)
    sandbox.advance(3600)

    code, out, err = _invoke(tmp_path, "--json", extra='[pipeline]\nschedule = "rate(6 hours)"\n')
    assert code == 0, err
    data = json.loads(out)
    assert data["runs_per_day"] == 4
    assert data["runs_per_month"] == 120
    assert data["retention"] == {"rule": "keep_last 7", "kept_exports": 7, "bounded": True}
    assert data["prices"]["region"] == "us-east-1"
    tables = {table["table"]: table for table in data["tables"]}
    assert tables.keys() == {"orders", "users"}
    assert tables["orders"]["duration_source"] == "previous export"
    assert 60 <= tables["orders"]["export_duration_s"] < 600
    assert tables["users"]["duration_source"] == "assumed"
    for table in tables.values():
        assert table["exports_per_month"] == 120
        assert table["pipeline_total"] == pytest.approx(
            table["export_cost"] + table["transitions_cost"] + table["storage_cost"], abs=1e-5
        )
    # One-item tables: the exports cost next to nothing, the transitions do not.
    assert data["totals"]["pipeline"] > data["totals"]["local"] >= 0
    assert any("Estimates, not a bill" in note for note in data["notes"])


def test_estimate_command_prints_a_table_with_prices_and_region(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    code, out, _ = _invoke(tmp_path, "--runs-per-day", "2", "--price-export-gb", "0.2")
    assert code == 0
    assert "Estimated monthly cost, 30 days x 2 run(s) a day = 60 runs (given)" in out
    for row in ("orders", "users", "total"):
        assert row in out
    assert "full export per GB 0.2 (given)" in out
    assert "list prices of us-east-1" in out
    assert "Estimates, not a bill" in out
    assert "The tables are in eu-west-1" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runs-per-day", "0"], "--runs-per-day: 0 runs a day; the estimate prices 1 to 288"),
        (["--runs-per-day", "289"], "--runs-per-day: 289 runs a day"),
        (["--price-export-gb", "0"], "Invalid value for '--price-export-gb'"),
        (["--price-storage-gb-month", "-1"], "Invalid value for '--price-storage-gb-month'"),
    ],
)
def test_estimate_command_refuses_bad_values_with_exit_2(
    sandbox: Sandbox, tmp_path: Path, args: list[str], message: str
) -> None:
    code, _, err = _invoke(tmp_path, *args)
    assert code == 2
    assert message in err


def test_estimate_command_warns_of_a_missing_table_and_prices_the_others(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "named.toml"
    path.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\n'
        '[[tables]]\nname = "orders"\n[[tables]]\nname = "ghost"\n'
    )
    result = CliRunner().invoke(cli, ["estimate", "-c", str(path), "--json"])
    assert result.exit_code == 0
    assert "warning: not estimated: ghost: table 'ghost' does not exist" in result.stderr
    assert [table["table"] for table in json.loads(result.stdout)["tables"]] == ["orders"]


def test_estimate_command_needs_a_config(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["estimate"])
    assert result.exit_code == 2
    assert "pass -c/--config FILE" in result.stderr
