"""The states that export an incremental table's next links in the pipeline. Pure.

A child execution for a table whose entry says ``"mode": "incremental"`` leaves the common path
at the ``Prefix`` Choice and:

1. reads the table's chain object (:mod:`ddbexport.catalog.chainstate`; none yet: no
   baseline) and its PITR window (DescribeContinuousBackups);
2. plans the next link in one JSONata state, by the rules of
   :func:`ddbexport.planning.windows.plan_table` and with its constants: the horizon is
   LatestRestorableDateTime minus the lag, floored to the grid; a full export when there is no
   baseline, when ``full_every`` has elapsed or a rebaseline was asked for; a ``PitrGap`` failure
   when the chain ends before the PITR window; else the window from the chain's end, at most 24
   hours, at least 15 minutes (shorter: WAITING). Its ClientToken is the one the local runner
   computes for the same export;
3. exports it and follows it with the common polling states;
4. on its end writes the table's record, the export's catalog record and the new chain object,
   then goes on with the next window while the backlog holds one, at most :data:`MAX_LINKS`
   links per execution (the rest goes on next run).

Only the date arithmetic and the optional request fields need JSONata (per-state
``QueryLanguage``); everything else stays JSONPath like the rest of the definition.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from typing import Any

from ddbexport.planning.windows import IncrementalSettings

#: Links one execution exports per table at most: a backlog of three days and a remainder.
MAX_LINKS = 4

_DEFAULTS = IncrementalSettings()
_MS = 1000


def _jsonata(expression: str) -> str:
    # Kept as written (newlines and all): collapsing spaces would change string literals.
    return "{% " + expression.strip() + " %}"


def _template_parts(templates: Mapping[str, str]) -> dict[str, list[list[str]]]:
    """Each prefix template (id → template text) as ``[["l", literal] | ["p", placeholder],
    …]`` for the plan's JSONata."""
    parts: dict[str, list[list[str]]] = {}
    for ident, source in templates.items():
        pieces: list[list[str]] = []
        for literal, field, _, _ in string.Formatter().parse(source):
            if literal:
                pieces.append(["l", literal])
            if field is not None:
                pieces.append(["p", field])
        parts[ident] = pieces
    return parts


