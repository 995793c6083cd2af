"""The Step Functions definition of the pipeline (Amazon States Language, JSONPath). Pure.

Shape of a run::

    input {time?, tablelist?}
      -> one export time: the event's ``time`` (scheduled time) or the execution's start, whole
         seconds; the date/time parts prefixes need
      -> the tables: the input's ``tablelist`` (the seed's payload, unchanged) or the JSON list
         in the SSM parameter the stack writes from the config, both copied once to
         ``<run>/table-list.json``; or, for a list longer than SSM holds, the object deploy
         uploads. The Map reads its items from that object (ItemReader): no state holds the list
      -> a Distributed Map: one child execution per table (its own 25,000-event history), each
         ExportTableToPointInTime with a client token from the run and the table, retries for
         LimitExceeded / throttling / server errors, a first wait as long as the table's
         previous export (when known) then short growing waits, a record of the table's outcome
         written to S3; every error is caught, so every table is tried whatever happens to the
         others, and a table that did not export ends its child FAILED after its records. The
         children's results go to S3 (ResultWriter)
      -> the Map Run's counts (DescribeMapRun), the run's record in S3 (counts and where the
         results are), an SNS message saying how many tables failed and where to look, and the
         execution ends FAILED when any child did not succeed.

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
from .waits import HISTORY_EVENTS, MAX_WAITS, first_wait, max_waits, near_schedule, wait_schedule

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
    "first_wait",
    "max_waits",
    "near_schedule",
    "templates_for",
    "wait_schedule",
]

#: Where the Map Run's result files go, under the run records' prefix.
MAP_RESULTS = "map-results"
#: The export time's parts, split out of an ISO-8601 timestamp.
_SPLIT_TIME = "States.StringSplit($.time, '-T:.Z')"
#: Failed child executions the Map tolerates: all of them (a Map Run holds at most 100 million
#: items). A count, not 100 percent: linters want an integer percentage and the sandbox's
#: parser a decimal one.
_TOLERATED_FAILURES = 100_000_000


def _read_table_list(settings: DefinitionSettings) -> dict[str, Any]:
    """GetParameter: the list the stack keeps in SSM."""
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


def _run_key(settings: DefinitionSettings, name: str) -> str:
    """``States.Format`` of an object's key under this run's records."""
    return f"States.Format('{escape(settings.records_prefix)}/{{}}/{name}', $.run.run_id)"


def _table_list_states(settings: DefinitionSettings, defaults: dict[str, Any]) -> dict[str, Any]:
    """Where the Map reads its items: an S3 object in the records bucket, never the state.

    A list in the execution's input (the seed's payload) or in SSM is small (256 KiB, 8 KB):
    the parent writes it to ``<run>/table-list.json`` once. A larger list is the object deploy
    uploads (its name carries its hash), read where it is.
    """
    merged_defaults = "States.JsonMerge($.defaults, $.list.value.defaults, false)"
    states: dict[str, Any] = {
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
            "Default": "Read table list"
            if settings.table_list_object is None
            else "Tables from object",
        },
        "Tables from event": {
            "Type": "Pass",
            "Parameters": {
                "run.$": "$.run",
                "defaults.$": "$.defaults",
                "tables.$": "$.input.tablelist",
                "list_key.$": _run_key(settings, "table-list.json"),
            },
            "Next": "Write table list",
        },
        "Write table list": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {
                "Bucket": settings.records_bucket,
                "Key.$": "$.list_key",
                "Body.$": "States.JsonToString($.tables)",
                "ContentType": "application/json",
                **record_sse(settings.kms_key),
            },
            # The list leaves the state: the Map reads it from the object.
            "ResultSelector": {"written": True},
            "ResultPath": "$.tables",
            "Retry": RETRY_READ,
            "Next": "Export every table",
        },
        "No tables": {
            "Type": "Fail",
            "Error": "NoTables",
            "Cause": "the table list is empty or not a list",
        },
    }
    if settings.table_list_object is None:
        states["Read table list"] = _read_table_list(settings)
        states["Tables from parameter"] = {
            "Type": "Pass",
            "Parameters": {
                "run.$": "$.run",
                "defaults.$": merged_defaults,
                "tables.$": "$.list.value.tables",
                "list_key.$": _run_key(settings, "table-list.json"),
            },
            "Next": "Any tables?",
        }
        states["Any tables?"] = {
            "Type": "Choice",
            "Choices": [{"Variable": "$.tables[0]", "IsPresent": True, "Next": "Write table list"}],
            "Default": "No tables",
        }
    else:
        states["Tables from object"] = {
            "Type": "Pass",
            "Parameters": {
                "run.$": "$.run",
                "defaults": {**defaults, **(settings.table_list_defaults or {})},
                "list_key": settings.table_list_object,
            },
            "Next": "Export every table",
        }
    return states


#: The run's record: what the Map Run counted and where its results are, never the per-table
#: results themselves (they are in the Map's result files and each table's record).
_RUN_RECORD = """{
    "run_id": $states.input.run.run_id,
    "export_time": $states.input.run.time,
    "table_count": $states.input.counts.total,
    "completed": $states.input.counts.succeeded,
    "not_completed": $states.input.counts.total - $states.input.counts.succeeded,
    "table_list": "s3://" & $bucket & "/" & $states.input.list_key,
    "results_manifest": "s3://" & $states.input.results.ResultWriterDetails.Bucket & "/"
        & $states.input.results.ResultWriterDetails.Key,
    "table_records": "s3://" & $bucket & "/" & $prefix & "/" & $states.input.run.run_id
        & "/tables/",
    "map_run": $states.input.results.MapRunArn
}"""

#: The failure notification: how many tables did not export and where to look.
_FAILURE_MESSAGE = """(
    $c := $states.input.counts;
    $r := $states.input.results.ResultWriterDetails;
    $string($c.total - $c.succeeded) & " of " & $string($c.total)
    & " tables did not export in ddbexport run " & $states.input.run.run_id
    & " (export time " & $states.input.run.time & ").\n"
    & "Each failed table, with its error: the FAILED files listed in s3://" & $r.Bucket & "/"
    & $r.Key & "\n"
    & "Each table's record: s3://" & $bucket & "/" & $prefix & "/" & $states.input.run.run_id
    & "/tables/"
)"""


def _with_names(expression: str, settings: DefinitionSettings) -> str:
    """A JSONata expression with the records bucket and prefix bound (as string literals)."""
    bucket = json.dumps(settings.records_bucket)
    prefix = json.dumps(settings.records_prefix)
    return f"{{% ($bucket := {bucket}; $prefix := {prefix}; {expression}) %}}"


def _outcome_states(settings: DefinitionSettings) -> dict[str, Any]:
    """After the Map: its counts, the run's record, a notification, the execution's end."""
    failed_next = "Notify" if settings.topic_arn else "Some tables failed"
    states: dict[str, Any] = {
        "Count outcomes": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sfn:describeMapRun",
            "Parameters": {"MapRunArn.$": "$.results.MapRunArn"},
            # A child that ended FAILED is a table that did not export (its own records say
            # why), or one that could not even start (an entry that is not an object).
            "ResultSelector": {
                "total.$": "$.ItemCounts.Total",
                "succeeded.$": "$.ItemCounts.Succeeded",
                "failed.$": "$.ItemCounts.Failed",
                "timed_out.$": "$.ItemCounts.TimedOut",
                "aborted.$": "$.ItemCounts.Aborted",
            },
            "ResultPath": "$.counts",
            "Retry": [
                {
                    "ErrorEquals": ["Sfn.SfnException", "Sfn.SdkClientException"],
                    "IntervalSeconds": 2,
                    "BackoffRate": 2.0,
                    "MaxAttempts": 6,
                }
            ],
            "Next": "Write run record",
        },
        "Write run record": {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Arguments": {
                "Bucket": settings.records_bucket,
                "Key": _with_names(
                    "$prefix & '/' & $states.input.run.run_id & '/run.json'", settings
                ),
                "Body": _with_names(f"$string({_RUN_RECORD})", settings),
                "ContentType": "application/json",
                **record_sse(settings.kms_key),
            },
            "Output": "{% $states.input %}",
            "Retry": RETRY_READ,
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Output": "{% $states.input %}",
                    "Next": "Any failed?",
                }
            ],
            "Next": "Any failed?",
        },
        "Any failed?": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.counts.succeeded",
                    "NumericLessThanPath": "$.counts.total",
                    "Next": failed_next,
                }
            ],
            "Default": "All exported",
        },
        "Some tables failed": {
            "Type": "Fail",
            "Error": "ExportsFailed",
            "Cause": (
                "one or more tables failed to export; see the run record, the Map Run's FAILED "
                "results and each table's record"
            ),
        },
        "All exported": {"Type": "Succeed"},
    }
    if settings.topic_arn:
        states["Notify"] = {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": "arn:aws:states:::aws-sdk:sns:publish",
            "Arguments": {
                "TopicArn": settings.topic_arn,
                "Subject": "ddbexport: tables failed to export",
                "Message": _with_names(_FAILURE_MESSAGE, settings),
            },
            "Output": "{% $states.input %}",
            "Retry": RETRY_READ,
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Output": "{% $states.input %}",
                    "Next": "Some tables failed",
                }
            ],
            "Next": "Some tables failed",
        }
    return states


def build_definition(settings: DefinitionSettings) -> dict[str, Any]:
    """The whole state machine definition."""
    defaults = {
        "format": "DYNAMODB_JSON",
        "sse": "AES256",
        "prefix": "",
        "template": LITERAL_PREFIX,
        "first_wait_s": settings.waits[0],
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
                        "near_waits": list(settings.near_waits or settings.waits[1:]),
                    },
                    "defaults": defaults,
                },
                "Next": "Table list",
            },
            **_table_list_states(settings, defaults),
            "Export every table": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": settings.records_bucket, "Key.$": "$.list_key"},
                },
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
                # A child that fails (a table that did not export, or an entry that is not
                # even an object) must not stop the others: the Map Run counts it.
                "ToleratedFailureCount": _TOLERATED_FAILURES,
                # The children's results go to S3 (SUCCEEDED_0.json, FAILED_0.json and a
                # manifest.json under map-results/<map run id>/; the run record says which):
                # the state holds only where they are, whatever the number of tables. A
                # fixed prefix: only a static one is sure to be read the same everywhere.
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {
                        "Bucket": settings.records_bucket,
                        "Prefix": f"{settings.records_prefix}/{MAP_RESULTS}",
                    },
                },
                "ResultSelector": {
                    "MapRunArn.$": "$.MapRunArn",
                    "ResultWriterDetails.$": "$.ResultWriterDetails",
                },
                "ResultPath": "$.results",
                "Next": "Count outcomes",
            },
            **_outcome_states(settings),
        },
    }


def definition_json(definition: dict[str, Any]) -> str:
    """The definition as the text the console and ``statemachine.asl.json`` hold."""
    return json.dumps(definition, indent=2) + "\n"
