"""The pipeline role's policy and the synth-time limits: pure, no AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ddbexport.config.model import Config, effective_destination, validate_config
from ddbexport.errors import ConfigError
from ddbexport.pipeline.policy import ROLE_POLICY_LIMIT, local_policy, policy_size, role_policy
from ddbexport.pipeline.statemachine import MAX_WAITS, wait_schedule
from ddbexport.pipeline.synth import synth
from ddbexport.pipeline.tablelist import TableSetting

BUCKET = "exports-bucket"
IN_ACCOUNT = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:"


def _config(
    tables: list[dict[str, Any]], *, run: dict[str, Any] | None = None, **extra: Any
) -> Config:
    data: dict[str, Any] = {
        "region": "eu-west-1",
        "defaults": {"bucket": BUCKET, "prefix": "dynamodb/{table}/{date}"},
        "tables": tables,
        **extra,
    }
    if run is not None:
        data["run"] = run
    return validate_config(data, source="test")


def _statements(config: Config) -> dict[str, dict[str, Any]]:
    role = synth(config).template["Resources"]["StateMachineRole"]["Properties"]
    return {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}


def test_a_few_tables_are_granted_one_by_one() -> None:
    statements = _statements(_config([{"name": f"tbl{i}"} for i in range(5)]))
    assert [r["Fn::Sub"] for r in statements["Export"]["Resource"]] == [
        f"{IN_ACCOUNT}table/tbl{i}" for i in range(5)
    ]
    written = [r["Fn::Sub"] for r in statements["WriteExportsAndRecords"]["Resource"]]
    assert f"arn:${{AWS::Partition}}:s3:::{BUCKET}/dynamodb/tbl3/*" in written


def test_many_tables_widen_the_grants_to_stay_under_iams_limit() -> None:
    """300 named tables: per-table grants would pass 10,240 characters, so the role may export
    any table of its account and write under the prefix every export shares; still nothing
    outside the bucket's shared prefix and the run records."""
    config = _config([{"name": f"orders-archive-{i:04d}"} for i in range(300)])
    synthesis = synth(config)
    role = synthesis.template["Resources"]["StateMachineRole"]["Properties"]
    policy = role["Policies"][0]["PolicyDocument"]
    assert policy_size(policy) <= ROLE_POLICY_LIMIT
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["Export"]["Resource"] == [{"Fn::Sub": f"{IN_ACCOUNT}table/*"}]
    assert [r["Fn::Sub"] for r in statements["WriteExportsAndRecords"]["Resource"]] == [
        f"arn:${{AWS::Partition}}:s3:::{BUCKET}/dynamodb/orders-archive-0*",
        f"arn:${{AWS::Partition}}:s3:::{BUCKET}/ddbexport-catalog/runs/*",
        f"arn:${{AWS::Partition}}:s3:::{BUCKET}/ddbexport-catalog/exports/*",
    ]


def test_a_policy_that_cannot_fit_is_refused_with_the_numbers() -> None:
    """Hundreds of buckets cannot be collapsed: synth says so instead of a failed deploy."""
    tables = [{"name": f"tbl{i}", "bucket": f"bucket-number-{i:04d}-exports"} for i in range(400)]
    with pytest.raises(ConfigError, match=r"policy would be [\d,]+ characters \(IAM allows"):
        synth(_config(tables))


def test_dynamic_selectors_are_measured_too() -> None:
    """``match`` starts from the widened policy; hundreds of buckets still cannot fit, and both
    the role and the local policy say so rather than hand IAM a document it rejects."""
    config = _config(
        [{"match": "orders-*"}]
        + [{"name": f"tbl{i}", "bucket": f"bucket-number-{i:04d}-exports"} for i in range(400)]
    )
    settings = [
        TableSetting(f"tbl{i}", None, effective_destination(config.defaults, selector))
        for i, selector in enumerate(config.tables[1:])
    ]
    with pytest.raises(ConfigError, match=r"role's policy would be [\d,]+ characters"):
        role_policy(config, settings, topic=False)
    with pytest.raises(ConfigError, match=r"local runner's policy would be [\d,]+ characters"):
        local_policy(config, settings)
    few = settings[:3]
    assert policy_size(role_policy(config, few, topic=False)) <= ROLE_POLICY_LIMIT


def test_tables_named_by_arn_are_granted_by_their_arn() -> None:
    arn = "arn:aws:dynamodb:eu-west-1:210987654321:table/ledger"
    statements = _statements(_config([{"name": arn}, {"name": "orders"}]))
    assert statements["Export"]["Resource"] == [arn, {"Fn::Sub": f"{IN_ACCOUNT}table/orders"}]
    assert f"{arn}/export/*" in statements["TrackExports"]["Resource"]


def test_kms_keys_are_granted_as_keys_and_aliases_through_their_alias() -> None:
    """IAM matches a key's ARN, never its alias: aliases go through kms:ResourceAliases."""
    key_arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    alias_arn = "arn:aws:kms:eu-west-1:444455556666:alias/shared-exports"
    tables = [
        {"name": "aaa", "sse": "KMS", "kms_key": key_arn},
        {"name": "bbb", "sse": "KMS", "kms_key": "alias/exports"},
        {"name": "ccc", "sse": "KMS", "kms_key": alias_arn},
        {"name": "ddd", "sse": "KMS", "kms_key": "mrk-0123456789abcdef0123456789abcdef"},
    ]
    statements = _statements(_config(tables))
    direct = statements["EncryptExports"]["Resource"]
    assert key_arn in direct
    assert {
        "Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/"
        "mrk-0123456789abcdef0123456789abcdef"
    } in direct
    aliased = statements["EncryptExportsByAlias"]
    assert "arn:aws:kms:eu-west-1:444455556666:key/*" in aliased["Resource"]
    assert aliased["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"] == [
        "alias/exports",
        "alias/shared-exports",
    ]
    assert not any("alias/" in json.dumps(r) for r in direct)