def _plan_expression(templates: Mapping[str, str]) -> str:
    grid = int(_DEFAULTS.grid.total_seconds()) * _MS
    lag = int(_DEFAULTS.lag.total_seconds()) * _MS
    shortest = int(_DEFAULTS.min_window.total_seconds()) * _MS
    longest = int(_DEFAULTS.max_window.total_seconds()) * _MS
    parts = json.dumps(_template_parts(templates), separators=(",", ":"))
    return f"""(
    $in := $states.input;
    $e := $in.entry;
    $arn := $in.arn.value;
    $p := $in.pitr;
    $ms := function($t) {{ $type($t) = "number" ? $round($t * 1000) : $toMillis($t) }};
    $iso := function($m) {{ $fromMillis($m, "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01]Z") }};
    $on := $p.PointInTimeRecoveryStatus = "ENABLED" and $exists($p.LatestRestorableDateTime);
    $horizon := $on ? $floor(($ms($p.LatestRestorableDateTime) - {lag}) / {grid}) * {grid} : 0;
    $earliest := $on ? $ms($p.EarliestRestorableDateTime) : 0;
    $c := $in.chain;
    $chained := $type($c) = "object" and $c.table_arn = $arn and $type($c.end) = "string"
        and $type($c.baseline_time) = "string";
    $again := $type($c) = "object" and $c.rebaseline = true;
    $end := $chained ? $ms($c.end) : 0;
    $base := $chained ? $ms($c.baseline_time) : 0;
    $every := $e.full_every_s;
    $why := $again ? "new baseline asked for (rebaseline)"
        : $not($chained) ? "no baseline yet: the chain starts with a full export" : "";
    $gap := $why = "" and $end < $earliest;
    $why := ($why = "" and $not($gap) and $type($every) = "number"
        and $horizon - $base >= $every * 1000)
        ? "full_every has elapsed since the baseline at " & $iso($base) : $why;
    $to := $min([$end + {longest}, $horizon]);
    $running := $type($in.running) = "array" ? $in.running : [];
    $action := $not($on) ? "nopitr"
        : $count($running) > 0 ? "busy"
        : $why != "" ? ($horizon < $earliest ? "wait"
            : ($chained and $base >= $horizon) ? "wait" : "full")
        : $gap ? "gap"
        : ($to - $end >= {shortest}) ? "window" : "wait";
    $full := $action = "full";
    $moment := $full ? $horizon : $to;
    $key := $full ? "full/" & $iso($horizon) : $iso($end) & "/" & $iso($to);
    $attempt := ($type($c) = "object" and $type($c.failed) = "object" and $c.failed.key = $key
        and $type($c.failed.attempts) = "number") ? $c.failed.attempts + 1 : 1;
    $name := $full ? "ddbexport-full/" & $arn & "/" & $iso($horizon)
        : "ddbexport-incremental/" & $arn & "/" & $iso($end) & "/" & $iso($to);
    $date := $fromMillis($moment, "[Y0001]/[M01]/[D01]");
    $clock := $fromMillis($moment, "[H01][m01][s01]");
    $parts := {parts};
    $pieces := $lookup($parts, $e.template);
    $raw := $type($pieces) = "array"
        ? $join($map($pieces, function($x) {{
            $x[0] = "l" ? $x[1] : $x[1] = "table" ? $e.tablename : $x[1] = "date" ? $date
            : $x[1] = "time" ? $clock : ""
        }}))
        : ($type($e.prefix) = "string" ? $e.prefix : "");
    $prefix := $type($raw) = "string" ? $replace($raw, /^\\/+|\\/+$/, "") : "";
    $links := $type($in.links) = "number" ? $in.links : 0;
    $view := $type($e.view) = "string" ? $e.view : "{_DEFAULTS.view}";
    $merge([$in, {{
        "links": $links + 1,
        "link": {{
            "action": $action,
            "reason": $action = "nopitr" ? "point-in-time recovery is off; exports need it"
                : $action = "busy" ? "an export of the table is still running ("
                    & $join($running, ", ") & "): the chain goes on once it has ended"
                : $action = "gap" ? "the chain ends at " & $iso($end)
                    & ", before the start of the PITR window (EarliestRestorableDateTime "
                    & $iso($earliest) & "); the writes in between can no longer be exported. "
                    & "Take a new full export: ddbexport invoke --rebaseline " & $e.tablename
                : $action = "wait" ? ($why != ""
                    ? "a full export is due (" & $why & ") but the PITR window cannot serve "
                        & "a newer one yet"
                    : "next window from " & $iso($end) & " is shorter than 15 minutes: a later "
                        & "run exports it")
                : $why,
            "export_type": $full ? "FULL_EXPORT" : "INCREMENTAL_EXPORT",
            "time": $action = "full" or $action = "window" ? $iso($moment) : null,
            "from": $full ? null : $iso($end),
            "to": $full ? null : $iso($to),
            "view": $view,
            "spec": $full ? null : {{
                "ExportFromTime": $iso($end),
                "ExportToTime": $iso($to),
                "ExportViewType": $view
            }},
            "key": $key,
            "attempt": $attempt,
            "token": $hash($attempt > 1 ? $name & "/" & $string($attempt) : $name, "SHA-256"),
            "prefix": $type($prefix) = "string" ? $prefix : "",
            "more": $action = "window" and $horizon - $to >= {shortest},
            "chain": $chained ? $c : null
        }}
    }}])
)"""


#: Optional request fields: each with the Choice condition that says it is wanted, and the
#: arguments it adds. Arguments stay objects (no field may be absent in one), so a Task is
#: generated per combination, the most specific first, as for full exports.
_Option = tuple[str, dict[str, Any], dict[str, str]]

_KMS_PUT: _Option = (
    "KMS",
    {"Variable": "$.entry.kms_key", "IsPresent": True},
    {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "{% $states.input.entry.kms_key %}"},
)
_OWNER_PUT: _Option = (
    "owner",
    {"Variable": "$.entry.bucket_owner", "IsPresent": True},
    {"ExpectedBucketOwner": "{% $states.input.entry.bucket_owner %}"},
)
_EXPORT_OPTIONS: list[_Option] = [
    (
        "window",
        {"Variable": "$.link.export_type", "StringEquals": "INCREMENTAL_EXPORT"},
        {"IncrementalExportSpecification": "{% $states.input.link.spec %}"},
    ),
    (
        "prefix",
        {"Not": {"Variable": "$.link.prefix", "StringEquals": ""}},
        {"S3Prefix": "{% $states.input.link.prefix %}"},
    ),
    (
        "KMS",
        {"Variable": "$.entry.kms_key", "IsPresent": True},
        {"S3SseKmsKeyId": "{% $states.input.entry.kms_key %}"},
    ),
    (
        "owner",
        {"Variable": "$.entry.bucket_owner", "IsPresent": True},
        {"S3BucketOwner": "{% $states.input.entry.bucket_owner %}"},
    ),
]


