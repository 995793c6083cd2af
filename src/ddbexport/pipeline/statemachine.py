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
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ddbexport.config.model import RunSettings
from ddbexport.errors import ConfigError

from .links import link_states

#: The export time's parts, split out of an ISO-8601 timestamp.
_SPLIT_TIME = "States.StringSplit($.time, '-T:.Z')"
RECORDS_PREFIX = "ddbexport-catalog/runs"
LITERAL_PREFIX = "literal"
#: Step Functions fails an execution whose history reaches this many events.
HISTORY_EVENTS = 25_000
#: Failed child executions the Map tolerates: all of them, as a 256 KiB execution input lists
#: fewer items (two bytes each at least). A count, not 100 percent: linters want an integer
#: percentage and the sandbox's parser a decimal one.
_TOLERATED_FAILURES = 1_000_000

#: Errors worth retrying on any DynamoDB call. Step Functions names an SDK error
#: ``<Service>.<Name>Exception``, adding the suffix even where the API's own name lacks it.
_DYNAMODB_TRANSIENT = [
    "DynamoDb.ThrottlingException",
    "DynamoDb.RequestLimitExceededException",
    "DynamoDb.InternalServerErrorException",
    "DynamoDb.SdkClientException",
    "States.Timeout",
]
#: The shortest pause before retrying an export time PITR cannot serve yet: its latest
#: restorable time trails the clock by about five minutes, so shorter retries only bill.
INVALID_TIME_RETRY_S = 60


def _limit_retry(limit_interval_s: int) -> dict[str, Any]:
    return {
        "ErrorEquals": ["DynamoDb.LimitExceededException"],
        "IntervalSeconds": limit_interval_s,
        "BackoffRate": 1.5,
        "MaxAttempts": 40,
        "MaxDelaySeconds": max(900, limit_interval_s),
        "JitterStrategy": "FULL",
    }


_TRANSIENT_RETRY: dict[str, Any] = {
    "ErrorEquals": _DYNAMODB_TRANSIENT,
    "IntervalSeconds": 5,
    "BackoffRate": 2.0,
    "MaxAttempts": 8,
    "MaxDelaySeconds": 300,
    "JitterStrategy": "FULL",
}


def _retry_start(limit_interval_s: int) -> list[dict[str, Any]]:
    return [
        _limit_retry(limit_interval_s),
        _TRANSIENT_RETRY,
        {
            # An export time only just in the past (see INVALID_TIME_RETRY_S).
            "ErrorEquals": ["DynamoDb.InvalidExportTimeException"],
            "IntervalSeconds": max(INVALID_TIME_RETRY_S, limit_interval_s),
            "BackoffRate": 1.5,
            "MaxAttempts": 8,
        },
    ]


def _retry_describe(limit_interval_s: int) -> list[dict[str, Any]]:
    """DescribeExport shares the account's control-plane limits with the exports' starts."""
    return [_limit_retry(limit_interval_s), _TRANSIENT_RETRY]


_RETRY_READ = [
    {
        "ErrorEquals": [*_DYNAMODB_TRANSIENT, "S3.SdkClientException", "S3.S3Exception"],
        "IntervalSeconds": 5,
        "BackoffRate": 2.0,
        "MaxAttempts": 8,
        "MaxDelaySeconds": 300,
        "JitterStrategy": "FULL",
    }
]


def _attempts(retriers: Sequence[dict[str, Any]]) -> int:
    return sum(int(retrier["MaxAttempts"]) for retrier in retriers)


#: A poll's history events: the Wait, the Choice (Finished?) and the Pass (Next poll) log
#: entered and exited, the DescribeExport Task entered, scheduled, started, succeeded, exited.
_POLL_EVENTS = 2 + 2 + 2 + 5
#: What a retried Task attempt adds to the history: scheduled, started, failed.
_RETRY_EVENTS = 3
#: A child's events outside its polls on its longest path (export COMPLETED, catalog record
#: written): 16 states, 43 events with the execution's own started and succeeded; rounded up.
_OTHER_EVENTS = 100
#: Retries when every Task a child runs uses all of its retries once: the export's start
#: 40 + 8 + 8, DescribeExport 40 + 8, the table's record 8 and its catalog record 8 = 120.
_FULL_RETRIES = (
    _attempts(_retry_start(0)) + _attempts(_retry_describe(0)) + 2 * _attempts(_RETRY_READ)
)
#: Polls one table's child execution can make. Throttling hits every table polling at once,
#: so besides the full retries above, each poll keeps room for one DescribeExport retry:
#: (25,000 - 100 - 120 x 3) // (11 + 3) = 24,540 // 14 = 1,752 polls.
MAX_WAITS = (HISTORY_EVENTS - _OTHER_EVENTS - _FULL_RETRIES * _RETRY_EVENTS) // (
    _POLL_EVENTS + _RETRY_EVENTS
)


