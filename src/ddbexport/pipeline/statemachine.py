"""The Step Functions definition of the pipeline (Amazon States Language, JSONPath). Pure.

Shape of a run::

    input {time?, tablelist?}
      -> one export time: the event's ``time`` (scheduled time) or the execution's start, whole
         seconds; the date/time parts prefixes need
      -> the tables: the input's ``tablelist`` (the seed's payload, unchanged) or the JSON list
         in the SSM parameter the stack writes from the config
      -> a Distributed Map: one child execution per table (its own 25,000-event history), each
         ExportTableToPointInTime with a client token from the run and the table, retries for
         LimitExceeded / throttling / server errors, polling on a growing wait schedule, a record
         of the table's outcome written to S3, and a small result for the parent; every error is
         caught, so every table is tried whatever happens to the others
      -> the run's record in S3, an SNS message when a table failed, and the execution ends
         FAILED when any table failed (a result that is null or has no status counts as one).

Each child first checks its entry, since the seed's payload arrives as EventBridge sends it:
``tablename`` and ``bucketname`` must be strings, ``prefix`` a string or null. A null or absent
prefix is the bucket's root, as ``""`` is (no S3Prefix sent). A prefix with a '/' at either end
is refused, not stripped: no intrinsic function can cut a string, and keeping the slash would
put '//' in the export's keys. A refused entry gets a FAILED record whose error says what is
wrong and what is allowed (``InvalidTableEntry``), and the other tables go on. (The local
runner reads the payload before any export: it refuses a list with an invalid entry, and strips
a prefix's slashes.)

Region, account and partition come from the state machine's own ARN (``$$.StateMachine.Id``),
so nothing is hard-coded and the same definition works in every account.

This module builds the parent execution; the child's states are in :mod:`.tablestates` (with
:mod:`.entrychecks`, :mod:`.exportstates` and :mod:`.records`), and :mod:`.retries`,
:mod:`.waits`, :mod:`.prefixes` and :mod:`.definitionsettings` serve both. Callers import from
here.
"""

from __future__ import annotations

import json
from typing import Any

from .definitionsettings import RECORDS_PREFIX, DefinitionSettings
from .prefixes import LITERAL_PREFIX, PrefixTemplate, compile_prefix, escape, templates_for
from .records import record_sse
from .retries import INVALID_TIME_RETRY_S, RETRY_READ
from .tablestates import table_states
from .waits import HISTORY_EVENTS, MAX_WAITS, max_waits, wait_schedule

__all__ = [
    "HISTORY_EVENTS",
    "INVALID_TIME_RETRY_S",
    "LITERAL_PREFIX",
    "MAX_WAITS",
    "RECORDS_PREFIX",
    "DefinitionSettings",
    "PrefixTemplate",
    "build_definition",
    "compile_prefix",
    "definition_json",
    "max_waits",
    "templates_for",
    "wait_schedule",
]

#: The export time's parts, split out of an ISO-8601 timestamp.
_SPLIT_TIME = "States.StringSplit($.time, '-T:.Z')"
#: Failed child executions the Map tolerates: all of them, as a 256 KiB execution input lists
#: fewer items (two bytes each at least). A count, not 100 percent: linters want an integer
#: percentage and the sandbox's parser a decimal one.
_TOLERATED_FAILURES = 1_000_000


def _read_table_list(settings: DefinitionSettings) -> dict[str, Any]:
    """GetParameter, or GetObject for lists larger than an SSM parameter holds."""
    if settings.table_list_object is not None:
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": settings.records_bucket, "Key": settings.table_list_object},
            "ResultSelector": {"value.$": "States.StringToJson($.Body)"},
            "ResultPath": "$.list",
            "Retry": RETRY_READ,
            "Next": "Tables from parameter",
        }
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter",
        "Parameters": {"Name": settings.table_list_parameter},
        "ResultSelector": {"value.$": "States.StringToJson($.Parameter.Value)"},
        "ResultPath": "$.list",
        "Retry": [
            {
                "ErrorEquals": ["Ssm.ThrottlingException", "Ssm.SdkClientException"],
                "IntervalSeconds": 2,
                "BackoffRate": 2.0,
                "MaxAttempts": 6,
            }
        ],
        "Next": "Tables from parameter",
    }