def test_run_records_use_the_key_of_the_records_bucket_tables() -> None:
    """Several keys: the records go with the key of a table exported into the records bucket
    (a bucket policy requiring that key accepts them), not unencrypted-by-KMS."""
    tables = [
        {"name": "aaa", "bucket": "other-bucket", "sse": "KMS", "kms_key": "alias/other"},
        {"name": "bbb", "sse": "KMS", "kms_key": "alias/records"},
    ]
    definition = synth(_config(tables)).definition
    put = definition["States"]["Write run record"]["Arguments"]
    assert put["ServerSideEncryption"] == "aws:kms"
    assert put["SSEKMSKeyId"] == "alias/records"


def test_an_existing_topic_with_its_own_key_is_granted_that_key() -> None:
    topic = "arn:aws:sns:eu-west-1:123456789012:alerts"
    statements = _statements(
        _config(
            [{"name": "aaa"}],
            pipeline={"notify_topic_arn": topic, "notify_kms_key": "alias/alerts"},
        )
    )
    assert statements["Notify"]["Resource"] == topic
    assert statements["EncryptNotificationsByAlias"]["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/alerts"]}
    }
    with pytest.raises(ConfigError, match="notify_kms_key is the key of an existing topic"):
        _config([{"name": "aaa"}], pipeline={"notify_kms_key": "alias/alerts"})


def test_stack_names_stop_at_80_characters() -> None:
    """The state machine takes the stack's name, and state machine names stop at 80."""
    _config([{"name": "aaa"}], pipeline={"stack_name": "s" * 80})
    with pytest.raises(ConfigError, match="stack_name"):
        _config([{"name": "aaa"}], pipeline={"stack_name": "s" * 81})


def test_fixed_polling_is_kept_and_bounded_by_the_history() -> None:
    """poll = fixed:N polls every N seconds in the pipeline too; a schedule that would pass a
    child execution's history is refused with the interval that would fit."""
    config = _config([{"name": "aaa"}], run={"poll": "fixed:60s", "timeout": "2h"})
    assert wait_schedule(config.run) == (60,) * 120
    too_many = _config([{"name": "aaa"}], run={"poll": "fixed:15s", "timeout": "24h"})
    with pytest.raises(ConfigError, match=r"needs 5,760 polls .* Poll every 43s or more"):
        wait_schedule(too_many.run)
    assert len(wait_schedule(_config([{"name": "aaa"}]).run)) < MAX_WAITS


def test_adaptive_waits_add_up_to_the_timeout() -> None:
    config = _config([{"name": "aaa"}], run={"timeout": "3h"})
    waits = wait_schedule(config.run)
    assert waits[0] == 240
    assert sum(waits) >= 3 * 3600
    assert sum(waits[:-1]) < 3 * 3600
    assert max(waits) == 600


def test_long_names_are_no_longer_refused() -> None:
    """The results go to S3 and the list is read from S3: 800 tables with 206-character names
    (once refused: their results passed the state's 256 KiB) synthesize."""
    tables = [{"name": f"{'x' * 200}-{i:05d}"} for i in range(800)]
    synthesis = synth(_config(tables))
    assert synthesis.table_list_object is not None
    assert len(json.loads(synthesis.table_list.object_body)) == 800


def test_two_thousand_ordinary_tables_fit_one_execution() -> None:
    synthesis = synth(_config([{"name": f"service-orders-{i:05d}"} for i in range(2_000)]))
    assert len(json.loads(synthesis.table_list.value)["tables"]) == 2_000


def test_retries_name_errors_as_step_functions_reports_them() -> None:
    """Step Functions reports SDK errors as <Service>.<Name>Exception; the export's DescribeExport
    also waits out LimitExceeded, and InvalidExportTime retries no sooner than a minute."""
    definition = synth(_config([{"name": "aaa"}], pipeline={"limit_retry": "5s"})).definition
    text = json.dumps(definition)
    names = {
        name
        for state in _all_states(definition)
        for retry in state.get("Retry", [])
        for name in retry["ErrorEquals"]
    }
    assert all(n.endswith("Exception") or n.startswith("States.") for n in names), names
    assert "DynamoDb.RequestLimitExceededException" in names
    assert 'RequestLimitExceeded"' not in text
    states = definition["States"]["Export every table"]["ItemProcessor"]["States"]
    describe = {n for r in states["Describe export"]["Retry"] for n in r["ErrorEquals"]}
    assert "DynamoDb.LimitExceededException" in describe
    invalid_time = next(
        r
        for r in states["Export"]["Retry"]
        if "DynamoDb.InvalidExportTimeException" in r["ErrorEquals"]
    )
    assert invalid_time["IntervalSeconds"] >= 60


def _all_states(definition: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for state in definition["States"].values():
        found.append(state)
        if "ItemProcessor" in state:
            found += _all_states(state["ItemProcessor"])
    return found


def test_with_the_catalog_off_the_pipeline_writes_no_catalog_records() -> None:
    config = _config([{"name": "aaa"}], catalog={"enabled": False})
    synthesis = synth(config)
    states = synthesis.definition["States"]["Export every table"]["ItemProcessor"]["States"]
    assert "Catalogue?" not in states
    role = synthesis.template["Resources"]["StateMachineRole"]["Properties"]
    assert "/exports/" not in json.dumps(role["Policies"])
