"""The CloudFormation template of the pipeline, and the state machine role's policy. Pure.

Resources: the table list (SSM), the state machine and its role, a log group, the schedule
(EventBridge Scheduler by default, or an EventBridge rule whose input transformer sends the
seed's ``{"time": …}``), and, with ``notify_email``, an SNS topic with that subscription.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ddbexport.config.model import Config

from .links import MAX_LINKS
from .names import parameter_name, records_bucket, records_prefix, table_list_key
from .policy import role_policy
from .statemachine import DefinitionSettings, build_definition, near_schedule, wait_schedule
from .tablelist import CompiledList, TableSetting, compile_table_list

__all__ = ["STATE_MACHINE", "Synthesis", "parameter_name", "synthesize", "table_list_key"]

STATE_MACHINE = "StateMachine"
TOPIC_ARN = "${TopicArn}"
#: Resources that hold data stay when the stack is deleted or replaces them: the execution
#: logs and the topic with its subscriptions (``ddbexport destroy`` says what is left).
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


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


def records_kms_key(config: Config, tables: Sequence[TableSetting]) -> str | None:
    """The KMS key run records are written with: that of the first table exported into the
    records bucket (a bucket policy requiring a key accepts it), else none (AES256)."""
    bucket = records_bucket(config, tables)
    for table in tables:
        if table.destination.bucket == bucket and table.destination.kms_key:
            return table.destination.kms_key
    return None


def synthesize(config: Config, tables: Sequence[TableSetting]) -> Synthesis:
    """The template, the definition and the table list for ``config`` and its resolved tables."""
    table_list = compile_table_list(tables, config.run)
    incremental = any(table.destination.mode == "incremental" for table in tables)
    pipeline = config.pipeline
    topic = pipeline.notify_email is not None or pipeline.notify_topic_arn is not None
    topic_ref: Any = pipeline.notify_topic_arn or {"Ref": "Topic"}
    definition = build_definition(
        DefinitionSettings(
            table_list_parameter=parameter_name(config),
            records_bucket=records_bucket(config, tables),
            max_concurrency=config.run.max_concurrency,
            waits=wait_schedule(config.run, links=MAX_LINKS if incremental else 1),
            near_waits=near_schedule(config.run),
            templates=table_list.templates,
            kms_key=records_kms_key(config, tables),
            topic_arn=TOPIC_ARN if topic else None,
            limit_retry_s=int(pipeline.limit_retry_s),
            table_list_object=None
            if table_list.in_ssm
            else table_list_key(config, table_list.value),
            records_prefix=records_prefix(config),
            catalog_prefix=config.catalog.prefix if config.catalog.enabled else None,
            incremental=incremental,
            table_list_defaults=None if table_list.in_ssm else table_list.defaults,
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
            **RETAIN,
            "Properties": {
                # The group outlives the stack (Retain): the stack's id in its name lets a stack
                # of the same name be created again after a destroy.
                "LogGroupName": {
                    "Fn::Sub": [
                        "/aws/vendedlogs/states/${AWS::StackName}-${StackId}",
                        {
                            "StackId": {
                                "Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]
                            }
                        },
                    ]
                },
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
            else f"s3://{records_bucket(config, tables)}/{table_list_key(config, table_list.value)}"
        },
        "StateMachineRoleArn": {"Value": {"Fn::GetAtt": ["StateMachineRole", "Arn"]}},
        "RunRecords": {"Value": f"s3://{records_bucket(config, tables)}/{records_prefix(config)}/"},
    }
    if topic:
        outputs["TopicArn"] = {"Value": topic_ref}
    if pipeline.notify_email is not None:
        resources["Topic"] = {
            "Type": "AWS::SNS::Topic",
            **RETAIN,
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
        None if table_list.in_ssm else table_list_key(config, table_list.value),
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
