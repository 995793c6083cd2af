"""The CloudFormation template of the pipeline, and the state machine role's policy. Pure.

Resources: the table list (SSM), the state machine and its role, a log group, the schedule
(EventBridge Scheduler by default, or an EventBridge rule whose input transformer sends the
seed's ``{"time": …}``), and, with ``notify_email``, an SNS topic with that subscription.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ddbexport.config import Config

from .statemachine import RECORDS_PREFIX, DefinitionSettings, build_definition, wait_schedule
from .tablelist import CompiledList, TableSetting, compile_table_list

STATE_MACHINE = "StateMachine"
_ACCOUNT = "arn:${AWS::Partition}:{service}:${AWS::Region}:${AWS::AccountId}:"
TOPIC_ARN = "${TopicArn}"


@dataclass(frozen=True, slots=True)
class Synthesis:
    """What ``ddbexport synth`` writes."""

    template: dict[str, Any]
    definition: dict[str, Any]
    table_list: CompiledList
    parameter_name: str
    #: The table list's S3 key in the records bucket when SSM cannot hold it (deploy uploads it).
    table_list_object: str | None = None
    records_bucket: str = ""


def table_list_key(config: Config) -> str:
    """Where a table list too big for SSM is kept, in the records bucket."""
    return f"ddbexport-catalog/pipelines/{config.pipeline.stack_name}/tables.json"


def parameter_name(config: Config) -> str:
    """The SSM parameter holding the stack's table list."""
    return f"/ddbexport/{config.pipeline.stack_name}/tables"


def records_bucket(config: Config, tables: Sequence[TableSetting]) -> str:
    """Where run records go: the default bucket, else the first table's."""
    bucket = config.defaults.bucket or tables[0].destination.bucket
    assert bucket is not None  # config validation guarantees every table a bucket
    return bucket


def _in_account(service: str, resource: str) -> str:
    """An ARN in the stack's own partition, region and account, for Fn::Sub."""
    return _ACCOUNT.replace("{service}", service) + resource


