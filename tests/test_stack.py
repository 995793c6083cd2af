"""deploy, invoke and destroy through the CLI against the sandbox server (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ddbexport.aws.adapter import AwsApi
from ddbexport.cli.main import cli
from ddbexport.config.model import load_config_file
from ddbexport.pipeline.synth import synth
from ddbexport.sandbox import Sandbox, SandboxSettings
from ddbexport.sandbox.server import free_port, serve

REGION = "eu-west-1"
BUCKET = "exports-bucket"


@pytest.fixture
def server() -> Iterator[tuple[str, Sandbox]]:
    """The sandbox behind a moto server, with a bucket and a table with PITR."""
    settings = SandboxSettings(base_duration_s=30, seconds_per_item=0, seed=8)
    with serve(free_port(), time_scale=60, settings=settings) as (endpoint, sandbox):
        boto3.client("s3", region_name=REGION, endpoint_url=endpoint).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        dynamodb.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="orders", Item={"pk": {"S": "one"}})
        dynamodb.update_continuous_backups(
            TableName="orders",
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
        sandbox.advance(600)
        yield endpoint, sandbox


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "ddbexport.toml"
    path.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\n[[tables]]\nname = "orders"\n'
        '[run]\npoll_first = "1s"\npoll_min = "1s"\npoll_max = "2s"\ntimeout = "30m"\n'
        '[pipeline]\nstack_name = "nightly"\ntrigger = "rule"\n'
    )
    return path


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_deploy_invoke_destroy(server: tuple[str, Sandbox], tmp_path: Path) -> None:
    """A stack is created, left alone when nothing changed, run, and deleted."""
    endpoint, sandbox = server
    config = _config(tmp_path)
    common = ["-c", str(config), "--endpoint-url", endpoint]
    code, out = _cli("deploy", *common, "--poll", "100ms")
    assert code == 0, out
    assert "stack nightly: CREATE_COMPLETE" in out
    cloudformation = boto3.client("cloudformation", region_name=REGION, endpoint_url=endpoint)
    assert cloudformation.describe_stacks(StackName="nightly")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    parameter = boto3.client("ssm", region_name=REGION, endpoint_url=endpoint).get_parameter(
        Name="/ddbexport/nightly/tables"
    )
    assert json.loads(parameter["Parameter"]["Value"])["tables"] == [{"tablename": "orders"}]

    code, out = _cli("deploy", *common, "--poll", "100ms")
    assert code == 0, out
    assert "no changes: the stack is up to date" in out

    # moto's interpreter cannot run state machines its CloudFormation made: give it the same
    # definition under the same name, which the stack's resource points at.
    definition = synth(load_config_file(config)).definition
    boto3.client("stepfunctions", region_name=REGION, endpoint_url=endpoint).create_state_machine(
        name="nightly",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/ddbexport",
    )
    code, out = _cli("invoke", *common, "--run-id", "manual-1", "--follow", "--poll", "200ms")
    assert code == 0, out
    assert "execution:nightly:manual-1" in out
    assert "orders\tCOMPLETED\tarn:aws:dynamodb:" in out
    assert "orders: COMPLETED (1 done)" in out  # progress while following
    assert len(sandbox.service.exports) == 1

    code, out = _cli("destroy", *common, "--poll", "100ms")
    assert code == 0, out
    assert "DELETE_COMPLETE" in out
    code, out = _cli("destroy", *common, "--poll", "100ms")
    assert code == 1
    assert "stack 'nightly' does not exist" in out


def test_invoke_before_deploy_says_so(server: tuple[str, Sandbox], tmp_path: Path) -> None:
    """Invoking a stack that is not there is a clear error."""
    endpoint, _ = server
    code, out = _cli("invoke", "-c", str(_config(tmp_path)), "--endpoint-url", endpoint)
    assert code == 1
    assert "stack 'nightly' does not exist: run ddbexport deploy first" in out


def test_stack_name_option_renames_everything_the_stack_owns(
    server: tuple[str, Sandbox], tmp_path: Path
) -> None:
    """--stack-name deploys a second stack from one config: its own parameter, never the
    first stack's; a name CloudFormation would refuse is refused first."""
    endpoint, _ = server
    common = ["-c", str(_config(tmp_path)), "--endpoint-url", endpoint, "--poll", "100ms"]
    code, out = _cli("deploy", *common, "--stack-name", "nightly-copy")
    assert code == 0, out
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=endpoint)
    assert ssm.get_parameter(Name="/ddbexport/nightly-copy/tables")["Parameter"]["Value"]
    names = [p["Name"] for p in ssm.describe_parameters()["Parameters"]]
    assert "/ddbexport/nightly/tables" not in names
    code, out = _cli("deploy", *common, "--stack-name", "9-lives")
    assert code == 2
    assert "--stack-name '9-lives': a stack name starts with a letter" in out


def test_a_stack_whose_creation_failed_is_recreated(
    server: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ROLLBACK_COMPLETE (a failed first creation) can only be deleted: deploy deletes it and
    creates the stack anew, saying so. A stack busy updating is left alone with a clear error."""
    endpoint, _ = server
    common = ["-c", str(_config(tmp_path)), "--endpoint-url", endpoint, "--poll", "100ms"]
    assert _cli("deploy", *common)[0] == 0
    real = AwsApi.describe_stack
    state = {"status": "ROLLBACK_COMPLETE"}

    def describe(self: AwsApi, name: str) -> dict[str, Any] | None:
        found = real(self, name)
        if found is not None and state["status"]:
            return {**found, "StackStatus": state["status"]}
        return found

    def delete(self: AwsApi, name: str) -> None:
        state["status"] = ""
        boto3.client("cloudformation", region_name=REGION, endpoint_url=endpoint).delete_stack(
            StackName=name
        )

    monkeypatch.setattr(AwsApi, "describe_stack", describe)
    monkeypatch.setattr(AwsApi, "delete_stack", delete)
    code, out = _cli("deploy", *common)
    assert code == 0, out
    assert "nightly is ROLLBACK_COMPLETE (its creation failed): deleting it first" in out
    assert "(new stack)" in out
    assert "stack nightly: CREATE_COMPLETE" in out

    state["status"] = "UPDATE_IN_PROGRESS"
    code, out = _cli("deploy", *common)
    assert code == 1
    assert "stack nightly is busy (UPDATE_IN_PROGRESS)" in out
