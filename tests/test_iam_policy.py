"""`ddbexport iam-policy`: the pipeline's equals what the stack's role holds; the local one
covers every call a real run makes, and no more than the config's tables and buckets."""

from __future__ import annotations

import ast
import fnmatch
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from click.testing import CliRunner
from moto import mock_aws

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.cli.main import cli
from ddbexport.config.model import load_config_file
from ddbexport.pipeline.synth import synth
from ddbexport.sandbox import Sandbox, SandboxSettings

from .helpers import BUCKET, REGION

ACCOUNT = "123456789012"


def _config_file(tmp_path: Path, tables: str, extra: str = "") -> Path:
    path = tmp_path / "ddbexport.toml"
    path.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\nprefix = "exports/{{table}}"\n'
        f'{tables}[run]\npoll_first = "10s"\npoll_min = "10s"\n[pipeline]\ntrigger = "rule"\n'
        f"{extra}"
    )
    return path


def _policy(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["iam-policy", *args])
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_pipeline_policy_is_what_the_deployed_role_holds(tmp_path: Path) -> None:
    """The stack is created in moto's CloudFormation; the role's inline policy, as IAM holds
    it, equals what `iam-policy --for pipeline` prints for the same config."""
    config_path = _config_file(
        tmp_path,
        '[[tables]]\nname = "orders"\n[[tables]]\nname = "users"\nsse = "KMS"\n'
        'kms_key = "alias/exports"\n',
    )
    with mock_aws():
        template = synth(load_config_file(config_path)).template
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName="ddbexport",
            TemplateBody=json.dumps(template),
            Capabilities=["CAPABILITY_IAM"],
        )
        role = cloudformation.describe_stack_resource(
            StackName="ddbexport", LogicalResourceId="StateMachineRole"
        )["StackResourceDetail"]["PhysicalResourceId"]
        held = boto3.client("iam").get_role_policy(RoleName=role, PolicyName="ddbexport")
        printed = _policy("--for", "pipeline", "-c", str(config_path))
    document = held["PolicyDocument"]
    if isinstance(document, str):
        # moto keeps a CloudFormation-made inline policy as the repr of its dict.
        document = ast.literal_eval(document)
    assert printed == document
    text = json.dumps(printed)
    assert "${" not in text
    assert f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders" in text


def test_unresolved_policy_is_the_templates_own_and_needs_no_aws(tmp_path: Path) -> None:
    """--unresolved prints the template's statement list itself; no AWS call for named tables."""
    config_path = _config_file(tmp_path, '[[tables]]\nname = "orders"\n')
    role = synth(load_config_file(config_path)).template["Resources"]["StateMachineRole"]
    printed = _policy("--for", "pipeline", "--unresolved", "-c", str(config_path))
    assert printed == role["Properties"]["Policies"][0]["PolicyDocument"]
    resolved = _policy("--for", "pipeline", "--account", "111122223333", "-c", str(config_path))
    assert "arn:aws:dynamodb:eu-west-1:111122223333:table/orders" in json.dumps(resolved)


def test_bad_account_is_refused(tmp_path: Path) -> None:
    config_path = _config_file(tmp_path, '[[tables]]\nname = "orders"\n')
    result = CliRunner().invoke(cli, ["iam-policy", "--account", "12ab", "-c", str(config_path)])
    assert result.exit_code == 2
    assert "--account '12ab': an account id is 12 digits" in result.output


# ----------------------------------------------------------------------------- local runs


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxSettings(base_duration_s=60, seed=3), time_scale=3600) as box:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket="other-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for name in ("orders", "users", "secret-table"):
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                Tags=[{"Key": "backup", "Value": "daily" if name != "secret-table" else "no"}],
            )
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            dynamodb.put_item(TableName=name, Item={"pk": {"S": name}})
        # Past a first 15-minute grid line inside PITR's window and both 5-minute lags, so the
        # incremental table's first (full) export is due whatever real minute the test starts in.
        box.advance(25 * 60)
        yield box


_S3_ACTIONS = {
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
}


def _iam_request(service: str, operation: str, params: dict[str, Any]) -> tuple[str, str] | None:
    """The IAM action and resource ARN a call is authorized as (None: needs no permission)."""
    if service == "sts":
        return None
    if service == "s3":
        key = params.get("Key")
        resource = f"arn:aws:s3:::{params['Bucket']}" + (f"/{key}" if key else "")
        return _S3_ACTIONS[operation], resource
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
    resource = (
        params.get("TableArn")
        or params.get("ResourceArn")
        or params.get("ExportArn")
        or (table + params["TableName"] if "TableName" in params else "*")
    )
    return f"dynamodb:{operation}", resource


def _allowed(policy: dict[str, Any], action: str, resource: str) -> bool:
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        if action in statement["Action"] and any(
            fnmatch.fnmatchcase(resource, pattern) for pattern in resources
        ):
            return True
    return False


def _run_recording_calls(
    sandbox: Sandbox, config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, str, dict[str, Any]]]:
    calls: list[tuple[str, str, dict[str, Any]]] = []
    original = botocore.client.BaseClient._make_api_call

    def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
        calls.append((client.meta.service_model.service_name, operation, dict(params)))
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    report = ddbexport.run(
        load_config_file(config_path),
        api=AwsApi(AwsSettings(REGION)),
        state_dir=tmp_path / "state",
        clock=sandbox.monotonic,
        sleep=sandbox.sleep,
        now=sandbox.now,
    )
    monkeypatch.undo()
    assert {r.status for r in report.tables} == {"COMPLETED"}, report
    return calls


@pytest.mark.parametrize(
    "tables",
    [
        '[[tables]]\nname = "orders"\n[[tables]]\nname = "users"\nbucket = "other-bucket"\n',
        '[[tables]]\ntags = { backup = "daily" }\n',
        '[[tables]]\nname = "orders"\nmode = "incremental"\n',
    ],
    ids=["named", "tags", "incremental"],
)
def test_local_policy_covers_every_call_of_a_real_run(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tables: str
) -> None:
    """Every AWS call a run makes (export, polling, preflight, verification, schema sidecar,
    catalog) is allowed by the printed policy; nothing is granted on another bucket, and named
    tables are granted by name only."""
    config_path = _config_file(tmp_path, tables)
    policy = _policy("-c", str(config_path))
    calls = _run_recording_calls(sandbox, config_path, tmp_path, monkeypatch)
    denied = [
        (action, resource)
        for service, operation, params in calls
        if (request := _iam_request(service, operation, params)) is not None
        for action, resource in [request]
        if not _allowed(policy, action, resource)
    ]
    assert denied == []
    assert len(calls) > 10
    assert not _allowed(policy, "s3:PutObject", "arn:aws:s3:::someone-elses-bucket/x")
    assert not _allowed(policy, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/private/data.json")
    if "name" in tables:
        secret = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/secret-table"
        assert not _allowed(policy, "dynamodb:ExportTableToPointInTime", secret)
        assert not _allowed(policy, "dynamodb:ListTables", "*")
