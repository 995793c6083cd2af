"""Many accounts and regions: config, local runs across accounts on the sandbox, StackSets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

import ddbexport
from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.aws.roles import account_api
from ddbexport.catalog.records import Catalog
from ddbexport.cli.main import cli
from ddbexport.config.accounts import account_targets
from ddbexport.config.model import Config, load_config_file, parse_config_text, validate_config
from ddbexport.errors import ConfigError
from ddbexport.pipeline.stackset import synth_stackset
from ddbexport.running.accounts import role_connector
from ddbexport.sandbox import Sandbox, SandboxSettings
from ddbexport.sandbox.seed import account_client, create_account_role
from ddbexport.testing import FakeExportApi, FakeTable, SimClock

from .helpers import FAST_RUN, REGION, statelint_problems

CENTRAL = "123456789012"  # moto's default account: the caller's
ALPHA = "111111111111"
BETA = "222222222222"
OTHER_REGION = "us-east-1"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(
        SandboxSettings(base_duration_s=60, seconds_per_item=0.1, seed=5), time_scale=3600
    ) as box:
        yield box


def _bucket(account: str, name: str, region: str = REGION) -> None:
    s3 = account_client("s3", account, region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def _table(account: str, name: str, *, items: int, region: str = REGION) -> str:
    client = account_client("dynamodb", account, region)
    arn = client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    for index in range(items):
        client.put_item(TableName=name, Item={"pk": {"S": f"{account}-{index}"}})
    client.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    return str(arn)


def _config(accounts: list[dict[str, Any]], tables: list[dict[str, Any]], **top: Any) -> Config:
    return validate_config(
        {
            "region": REGION,
            "defaults": top.pop("defaults", {}),
            "accounts": accounts,
            "tables": tables,
            "run": top.pop("run", {**FAST_RUN, "verify": True}),
            **top,
        },
        source="test",
    )


def _run(sandbox: Sandbox, config: Config, state: Path, **kwargs: Any) -> ddbexport.RunReport:
    return ddbexport.run(
        config, api=AwsApi(AwsSettings(REGION, max_attempts=1)), state_dir=state, **kwargs
    )


def test_two_accounts_with_same_named_tables_export_each_into_its_own_bucket(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """orders exists in both accounts; each account's orders goes to its bucket, and the report
    and catalogue tell them apart by account and region."""
    alpha_role = create_account_role(ALPHA)
    beta_role = create_account_role(BETA)
    alpha_arn = _table(ALPHA, "orders", items=3)
    beta_arn = _table(BETA, "orders", items=5)
    _bucket(ALPHA, "alpha-exports")
    _bucket(BETA, "beta-exports")
    sandbox.advance(5)
    config = _config(
        [
            {"id": ALPHA, "role_arn": alpha_role, "bucket": "alpha-exports"},
            {"id": BETA, "role_arn": beta_role, "bucket": "beta-exports"},
        ],
        [{"name": "orders"}],
    )
    report = _run(sandbox, config, tmp_path)

    rows = {(row.account, row.region): row for row in report.tables}
    assert set(rows) == {(ALPHA, REGION), (BETA, REGION)}
    assert {row.status for row in rows.values()} == {"COMPLETED"}, report.to_dict()
    alpha, beta = rows[(ALPHA, REGION)], rows[(BETA, REGION)]
    assert (alpha.table_arn, alpha.s3_bucket, alpha.item_count) == (alpha_arn, "alpha-exports", 3)
    assert (beta.table_arn, beta.s3_bucket, beta.item_count) == (beta_arn, "beta-exports", 5)
    assert alpha.client_token != beta.client_token
    assert alpha.verification
    assert alpha.verification["ok"]
    data = report.to_dict()
    assert {(t["account"], t["region"]) for t in data["tables"]} == set(rows)
    # Each export's files are in its account's bucket, and that bucket's catalog has its record.
    for account, bucket, arn in (
        (ALPHA, "alpha-exports", alpha_arn),
        (BETA, "beta-exports", beta_arn),
    ):
        s3 = account_client("s3", account, REGION)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assert any(
            key.startswith("orders/") and key.endswith("manifest-summary.json") for key in keys
        )
        records, unreadable = Catalog(AwsApi(AwsSettings(REGION)), "ddbexport-catalog").records(
            bucket, "orders"
        )
        assert not unreadable
        assert [r.table_arn for r in records] == [arn]


def test_a_role_that_cannot_be_assumed_fails_only_that_accounts_tables(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Beta's role does not exist: its tables fail with the account and the role named, alpha's
    export all the same; a wrong external id is refused the same way."""
    alpha_role = create_account_role(ALPHA, external_id="shared-secret")
    _table(ALPHA, "orders", items=2)
    _table(ALPHA, "users", items=2)
    _bucket(CENTRAL, "central-exports")
    sandbox.advance(5)
    missing_role = f"arn:aws:iam::{BETA}:role/not-there"
    config = _config(
        [
            {"id": ALPHA, "role_arn": alpha_role, "external_id": "shared-secret"},
            {"id": BETA, "role_arn": missing_role},
        ],
        [{"name": "orders"}, {"match": "u*"}],
        defaults={"bucket": "central-exports", "bucket_owner": CENTRAL},
    )
    report = _run(sandbox, config, tmp_path)

    by_account: dict[str | None, dict[str, Any]] = {}
    for row in report.tables:
        by_account.setdefault(row.account, {})[row.table] = row
    assert {name: row.status for name, row in by_account[ALPHA].items()} == {
        "orders": "COMPLETED",
        "users": "COMPLETED",
    }
    beta = by_account[BETA]
    assert set(beta) == {"orders", "*"}
    for row in beta.values():
        assert row.status == "FAILED"
        assert row.error is not None
        assert row.error.code == "AccessDenied"
        assert f"account {BETA}: cannot assume role {missing_role}" in row.error.message
    assert "match 'u*'" in beta["*"].error.message  # type: ignore[union-attr]
    assert report.exit_code == 1

    wrong = _config(
        [{"id": ALPHA, "role_arn": alpha_role, "external_id": "not-the-secret"}],
        [{"name": "orders"}],
        defaults={"bucket": "central-exports", "bucket_owner": CENTRAL},
    )
    (row,) = _run(sandbox, wrong, tmp_path / "wrong").tables
    assert row.status == "FAILED"
    assert row.error
    assert "cannot assume role" in row.error.message