@dataclass(frozen=True, slots=True)
class PrefixTemplate:
    """A prefix template compiled for States.Format: '{}' per placeholder, in order."""

    ident: str
    format: str
    arguments: tuple[str, ...]  # table | date | time | run_id
    literal: str = ""  # the prefix itself, braces unescaped, when it has no placeholder
    source: str = ""  # the template as the config gives it


@dataclass(frozen=True, slots=True)
class DefinitionSettings:
    """What the definition needs to know at synth time."""

    table_list_parameter: str
    records_bucket: str
    max_concurrency: int
    waits: tuple[int, ...]
    templates: tuple[PrefixTemplate, ...] = ()
    kms_key: str | None = None  # for the run record, when the exports use KMS
    topic_arn: str | None = None
    limit_retry_s: int = 60
    #: Key of the table list in ``records_bucket`` when it is too big for SSM (else None).
    table_list_object: str | None = None
    #: Run records go under this prefix of ``records_bucket``.
    records_prefix: str = RECORDS_PREFIX
    #: The catalog's prefix in each export's bucket, or None when the catalog is off.
    catalog_prefix: str | None = None
    #: Some table is in incremental mode: the definition holds the states of its links.
    incremental: bool = False


#: What one link of an incremental table adds to its child's history besides polls: about 20
#: states on its path (chain and PITR reads, plan, export, records, chain write), rounded up;
#: and, when every Task uses its retries once, the start's 56 attempts, DescribeExport's 48 and
#: 8 for each of the four reads and writes.
_LINK_EVENTS = 60
_LINK_RETRIES = (
    _attempts(_retry_start(0)) + _attempts(_retry_describe(0)) + 4 * _attempts(_RETRY_READ)
)


def max_waits(links: int = 1) -> int:
    """Polls each export of a child may make when the child exports up to ``links`` of them
    (an incremental table's catch-up): 1,752 for one export, 411 each for four."""
    if links <= 1:
        return MAX_WAITS
    per_link = _LINK_EVENTS + _LINK_RETRIES * _RETRY_EVENTS
    return (HISTORY_EVENTS - _OTHER_EVENTS - links * per_link) // (
        links * (_POLL_EVENTS + _RETRY_EVENTS)
    )


def wait_schedule(settings: RunSettings, *, links: int = 1) -> tuple[int, ...]:
    """Waits between DescribeExport calls, adding up to at least the run's timeout.

    Adaptive polling: the first check after ``poll_first``, then waits doubling from
    ``poll_min`` up to ``poll_max``. Fixed polling (``poll = "fixed:15s"``): every wait is the
    interval. The definition indexes this list by attempt; a table still exporting after the
    last wait is recorded TIMED_OUT (its export goes on in AWS), as the local runner does.

    ``links``: the most exports one child makes (an incremental table's catch-up), which
    share its history.

    Raises:
        ConfigError: the schedule needs more than :func:`max_waits` polls, more than a child
            execution's history can hold.
    """
    limit = max_waits(links)
    per = "per table" if links <= 1 else f"per export ({links} exports per incremental table)"
    fixed = settings.poll.mode == "fixed"
    if fixed:
        interval = max(round(settings.poll.fixed_interval_s), 1)
        count = max(math.ceil(settings.timeout_s / interval), 1)
        if count > limit:
            fewest = math.ceil(settings.timeout_s / limit)
            raise ConfigError(
                f"run.poll fixed:{interval}s with run.timeout {settings.timeout_s:.0f}s needs "
                f"{count:,} polls {per}; a pipeline execution holds at most {limit:,} "
                f"(Step Functions' {HISTORY_EVENTS:,}-event history, with room for retries). "
                f"Poll every {fewest}s or more, lower run.timeout, or use poll = 'adaptive'"
            )
        return (interval,) * count
    waits = [max(round(settings.poll_first_s), 1)]
    step = max(settings.poll_min_s, 1.0)
    total = float(waits[0])
    while total < settings.timeout_s:
        wait = max(round(min(step, settings.poll_max_s)), 1)
        waits.append(wait)
        total += wait
        step = min(step * 2, settings.poll_max_s)
        if len(waits) > limit:
            raise ConfigError(
                f"run.poll_max {settings.poll_max_s:.0f}s with run.timeout "
                f"{settings.timeout_s:.0f}s needs more than {limit:,} polls {per}; a "
                "pipeline execution holds at most that many (Step Functions' "
                f"{HISTORY_EVENTS:,}-event history, with room for retries). Raise run.poll_max "
                "or lower run.timeout"
            )
    return tuple(waits)


