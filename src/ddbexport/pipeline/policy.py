"""The least-privilege policy of the pipeline's state machine role, for exactly one config. Pure.

IAM caps a role's inline policies at 10,240 characters (whitespace not counted). A policy
naming every table and prefix passes that at around a hundred tables, so past the cap the
grants widen one step, and only as far as needed: exports on ``table/*`` of the stack's account
(and of each other account/region the config names by ARN), S3 writes under the prefix all of
a bucket's exports share. Beyond that the config is refused with the numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ddbexport.config.model import Config
from ddbexport.errors import ConfigError

from .names import (
    catalog_exports_prefix,
    parameter_name,
    records_bucket,
    records_prefix,
    table_list_keys,
)
from .tablelist import TableSetting, prefix_template

#: IAM's limit on a role's inline policies, in characters without whitespace.
ROLE_POLICY_LIMIT = 10_240
_IN_ACCOUNT = "arn:${AWS::Partition}:{service}:${AWS::Region}:${AWS::AccountId}:"
#: The longest values CloudFormation can substitute, to measure a policy before deploying it.
_WORST_CASE = {
    "${AWS::Partition}": "aws-us-gov",
    "${AWS::Region}": "ap-southeast-5x",
    "${AWS::AccountId}": "123456789012",
    "${AWS::StackName}": "x" * 80,
}
_WORST_TOPIC_ARN = "arn:aws-us-gov:sns:ap-southeast-5x:123456789012:" + "x" * 100


def in_account(service: str, resource: str) -> dict[str, str]:
    """An ARN in the stack's own partition, region and account (an ``Fn::Sub``)."""
    return {"Fn::Sub": _IN_ACCOUNT.replace("{service}", service) + resource}


def _arn_parts(arn: str) -> tuple[str, str, str, str]:
    """(partition, region, account, resource) of an ARN."""
    _, partition, _, region, account, resource = arn.split(":", 5)
    return partition, region, account, resource


def _table_grants(tables: Sequence[TableSetting], *, every_table: bool) -> list[Any]:
    """ARNs of the tables the role may export, and of their exports (``…/export/*``)."""
    grants: list[Any] = []
    if every_table:
        grants.append(in_account("dynamodb", "table/*"))
    foreign = [t.table_arn for t in tables if t.table_arn]
    if every_table:
        # Tables named by ARN may live in other accounts or regions: one grant per place.
        places = sorted({":".join(_arn_parts(arn)[:3]) for arn in foreign})
        for place in places:
            partition, region, account = place.split(":")
            grants.append(f"arn:{partition}:dynamodb:{region}:{account}:table/*")
        return grants
    for table in tables:
        grant: Any = table.table_arn or in_account("dynamodb", f"table/{table.table}")
        if grant not in grants:
            grants.append(grant)
    return grants


def _export_grants(table_grants: list[Any]) -> list[Any]:
    """DescribeExport on the exports of the granted tables (literal ARNs: other places)."""
    grants: list[Any] = [in_account("dynamodb", "table/*/export/*")]
    grants += [grant + "/export/*" for grant in table_grants if isinstance(grant, str)]
    return _unique(grants)


def _fixed_part(template: str, table: str) -> str:
    """The start of a table's prefix no run can change (up to its first other placeholder)."""
    return template.replace("{table}", table).split("{", 1)[0].lstrip("/")


def _object_grants(tables: Sequence[TableSetting], *, per_bucket: bool) -> list[Any]:
    """Where the exports may be written: each table's own prefix, or, per bucket, the prefix
    every export into it shares."""
    by_bucket: dict[str, list[str]] = {}
    for table in tables:
        destination = table.destination
        assert destination.bucket is not None
        fixed = _fixed_part(prefix_template(destination), table.table)
        by_bucket.setdefault(destination.bucket, []).append(fixed)
    grants: list[Any] = []
    for bucket, prefixes in by_bucket.items():
        shared = [_shared_start(prefixes)] if per_bucket else prefixes
        for prefix in dict.fromkeys(shared):
            grants.append({"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/{prefix}*"})
    return grants


def _shared_start(texts: list[str]) -> str:
    """The longest start all ``texts`` share, character by character (S3 keys are strings,
    not paths: ``dynamodb/o`` covers ``dynamodb/orders`` and ``dynamodb/old``)."""
    first, last = min(texts), max(texts)
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]