def test_central_bucket_and_two_regions_keep_every_table_apart(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """One bucket in a central account; alpha in two regions, beta in one, all with an orders
    table: four exports, four catalog records told apart by ARN, and a re-run of the run id
    resumes from the journals of each account and region (no export started again)."""
    roles = {account: create_account_role(account) for account in (ALPHA, BETA)}
    arns = {
        (ALPHA, REGION): _table(ALPHA, "orders", items=1),
        (ALPHA, OTHER_REGION): _table(ALPHA, "orders", items=2, region=OTHER_REGION),
        (BETA, REGION): _table(BETA, "orders", items=3),
    }
    _bucket(CENTRAL, "central-exports")
    sandbox.advance(5)
    config = _config(
        [
            {"id": ALPHA, "role_arn": roles[ALPHA], "regions": [REGION, OTHER_REGION]},
            {"id": BETA, "role_arn": roles[BETA]},
        ],
        [{"name": "orders"}],
        defaults={
            "bucket": "central-exports",
            "bucket_owner": CENTRAL,
            "prefix": "{table}/{date}/{time}",
        },
    )
    plan = ddbexport.plan(config, api=AwsApi(AwsSettings(REGION)), state_dir=tmp_path)
    assert {(r.account, r.region): r.table_arn for r in plan.requests} == arns
    assert len({r.client_token for r in plan.requests}) == 3
    assert all(e["account"] and e["region"] for e in plan.to_dict()["exports"])

    report = _run(sandbox, config, tmp_path)
    assert {(r.account, r.region): (r.status, r.item_count) for r in report.tables} == {
        (ALPHA, REGION): ("COMPLETED", 1),
        (ALPHA, OTHER_REGION): ("COMPLETED", 2),
        (BETA, REGION): ("COMPLETED", 3),
    }
    records, _ = Catalog(AwsApi(AwsSettings(REGION)), "ddbexport-catalog").records(
        "central-exports", "orders"
    )
    assert sorted(r.table_arn for r in records) == sorted(arns.values())
    for account, region in arns:
        assert (tmp_path / "accounts" / f"{account}-{region}" / "runs").is_dir()

    checked = ddbexport.check(config, api=AwsApi(AwsSettings(REGION)))
    assert checked.ok, [f.to_dict() for f in checked.problems]
    assert {f.table for f in checked.findings} == {
        f"{account}/{region}/orders" for account, region in arns
    }

    started = len(sandbox.service.exports)
    again = _run(sandbox, config, tmp_path, run_id=report.run_id)
    assert len(sandbox.service.exports) == started
    assert sorted(r.export_arn or "" for r in again.tables) == sorted(
        r.export_arn or "" for r in report.tables
    )


# ---------------------------------------------------------------------------- StackSets


def _stackset_config(tmp_path: Path) -> Path:
    path = tmp_path / "ddbexport.toml"
    path.write_text(
        f"""
region = "{REGION}"

[defaults]
bucket = "central-exports"
bucket_owner = "{CENTRAL}"

[[accounts]]
id = "{ALPHA}"
role_arn = "arn:aws:iam::{ALPHA}:role/ddbexport"

[[accounts]]
id = "{BETA}"
role_arn = "arn:aws:iam::{BETA}:role/ddbexport"
regions = ["{REGION}", "{OTHER_REGION}"]
bucket = "beta-exports"
bucket_owner = "{BETA}"

[[tables]]
name = "orders"

[[tables]]
name = "payments"
accounts = ["{BETA}"]
prefix = "payments/{{date}}"

[[tables]]
name = "arn:aws:dynamodb:{REGION}:{ALPHA}:table/audit"
""",
        encoding="utf-8",
    )
    return path


def _lint(*command: str) -> None:
    found = subprocess.run(
        [str(Path(sys.executable).parent / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stdout + found.stderr


def test_synth_stackset_writes_a_linted_template_and_each_accounts_tables(
    tmp_path: Path,
) -> None:
    """One template (cfn-lint and statelint clean), one parameter file per account and region
    holding that account's tables only, and the commands that deploy them."""
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["synth", "--stackset", "-c", str(_stackset_config(tmp_path)), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    _lint("cfn-lint", str(out / "template.json"))
    assert statelint_problems(out / "statemachine.asl.json") == []
    template = json.loads((out / "template.json").read_text())
    assert set(template["Parameters"]) == {"TableListValue", "RecordsBucket"}
    assert template["Resources"]["TableList"]["Properties"]["Value"] == {"Ref": "TableListValue"}

    def parameters(name: str) -> dict[str, str]:
        entries = json.loads((out / "parameters" / f"{name}.json").read_text())
        return {entry["ParameterKey"]: entry["ParameterValue"] for entry in entries}

    def tables(name: str) -> dict[str, dict[str, Any]]:
        listed = json.loads(parameters(name)["TableListValue"])
        return {t["tablename"]: {**listed["defaults"], **t} for t in listed["tables"]}

    assert sorted(p.name for p in (out / "parameters").iterdir()) == sorted(
        [f"{ALPHA}-{REGION}.json", f"{BETA}-{OTHER_REGION}.json", f"{BETA}-{REGION}.json"]
    )
    alpha = tables(f"{ALPHA}-{REGION}")
    assert set(alpha) == {"orders", "audit"}
    assert alpha["orders"]["bucketname"] == "central-exports"
    assert alpha["audit"]["table_arn"] == f"arn:aws:dynamodb:{REGION}:{ALPHA}:table/audit"
    assert parameters(f"{ALPHA}-{REGION}")["RecordsBucket"] == "central-exports"
    for region in (REGION, OTHER_REGION):
        beta = tables(f"{BETA}-{region}")
        assert set(beta) == {"orders", "payments"}
        assert {t["bucketname"] for t in beta.values()} == {"beta-exports"}
        assert {t["bucket_owner"] for t in beta.values()} == {BETA}
        assert parameters(f"{BETA}-{region}")["RecordsBucket"] == "beta-exports"
    # Each list names prefix templates the one definition knows.
    definition = (out / "statemachine.asl.json").read_text()
    assert all(t["template"] in definition for t in [*alpha.values(), *beta.values()])
    commands = (out / "deploy-stackset.sh").read_text()
    assert "aws cloudformation create-stack-set --stack-set-name ddbexport" in commands
    assert (
        f"--accounts {BETA} --regions {OTHER_REGION} \\\n"
        f"  --parameter-overrides file://parameters/{BETA}-{OTHER_REGION}.json" in commands
    )
    assert commands.count("create-stack-instances") == 3


def test_a_stack_of_the_stackset_creates_with_an_accounts_parameters(tmp_path: Path) -> None:
    """moto's CloudFormation creates the StackSet's template with one account's parameters:
    the SSM table list is that account's and the run records go to its bucket."""
    config = load_config_file(_stackset_config(tmp_path))
    # moto's CloudFormation has no AWS::Scheduler::Schedule: the rule trigger stands in.
    config = config.model_copy(
        update={"pipeline": config.pipeline.model_copy(update={"trigger": "rule"})}
    )
    synthesis = synth_stackset(config)
    instance = next(i for i in synthesis.instances if i.account == BETA)
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName="ddbexport",
            TemplateBody=json.dumps(synthesis.template),
            Capabilities=["CAPABILITY_IAM"],
            Parameters=[
                {"ParameterKey": key, "ParameterValue": value}
                for key, value in instance.parameters.items()
            ],
        )
        stack = cloudformation.describe_stacks(StackName="ddbexport")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert outputs["RunRecords"] == "s3://beta-exports/ddbexport-catalog/runs/"
        value = boto3.client("ssm", region_name=REGION).get_parameter(
            Name="/ddbexport/ddbexport/tables"
        )["Parameter"]["Value"]
        assert value == instance.parameters["TableListValue"]


def test_stackset_resolves_match_selectors_in_each_account(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A match selector is resolved in each account through its role: each account's list
    holds its own tables."""
    roles = {account: create_account_role(account) for account in (ALPHA, BETA)}
    _table(ALPHA, "orders-eu", items=0)
    _table(BETA, "orders-us", items=0)
    _table(BETA, "orders-asia", items=0)
    config = _config(
        [{"id": account, "role_arn": role} for account, role in roles.items()],
        [{"match": "orders-*"}],
        defaults={"bucket": "central-exports"},
        run={},
    )
    synthesis = synth_stackset(config, connect=role_connector(AwsApi(AwsSettings(REGION))))
    assert {i.account: sorted(i.tables) for i in synthesis.instances} == {
        ALPHA: ["orders-eu"],
        BETA: ["orders-asia", "orders-us"],
    }


# ---------------------------------------------------------------------------- config


_ACCOUNTS = f"""
region = "{REGION}"
[defaults]
bucket = "central-exports"
[[accounts]]
id = "{ALPHA}"
role_arn = "arn:aws:iam::{ALPHA}:role/ddbexport"
[[accounts]]
id = "{BETA}"
role_arn = "arn:aws:iam::{BETA}:role/ddbexport"
regions = ["{REGION}", "{OTHER_REGION}"]
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ((f'id = "{ALPHA}"', 'id = "1111"'), "accounts[0].id: id '1111' must be a 12-digit"),
        (
            (f'role_arn = "arn:aws:iam::{ALPHA}:role', f'role_arn = "arn:aws:iam::{BETA}:role'),
            f"role_arn 'arn:aws:iam::{BETA}:role/ddbexport' is a role of account {BETA}",
        ),
        (
            (f"arn:aws:iam::{ALPHA}:role/ddbexport", f"arn:aws:iam::{ALPHA}:user/me"),
            "is not an IAM role ARN",
        ),
        (
            (
                f'id = "{BETA}"\nrole_arn = "arn:aws:iam::{BETA}',
                f'id = "{ALPHA}"\nrole_arn = "arn:aws:iam::{ALPHA}',
            ),
            f"accounts[1]: account {ALPHA} is listed twice",
        ),
        (
            (f'regions = ["{REGION}", "{OTHER_REGION}"]', f'regions = ["{REGION}", "{REGION}"]'),
            f"regions: '{REGION}' is listed twice",
        ),
        (
            (f'id = "{ALPHA}"\n', f'id = "{ALPHA}"\nexternal_id = "x"\n'),
            "external_id must be 2-1,224 characters",
        ),
        ((f'id = "{ALPHA}"\n', f'id = "{ALPHA}"\nrolearn = "x"\n'), "unknown key 'rolearn'"),
    ],
)
def test_bad_accounts_are_refused_naming_the_entry(change: tuple[str, str], expected: str) -> None:
    text = _ACCOUNTS.replace(*change) + '[[tables]]\nname = "orders"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config_text(text, source="my.toml")
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (
            'accounts = ["333333333333"]',
            f"tables[0] (name 'orders'): account 333333333333 is not in [[accounts]] (listed: "
            f"{ALPHA}, {BETA})",
        ),
        ('regions = ["ap-south-1"]', "region ap-south-1 is not a region of its accounts"),
        ('accounts = ["12"]', "accounts: '12' is not a 12-digit AWS account id"),
    ],
)
def test_selectors_name_known_accounts_and_regions(selector: str, expected: str) -> None:
    text = _ACCOUNTS + f'[[tables]]\nname = "orders"\n{selector}\n'
    with pytest.raises(ConfigError) as caught:
        parse_config_text(text, source="my.toml")
    assert expected in str(caught.value)


def test_accounts_on_a_selector_need_accounts_in_the_config() -> None:
    with pytest.raises(ConfigError, match=r"accounts applies with \[\[accounts\]\]"):
        parse_config_text(
            f'[defaults]\nbucket = "b-b-b"\n[[tables]]\nname = "t-1"\naccounts = ["{ALPHA}"]\n',
            source="x",
        )


def test_targets_carry_each_accounts_settings_and_selectors() -> None:
    """Account settings sit between [defaults] and the selector; a selector restricted to an
    account or region, or a table named by ARN, applies only there."""
    text = (
        _ACCOUNTS.replace(
            f'regions = ["{REGION}", "{OTHER_REGION}"]',
            f'regions = ["{REGION}", "{OTHER_REGION}"]\nbucket = "beta-exports"\nformat = "ION"',
        )
        + '[[tables]]\nname = "orders"\n'
        + f'[[tables]]\nmatch = "pay-*"\nregions = ["{OTHER_REGION}"]\nformat = "DYNAMODB_JSON"\n'
        + f'[[tables]]\nname = "arn:aws:dynamodb:{REGION}:{ALPHA}:table/audit"\n'
    )
    targets = account_targets(parse_config_text(text, source="x"), None)
    assert [(t.account, t.region) for t in targets] == [
        (ALPHA, REGION),
        (BETA, REGION),
        (BETA, OTHER_REGION),
    ]
    alpha, beta_eu, beta_us = (t.config for t in targets)
    assert [s.describe() for s in alpha.tables] == [
        "name 'orders'",
        f"name 'arn:aws:dynamodb:{REGION}:{ALPHA}:table/audit'",
    ]
    assert [s.describe() for s in beta_eu.tables] == ["name 'orders'"]
    assert [s.describe() for s in beta_us.tables] == ["name 'orders'", "match 'pay-*'"]
    assert (alpha.defaults.bucket, alpha.defaults.format) == ("central-exports", "DYNAMODB_JSON")
    assert (beta_us.defaults.bucket, beta_us.defaults.format) == ("beta-exports", "ION")
    assert beta_us.tables[1].format == "DYNAMODB_JSON"
    assert all(not t.config.accounts for t in targets)


def test_a_single_account_report_and_plan_have_no_account_keys() -> None:
    """Without [[accounts]] the JSON of plans and reports is as it always was."""
    row = ddbexport.TableResult("orders", "arn:t", "COMPLETED", datetime.now(UTC), "token")
    assert "account" not in row.to_dict()
    assert "region" not in row.to_dict()
    tagged = replace(row, account=ALPHA, region=REGION)
    assert (tagged.to_dict()["account"], tagged.to_dict()["region"]) == (ALPHA, REGION)


def test_role_credentials_are_assumed_again_before_they_expire(moto_aws: None) -> None:
    """The role's session is refreshed through AssumeRole once it nears its expiry."""
    base = AwsApi(AwsSettings(REGION))
    role = f"arn:aws:iam::{ALPHA}:role/ddbexport"
    calls: list[str] = []
    original = base.assume_role

    def counting(role_arn: str, **kwargs: Any) -> dict[str, Any]:
        calls.append(role_arn)
        return original(role_arn, **kwargs)

    base.assume_role = counting  # type: ignore[method-assign]
    api = account_api(AwsSettings(REGION), account=ALPHA, role_arn=role, base=base)
    assert api.caller_account() == ALPHA
    credentials = api._boto_session().get_credentials()
    first = credentials.get_frozen_credentials().access_key
    assert calls == [role]
    credentials._expiry_time = datetime.now(UTC) + timedelta(minutes=5)  # nearly expired
    second = credentials.get_frozen_credentials().access_key
    assert calls == [role, role]
    assert second != first
    assert api.caller_account() == ALPHA


def test_iam_policy_of_one_accounts_role(tmp_path: Path) -> None:
    """With [[accounts]], iam-policy prints the policy of the account and region asked for."""
    config = str(_stackset_config(tmp_path))
    refused = CliRunner().invoke(cli, ["iam-policy", "-c", config])
    assert refused.exit_code == 2
    assert "pass --account ID" in refused.output
    result = CliRunner().invoke(
        cli, ["iam-policy", "-c", config, "--account", BETA, "--region", OTHER_REGION]
    )
    assert result.exit_code == 0, result.output
    statements = json.loads(result.output)["Statement"]
    export = next(s for s in statements if "dynamodb:ExportTableToPointInTime" in s["Action"])
    assert export["Resource"] == [
        f"arn:aws:dynamodb:{OTHER_REGION}:{BETA}:table/orders",
        f"arn:aws:dynamodb:{OTHER_REGION}:{BETA}:table/payments",
    ]
    assert "beta-exports" in result.output
    assert "central-exports" not in result.output
    unknown = CliRunner().invoke(cli, ["iam-policy", "-c", config, "--account", "333333333333"])
    assert unknown.exit_code == 2
    assert "not an account of [[accounts]]" in unknown.output


@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_interrupts_every_account_and_a_rerun_resumes(tmp_path: Path) -> None:
    """Ctrl-C reaches the main thread alone; every account's runner stops as one run does (its
    exports INTERRUPTED, exit 130), and running the run id again resumes them to COMPLETED."""
    clock = SimClock()
    # Exports of ten hours: the runners wait in 1-second slices, each a real millisecond, so
    # none can finish before Ctrl-C has stopped them.
    table = FakeTable("orders", export_duration_s=36_000)
    apis = {
        account: FakeExportApi(clock, [table], account=account, region=REGION)
        for account in (ALPHA, BETA)
    }
    config = _config(
        [{"id": account, "role_arn": f"arn:aws:iam::{account}:role/x"} for account in apis],
        [{"name": "orders"}],
        defaults={"bucket": "exports"},
        run={"poll_first": "1m", "poll_min": "1m", "poll_max": "1m"},
    )
    interrupted = threading.Event()
    resuming = threading.Event()

    def sleep(seconds: float) -> None:
        in_flight = sum(len(api.exports) for api in apis.values())
        if in_flight == 2 and not interrupted.is_set():
            interrupted.set()
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the main thread gets it
        if not resuming.is_set():
            time.sleep(0.001)
        clock.sleep(seconds)

    timing: dict[str, Any] = {
        "clock": clock.monotonic,
        "sleep": sleep,
        "now": clock.now,
        "state_dir": tmp_path,
        "connect": lambda target: apis[target.account],
    }
    report = ddbexport.run(config, **timing)
    assert report.interrupted
    assert report.exit_code == 130
    assert {(r.account, r.status) for r in report.tables} == {
        (ALPHA, "INTERRUPTED"),
        (BETA, "INTERRUPTED"),
    }
    resuming.set()
    again = ddbexport.run(config, run_id=report.run_id, **timing)
    assert {(r.account, r.status) for r in again.tables} == {
        (ALPHA, "COMPLETED"),
        (BETA, "COMPLETED"),
    }
    assert sum(len(api.started) for api in apis.values()) == 2  # resumed, not started again