def _escape(text: str) -> str:
    """Escape a literal for an intrinsic function's string argument."""
    return "".join("\\" + char if char in "{}'\\" else char for char in text)


def compile_prefix(ident: str, template: str) -> PrefixTemplate:
    """Turn ``dynamodb/{table}/{date}`` into ``dynamodb/{}/{}`` with arguments (table, date).

    ``{{`` and ``}}`` are braces, as in ``str.format`` and the local runner's prefixes: a
    template keeps them escaped for States.Format, and a prefix without placeholders becomes
    the literal the local runner would send (one brace each, no '/' at either end).
    """
    parts: list[str] = []
    literals: list[str] = []
    arguments: list[str] = []
    # parse() hands back the literal text with the escaped braces already undone.
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(_escape(literal))
        literals.append(literal)
        if field is not None:
            parts.append("{}")
            arguments.append(field)
    literal_prefix = "" if arguments else "".join(literals).strip("/")
    return PrefixTemplate(
        ident, "".join(parts).strip("/"), tuple(arguments), literal_prefix, template
    )


_ARGUMENT_PATHS = {
    "table": "$.entry.tablename",
    "date": "$.run.date",
    "time": "$.run.clock",
    "run_id": "$.run.run_id",
}


#: How an export request can differ from the common one (prefix, no KMS key, no bucket owner),
#: each with the Choice condition that detects it in the table's entry.
_VARIATIONS: dict[str, dict[str, Any]] = {
    "KMS": {"Variable": "$.entry.kms_key", "IsPresent": True},
    "owner": {"Variable": "$.entry.bucket_owner", "IsPresent": True},
    # AWS writes to the bucket's root without a prefix; an empty S3Prefix is not sent at all.
    "no prefix": {"Variable": "$.prefix.value", "StringEquals": ""},
}


def _export_name(variation: Sequence[str]) -> str:
    return "Export" + (f" ({', '.join(variation)})" if variation else "")


def _export_variations() -> list[tuple[str, ...]]:
    """Every combination of variations, the most specific first (the Choice's order)."""
    names = list(_VARIATIONS)
    combos = [
        tuple(name for bit, name in enumerate(names) if mask >> bit & 1)
        for mask in range(1, 2 ** len(names))
    ]
    return sorted(combos, key=lambda combo: -len(combo))


def _export_choice() -> dict[str, Any]:
    choices = []
    for combo in _export_variations():
        conditions = [_VARIATIONS[name] for name in combo]
        rule = {"And": conditions} if len(conditions) > 1 else dict(conditions[0])
        choices.append({**rule, "Next": _export_name(combo)})
    return {"Type": "Choice", "Choices": choices, "Default": _export_name(())}


def _export_task(variation: Sequence[str], limit_retry_s: int) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "TableArn.$": "$.arn.value",
        "ExportTime.$": "$.run.time",
        "ClientToken.$": "$.arn.token",
        "S3Bucket.$": "$.entry.bucketname",
        "ExportFormat.$": "$.entry.format",
        "ExportType": "FULL_EXPORT",
        "S3SseAlgorithm.$": "$.entry.sse",
    }
    if "no prefix" not in variation:
        parameters["S3Prefix.$"] = "$.prefix.value"
    if "KMS" in variation:
        parameters["S3SseKmsKeyId.$"] = "$.entry.kms_key"
    if "owner" in variation:
        parameters["S3BucketOwner.$"] = "$.entry.bucket_owner"
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:exportTableToPointInTime",
        "Parameters": parameters,
        "ResultSelector": {"arn.$": "$.ExportDescription.ExportArn"},
        "ResultPath": "$.export",
        "Retry": _retry_start(limit_retry_s),
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Not started"}],
        "Next": "First poll",
    }