def _table_arns(tables: Sequence[TableSetting], dynamic: bool) -> list[Any]:
    if dynamic:
        return [
            {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"}
        ]
    return [
        {
            "Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"
            + table.table
        }
        for table in tables
    ]


def role_policy(
    config: Config,
    tables: Sequence[TableSetting],
    *,
    topic: bool,
    list_in_s3: bool = False,
) -> dict[str, Any]:
    """The least-privilege policy of the state machine's role, for exactly this config.

    Exports only on the configured tables (``table/*`` when selectors are dynamic: ``match`` or
    ``tags`` pick tables at synth time, and tables created later should not fail for want of a
    grant); DescribeExport on their exports; S3 writes only under each destination's prefix
    (the part before its first placeholder) and the run records; KMS only on the configured keys.
    """
    dynamic = any(selector.name is None for selector in config.tables)
    table_arns = _table_arns(tables, dynamic)
    export_arns = [{"Fn::Sub": _in_account("dynamodb", "table/*/export/*")}]
    object_arns: list[Any] = []
    for table in tables:
        destination = table.destination
        prefix = (destination.prefix or "{table}/{date}").replace("{table}", table.table)
        fixed = prefix.split("{", 1)[0]
        arn = {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{destination.bucket}/{fixed}*"}
        if arn not in object_arns:
            object_arns.append(arn)
    bucket = records_bucket(config, tables)
    object_arns.append({"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/{RECORDS_PREFIX}/*"})
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Export",
            "Effect": "Allow",
            "Action": ["dynamodb:ExportTableToPointInTime"],
            "Resource": table_arns,
        },
        {
            "Sid": "TrackExports",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeExport"],
            "Resource": export_arns,
        },
        {
            "Sid": "WriteExportsAndRecords",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"],
            "Resource": object_arns,
        },
        _read_table_list(config, bucket, list_in_s3),
        {
            "Sid": "RunChildExecutions",
            "Effect": "Allow",
            "Action": ["states:StartExecution", "states:DescribeExecution", "states:StopExecution"],
            "Resource": [
                {"Fn::Sub": _in_account("states", "stateMachine:${AWS::StackName}")},
                {"Fn::Sub": _in_account("states", "execution:${AWS::StackName}/*")},
            ],
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
    keys = sorted({t.destination.kms_key for t in tables if t.destination.kms_key})
    if keys:
        statements.append(
            {
                "Sid": "EncryptExports",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": [_key_arn(key) for key in keys],
            }
        )
    if topic:
        existing = config.pipeline.notify_topic_arn
        statements.append(
            {
                "Sid": "Notify",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": existing or {"Ref": "Topic"},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _read_table_list(config: Config, bucket: str, in_s3: bool) -> dict[str, Any]:
    if in_s3:
        resource: Any = {
            "Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/{table_list_key(config)}"
        }
        action = "s3:GetObject"
    else:
        resource = {
            "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
            + parameter_name(config)
        }
        action = "ssm:GetParameter"
    return {"Sid": "ReadTableList", "Effect": "Allow", "Action": [action], "Resource": resource}


def _key_arn(key: str) -> Any:
    if key.startswith("arn:"):
        return key
    if key.startswith("alias/"):
        return {"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:" + key}
    return {"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/" + key}


def synthesize(config: Config, tables: Sequence[TableSetting]) -> Synthesis:
    """The template, the definition and the table list for ``config`` and its resolved tables."""
    table_list = compile_table_list(tables)
    pipeline = config.pipeline
    topic = pipeline.notify_email is not None or pipeline.notify_topic_arn is not None
    topic_ref: Any = pipeline.notify_topic_arn or {"Ref": "Topic"}
    keys = {t.destination.kms_key for t in tables if t.destination.kms_key}
    definition = build_definition(
        DefinitionSettings(
            table_list_parameter=parameter_name(config),
            records_bucket=records_bucket(config, tables),
            max_concurrency=config.run.max_concurrency,
            waits=wait_schedule(config.run),
            templates=table_list.templates,
            kms_key=next(iter(keys)) if len(keys) == 1 else None,
            topic_arn=TOPIC_ARN if topic else None,
            limit_retry_s=int(pipeline.limit_retry_s),
            table_list_object=None if table_list.in_ssm else table_list_key(config),
        )
    )
    resources: dict[str, Any] = {}
    if table_list.in_ssm:
        resources["TableList"] = {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": parameter_name(config),
                "Type": "String",
                "Tier": table_list.tier,
                "Value": table_list.value,
                "Description": "ddbexport: the tables this pipeline exports",
            },
        }
    resources |= {
        "LogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": "/aws/vendedlogs/states/${AWS::StackName}"},
                "RetentionInDays": pipeline.log_retention_days,
            },
        },
        "StateMachineRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": _trust("states.amazonaws.com"),
                "Policies": [
                    {
                        "PolicyName": "ddbexport",
                        "PolicyDocument": role_policy(
                            config, tables, topic=topic, list_in_s3=not table_list.in_ssm
                        ),
                    }
                ],
            },
        },
        STATE_MACHINE: {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": {"Ref": "AWS::StackName"},
                "StateMachineType": "STANDARD",
                "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
                "Definition": definition,
                "LoggingConfiguration": {
                    "Level": "ERROR",
                    "IncludeExecutionData": False,
                    "Destinations": [
                        {
                            "CloudWatchLogsLogGroup": {
                                "LogGroupArn": {"Fn::GetAtt": ["LogGroup", "Arn"]}
                            }
                        }
                    ],
                },
                **({"DefinitionSubstitutions": {"TopicArn": topic_ref}} if topic else {}),
            },
        },
        "TriggerRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": _trust(
                    "scheduler.amazonaws.com"
                    if pipeline.trigger == "scheduler"
                    else "events.amazonaws.com"
                ),
                "Policies": [
                    {
                        "PolicyName": "start-exports",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["states:StartExecution"],
                                    "Resource": {"Ref": STATE_MACHINE},
                                }
                            ],
                        },
                    }
                ],
            },
        },
    }
    if pipeline.trigger == "scheduler":
        resources["Schedule"] = {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "Description": "ddbexport: start the exports",
                "ScheduleExpression": pipeline.schedule,
                "ScheduleExpressionTimezone": pipeline.timezone,
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "State": "ENABLED" if pipeline.enabled else "DISABLED",
                "Target": {
                    "Arn": {"Ref": STATE_MACHINE},
                    "RoleArn": {"Fn::GetAtt": ["TriggerRole", "Arn"]},
                    # The scheduled time, not the delivery time: every table as of one instant.
                    "Input": '{"time": "<aws.scheduler.scheduled-time>"}',
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
                },
            },
        }
    else:
        resources["Schedule"] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": "ddbexport: start the exports",
                "ScheduleExpression": pipeline.schedule,
                "State": "ENABLED" if pipeline.enabled else "DISABLED",
                "Targets": [
                    {
                        "Id": "exports",
                        "Arn": {"Ref": STATE_MACHINE},
                        "RoleArn": {"Fn::GetAtt": ["TriggerRole", "Arn"]},
                        "InputTransformer": {
                            "InputPathsMap": {"time": "$.time"},
                            "InputTemplate": '{"time": "<time>"}',
                        },
                        "RetryPolicy": {
                            "MaximumEventAgeInSeconds": 3600,
                            "MaximumRetryAttempts": 10,
                        },
                    }
                ],
            },
        }
    outputs: dict[str, Any] = {
        "StateMachineArn": {"Value": {"Ref": STATE_MACHINE}},
        "TableList": {
            "Value": {"Ref": "TableList"}
            if table_list.in_ssm
            else f"s3://{records_bucket(config, tables)}/{table_list_key(config)}"
        },
        "StateMachineRoleArn": {"Value": {"Fn::GetAtt": ["StateMachineRole", "Arn"]}},
        "RunRecords": {"Value": f"s3://{records_bucket(config, tables)}/{RECORDS_PREFIX}/"},
    }
    if topic:
        outputs["TopicArn"] = {"Value": topic_ref}
    if pipeline.notify_email is not None:
        resources["Topic"] = {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "DisplayName": "ddbexport",
                "KmsMasterKeyId": "alias/aws/sns",
                "Subscription": [{"Protocol": "email", "Endpoint": pipeline.notify_email}],
            },
        }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"ddbexport pipeline {pipeline.stack_name}: DynamoDB exports to S3",
        "Resources": resources,
        "Outputs": outputs,
    }
    return Synthesis(
        template,
        definition,
        table_list,
        parameter_name(config),
        None if table_list.in_ssm else table_list_key(config),
        records_bucket(config, tables),
    )


def _trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            }
        ],
    }
