"""Whole runs through the real boto3 adapter against moto (in process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.core.models import ExportDescription, ExportRequest

from .helpers import BUCKET, REGION, create_bucket, create_table, make_config

pytestmark = pytest.mark.usefixtures("moto_aws")


def _exports_of(table_arn: str) -> int:
    client = boto3.client("dynamodb", region_name=REGION)
    return len(client.list_exports(TableArn=table_arn)["ExportSummaries"])


def _statuses(report: ddbexport.RunReport) -> dict[str, str]:
    return {r.table: r.status for r in report.tables}


def test_several_tables_complete_and_land_in_s3(tmp_path: Path) -> None:
    """Three tables export to their prefixes; the report has ARNs and item counts."""
    create_bucket()
    for name in ("orders", "users", "events"):
        create_table(name, items=4)
    config = make_config([{"match": "*"}], max_concurrency=2)
    report = ddbexport.run(config, aws=AwsSettings(REGION), state_dir=tmp_path)
    assert _statuses(report) == {"events": "COMPLETED", "orders": "COMPLETED", "users": "COMPLETED"}
    assert {r.item_count for r in report.tables} == {4}
    keys = [
        obj["Key"]
        for obj in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)["Contents"]
    ]
    date = report.export_time.strftime("%Y/%m/%d")
    for name in ("orders", "users", "events"):
        assert any(key.startswith(f"{name}/{date}/AWSDynamoDB/") for key in keys)


def test_failures_are_isolated_per_table(tmp_path: Path) -> None:
    """A missing table, a table without PITR and a missing bucket each fail alone."""
    create_bucket()
    create_table("good-one")
    create_table("no-pitr", pitr=False)
    create_table("lost-bucket")
    config = make_config(
        [
            {"name": "good-one"},
            {"name": "ghost-table"},
            {"name": "no-pitr"},
            {"name": "lost-bucket", "bucket": "no-such-bucket-here"},
        ]
    )
    report = ddbexport.run(config, aws=AwsSettings(REGION), state_dir=tmp_path)
    assert _statuses(report) == {
        "ghost-table": "FAILED",
        "good-one": "COMPLETED",
        "lost-bucket": "FAILED",
        "no-pitr": "FAILED",
    }
    errors = {r.table: r.error for r in report.tables if r.error}
    assert errors["ghost-table"].code == "TableNotFound"
    assert errors["no-pitr"].code == "PointInTimeRecoveryUnavailableException"
    # Found before anything started (a HeadBucket per bucket), not as an export that fails later.
    assert errors["lost-bucket"].code == "NoSuchBucket"
    assert "bucket 'no-such-bucket-here' does not exist; create it" in errors["lost-bucket"].message
    lost = next(r for r in report.tables if r.table == "lost-bucket")
    assert lost.export_arn is None
    assert report.exit_code == 1


def test_enable_pitr_on_moto(tmp_path: Path) -> None:
    """--enable-pitr turns PITR on through UpdateContinuousBackups and the export completes."""
    create_bucket()
    create_table("no-pitr", pitr=False)
    report = ddbexport.run(
        make_config([{"name": "no-pitr"}]),
        aws=AwsSettings(REGION),
        state_dir=tmp_path,
        enable_pitr=True,
    )
    assert _statuses(report) == {"no-pitr": "COMPLETED"}
    backups = boto3.client("dynamodb", region_name=REGION).describe_continuous_backups(
        TableName="no-pitr"
    )["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_injected_limit_exceeded_is_retried(tmp_path: Path) -> None:
    """LimitExceededException from AWS (through botocore) delays the start; the run completes."""
    create_bucket()
    create_table("orders")
    api = AwsApi(AwsSettings(REGION, max_attempts=1))
    remaining = {"errors": 3}

    class _Http:
        status_code = 400
        headers: dict[str, str] = {}  # noqa: RUF012

    def quota_full(**_: Any) -> tuple[Any, dict[str, Any]] | None:
        if remaining["errors"] == 0:
            return None
        remaining["errors"] -= 1
        return _Http(), {
            "Error": {"Code": "LimitExceededException", "Message": "Too many exports"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    api.dynamodb.meta.events.register("before-call.dynamodb.ExportTableToPointInTime", quota_full)
    events: list[ddbexport.RunEvent] = []
    report = ddbexport.run(
        make_config([{"name": "orders"}]), api=api, state_dir=tmp_path, on_event=events.append
    )
    assert _statuses(report) == {"orders": "COMPLETED"}
    assert remaining["errors"] == 0
    assert [e.kind for e in events].count("waiting") == 3


class _CountingApi(AwsApi):
    """Observes how many exports are started and not yet seen finished."""

    def __init__(self) -> None:
        super().__init__(AwsSettings(REGION))
        self.open: set[str] = set()
        self.peak = 0

    def export_table(self, request: ExportRequest) -> ExportDescription:
        description = super().export_table(request)
        self.open.add(description.export_arn)
        self.peak = max(self.peak, len(self.open))
        if description.status != "IN_PROGRESS":
            self.open.discard(description.export_arn)
        return description

    def describe_export(self, export_arn: str) -> ExportDescription:
        description = super().describe_export(export_arn)
        if description.status != "IN_PROGRESS":
            self.open.discard(export_arn)
        return description


def test_concurrency_cap_observed_on_moto(tmp_path: Path) -> None:
    """With a cap of 2, never more than 2 exports are open at once, and all 7 complete."""
    create_bucket()
    for index in range(7):
        create_table(f"table-{index}", items=1)
    api = _CountingApi()
    report = ddbexport.run(
        make_config([{"match": "table-*"}], max_concurrency=2), api=api, state_dir=tmp_path
    )
    assert set(_statuses(report).values()) == {"COMPLETED"}
    assert len(report.tables) == 7
    assert 1 <= api.peak <= 2


def test_rerun_of_same_run_id_starts_no_new_export(tmp_path: Path) -> None:
    """Running the same run id twice leaves one export per table in DynamoDB."""
    create_bucket()
    arns = [create_table(name) for name in ("orders", "users")]
    config = make_config([{"match": "*"}])
    first = ddbexport.run(config, aws=AwsSettings(REGION), state_dir=tmp_path)
    second = ddbexport.run(config, aws=AwsSettings(REGION), state_dir=tmp_path, run_id=first.run_id)
    assert [_exports_of(arn) for arn in arns] == [1, 1]
    assert second.export_time == first.export_time
    assert [r.export_arn for r in second.tables] == [r.export_arn for r in first.tables]
    assert set(_statuses(second).values()) == {"COMPLETED"}


def test_report_file_shape(tmp_path: Path) -> None:
    """The written report has exactly the documented keys."""
    create_bucket()
    create_table("orders")
    report = ddbexport.run(
        make_config([{"name": "orders"}]), aws=AwsSettings(REGION), state_dir=tmp_path
    )
    path = tmp_path / "report.json"
    report.write(path)
    data = json.loads(path.read_text())
    assert set(data) >= {"run_id", "export_time", "started_at", "finished_at", "tables", "summary"}
    assert set(data["tables"][0]) >= {
        "table",
        "table_arn",
        "status",
        "export_arn",
        "s3_bucket",
        "s3_prefix",
        "item_count",
        "billed_size_bytes",
        "start_time",
        "end_time",
        "describe_calls",
        "error",
    }
    assert data["summary"]["COMPLETED"] == 1