def _arn_state(value: str) -> dict[str, Any]:
    """The table ARN and the export's client token (from the run and the table)."""
    return {
        "Type": "Pass",
        "Parameters": {
            "value.$": value,
            "token.$": f"States.Hash(States.Format('{{}}/{{}}', $.run.run_id, {value}), 'SHA-256')",
        },
        "ResultPath": "$.arn",
        "Next": "Prefix",
    }


#: What a tablelist entry must look like, for the records of the entries that do not.
_ENTRY_SHAPE = (
    "each tablelist entry needs 'tablename' and 'bucketname' (strings) and may give 'prefix': "
    "a string with no '/' at either end, or null, \"\" or none at all for the bucket's root"
)
#: An entry without a usable table name is named by its place in the list.
_ENTRY_LABEL = "States.Format('tablelist[{}]', $.index)"
#: The records of entries that cannot be exported: the table, and why.
_REJECTED: dict[str, tuple[str, str]] = {
    "No table name": (_ENTRY_LABEL, f"'tablename' is missing: {_ENTRY_SHAPE}"),
    "Table name not a string": (_ENTRY_LABEL, f"'tablename' must be a string: {_ENTRY_SHAPE}"),
    "No bucket name": ("$.entry.tablename", f"'bucketname' is missing: {_ENTRY_SHAPE}"),
    "Bucket name not a string": (
        "$.entry.tablename",
        f"'bucketname' must be a string: {_ENTRY_SHAPE}",
    ),
    "Prefix not a string": ("$.entry.tablename", f"'prefix' must be a string: {_ENTRY_SHAPE}"),
    # The state machine cannot strip the slash (no intrinsic cuts a string), and keeping it
    # would put '//' in every key of the export and of its catalog record.
    "Prefix with a slash at an end": (
        "$.entry.tablename",
        f"'prefix' must not start or end with '/': {_ENTRY_SHAPE}",
    ),
}


def _is(path: str, test: str, next_state: str, *, negate: bool = False) -> dict[str, Any]:
    rule: dict[str, Any] = {"Variable": path, test: True}
    return {"Not": rule, "Next": next_state} if negate else {**rule, "Next": next_state}


#: The entry's checks, in order: a type test on a field that is absent (or a pattern on one
#: that is not a string) is a States.Runtime error no Catch stops, so presence goes first.
_ENTRY_CHECKS: list[dict[str, Any]] = [
    _is("$.entry.tablename", "IsPresent", "No table name", negate=True),
    _is("$.entry.tablename", "IsString", "Table name not a string", negate=True),
    _is("$.entry.bucketname", "IsPresent", "No bucket name", negate=True),
    _is("$.entry.bucketname", "IsString", "Bucket name not a string", negate=True),
    # A null prefix (or none) is the bucket's root, as "" is: set "" and check again.
    _is("$.entry.prefix", "IsPresent", "No prefix", negate=True),
    _is("$.entry.prefix", "IsNull", "No prefix"),
    _is("$.entry.prefix", "IsString", "Prefix not a string", negate=True),
    {"Variable": "$.entry.prefix", "StringMatches": "/*", "Next": "Prefix with a slash at an end"},
    {"Variable": "$.entry.prefix", "StringMatches": "*/", "Next": "Prefix with a slash at an end"},
]


def _rejected_state(table: str, cause: str) -> dict[str, Any]:
    """The FAILED record of an entry the checks refuse; it reads no field they did not pass."""
    return {
        "Type": "Pass",
        "Parameters": {
            "table.$": table,
            "status": "FAILED",
            "run_id.$": "$.run.run_id",
            "export_time.$": "$.run.time",
            "entry.$": "$.entry",
            "error": {"Error": "InvalidTableEntry", "Cause": cause},
        },
        "ResultPath": "$.record",
        "Next": "Write table record",
    }


