"""The pipeline: synth output linted, and the definition executed by moto's interpreter on the
sandbox (its exports behave like AWS's)."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws
from moto.core.config import default_user_config
from moto.sns.models import sns_backends

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.catalog import inventory
from ddbexport.cli.main import cli
from ddbexport.config.model import Config, validate_config
from ddbexport.pipeline.synth import synth
from ddbexport.pipeline.template import parameter_name
from ddbexport.planning.plan import client_token
from ddbexport.sandbox import Sandbox, SandboxSettings, _map_results

from .helpers import BUCKET, REGION, statelint_problems

ACCOUNT = "123456789012"
SEED_PAYLOAD = json.loads(
    (Path(__file__).parent / "fixtures" / "eventbridge-input.json").read_text()
)


def _config(tables: list[dict[str, Any]], **pipeline: Any) -> Config:
    return validate_config(
        {
            "region": REGION,
            "defaults": {"bucket": BUCKET, "prefix": "dynamodb/{table}/{date}"},
            "tables": tables,
            # Waits of a second or two: moto's interpreter really waits.
            "run": {
                "poll_first": "1s",
                "poll_min": "1s",
                "poll_max": "2s",
                "max_concurrency": 3,
                "timeout": "30m",  # at most 900 polls of 2 s: within MAX_WAITS
            },
            "pipeline": {"limit_retry": "1s", **pipeline},
        },
        source="test",
    )


@contextlib.contextmanager
def executing_sandbox() -> Iterator[Sandbox]:
    """A sandbox executing state machines, with quick exports and a bucket."""
    config = default_user_config.setdefault("stepfunctions", {})
    before = config.get("execute_state_machine", False)
    config["execute_state_machine"] = True
    try:
        with Sandbox(
            SandboxSettings(base_duration_s=30, seconds_per_item=0, seed=4), time_scale=60
        ) as box:
            boto3.client("s3", region_name=REGION).create_bucket(
                Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
            yield box
    finally:
        config["execute_state_machine"] = before


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox executing state machines, with quick exports and a bucket."""
    with executing_sandbox() as box:
        yield box


def _tables(sandbox: Sandbox, *names: str, pitr: bool = True) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for name in names:
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for index in range(3):
            dynamodb.put_item(TableName=name, Item={"pk": {"S": f"{name}-{index}"}})
        if pitr:
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
    sandbox.advance(600)


def _deploy_definition(config: Config) -> str:
    """What the stack would create, made directly: the parameter and the state machine."""
    synthesis = synth(config)
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=synthesis.parameter_name, Type="String", Value=synthesis.table_list.value
    )
    return str(
        boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name=config.pipeline.stack_name,
            definition=json.dumps(synthesis.definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/ddbexport",
        )["stateMachineArn"]
    )


