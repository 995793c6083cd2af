"""The catalog, schema sidecar, verify, status, prune, rebuild and athena-ddl, on the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.cli.main import cli
from ddbexport.core.timeparse import parse_instant
from ddbexport.running.report import RunReport
from ddbexport.sandbox import Sandbox, SandboxSettings

from .helpers import BUCKET, REGION

DAY = 86400.0


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox whose one-minute exports finish in a blink, with a bucket and two tables."""
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
                Tags=[{"Key": "team", "Value": "shop"}],
            )
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            for index in range(5):
                dynamodb.put_item(
                    TableName=name,
                    Item={"pk": {"S": f"{name}-{index}"}, "n": {"N": str(index)}},
                )
        dynamodb.update_time_to_live(
            TableName="orders",
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
        )
        box.advance(60)
        yield box


def _config_file(tmp_path: Path, prefix: str = "exports/{table}", **run: Any) -> Path:
    path = tmp_path / "ddbexport.toml"
    run_lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in run.items())
    path.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\nprefix = "{prefix}"\n'
        f'[[tables]]\nmatch = "*"\n[run]\npoll_first = "10s"\npoll_min = "10s"\n{run_lines}'
    )
    return path


def _run(
    sandbox: Sandbox, tmp_path: Path, prefix: str = "exports/{table}", **run: Any
) -> RunReport:
    config = ddbexport.load_config(_config_file(tmp_path, prefix, **run))
    return ddbexport.run(
        config,
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path / "state",
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )


def _cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    config = str(_config_file(tmp_path))
    result = CliRunner().invoke(cli, [*args, "-c", config], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _s3_json(key: str) -> Any:
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"]
    return json.loads(body.read())


def _keys(prefix: str) -> list[str]:
    s3 = boto3.client("s3", region_name=REGION)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def test_every_export_is_verified_catalogued_and_described(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A run verifies each export, writes its catalog record and its schema sidecar."""
    report = _run(sandbox, tmp_path)
    assert report.exit_code == 0
    orders = next(result for result in report.tables if result.table == "orders")
    assert orders.verification is not None
    assert orders.verification["ok"] is True
    assert orders.verification["listed_items"] == 5
    export_id = str(orders.export_arn).rsplit("/", 1)[-1]
    assert orders.catalog_key == f"ddbexport-catalog/exports/table=orders/{export_id}.json"
    record = _s3_json(orders.catalog_key)
    assert record["export_arn"] == orders.export_arn
    assert record["status"] == "COMPLETED"
    assert record["item_count"] == 5
    assert record["run_id"] == report.run_id
    assert record["verification"]["ok"] is True
    assert record["export_folder"] == f"exports/orders/AWSDynamoDB/{export_id}"
    assert (
        record["manifest_files_key"]
        == f"exports/orders/AWSDynamoDB/{export_id}/manifest-files.json"
    )
    schema = _s3_json(str(orders.schema_key))
    assert orders.schema_key == f"exports/orders/AWSDynamoDB/{export_id}/ddbexport-schema.json"
    assert schema["Table"]["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert schema["TimeToLiveDescription"]["AttributeName"] == "expires"
    assert schema["Tags"] == {"team": "shop"}
    pitr = schema["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    # The sidecar sits beside the export without disturbing its verification.
    code, out, _ = _cli(
        tmp_path, "verify", f"s3://{BUCKET}/exports/orders/AWSDynamoDB/{export_id}/", "--deep"
    )
    assert code == 0, out
    assert "OK: the export is whole" in out


def test_a_failed_export_is_catalogued_and_status_says_failing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """An export that ends FAILED gets a record with the failure; status exits 3 and says why."""
    _run(sandbox, tmp_path)
    sandbox.advance(DAY)
    sandbox.fail_exports_of("orders", "S3AccessDenied", "denied by bucket policy")
    report = _run(sandbox, tmp_path)
    assert report.exit_code == 1
    code, out, _ = _cli(tmp_path, "list", "--table", "orders", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in records] == ["COMPLETED", "FAILED"]
    assert records[1]["failure"] == {"code": "S3AccessDenied", "message": "denied by bucket policy"}
    code, out, _ = _cli(tmp_path, "status", "--json")
    assert code == 3
    states = {item["table"]: item for item in json.loads(out)}
    assert states["users"]["state"] == "OK"
    assert states["orders"]["state"] == "FAILING"
    assert "FAILED: S3AccessDenied: denied by bucket policy" in states["orders"]["reason"]
    assert states["orders"]["export_arn"] == records[0]["export_arn"]  # the last good one


def test_status_turns_stale_with_age(sandbox: Sandbox, tmp_path: Path) -> None:
    """Fresh exports are OK; two days later the same catalog is STALE (exit 3)."""
    _run(sandbox, tmp_path)
    code, out, _ = _cli(tmp_path, "status")
    assert code == 0, out
    sandbox.advance(2 * DAY)
    code, out, _ = _cli(tmp_path, "status", "--max-age", "26h", "--json")
    assert code == 3
    assert {item["state"] for item in json.loads(out)} == {"STALE"}
    assert "old (max 1d2h)" in json.loads(out)[0]["reason"]


def test_status_reports_a_table_never_exported_as_missing(sandbox: Sandbox, tmp_path: Path) -> None:
    """A table the config selects but the catalog has never seen is MISSING."""
    _run(sandbox, tmp_path)
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="new-table",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    code, out, _ = _cli(tmp_path, "status", "--json")
    assert code == 3
    states = {item["table"]: item["state"] for item in json.loads(out)}
    assert states == {"new-table": "MISSING", "orders": "OK", "users": "OK"}


def test_prune_keep_last_on_a_history_of_runs(sandbox: Sandbox, tmp_path: Path) -> None:
    """Four daily runs; --dry-run deletes nothing; --keep-last 2 removes the two oldest exports."""
    exports = []
    for _ in range(4):
        report = _run(sandbox, tmp_path)
        exports.append({r.table: r.export_arn for r in report.tables})
        sandbox.advance(DAY)
    before = _keys("exports/")
    code, out, _ = _cli(tmp_path, "prune", "--keep-last", "2", "--dry-run")
    assert code == 0
    assert out.count("would delete") == 4
    assert _keys("exports/") == before

    code, out, _ = _cli(tmp_path, "prune", "--keep-last", "2")
    assert code == 0, out
    assert "4 export(s) deleted, 4 kept" in out
    remaining = _keys("exports/")
    for old in exports[:2]:
        for arn in old.values():
            assert not [k for k in remaining if str(arn).rsplit("/", 1)[-1] in k]
    for kept in exports[2:]:
        for table, arn in kept.items():
            export_id = str(arn).rsplit("/", 1)[-1]
            folder = f"s3://{BUCKET}/exports/{table}/AWSDynamoDB/{export_id}/"
            assert _cli(tmp_path, "verify", folder)[0] == 0
    code, out, _ = _cli(tmp_path, "list", "--json")
    assert len(out.splitlines()) == 4


def test_prune_never_removes_the_newest_good_export(sandbox: Sandbox, tmp_path: Path) -> None:
    """--older-than shorter than every export's age still keeps each table's newest one."""
    _run(sandbox, tmp_path)
    sandbox.advance(DAY)
    _run(sandbox, tmp_path)
    sandbox.advance(10 * DAY)
    code, out, _ = _cli(tmp_path, "prune", "--older-than", "1d")
    assert code == 0, out
    assert "2 export(s) deleted, 2 kept" in out
    assert out.count("the newest good full export (always kept)") == 2


def test_prune_needs_exactly_one_rule(sandbox: Sandbox, tmp_path: Path) -> None:
    """Neither or both of --keep-last/--older-than is bad input (exit 2)."""
    assert _cli(tmp_path, "prune")[0] == 2
    code, _, err = _cli(tmp_path, "prune", "--keep-last", "1", "--older-than", "3d")
    assert code == 2
    assert "give exactly one of --keep-last N or --older-than DURATION" in err


def test_prune_without_options_applies_the_configs_retention(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """[retention] keep_last = 1 is what a bare `prune` applies (an option still wins)."""
    _run(sandbox, tmp_path)
    sandbox.advance(DAY)
    _run(sandbox, tmp_path)
    config = _config_file(tmp_path)
    config.write_text(config.read_text() + "[retention]\nkeep_last = 1\n")
    result = CliRunner().invoke(cli, ["prune", "--dry-run", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("would delete") == 2
    override = CliRunner().invoke(
        cli, ["prune", "--dry-run", "--keep-last", "2", "-c", str(config)]
    )
    assert override.stdout.count("would delete") == 0


def test_catalog_rebuild_recovers_lost_records(sandbox: Sandbox, tmp_path: Path) -> None:
    """With every record deleted, rebuild finds the exports from their manifests again."""
    report = _run(sandbox, tmp_path)
    records = _keys("ddbexport-catalog/")
    assert len(records) == 2
    boto3.client("s3", region_name=REGION).delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": key} for key in records]}
    )
    code, out, _ = _cli(tmp_path, "catalog", "rebuild")
    assert code == 0, out
    assert "2 record(s) written, 0 failed verification, 0 unreadable" in out
    code, out, _ = _cli(tmp_path, "list", "--json")
    rebuilt = {json.loads(line)["export_arn"]: json.loads(line) for line in out.splitlines()}
    assert set(rebuilt) == {r.export_arn for r in report.tables}
    assert {r["source"] for r in rebuilt.values()} == {"rebuild"}
    assert all(r["verification"]["ok"] for r in rebuilt.values())
    assert {r["item_count"] for r in rebuilt.values()} == {5}


def test_athena_ddl_for_json_and_ion_exports(sandbox: Sandbox, tmp_path: Path) -> None:
    """DDL points at the export's data and types each attribute from the sampled items."""
    report = _run(sandbox, tmp_path)
    export_id = str(report.tables[0].export_arn).rsplit("/", 1)[-1]
    folder = f"s3://{BUCKET}/exports/orders/AWSDynamoDB/{export_id}/"
    code, out, _ = _cli(tmp_path, "athena-ddl", folder)
    assert code == 0
    assert "`Item` struct<`n`:struct<`N`:string>,`pk`:struct<`S`:string>>" in out
    assert f"LOCATION '{folder}data/';" in out
    assert "org.openx.data.jsonserde.JsonSerDe" in out
    # From a downloaded copy, LOCATION still names the export's place in S3 (prefix included).
    copy = tmp_path / "copy"
    s3 = boto3.client("s3", region_name=REGION)
    for key in _keys(f"exports/orders/AWSDynamoDB/{export_id}/"):
        target = copy / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    local = str(copy / f"exports/orders/AWSDynamoDB/{export_id}")
    code, out_local, _ = _cli(tmp_path, "athena-ddl", local)
    assert code == 0
    assert out_local == out

    sandbox.advance(DAY)
    config = ddbexport.load_config(_config_file(tmp_path))
    ion = config.model_copy(
        update={"defaults": config.defaults.model_copy(update={"format": "ION"})}
    )
    ion_report = ddbexport.run(
        ion,
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path / "state",
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )
    assert ion_report.exit_code == 0
    ion_id = str(ion_report.tables[0].export_arn).rsplit("/", 1)[-1]
    code, out, _ = _cli(
        tmp_path, "athena-ddl", f"s3://{BUCKET}/exports/orders/AWSDynamoDB/{ion_id}/"
    )
    assert code == 0
    assert "`Item` struct<`n`:decimal(38,9),`pk`:string>" in out
    assert "com.amazon.ionhiveserde.IonHiveSerDe" in out


def test_verify_of_a_missing_s3_export_is_a_clear_problem(sandbox: Sandbox, tmp_path: Path) -> None:
    """An S3 folder with no export in it: one problem naming the missing summary, exit 1."""
    folder = f"s3://{BUCKET}/exports/orders/AWSDynamoDB/01768385930622-efd1a093/"
    code, out, _ = _cli(tmp_path, "verify", folder)
    assert code == 1
    assert "manifest-summary.json: exists: expected the export's summary manifest" in out


def test_clock_of_the_sandbox_drives_status(sandbox: Sandbox, tmp_path: Path) -> None:
    """Ages are measured on the service's clock (the sandbox's), not the machine's."""
    _run(sandbox, tmp_path)
    sandbox.advance(3 * 3600)
    code, out, _ = _cli(tmp_path, "status", "--json")
    assert code == 0
    statuses = json.loads(out)
    # The sandbox clock runs 3,600x real time: bound each age by the sandbox's own "now".
    for item in statuses:
        age_on_sandbox = (sandbox.now() - parse_instant(item["as_of"])).total_seconds()
        assert timedelta(hours=3).total_seconds() <= item["age_s"] <= age_on_sandbox + 1


def test_a_prefix_that_contains_awsdynamodb_verifies(sandbox: Sandbox, tmp_path: Path) -> None:
    """Keys are resolved from the export's own AWSDynamoDB/<ExportId>/, not the first match."""
    report = _run(sandbox, tmp_path, prefix="dyn/AWSDynamoDB/{table}")
    assert report.exit_code == 0, [r.warnings for r in report.tables]
    assert all(r.verification and r.verification["ok"] for r in report.tables)


def test_unreadable_catalog_records_are_named_not_fatal(sandbox: Sandbox, tmp_path: Path) -> None:
    """A record with wrong types is reported as unreadable; list and status still work."""
    _run(sandbox, tmp_path)
    bad_key = "ddbexport-catalog/exports/table=orders/00000000000000-deadbeef.json"
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key=bad_key, Body=b'{"table": "orders", "export_time": 12345}'
    )
    code, out, err = _cli(tmp_path, "list", "--json")
    assert code == 0
    assert len(out.splitlines()) == 2
    assert f"warning: s3://{BUCKET}/{bad_key} is not a catalog record" in err
    assert _cli(tmp_path, "status")[0] == 0


def test_an_empty_table_name_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    """`--table "$UNSET"` must not mean every table."""
    _run(sandbox, tmp_path)
    code, _, err = _cli(tmp_path, "prune", "--keep-last", "1", "--table", "")
    assert code == 2
    assert "the table name is empty" in err


def test_status_from_a_seed_table_list(sandbox: Sandbox, tmp_path: Path) -> None:
    """Tables given as a seed payload (no [[tables]]) are looked up in the payload's buckets."""
    payload = tmp_path / "event.json"
    payload.write_text(
        json.dumps({"tablelist": [{"tablename": "orders", "bucketname": BUCKET, "prefix": "x"}]})
    )
    config = ddbexport.load_config(_config_file(tmp_path))
    from_payload = config.model_copy(
        update={"tables": (config.tables[0].model_copy(update={"match": None, "name": "orders"}),)}
    )
    ddbexport.run(
        from_payload,
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path / "state",
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )
    result = CliRunner().invoke(
        cli, ["status", "--region", REGION, "--tablelist", str(payload), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [item["table"] for item in json.loads(result.stdout)] == ["orders"]