def _table_states(settings: DefinitionSettings) -> dict[str, Any]:
    """The child execution: one table from entry to result."""
    last = len(settings.waits) - 1
    # Region, account and partition from the state machine's own ARN: nothing hard-coded.
    part = "States.ArrayGetItem(States.StringSplit($$.StateMachine.Id, ':'), {})"
    arn_from_name = (
        "States.Format('arn:{}:dynamodb:{}:{}:table/{}', "
        f"{part.format(1)}, {part.format(3)}, {part.format(4)}, $.entry.tablename)"
    )
    prefix_choices: list[dict[str, Any]] = [
        {"Variable": "$.entry.template", "StringEquals": t.ident, "Next": f"Prefix {t.ident}"}
        for t in settings.templates
    ]
    if settings.incremental:
        # Only incremental entries carry a mode; the Choice is one the table passes anyway.
        prefix_choices.insert(
            0, {"Variable": "$.entry.mode", "IsPresent": True, "Next": "Read chain"}
        )
    states: dict[str, Any] = {
        # The entry's checks share the ARN's Choice: a table costs no extra transition.
        "Check entry": {
            "Type": "Choice",
            "Choices": [
                *_ENTRY_CHECKS,
                {"Variable": "$.entry.table_arn", "IsPresent": True, "Next": "ARN given"},
            ],
            "Default": "ARN from name",
        },
        "No prefix": {
            "Type": "Pass",
            "Result": "",
            "ResultPath": "$.entry.prefix",
            "Next": "Check entry",
        },
        **{name: _rejected_state(table, cause) for name, (table, cause) in _REJECTED.items()},
        "ARN given": _arn_state("$.entry.table_arn"),
        "ARN from name": _arn_state(arn_from_name),
        "Prefix": {"Type": "Choice", "Choices": prefix_choices, "Default": "Prefix as given"},
        "Prefix as given": {
            "Type": "Pass",
            "Parameters": {"value.$": "$.entry.prefix"},
            "ResultPath": "$.prefix",
            "Next": "Export options",
        },
    }
    for template in settings.templates:
        arguments = "".join(", " + _ARGUMENT_PATHS[name] for name in template.arguments)
        value: dict[str, str] = (
            {"value.$": f"States.Format('{template.format}'{arguments})"}
            if template.arguments
            else {"value": template.literal}
        )
        states[f"Prefix {template.ident}"] = {
            "Type": "Pass",
            "Parameters": value,
            "ResultPath": "$.prefix",
            "Next": "Export options",
        }
    retry = settings.limit_retry_s
    after_record = "Catalogue?" if settings.catalog_prefix else "Result"
    states.update(
        {
            "Export options": _export_choice(),
            **{
                _export_name(combo): _export_task(combo, retry)
                for combo in [(), *_export_variations()]
            },
            "First poll": {
                "Type": "Pass",
                "Parameters": {"attempt": 0, "seconds.$": "States.ArrayGetItem($.run.waits, 0)"},
                "ResultPath": "$.poll",
                "Next": "Wait",
            },
            "Wait": {"Type": "Wait", "SecondsPath": "$.poll.seconds", "Next": "Describe export"},
            "Describe export": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:describeExport",
                "Parameters": {"ExportArn.$": "$.export.arn"},
                "ResultSelector": {"description.$": "$.ExportDescription"},
                "ResultPath": "$.described",
                "Retry": _retry_describe(settings.limit_retry_s),
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Lost track"}
                ],
                "Next": "Finished?",
            },
            "Finished?": {
                "Type": "Choice",
                "Choices": [
                    *(_LINK_ENDINGS if settings.incremental else []),
                    {
                        "Variable": "$.described.description.ExportStatus",
                        "StringEquals": "COMPLETED",
                        "Next": "Completed",
                    },
                    {
                        "Variable": "$.described.description.ExportStatus",
                        "StringEquals": "FAILED",
                        "Next": "Export failed",
                    },
                    {
                        "Variable": "$.poll.attempt",
                        "NumericGreaterThanEquals": last,
                        "Next": "Timed out",
                    },
                ],
                "Default": "Next poll",
            },
            "Next poll": {
                "Type": "Pass",
                "Parameters": {
                    "attempt.$": "States.MathAdd($.poll.attempt, 1)",
                    "seconds.$": (
                        "States.ArrayGetItem($.run.waits, States.MathAdd($.poll.attempt, 1))"
                    ),
                },
                "ResultPath": "$.poll",
                "Next": "Wait",
            },
            "Completed": _record_state("COMPLETED", "$.described.description", None),
            "Export failed": _record_state("FAILED", "$.described.description", None),
            "Timed out": _record_state("TIMED_OUT", "$.described.description", None),
            "Not started": _record_state("FAILED", None, "$.error"),
            "Lost track": _record_state("FAILED", None, "$.error"),
            "Write table record": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Parameters": {
                    "Bucket": settings.records_bucket,
                    "Key.$": (
                        f"States.Format('{_escape(settings.records_prefix)}/{{}}/tables/"
                        "{}.json', $.record.run_id, $.record.table)"
                    ),
                    "Body.$": "States.JsonToString($.record)",
                    "ContentType": "application/json",
                    **_sse(settings.kms_key),
                },
                "ResultPath": None,
                "Retry": _RETRY_READ,
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "ResultPath": "$.record_error",
                        "Next": after_record,
                    }
                ],
                "Next": after_record,
            },
            **(
                _catalog_states(settings.catalog_prefix, settings.incremental)
                if settings.catalog_prefix
                else {}
            ),
            **(
                link_states(
                    catalog_prefix=settings.catalog_prefix,
                    templates={t.ident: t.source for t in settings.templates},
                    retry_start=_retry_start(retry),
                    retry_read=_RETRY_READ,
                )
                if settings.incremental and settings.catalog_prefix
                else {}
            ),
            "Result": {
                "Type": "Pass",
                "Parameters": {"table.$": "$.record.table", "status.$": "$.record.status"},
                "End": True,
            },
        }
    )
    return states