def _execute(
    machine: str,
    payload: dict[str, Any],
    name: str = "run-1",
    *,
    start: bool = True,
    timeout_s: float = 60,
    poll_s: float = 0.1,
) -> dict[str, Any]:
    """Start an execution (or, with ``start=False``, find one started already) and wait."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    if start:
        execution_arn = sfn.start_execution(
            stateMachineArn=machine, name=name, input=json.dumps(payload)
        )["executionArn"]
    else:
        execution_arn = machine.replace(":stateMachine:", ":execution:") + f":{name}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(poll_s)
    raise AssertionError(f"the execution did not finish in {timeout_s:.0f} s")


def _records(run_id: str) -> dict[str, dict[str, Any]]:
    s3 = boto3.client("s3", region_name=REGION)
    prefix = f"ddbexport-catalog/runs/{run_id}/tables/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    records = [json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in keys]
    return {record["table"]: record for record in records}


def test_table_list_from_ssm_exports_every_table_as_of_one_instant(sandbox: Sandbox) -> None:
    """Scheduled run: one export time (the event's), a record per table, a run record."""
    _tables(sandbox, "orders", "users")
    machine = _deploy_definition(_config([{"name": "orders"}, {"name": "users"}]))
    scheduled = sandbox.now().replace(microsecond=0)
    result = _execute(machine, {"time": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert result["status"] == "SUCCEEDED", result
    records = _records("run-1")
    assert set(records) == {"orders", "users"}
    assert {r["status"] for r in records.values()} == {"COMPLETED"}
    exports = list(sandbox.service.exports.values())
    assert len(exports) == 2
    times = {f"{export.request['ExportTime']:%Y-%m-%dT%H:%M:%S}" for export in exports}
    assert times == {f"{scheduled:%Y-%m-%dT%H:%M:%S}"}
    prefixes = {export.request["S3Prefix"] for export in exports}
    assert prefixes == {f"dynamodb/{t}/{scheduled:%Y/%m/%d}" for t in ("orders", "users")}
    assert records["orders"]["export"]["ItemCount"] == 3
    run = boto3.client("s3", region_name=REGION).get_object(
        Bucket=BUCKET, Key="ddbexport-catalog/runs/run-1/run.json"
    )
    summary = json.loads(run["Body"].read())
    assert (summary["table_count"], summary["completed"], summary["not_completed"]) == (2, 2, 0)
    assert summary["export_time"] == f"{scheduled:%Y-%m-%dT%H:%M:%SZ}"
    # The results are where the run record says: AWS's layout, one result per table.
    manifest = _object(summary["results_manifest"])
    assert manifest["ResultFiles"]["FAILED"] == []
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    results = _object(f"s3://{BUCKET}/{succeeded['Key']}")
    assert sorted(json.loads(r["Output"])["table"] for r in results) == ["orders", "users"]
    assert summary["table_records"] == f"s3://{BUCKET}/ddbexport-catalog/runs/run-1/tables/"


def _object(url: str) -> Any:
    """The JSON object at an ``s3://`` URL."""
    bucket, key = url.removeprefix("s3://").split("/", 1)
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"]
    return json.loads(body.read())


def test_the_seed_payload_works_unchanged(sandbox: Sandbox) -> None:
    """The seed's EventBridge payload (tablelist + time) drives a run as it is."""
    _tables(sandbox, "test", "test2")
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket="test-logs", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    machine = _deploy_definition(_config([{"name": "test"}]))
    payload = {**SEED_PAYLOAD, "time": sandbox.now().strftime("%Y-%m-%dT%H:%M:%SZ")}
    result = _execute(machine, payload)
    assert result["status"] == "SUCCEEDED", result
    requests = sorted(
        (e.request for e in sandbox.service.exports.values()), key=lambda r: r["S3Prefix"]
    )
    assert [r["S3Prefix"] for r in requests] == ["exported/test", "exported/test2"]
    assert {r["S3Bucket"] for r in requests} == {"test-logs"}
    assert all(
        r["TableArn"] == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{n}"
        for r, n in zip(requests, ["test", "test2"], strict=True)
    )
    assert all(r["S3SseAlgorithm"] == "AES256" for r in requests)


def test_failing_tables_are_isolated_and_fail_the_execution(sandbox: Sandbox) -> None:
    """A missing table and one without PITR fail alone, with AWS's error; the rest complete;
    the execution ends FAILED after every table was tried."""
    _tables(sandbox, "orders")
    _tables(sandbox, "no-pitr", pitr=False)
    machine = _deploy_definition(
        _config([{"name": "orders"}, {"name": "ghost"}, {"name": "no-pitr"}])
    )
    result = _execute(machine, {})
    assert result["status"] == "FAILED"
    assert result["error"] == "ExportsFailed"
    records = _records("run-1")
    assert records["orders"]["status"] == "COMPLETED"
    assert records["ghost"]["status"] == "FAILED"
    assert records["ghost"]["error"]["Error"] == "DynamoDb.TableNotFoundException"
    assert (
        records["no-pitr"]["error"]["Error"] == "DynamoDb.PointInTimeRecoveryUnavailableException"
    )
    assert "Point in time recovery is not enabled" in records["no-pitr"]["error"]["Cause"]


def test_limit_exceeded_is_retried(sandbox: Sandbox) -> None:
    """With a quota of one export, every table still completes (Retry on LimitExceeded)."""
    sandbox.settings.quota = 1
    _tables(sandbox, "aaa", "bbb", "ccc")
    machine = _deploy_definition(_config([{"name": "aaa"}, {"name": "bbb"}, {"name": "ccc"}]))
    result = _execute(machine, {})
    assert result["status"] == "SUCCEEDED", result
    assert {r["status"] for r in _records("run-1").values()} == {"COMPLETED"}
    exports = list(sandbox.service.exports.values())
    assert len(exports) == 3
    # One at a time: each export started after the previous one had finished.
    spans = sorted((e.start, e.finishes_at) for e in exports)
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))


def test_kms_key_and_bucket_owner_are_passed_through(sandbox: Sandbox) -> None:
    """Per-table SSE-KMS key and bucket owner reach ExportTableToPointInTime."""
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    _tables(sandbox, "orders", "users")
    config = _config(
        [
            {"name": "orders", "sse": "KMS", "kms_key": key, "bucket_owner": ACCOUNT},
            {"name": "users"},
        ]
    )
    result = _execute(_deploy_definition(config), {})
    assert result["status"] == "SUCCEEDED", result
    requests = {e.table.name: e.request for e in sandbox.service.exports.values()}
    assert requests["orders"]["S3SseAlgorithm"] == "KMS"
    assert requests["orders"]["S3SseKmsKeyId"] == key
    assert requests["orders"]["S3BucketOwner"] == ACCOUNT
    assert "S3SseKmsKeyId" not in requests["users"]
    assert "S3BucketOwner" not in requests["users"]


def test_a_rerun_of_the_same_execution_name_starts_no_duplicate(sandbox: Sandbox) -> None:
    """Client tokens come from the execution name and the table: the same name attaches."""
    _tables(sandbox, "orders")
    machine = _deploy_definition(_config([{"name": "orders"}]))
    moment = sandbox.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _execute(machine, {"time": moment}, name="nightly-1")["status"] == "SUCCEEDED"
    # A second machine run with the same name and input: moto keeps names unique per machine,
    # so the same definition under another machine stands in for a redrive.
    other = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="again",
        definition=json.dumps(synth(_config([{"name": "orders"}])).definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/ddbexport",
    )["stateMachineArn"]
    assert _execute(other, {"time": moment}, name="nightly-1")["status"] == "SUCCEEDED"
    assert len(sandbox.service.exports) == 1


def test_same_outcomes_as_the_local_runner(sandbox: Sandbox, tmp_path: Path) -> None:
    """One scenario through `ddbexport run` and through the state machine: same per-table
    outcomes (status, and error code for failures)."""
    _tables(sandbox, "orders", "users")
    _tables(sandbox, "no-pitr", pitr=False)
    config = _config(
        [{"name": "orders"}, {"name": "users"}, {"name": "no-pitr"}, {"name": "ghost"}]
    )
    local = ddbexport.run(
        config,
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path,
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )
    local_outcomes = {r.table: (r.status, r.error.code if r.error else None) for r in local.tables}
    _execute(_deploy_definition(config), {}, name="parity")
    pipeline_outcomes = {
        table: (
            record["status"],
            record.get("error", {}).get("Error", "").removeprefix("DynamoDb.") or None,
        )
        for table, record in _records("parity").items()
    }
    # The local runner names a missing table TableNotFound before any call; AWS's exception is
    # TableNotFoundException.
    assert local_outcomes.pop("ghost") == ("FAILED", "TableNotFound")
    assert pipeline_outcomes.pop("ghost") == ("FAILED", "TableNotFoundException")
    assert local_outcomes == pipeline_outcomes


# ---------------------------------------------------------------------------- synth


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"pipeline": {"trigger": "rule", "schedule": "rate(6 hours)"}},
        {"pipeline": {"notify_email": "ops@example.com", "timezone": "Europe/Paris"}},
        {"defaults": {"bucket": BUCKET, "sse": "KMS", "kms_key": "alias/exports", "format": "ION"}},
        {
            "tables": [
                {"name": "orders", "mode": "incremental"},
                {"name": "users", "prefix": "u/{date}/{run_id}"},
                {
                    "name": "events",
                    "mode": "incremental",
                    "view": "NEW_IMAGE",
                    "prefix": "e/{date}",
                },
            ]
        },
    ],
    ids=["scheduler", "rule", "sns", "kms-ion", "incremental"],
)
def test_synth_writes_templates_cfn_lint_accepts(tmp_path: Path, extra: dict[str, Any]) -> None:
    """`ddbexport synth` writes both files; cfn-lint and statelint report nothing."""
    data: dict[str, Any] = {
        "region": REGION,
        "defaults": {"bucket": BUCKET},
        "tables": [{"name": "orders"}, {"name": "users", "prefix": "u/{date}/{run_id}"}],
    }
    data.update(extra)
    config_path = tmp_path / "ddbexport.json"
    config_path.write_text(json.dumps(data))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["synth", "-c", str(config_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    template = json.loads((out / "template.json").read_text())
    definition = json.loads((out / "statemachine.asl.json").read_text())
    assert template["Resources"]["StateMachine"]["Properties"]["Definition"] == definition
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(out / "template.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert statelint_problems(out / "statemachine.asl.json") == []


def test_role_grants_only_what_the_pipeline_uses() -> None:
    """Exports only on the configured tables; S3 writes only under their prefixes and the run
    records; the parameter, the topic and the key by name; nothing on '*' but log delivery."""
    config = _config(
        [{"name": "orders"}, {"name": "users", "sse": "KMS", "kms_key": "alias/exports"}],
        notify_email="ops@example.com",
    )
    template = synth(config).template
    policy = template["Resources"]["StateMachineRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    exported = [r["Fn::Sub"] for r in by_sid["Export"]["Resource"]]
    assert exported == [
        "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/orders",
        "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/users",
    ]
    written = [r["Fn::Sub"] for r in by_sid["WriteExportsAndRecords"]["Resource"]]
    assert written == [
        f"arn:${{AWS::Partition}}:s3:::{BUCKET}/dynamodb/orders/*",
        f"arn:${{AWS::Partition}}:s3:::{BUCKET}/dynamodb/users/*",
        f"arn:${{AWS::Partition}}:s3:::{BUCKET}/ddbexport-catalog/runs/*",
        f"arn:${{AWS::Partition}}:s3:::{BUCKET}/ddbexport-catalog/exports/*",
    ]
    assert by_sid["ReadTableList"]["Resource"]["Fn::Sub"].endswith(
        ":parameter" + parameter_name(config)
    )
    assert by_sid["Notify"]["Resource"] == {"Ref": "Topic"}
    by_alias = by_sid["EncryptExportsByAlias"]
    assert by_alias["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"}
    ]
    assert by_alias["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/exports"]}
    }
    wildcards = [s["Sid"] for s in policy["Statement"] if s["Resource"] == "*"]
    assert wildcards == ["Logging"]


def test_template_creates_its_resources_in_moto_cloudformation(tmp_path: Path) -> None:
    """The stack creates in moto's CloudFormation: parameter, role, state machine, schedule."""
    with mock_aws():
        config = _config([{"name": "orders"}], trigger="rule")
        template = synth(config).template
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName="ddbexport",
            TemplateBody=json.dumps(template),
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = cloudformation.describe_stacks(StackName="ddbexport")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        parameter = boto3.client("ssm", region_name=REGION).get_parameter(
            Name=parameter_name(config)
        )
        assert json.loads(parameter["Parameter"]["Value"])["tables"][0]["tablename"] == "orders"
        assert outputs["StateMachineArn"].endswith(":stateMachine:ddbexport")


def test_a_table_still_exporting_after_the_timeout_is_timed_out(sandbox: Sandbox) -> None:
    """The wait schedule adds up to the run's timeout; after it the table is TIMED_OUT (its
    export goes on in AWS) and the execution fails, as the local runner would."""
    _tables(sandbox, "slow")
    sandbox.stretch_durations(20)  # ten minutes of sandbox time: 10 s of real time
    config = validate_config(
        {
            "region": REGION,
            "defaults": {"bucket": BUCKET},
            "tables": [{"name": "slow"}],
            "run": {"poll_first": "1s", "poll_min": "1s", "poll_max": "1s", "timeout": "2s"},
        },
        source="test",
    )
    result = _execute(_deploy_definition(config), {})
    assert result["status"] == "FAILED"
    record = _records("run-1")["slow"]
    assert record["status"] == "TIMED_OUT"
    assert record["export"]["ExportStatus"] == "IN_PROGRESS"


def test_a_list_too_big_for_ssm_is_read_from_s3(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past SSM's 8 KB the list lives in the records bucket, and the state machine reads it
    there (the limit is lowered here so two tables are enough to show it)."""
    monkeypatch.setattr("ddbexport.pipeline.tablelist.ADVANCED_LIMIT", 40)
    _tables(sandbox, "orders", "users")
    config = _config([{"name": "orders"}, {"name": "users"}])
    synthesis = synth(config)
    key = synthesis.table_list_object
    assert key is not None
    assert re.fullmatch(r"ddbexport-catalog/pipelines/ddbexport/tables-[0-9a-f]{16}\.json", key)
    # Another list, another object: a stack update that rolls back keeps reading its own.
    other = synth(_config([{"name": "orders"}, {"name": "users"}, {"name": "audit"}]))
    assert other.table_list_object not in (None, key)
    assert "TableList" not in synthesis.template["Resources"]
    policy = synthesis.template["Resources"]["StateMachineRole"]["Properties"]["Policies"][0]
    read = next(s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "ReadTableList")
    assert read["Action"] == ["s3:GetObject"]
    # The object holds the entries alone (what ItemReader reads); the defaults are in the
    # definition.
    body = synthesis.table_list.object_body
    assert [entry["tablename"] for entry in json.loads(body)] == ["orders", "users"]
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key=synthesis.table_list_object, Body=body.encode()
    )
    machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="big",
        definition=json.dumps(synthesis.definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/ddbexport",
    )["stateMachineArn"]
    assert _execute(machine, {})["status"] == "SUCCEEDED"
    assert set(_records("run-1")) == {"orders", "users"}


def test_hundreds_of_tables_synthesize_within_the_limits(tmp_path: Path) -> None:
    """400 tables: the list moves to S3, the template stays lintable."""
    config = _config([{"name": f"table-{index:03d}-with-a-long-name"} for index in range(400)])
    synthesis = synth(config)
    assert synthesis.table_list_object is not None
    path = tmp_path / "template.json"
    path.write_text(json.dumps(synthesis.template))
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


def test_a_failed_run_notifies_the_topic(sandbox: Sandbox) -> None:
    """With notify_topic_arn, a run where a table failed publishes to that topic."""
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="exports-alerts")["TopicArn"]
    _tables(sandbox, "orders")
    config = _config([{"name": "orders"}, {"name": "ghost"}], notify_topic_arn=topic)
    synthesis = synth(config)
    assert synthesis.template["Resources"]["StateMachine"]["Properties"][
        "DefinitionSubstitutions"
    ] == {"TopicArn": topic}
    # CloudFormation substitutes ${TopicArn}; creating the machine directly, the test does.
    definition = json.dumps(synthesis.definition).replace("${TopicArn}", topic)
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=synthesis.parameter_name, Type="String", Value=synthesis.table_list.value
    )
    machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="alerts", definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/ddbexport"
    )["stateMachineArn"]
    assert _execute(machine, {})["status"] == "FAILED"
    sent = sns_backends[ACCOUNT][REGION].topics[topic].sent_notifications
    assert len(sent) == 1
    message = sent[0][1]
    # How many, and where to look: not the whole list.
    assert message.startswith("1 of 2 tables did not export in ddbexport run run-1"), message
    manifest_url = re.search(r"s3://\S+/manifest\.json", message)
    assert manifest_url is not None, message
    (failed,) = _object(manifest_url.group())["ResultFiles"]["FAILED"]
    (result,) = _object(f"s3://{BUCKET}/{failed['Key']}")
    assert result["Status"] == "FAILED"
    assert result["Error"] == "ExportFailed"
    assert json.loads(result["Cause"])["table"] == "ghost"
    assert f"s3://{BUCKET}/ddbexport-catalog/runs/run-1/tables/" in message


def test_the_execution_uses_the_local_runners_client_token(sandbox: Sandbox) -> None:
    """A pipeline execution and a local run with the same run id send the same ClientToken,
    so either attaches to the other's export instead of starting a second one."""
    _tables(sandbox, "orders")
    machine = _deploy_definition(_config([{"name": "orders"}]))
    result = _execute(machine, {}, name="nightly-20261128")
    assert result["status"] == "SUCCEEDED", result
    (export,) = sandbox.service.exports.values()
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
    assert export.request["ClientToken"] == client_token("nightly-20261128", arn)


def test_a_table_named_by_arn_keeps_its_arn_and_no_prefix_writes_to_the_root(
    sandbox: Sandbox,
) -> None:
    """A table the config names by ARN is exported by that ARN (its account and region), and
    an empty prefix exports to the bucket's root with no S3Prefix sent, as AWS documents."""
    _tables(sandbox, "orders")
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
    config = _config([{"name": arn, "prefix": ""}])
    synthesis = synth(config)
    (entry,) = json.loads(synthesis.table_list.value)["tables"]
    assert entry["table_arn"] == arn
    machine = _deploy_definition(config)
    result = _execute(machine, {})
    assert result["status"] == "SUCCEEDED", result
    (export,) = sandbox.service.exports.values()
    assert export.request["TableArn"] == arn
    assert "S3Prefix" not in export.request
    record = _records("run-1")["orders"]
    assert record["s3_prefix"] == ""
    assert record["export"]["ExportManifest"].startswith("AWSDynamoDB/")


def test_the_local_runner_sends_no_prefix_for_an_empty_one(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """prefix = "" in a local run too: no S3Prefix sent, the export lands under AWSDynamoDB/
    and verifies."""
    _tables(sandbox, "orders")
    report = ddbexport.run(
        _config([{"name": "orders", "prefix": ""}]),
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path,
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )
    (record,) = report.tables
    assert record.status == "COMPLETED", record
    assert record.verification is not None
    assert record.verification["ok"]
    (export,) = sandbox.service.exports.values()
    assert "S3Prefix" not in export.request


def test_pipeline_exports_are_catalogued_and_rebuild_verifies_them(sandbox: Sandbox) -> None:
    """Each COMPLETED export gets its catalog record from the state machine (unverified: no
    code runs in the pipeline to read the files); `catalog rebuild` then verifies it in place
    and keeps the pipeline's run id. Failed tables get none."""
    _tables(sandbox, "orders", "users")
    config = _config([{"name": "orders"}, {"name": "users"}, {"name": "ghost"}])
    result = _execute(_deploy_definition(config), {}, name="nightly-1")
    assert result["status"] == "FAILED"
    api = AwsApi(AwsSettings(REGION))
    listing = inventory.list_exports(config, api)
    assert listing.unreadable == []
    records = {r.table: r for r in listing.records}
    assert set(records) == {"orders", "users"}
    orders = records["orders"]
    assert orders.source == "pipeline"
    assert orders.run_id == "nightly-1"
    assert orders.verified is None
    assert orders.item_count == 3
    assert orders.export_folder == f"{orders.s3_prefix}/AWSDynamoDB/{orders.export_id}"
    assert api.get_object(BUCKET, orders.manifest_files_key or "") is not None
    rebuilt = inventory.rebuild_catalog(config, api)
    assert rebuilt.problems == []
    after = {r.table: r for r in inventory.list_exports(config, api).records}
    assert after["orders"].verified is True
    assert after["orders"].run_id == "nightly-1"


def _map_machine(name: str, result_writer: bool) -> str:
    """A Distributed Map of Pass children over the input's ``items``."""
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Child",
            "States": {"Child": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }
    if result_writer:
        state["ResultWriter"] = {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": BUCKET, "Prefix": "map-results"},
        }
    definition = {"StartAt": "Tables", "States": {"Tables": state}}
    return boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name=name,
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/map",
    )["stateMachineArn"]


def test_map_results_are_dated_by_the_sandbox_clock_and_not_kept(sandbox: Sandbox) -> None:
    """The ResultWriter's files date each child on the sandbox clock (three days ahead of the
    real one here); a Map without a ResultWriter leaves no outcomes behind in the sandbox."""
    sandbox.advance(3 * 24 * 3600)
    before = sandbox.now()
    written = _execute(_map_machine("written", True), {"items": [{"n": 1}, {"n": 2}]})
    assert written["status"] == "SUCCEEDED", written
    s3 = boto3.client("s3", region_name=REGION)
    manifest_key = json.loads(written["output"])["ResultWriterDetails"]["Key"]
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read())
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    children = json.loads(s3.get_object(Bucket=BUCKET, Key=succeeded["Key"])["Body"].read())
    assert len(children) == 2
    for child in children:
        for field in ("StartDate", "StopDate"):
            moment = datetime.fromisoformat(child[field].replace("Z", "+00:00"))
            assert before - timedelta(seconds=1) <= moment <= sandbox.now(), (field, child)

    kept = set(_map_results._outcomes)
    unwritten = _execute(_map_machine("unwritten", False), {"items": [{"n": 1}, {"n": 2}]}, "run-2")
    assert unwritten["status"] == "SUCCEEDED", unwritten
    assert set(_map_results._outcomes) == kept