def build_definition(settings: DefinitionSettings) -> dict[str, Any]:
    """The whole state machine definition."""
    defaults = {
        "format": "DYNAMODB_JSON",
        "sse": "AES256",
        "prefix": "",
        "template": LITERAL_PREFIX,
    }
    return {
        "Comment": "ddbexport: every table exported as of one instant, tracked, recorded",
        "StartAt": "Export time",
        "States": {
            "Export time": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.time", "IsPresent": True, "Next": "Time from event"}],
                "Default": "Time from start",
            },
            "Time from event": {
                "Type": "Pass",
                "Parameters": {"time.$": "$.time", "input.$": "$"},
                "Next": "Split time",
            },
            "Time from start": {
                "Type": "Pass",
                "Parameters": {"time.$": "$$.Execution.StartTime", "input.$": "$"},
                "Next": "Split time",
            },
            "Split time": {
                "Type": "Pass",
                "Parameters": {"parts.$": _SPLIT_TIME, "input.$": "$.input"},
                "Next": "Run facts",
            },
            "Run facts": {
                "Type": "Pass",
                "Parameters": {
                    "input.$": "$.input",
                    "run": {
                        "time.$": (
                            "States.Format('{}-{}-{}T{}:{}:{}Z', "
                            + ", ".join(f"States.ArrayGetItem($.parts, {i})" for i in range(6))
                            + ")"
                        ),
                        "date.$": (
                            "States.Format('{}/{}/{}', "
                            + ", ".join(f"States.ArrayGetItem($.parts, {i})" for i in range(3))
                            + ")"
                        ),
                        "clock.$": (
                            "States.Format('{}{}{}', "
                            + ", ".join(f"States.ArrayGetItem($.parts, {i})" for i in (3, 4, 5))
                            + ")"
                        ),
                        "run_id.$": "$$.Execution.Name",
                        "waits": list(settings.waits),
                    },
                    "defaults": defaults,
                },
                "Next": "Table list",
            },
            "Table list": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.input.tablelist[0]",
                        "IsPresent": True,
                        "Next": "Tables from event",
                    },
                    # Empty, or not a list: nothing to count or to export.
                    {"Variable": "$.input.tablelist", "IsPresent": True, "Next": "No tables"},
                ],
                "Default": "Read table list",
            },
            "Tables from event": {
                "Type": "Pass",
                "Parameters": {
                    "run.$": "$.run",
                    "defaults.$": "$.defaults",
                    "tables.$": "$.input.tablelist",
                    "count.$": "States.ArrayLength($.input.tablelist)",
                },
                "Next": "Any tables?",
            },
            "Read table list": _read_table_list(settings),
            "Tables from parameter": {
                "Type": "Pass",
                "Parameters": {
                    "run.$": "$.run",
                    "defaults.$": "States.JsonMerge($.defaults, $.list.value.defaults, false)",
                    "tables.$": "$.list.value.tables",
                    "count.$": "States.ArrayLength($.list.value.tables)",
                },
                "Next": "Any tables?",
            },
            "Any tables?": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.tables[0]", "IsPresent": True, "Next": "Export every table"}
                ],
                "Default": "No tables",
            },
            "No tables": {
                "Type": "Fail",
                "Error": "NoTables",
                "Cause": "the table list is empty or not a list",
            },
            "Export every table": {
                "Type": "Map",
                "ItemsPath": "$.tables",
                "MaxConcurrency": settings.max_concurrency,
                "ItemSelector": {
                    "entry.$": "States.JsonMerge($.defaults, $$.Map.Item.Value, false)",
                    "run.$": "$.run",
                    "index.$": "$$.Map.Item.Index",
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Check entry",
                    "States": table_states(settings),
                },
                # A child that dies anyway (an entry that is not even an object) must not take
                # the other tables' results with it: its missing result is counted below.
                "ToleratedFailureCount": _TOLERATED_FAILURES,
                # The results replace the table list: both at once could pass the 256 KiB
                # state limit that either alone respects.
                "ResultPath": "$.tables",
                "Next": "Summarize",
            },
            "Summarize": {
                "Type": "Pass",
                "Parameters": {
                    "run_id.$": "$.run.run_id",
                    "export_time.$": "$.run.time",
                    "table_count.$": "$.count",
                    "tables.$": "$.tables",
                    "statuses.$": "$.tables[*].status",
                },
                "Next": "Count failures",
            },
            "Count failures": {
                "Type": "Pass",
                "Parameters": {
                    "failed.$": "States.ArrayContains($.statuses, 'FAILED')",
                    "timed_out.$": "States.ArrayContains($.statuses, 'TIMED_OUT')",
                    # Fewer statuses than tables: some result was null or had no status.
                    "recorded.$": "States.ArrayLength($.statuses)",
                },
                "ResultPath": "$.failures",
                "Next": "Write run record",
            },
            "Write run record": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Parameters": {
                    "Bucket": settings.records_bucket,
                    "Key.$": (
                        f"States.Format('{escape(settings.records_prefix)}/{{}}/run.json', "
                        "$.run_id)"
                    ),
                    "Body.$": "States.JsonToString($)",
                    "ContentType": "application/json",
                    **record_sse(settings.kms_key),
                },
                "ResultPath": None,
                "Retry": RETRY_READ,
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "ResultPath": "$.record_error",
                        "Next": "Any failed?",
                    }
                ],
                "Next": "Any failed?",
            },
            "Any failed?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Or": [
                            {"Variable": "$.failures.failed", "BooleanEquals": True},
                            {"Variable": "$.failures.timed_out", "BooleanEquals": True},
                            {
                                "Variable": "$.failures.recorded",
                                "NumericLessThanPath": "$.table_count",
                            },
                        ],
                        "Next": "Notify" if settings.topic_arn else "Some tables failed",
                    }
                ],
                "Default": "All exported",
            },
            **(
                {
                    "Notify": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::aws-sdk:sns:publish",
                        "Parameters": {
                            "TopicArn": settings.topic_arn,
                            "Subject": "ddbexport: tables failed to export",
                            "Message.$": "States.JsonToString($.tables)",
                        },
                        "ResultPath": None,
                        "Retry": RETRY_READ,
                        "Catch": [
                            {
                                "ErrorEquals": ["States.ALL"],
                                "ResultPath": None,
                                "Next": "Some tables failed",
                            }
                        ],
                        "Next": "Some tables failed",
                    }
                }
                if settings.topic_arn
                else {}
            ),
            "Some tables failed": {
                "Type": "Fail",
                "Error": "ExportsFailed",
                "Cause": (
                    "one or more tables failed to export; see the run record and each table's "
                    "record"
                ),
            },
            "All exported": {"Type": "Succeed"},
        },
    }


def definition_json(definition: dict[str, Any]) -> str:
    """The definition as the text the console and ``statemachine.asl.json`` hold."""
    return json.dumps(definition, indent=2) + "\n"