_EXPORT_ID = "States.ArrayGetItem(States.StringSplit($.export.arn, '/'), 3)"
_DESCRIBED = "$.described.description."


#: "Finished?" sends an incremental table's link to its own ending states.
_LINK_ENDINGS: list[dict[str, Any]] = [
    {
        "And": [
            {"Variable": "$.link", "IsPresent": True},
            {"Variable": "$.described.description.ExportStatus", "StringEquals": status},
        ],
        "Next": state,
    }
    for status, state in (("COMPLETED", "Link completed"), ("FAILED", "Link failed"))
]


def _catalog_states(prefix: str, incremental: bool = False) -> dict[str, Any]:
    """A COMPLETED export's catalog record, as the local runner writes it but not yet
    verified (``verification`` null): ``ddbexport catalog rebuild`` or ``verify`` checks it.

    Only fields AWS always returns for a COMPLETED export are read: a missing path would be a
    States.Runtime error, which no Catch can stop.
    """
    record = {
        "table.$": "$.entry.tablename",
        "table_arn.$": _DESCRIBED + "TableArn",
        "export_arn.$": "$.export.arn",
        "export_type": "FULL_EXPORT",
        "status": "COMPLETED",
        "s3_bucket.$": "$.entry.bucketname",
        "s3_prefix.$": "$.folder.prefix",
        "export_folder.$": "$.folder.path",
        "export_time.$": "$.run.time",
        "start_time.$": _DESCRIBED + "StartTime",
        "end_time.$": _DESCRIBED + "EndTime",
        "item_count.$": _DESCRIBED + "ItemCount",
        "billed_size_bytes.$": _DESCRIBED + "BilledSizeBytes",
        "output_format.$": _DESCRIBED + "ExportFormat",
        "manifest_summary_key.$": "States.Format('{}/manifest-summary.json', $.folder.path)",
        "manifest_files_key.$": "States.Format('{}/manifest-files.json', $.folder.path)",
        "run_id.$": "$.run.run_id",
        "verification": None,
        "recorded_at.$": "$$.State.EnteredTime",
        "source": "pipeline",
    }
    key = (
        f"States.Format('{_escape(prefix)}/exports/table={{}}/{{}}.json', "
        "$.entry.tablename, $.folder.id)"
    )
    variations = {
        "KMS": {"Variable": "$.entry.kms_key", "IsPresent": True},
        "owner": {"Variable": "$.entry.bucket_owner", "IsPresent": True},
    }
    states: dict[str, Any] = {
        "Catalogue?": {
            "Type": "Choice",
            "Choices": [
                *(
                    [{"Variable": "$.link", "IsPresent": True, "Next": "More links?"}]
                    if incremental
                    else []
                ),
                {
                    "Variable": "$.record.status",
                    "StringEquals": "COMPLETED",
                    "Next": "Export folder",
                },
            ],
            "Default": "Result",
        },
        "Export folder": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.prefix.value", "StringEquals": "", "Next": "Folder at the root"}
            ],
            "Default": "Folder under the prefix",
        },
        "Folder at the root": {
            "Type": "Pass",
            "Parameters": {
                "id.$": _EXPORT_ID,
                "path.$": f"States.Format('AWSDynamoDB/{{}}', {_EXPORT_ID})",
                "prefix": None,
            },
            "ResultPath": "$.folder",
            "Next": "Catalog record",
        },
        "Folder under the prefix": {
            "Type": "Pass",
            "Parameters": {
                "id.$": _EXPORT_ID,
                "path.$": f"States.Format('{{}}/AWSDynamoDB/{{}}', $.prefix.value, {_EXPORT_ID})",
                "prefix.$": "$.prefix.value",
            },
            "ResultPath": "$.folder",
            "Next": "Catalog record",
        },
        "Catalog record": {
            "Type": "Pass",
            "Parameters": record,
            "ResultPath": "$.catalog",
            "Next": "Catalog options",
        },
        "Catalog options": {
            "Type": "Choice",
            "Choices": [
                {"And": list(variations.values()), "Next": "Write catalog record (KMS, owner)"},
                {**variations["KMS"], "Next": "Write catalog record (KMS)"},
                {**variations["owner"], "Next": "Write catalog record (owner)"},
            ],
            "Default": "Write catalog record",
        },
    }
    for kms, owner in ((True, True), (True, False), (False, True), (False, False)):
        parameters: dict[str, Any] = {
            "Bucket.$": "$.entry.bucketname",
            "Key.$": key,
            "Body.$": "States.JsonToString($.catalog)",
            "ContentType": "application/json",
        }
        if kms:
            parameters |= {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId.$": "$.entry.kms_key"}
        else:
            parameters["ServerSideEncryption"] = "AES256"
        if owner:
            parameters["ExpectedBucketOwner.$"] = "$.entry.bucket_owner"
        variation = [name for name, on in (("KMS", kms), ("owner", owner)) if on]
        name = "Write catalog record" + (f" ({', '.join(variation)})" if variation else "")
        states[name] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": parameters,
            "ResultPath": None,
            "Retry": _RETRY_READ,
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.catalog_error", "Next": "Result"}
            ],
            "Next": "Result",
        }
    return states