def _variants(
    name: str,
    options: list[_Option],
    task: dict[str, Any],
    arguments: dict[str, Any],
    *,
    otherwise: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Choice named ``name`` and one Task per combination of ``options``: the Task's
    ``Arguments`` are ``arguments`` plus those of the options it has (``otherwise``: the
    arguments of a combination without the first option)."""
    states: dict[str, Any] = {}
    combos = sorted(
        (
            tuple(option for bit, option in enumerate(options) if mask >> bit & 1)
            for mask in range(2 ** len(options))
        ),
        key=lambda combo: -len(combo),
    )
    choices = []
    for combo in combos:
        label = ", ".join(option[0] for option in combo)
        state = f"{name} ({label})" if label else name
        extra: dict[str, Any] = {}
        for option in combo:
            extra |= option[2]
        if otherwise is not None and options[0] not in combo:
            extra |= otherwise
        states[state] = {**task, "Arguments": {**arguments, **extra}}
        if combo:
            conditions = [option[1] for option in combo]
            rule = {"And": conditions} if len(conditions) > 1 else dict(conditions[0])
            choices.append({**rule, "Next": state})
    return {
        f"{name}?": {"Type": "Choice", "Choices": choices, "Default": name},
        **states,
    }


def _ended_expression(status: str) -> str:
    """The table's record, the export's catalog record and the new chain object, once the
    link's export ended COMPLETED or FAILED."""
    completed = status == "COMPLETED"
    chain_update = (
        """$l.export_type = "FULL_EXPORT"
            ? {"baseline_export_arn": $arn0, "baseline_time": $l.time, "end": $l.time}
            : {"end": $l.to}"""
        if completed
        else """{}"""
    )
    failed = "null" if completed else """{"key": $l.key, "attempts": $l.attempt}"""
    # A request for a new baseline stands until a full export has COMPLETED.
    rebaseline = (
        '$l.export_type = "FULL_EXPORT" ? false : $base.rebaseline = true'
        if completed
        else "$base.rebaseline = true"
    )
    failure = (
        "null"
        if completed
        else """{"code": $exists($d.FailureCode) ? $d.FailureCode : "ExportFailed",
            "message": $exists($d.FailureMessage) ? $d.FailureMessage : ""}"""
    )
    return f"""(
    $in := $states.input;
    $l := $in.link;
    $d := $in.described.description;
    $arn0 := $in.export.arn;
    $id := $split($arn0, "/")[3];
    $folder := ($l.prefix = "" ? "" : $l.prefix & "/") & "AWSDynamoDB/" & $id;
    $base := $type($l.chain) = "object" ? $l.chain : {{}};
    $merge([$in, {{
        "record": {{
            "table": $in.entry.tablename,
            "table_arn": $in.arn.value,
            "status": "{status}",
            "run_id": $in.run.run_id,
            "export_time": $l.time,
            "export_type": $l.export_type,
            "from_time": $l.from,
            "to_time": $l.to,
            "s3_bucket": $in.entry.bucketname,
            "s3_prefix": $l.prefix,
            "export": $d
        }},
        "catalog": {{
            "table": $in.entry.tablename,
            "table_arn": $in.arn.value,
            "export_arn": $arn0,
            "export_type": $l.export_type,
            "status": "{status}",
            "s3_bucket": $in.entry.bucketname,
            "s3_prefix": $l.prefix = "" ? null : $l.prefix,
            "export_folder": $folder,
            "export_time": $l.export_type = "FULL_EXPORT" ? $l.time : null,
            "from_time": $l.from,
            "to_time": $l.to,
            "start_time": $d.StartTime,
            "end_time": $d.EndTime,
            "item_count": $d.ItemCount,
            "billed_size_bytes": $d.BilledSizeBytes,
            "output_format": $in.entry.format,
            "manifest_summary_key": {'$folder & "/manifest-summary.json"' if completed else "null"},
            "manifest_files_key": {'$folder & "/manifest-files.json"' if completed else "null"},
            "run_id": $in.run.run_id,
            "verification": null,
            "failure": {failure},
            "recorded_at": $states.context.State.EnteredTime,
            "source": "pipeline",
            "extra": {{"chain": true}}
        }},
        "chain": $merge([$base, {{
            "version": 1,
            "table": $in.entry.tablename,
            "table_arn": $in.arn.value,
            "failed": {failed},
            "rebaseline": {rebaseline},
            "updated_at": $states.context.State.EnteredTime,
            "source": "pipeline"
        }}, {chain_update}]),
        "link": $merge([$l, {{"more": {"$l.more" if completed else "false"}}}])
    }}])
)"""


def _put(key: str, body: str) -> dict[str, str]:
    """putObject's arguments for a JSON object in the table's bucket."""
    return {
        "Bucket": "{% $states.input.entry.bucketname %}",
        "Key": _jsonata(key),
        "Body": _jsonata(f"$string({body})"),
        "ContentType": "application/json",
    }


def _not_due_expression() -> str:
    """The table's record when the plan exports nothing: WAITING, or FAILED (PITR off, gap)."""
    return """(
    $in := $states.input;
    $l := $in.link;
    $merge([$in, {
        "record": $merge([{
            "table": $in.entry.tablename,
            "table_arn": $in.arn.value,
            "status": $l.action in ["wait", "busy"] ? "WAITING" : "FAILED",
            "run_id": $in.run.run_id,
            "export_time": $l.time,
            "s3_bucket": $in.entry.bucketname,
            "note": $l.reason
        }, $l.action in ["wait", "busy"] ? {} : {"error": {
            "Error": $l.action = "gap" ? "PitrGap" : "PointInTimeRecoveryUnavailable",
            "Cause": $l.reason
        }}])
    }])
)"""


def _catch(next_state: str, field: str = "error") -> list[dict[str, Any]]:
    return [
        {
            "ErrorEquals": ["States.ALL"],
            "Output": _jsonata(f'$merge([$states.input, {{"{field}": $states.errorOutput}}])'),
            "Next": next_state,
        }
    ]


def link_states(
    *,
    catalog_prefix: str,
    templates: Mapping[str, str],
    retry_start: list[dict[str, Any]],
    retry_read: list[dict[str, Any]],
) -> dict[str, Any]:
    """The states of the incremental path (see the module's description)."""
    chain_key = (
        f'"{catalog_prefix.strip("/")}/chains/table=" & $states.input.entry.tablename & ".json"'
    )
    catalog_key = (
        f'"{catalog_prefix.strip("/")}/exports/table=" & $states.input.entry.tablename & "/" '
        '& $split($states.input.export.arn, "/")[3] & ".json"'
    )
    return {
        "Read chain": {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            # No ExpectedBucketOwner: reading checks nothing a write could leak.
            "Arguments": {
                "Bucket": "{% $states.input.entry.bucketname %}",
                "Key": _jsonata(chain_key),
            },
            "Output": _jsonata('$merge([$states.input, {"chain": $parse($states.result.Body)}])'),
            "Retry": retry_read,
            "Catch": [
                {
                    # AWS names it S3.NoSuchKeyException (moto: s3.NoSuchKeyException).
                    "ErrorEquals": [
                        "S3.NoSuchKeyException",
                        "S3.NoSuchKey",
                        "s3.NoSuchKeyException",
                    ],
                    "Output": _jsonata('$merge([$states.input, {"chain": null}])'),
                    "Next": "PITR window",
                },
                *_catch("Chain unreadable"),
            ],
            "Next": "PITR window",
        },
        "Chain unreadable": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": _jsonata(
                """$merge([$states.input, {"record": {
                    "table": $states.input.entry.tablename,
                    "table_arn": $states.input.arn.value,
                    "status": "FAILED",
                    "run_id": $states.input.run.run_id,
                    "s3_bucket": $states.input.entry.bucketname,
                    "error": $states.input.error
                }}])"""
            ),
            "Next": "Write table record",
        },
        "PITR window": {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:describeContinuousBackups",
            "Arguments": {"TableName": "{% $states.input.arn.value %}"},
            "Output": _jsonata(
                '$merge([$states.input, {"pitr": $states.result.ContinuousBackupsDescription'
                ".PointInTimeRecoveryDescription}])"
            ),
            "Retry": retry_read,
            "Catch": _catch("Link not started"),
            "Next": "Running exports",
        },
        "Running exports": {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:listExports",
            # ListExports lists the newest first: one page holds any export still running.
            "Arguments": {"TableArn": "{% $states.input.arn.value %}", "MaxResults": 25},
            "Output": _jsonata(
                """$merge([$states.input, {"running": [
                    $states.result.ExportSummaries[ExportStatus = "IN_PROGRESS"].ExportArn
                ]}])"""
            ),
            "Retry": retry_read,
            "Catch": _catch("Link not started"),
            "Next": "Plan link",
        },
        "Link not started": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": _jsonata(
                """$merge([$states.input, {
                    "link": $merge([$type($states.input.link) = "object"
                        ? $states.input.link : {}, {"more": false}]),
                    "record": {
                        "table": $states.input.entry.tablename,
                        "table_arn": $states.input.arn.value,
                        "status": "FAILED",
                        "run_id": $states.input.run.run_id,
                        "s3_bucket": $states.input.entry.bucketname,
                        "error": $states.input.error
                    }
                }])"""
            ),
            "Next": "Write table record",
        },
        "Plan link": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": _jsonata(_plan_expression(templates)),
            "Next": "Link due?",
        },
        "Link due?": {
            "Type": "Choice",
            "Choices": [
                {
                    "Or": [
                        {"Variable": "$.link.action", "StringEquals": "full"},
                        {"Variable": "$.link.action", "StringEquals": "window"},
                    ],
                    "Next": "Export link?",
                }
            ],
            "Default": "Link not due",
        },
        "Link not due": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": _jsonata(_not_due_expression()),
            "Next": "Write table record",
        },
        **_variants(
            "Export link",
            _EXPORT_OPTIONS,
            {
                "Type": "Task",
                "QueryLanguage": "JSONata",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:exportTableToPointInTime",
                "Output": _jsonata(
                    '$merge([$states.input, {"export": {"arn": '
                    "$states.result.ExportDescription.ExportArn}, "
                    '"prefix": {"value": $states.input.link.prefix}}])'
                ),
                "Retry": retry_start,
                "Catch": _catch("Link not started"),
                "Next": "First poll",
            },
            {
                "TableArn": "{% $states.input.arn.value %}",
                "ClientToken": "{% $states.input.link.token %}",
                "S3Bucket": "{% $states.input.entry.bucketname %}",
                "ExportFormat": "{% $states.input.entry.format %}",
                "S3SseAlgorithm": "{% $states.input.entry.sse %}",
                "ExportType": "{% $states.input.link.export_type %}",
            },
            otherwise={"ExportTime": "{% $states.input.link.time %}"},
        ),
        # The catalog record first, then the chain object, then the table's record: the chain
        # never moves past an export the catalog does not hold, and a failed write fails the
        # table (the next run plans the same export again: the same token, the same export).
        "Link completed": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": _jsonata(_ended_expression("COMPLETED")),
            "Next": "Write link catalog record?",
        },
        "Link failed": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": _jsonata(_ended_expression("FAILED")),
            "Next": "Write link catalog record?",
        },
        "Link not recorded": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": _jsonata(
                """$merge([$states.input, {
                    "link": $merge([$states.input.link, {"more": false}]),
                    "record": $merge([$states.input.record, {
                        "status": "FAILED",
                        "error": {
                            "Error": "LinkNotRecorded",
                            "Cause": "the export ended but its catalog record or the chain "
                                & "object could not be written, so the chain did not move; "
                                & "the next run exports the same link again: "
                                & $string($states.input.write_error)
                        }
                    }])
                }])"""
            ),
            "Next": "Write table record",
        },
        **_variants(
            "Write link catalog record",
            [_KMS_PUT, _OWNER_PUT],
            {
                "Type": "Task",
                "QueryLanguage": "JSONata",
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Output": "{% $states.input %}",
                "Retry": retry_read,
                "Catch": _catch("Link not recorded", "write_error"),
                "Next": "Write chain?",
            },
            _put(catalog_key, "$states.input.catalog"),
            otherwise={"ServerSideEncryption": "AES256"},
        ),
        **_variants(
            "Write chain",
            [_KMS_PUT, _OWNER_PUT],
            {
                "Type": "Task",
                "QueryLanguage": "JSONata",
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                # The next link is planned from the chain just written; the last one's
                # catalog record is not carried into it.
                "Output": _jsonata('$merge([$states.input, {"catalog": null}])'),
                "Retry": retry_read,
                "Catch": _catch("Link not recorded", "write_error"),
                "Next": "Write table record",
            },
            _put(chain_key, "$states.input.chain"),
            otherwise={"ServerSideEncryption": "AES256"},
        ),
        "More links?": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.record.status", "StringEquals": "COMPLETED"},
                        {"Variable": "$.link.more", "BooleanEquals": True},
                        {"Variable": "$.links", "NumericLessThan": MAX_LINKS},
                    ],
                    "Next": "PITR window",
                }
            ],
            "Default": "Outcome",
        },
    }