def kms_statements(sid: str, keys: Iterable[str], actions: list[str]) -> list[dict[str, Any]]:
    """Grants on KMS keys as the config names them.

    A key id or key ARN is granted directly. An alias is not a key: IAM matches the key's ARN,
    so an alias is granted as "any key of that account and region carrying this alias"
    (``kms:ResourceAliases``).
    """
    direct: list[Any] = []
    aliased: list[Any] = []
    aliases: list[str] = []
    for key in sorted(set(keys)):
        if key.startswith("arn:"):
            partition, region, account, resource = _arn_parts(key)
            if resource.startswith("alias/"):
                aliases.append(resource)
                aliased.append(f"arn:{partition}:kms:{region}:{account}:key/*")
            else:
                direct.append(key)
        elif key.startswith("alias/"):
            aliases.append(key)
            aliased.append(in_account("kms", "key/*"))
        else:
            direct.append(in_account("kms", f"key/{key}"))
    statements: list[dict[str, Any]] = []
    if direct:
        statements.append({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": direct})
    if aliases:
        statements.append(
            {
                "Sid": sid + "ByAlias",
                "Effect": "Allow",
                "Action": actions,
                "Resource": _unique(aliased),
                "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases}},
            }
        )
    return statements


def _unique(items: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for item in items:
        seen.setdefault(json.dumps(item, sort_keys=True), item)
    return list(seen.values())


def role_policy(
    config: Config,
    tables: Sequence[TableSetting],
    *,
    topic: bool,
    list_in_s3: bool = False,
) -> dict[str, Any]:
    """The policy of the state machine's role, for exactly this config and its tables.

    Exports only on the configured tables (``table/*`` when selectors are dynamic: ``match`` or
    ``tags`` pick tables at synth time, and tables created later should not fail for want of a
    grant); DescribeExport on their exports; S3 writes only under each destination's prefix
    (the part before its first placeholder) and the run records; KMS only on the configured
    keys; the table list, the topic and the child executions by name; log delivery.

    Raises:
        ConfigError: even the widened policy passes IAM's 10,240-character limit.
    """
    return _within_limit(
        lambda wide: _policy(config, tables, topic, list_in_s3, wide=wide),
        dynamic=any(selector.name is None for selector in config.tables),
        what="the pipeline role's policy",
        advice="too many buckets, accounts or KMS keys for one stack. Split the tables over "
        "several configs, each with its own pipeline.stack_name",
    )


def _policy(
    config: Config, tables: Sequence[TableSetting], topic: bool, list_in_s3: bool, *, wide: bool
) -> dict[str, Any]:
    table_grants = _table_grants(tables, every_table=wide)
    bucket = records_bucket(config, tables)
    object_grants = _object_grants(tables, per_bucket=wide)
    object_grants.append(
        {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/{records_prefix(config)}/*"}
    )
    catalog = catalog_exports_prefix(config)
    if catalog is not None:
        for export_bucket in dict.fromkeys(t.destination.bucket for t in tables):
            object_grants.append(
                {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{export_bucket}/{catalog}/*"}
            )
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Export",
            "Effect": "Allow",
            "Action": ["dynamodb:ExportTableToPointInTime"],
            "Resource": table_grants,
        },
        {
            "Sid": "TrackExports",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeExport"],
            "Resource": _export_grants(table_grants),
        },
        {
            "Sid": "WriteExportsAndRecords",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"],
            "Resource": _unique(object_grants),
        },
        _read_table_list(config, bucket, list_in_s3),
        {
            "Sid": "RunChildExecutions",
            "Effect": "Allow",
            "Action": ["states:StartExecution", "states:DescribeExecution", "states:StopExecution"],
            "Resource": [
                in_account("states", "stateMachine:${AWS::StackName}"),
                in_account("states", "execution:${AWS::StackName}/*"),
            ],
        },
        {
            # The parent counts the Map Run's outcomes after it.
            "Sid": "CountChildExecutions",
            "Effect": "Allow",
            "Action": ["states:DescribeMapRun"],
            "Resource": in_account("states", "mapRun:${AWS::StackName}/*"),
        },
        {
            # The Map reads its items from the run's table list and writes its results beside
            # the run records (ResultWriter also reads back and lists its multipart uploads).
            "Sid": "ReadRunRecords",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListMultipartUploadParts"],
            "Resource": {
                "Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/{records_prefix(config)}/*"
            },
        },
        {
            # Log delivery is configured per account; these actions take no resource ARNs.
            "Sid": "Logging",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            "Resource": "*",
        },
    ]
    statements += _chain_statements(config, tables, wide=wide)
    keys = [t.destination.kms_key for t in tables if t.destination.kms_key]
    statements += kms_statements("EncryptExports", keys, ["kms:GenerateDataKey", "kms:Decrypt"])
    if topic:
        pipeline = config.pipeline
        statements.append(
            {
                "Sid": "Notify",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": pipeline.notify_topic_arn or {"Ref": "Topic"},
            }
        )
        if pipeline.notify_kms_key:
            # Publishing to a topic encrypted with a customer managed key uses that key.
            statements += kms_statements(
                "EncryptNotifications",
                [pipeline.notify_kms_key],
                ["kms:GenerateDataKey*", "kms:Decrypt"],
            )
    return {"Version": "2012-10-17", "Statement": statements}


def _chain_statements(
    config: Config, tables: Sequence[TableSetting], *, wide: bool
) -> list[dict[str, Any]]:
    """Incremental tables: their PITR windows, and their chain objects read and written
    (``s3:ListBucket`` on the chain folder only: without it S3 answers a chain object that does
    not exist yet with AccessDenied instead of NoSuchKey)."""
    incremental = [t for t in tables if t.destination.mode == "incremental"]
    if not incremental or not config.catalog.enabled:
        return []
    folder = f"{config.catalog.prefix}/chains"
    buckets = list(dict.fromkeys(str(t.destination.bucket) for t in incremental))
    return [
        {
            "Sid": "ReadPitrWindows",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeContinuousBackups"],
            "Resource": _table_grants(incremental, every_table=wide),
        },
        {
            # IAM has no resource type for ListExports (its TableArn is only a filter).
            "Sid": "ListRunningExports",
            "Effect": "Allow",
            "Action": ["dynamodb:ListExports"],
            "Resource": "*",
        },
        {
            "Sid": "ReadAndWriteChains",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [
                {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/{folder}/*"}
                for bucket in buckets
            ],
        },
        {
            "Sid": "ListChains",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [{"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{b}"} for b in buckets],
            "Condition": {"StringLike": {"s3:prefix": [f"{folder}/*"]}},
        },
    ]


def _read_table_list(config: Config, bucket: str, in_s3: bool) -> dict[str, Any]:
    if in_s3:
        resource: Any = {
            "Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/{table_list_keys(config)}"
        }
        action = "s3:GetObject"
    else:
        resource = in_account("ssm", "parameter" + parameter_name(config))
        action = "ssm:GetParameter"
    return {"Sid": "ReadTableList", "Effect": "Allow", "Action": [action], "Resource": resource}


def policy_size(policy: dict[str, Any]) -> int:
    """The policy's length as IAM counts it (no whitespace), with the longest values
    CloudFormation could substitute."""

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::Sub"}:
                text = node["Fn::Sub"]
                for name, value in _WORST_CASE.items():
                    text = text.replace(name, value)
                return text
            if set(node) == {"Ref"}:
                return _WORST_TOPIC_ARN
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return len(re.sub(r"\s", "", json.dumps(resolve(policy), separators=(",", ":"))))


def local_policy(
    config: Config, tables: Sequence[TableSetting], *, enable_pitr: bool = False
) -> dict[str, Any]:
    """What ``ddbexport run`` needs for exactly this config: the pipeline role's grants on
    tables, exports, prefixes and keys (the same builders), plus the reads a local run makes —
    table descriptions for the plan and the schema sidecar, the catalog, verification.

    Raises:
        ConfigError: even the widened policy passes IAM's 10,240-character limit.
    """
    return _within_limit(
        lambda wide: _local(config, tables, enable_pitr, wide=wide),
        dynamic=any(selector.name is None for selector in config.tables),
        what="the local runner's policy",
        advice="attach it as managed policies (6,144 characters each) split by bucket, or "
        "split the config",
    )


def _within_limit(
    build: Callable[[bool], dict[str, Any]], *, dynamic: bool, what: str, advice: str
) -> dict[str, Any]:
    """The narrow policy when it fits IAM's limit, else the widened one (``table/*``, one prefix
    per bucket) — always measured, since dynamic selectors start wide and can still pass it."""
    if not dynamic:
        narrow = build(False)
        if policy_size(narrow) <= ROLE_POLICY_LIMIT:
            return narrow
    wide = build(True)
    size = policy_size(wide)
    if size > ROLE_POLICY_LIMIT:
        raise ConfigError(
            f"{what} would be {size:,} characters (IAM allows {ROLE_POLICY_LIMIT:,} inline) "
            f"even with table/* and one prefix per bucket: {advice}"
        )
    return wide


def _local(
    config: Config, tables: Sequence[TableSetting], enable_pitr: bool, *, wide: bool
) -> dict[str, Any]:
    table_grants = _table_grants(tables, every_table=wide)
    object_grants = _object_grants(tables, per_bucket=wide)
    buckets = list(dict.fromkeys(t.destination.bucket for t in tables))
    catalog = catalog_exports_prefix(config)
    catalog_grants = [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/{catalog}/*"} for bucket in buckets
    ]
    # Incremental tables: their chain objects, rewritten after each of their exports.
    catalog_grants += [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/{config.catalog.prefix}/chains/*"}
        for bucket in dict.fromkeys(
            t.destination.bucket for t in tables if t.destination.mode == "incremental"
        )
    ]
    table_actions = [
        "dynamodb:DescribeTable",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:ExportTableToPointInTime",
    ]
    if config.catalog.enabled:
        # The schema sidecar records the table's TTL and tags next to its description.
        table_actions += ["dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource"]
    elif any(selector.tags for selector in config.tables):
        table_actions.append("dynamodb:ListTagsOfResource")
    if enable_pitr:
        table_actions.append("dynamodb:UpdateContinuousBackups")
    statements: list[dict[str, Any]] = []
    if wide and any(selector.name is None for selector in config.tables):
        statements.append(
            {
                # match/tags selectors list the region's tables; ListTables takes no resource.
                "Sid": "ListTables",
                "Effect": "Allow",
                "Action": ["dynamodb:ListTables"],
                "Resource": "*",
            }
        )
    statements += [
        {
            "Sid": "ReadAndExport",
            "Effect": "Allow",
            "Action": table_actions,
            "Resource": table_grants,
        },
        {
            "Sid": "TrackExports",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeExport"],
            "Resource": _export_grants(table_grants),
        },
        {
            # Optional: previous export durations tune polling. IAM's reference lists no
            # resource type for ListExports (its TableArn is only a filter).
            "Sid": "LearnExportDurations",
            "Effect": "Allow",
            "Action": ["dynamodb:ListExports"],
            "Resource": "*",
        },
        {
            "Sid": "WriteExports",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"],
            "Resource": _unique(object_grants + (catalog_grants if catalog else [])),
        },
    ]
    if config.run.verify or catalog:
        statements.append(
            {
                "Sid": "VerifyAndCatalog",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": _unique(object_grants + (catalog_grants if catalog else [])),
            }
        )
    statements.append(
        {
            # HeadBucket (the preflight check) and listing the catalog need ListBucket.
            "Sid": "CheckBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [{"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{b}"} for b in buckets],
        }
    )
    keys = [t.destination.kms_key for t in tables if t.destination.kms_key]
    statements += kms_statements(
        "EncryptExports", keys, ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"]
    )
    return {"Version": "2012-10-17", "Statement": statements}


def partition_of(region: str) -> str:
    """The ARN partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    return "aws"


def resolve_policy(
    policy: dict[str, Any], *, region: str, account: str, stack_name: str
) -> dict[str, Any]:
    """The policy as IAM will hold it: ``Fn::Sub`` filled in for this account and region, and
    the stack's created topic (named by CloudFormation) matched by its name's start."""
    values = {
        "${AWS::Partition}": partition_of(region),
        "${AWS::Region}": region,
        "${AWS::AccountId}": account,
        "${AWS::StackName}": stack_name,
    }

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::Sub"}:
                text = node["Fn::Sub"]
                for name, value in values.items():
                    text = text.replace(name, value)
                return text
            if node == {"Ref": "Topic"}:
                return f"arn:{partition_of(region)}:sns:{region}:{account}:{stack_name}-Topic-*"
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(policy)
    return resolved