def _sse(kms_key: str | None) -> dict[str, Any]:
    if kms_key:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
    return {"ServerSideEncryption": "AES256"}


def _record_state(status: str, description: str | None, error: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "table.$": "$.entry.tablename",
        "table_arn.$": "$.arn.value",
        "status": status,
        "run_id.$": "$.run.run_id",
        "export_time.$": "$.run.time",
        "s3_bucket.$": "$.entry.bucketname",
        "s3_prefix.$": "$.prefix.value",
    }
    if description is not None:
        record["export.$"] = description
    if error is not None:
        record["error.$"] = error
    return {
        "Type": "Pass",
        "Parameters": record,
        "ResultPath": "$.record",
        "Next": "Write table record",
    }


def _read_table_list(settings: DefinitionSettings) -> dict[str, Any]:
    """GetParameter, or GetObject for lists larger than an SSM parameter holds."""
    if settings.table_list_object is not None:
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": settings.records_bucket, "Key": settings.table_list_object},
            "ResultSelector": {"value.$": "States.StringToJson($.Body)"},
            "ResultPath": "$.list",
            "Retry": _RETRY_READ,
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
                    "States": _table_states(settings),
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
                        f"States.Format('{_escape(settings.records_prefix)}/{{}}/run.json', "
                        "$.run_id)"
                    ),
                    "Body.$": "States.JsonToString($)",
                    "ContentType": "application/json",
                    **_sse(settings.kms_key),
                },
                "ResultPath": None,
                "Retry": _RETRY_READ,
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
                        "Retry": _RETRY_READ,
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


def templates_for(prefixes: Sequence[str]) -> tuple[PrefixTemplate, ...]:
    """One compiled template per distinct prefix template, ids t0, t1, …"""
    distinct = list(dict.fromkeys(prefixes))
    return tuple(compile_prefix(f"t{index}", text) for index, text in enumerate(distinct))
