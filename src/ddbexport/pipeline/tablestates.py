"""The child execution's states: one table from its entry through the export, the polls and
the records to its result. Pure."""

from __future__ import annotations

from typing import Any

from .definitionsettings import DefinitionSettings
from .entrychecks import ENTRY_CHECKS, REJECTED, rejected_state
from .exportstates import arn_state, export_choice, export_name, export_task, export_variations
from .links import link_states
from .prefixes import ARGUMENT_PATHS, escape
from .records import catalog_states, record_sse, record_state
from .retries import RETRY_READ, retry_describe, start_retries

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


#: The next poll, worked out by DescribeExport itself (a Pass state in the loop would cost a
#: transition per poll). ``poll.attempt`` counts the polls made (0 for the first); a table
#: whose entry says how long its previous export took (``expected_s``) waited that long first
#: and then follows ``run.near_waits``, any other (and an incremental link) ``run.waits`` after
#: its first wait. ``poll.over``: no wait is left, the table has timed out.
_NEXT_POLL = """(
    $input := $states.input;
    $attempt := $exists($input.poll.attempt) ? $input.poll.attempt + 1 : 0;
    $near := $exists($input.entry.expected_s) and $not($exists($input.link));
    $next := $near ? $input.run.near_waits[$attempt] : $input.run.waits[$attempt + 1];
    $merge([$input, {
        "described": {"description": $states.result.ExportDescription},
        "poll": {"attempt": $attempt, "seconds": $next, "over": $not($exists($next))}
    }])
)"""

#: A table that did not export ends its child execution FAILED, after its records: the Map
#: Run counts it, and the FAILED results file the Map writes names it with this error.
_TABLE_FAILED: dict[str, Any] = {
    "Type": "Fail",
    "QueryLanguage": "JSONata",
    "Error": "{% $states.input.record.status = 'TIMED_OUT' ? 'ExportTimedOut' : 'ExportFailed' %}",
    "Cause": (
        "{% $string({'table': $states.input.record.table, 'status': $states.input.record.status,"
        " 'error': $states.input.record.error}) %}"
    ),
}


def table_states(settings: DefinitionSettings) -> dict[str, Any]:
    """The child execution: one table from entry to result."""
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
                *ENTRY_CHECKS,
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
        **{name: rejected_state(table, cause) for name, (table, cause) in REJECTED.items()},
        "ARN given": arn_state("$.entry.table_arn"),
        "ARN from name": arn_state(arn_from_name),
        "Prefix": {"Type": "Choice", "Choices": prefix_choices, "Default": "Prefix as given"},
        "Prefix as given": {
            "Type": "Pass",
            "Parameters": {"value.$": "$.entry.prefix"},
            "ResultPath": "$.prefix",
            "Next": "Export options",
        },
    }
    for template in settings.templates:
        arguments = "".join(", " + ARGUMENT_PATHS[name] for name in template.arguments)
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
    after_record = "Catalogue?" if settings.catalog_prefix else "Outcome"
    states.update(
        {
            "Export options": export_choice(),
            **{
                export_name(combo): export_task(combo, retry)
                for combo in [(), *export_variations()]
            },
            # The first wait: the table's previous export's duration when known, else
            # poll_first or a size-based guess (the entry's first_wait_s, see tablelist).
            "Wait for the export": {
                "Type": "Wait",
                "SecondsPath": "$.entry.first_wait_s",
                "Next": "Describe export",
            },
            "Wait": {"Type": "Wait", "SecondsPath": "$.poll.seconds", "Next": "Describe export"},
            "Describe export": {
                "Type": "Task",
                "QueryLanguage": "JSONata",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:describeExport",
                "Arguments": {"ExportArn": "{% $states.input.export.arn %}"},
                "Output": "{% " + _NEXT_POLL + " %}",
                "Retry": retry_describe(settings.limit_retry_s),
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Output": "{% $merge([$states.input, {'error': $states.errorOutput}]) %}",
                        "Next": "Lost track",
                    }
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
                    {"Variable": "$.poll.over", "BooleanEquals": True, "Next": "Timed out"},
                ],
                "Default": "Wait",
            },
            "Completed": record_state("COMPLETED", "$.described.description", None),
            "Export failed": record_state("FAILED", "$.described.description", None),
            "Timed out": record_state("TIMED_OUT", "$.described.description", None),
            "Not started": record_state("FAILED", None, "$.error"),
            "Lost track": record_state("FAILED", None, "$.error"),
            "Write table record": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Parameters": {
                    "Bucket": settings.records_bucket,
                    "Key.$": (
                        f"States.Format('{escape(settings.records_prefix)}/{{}}/tables/"
                        "{}.json', $.record.run_id, $.record.table)"
                    ),
                    "Body.$": "States.JsonToString($.record)",
                    "ContentType": "application/json",
                    **record_sse(settings.kms_key),
                },
                "ResultPath": None,
                "Retry": RETRY_READ,
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
                catalog_states(settings.catalog_prefix, settings.incremental)
                if settings.catalog_prefix
                else {}
            ),
            **(
                link_states(
                    catalog_prefix=settings.catalog_prefix,
                    templates={t.ident: t.source for t in settings.templates},
                    retry_start=start_retries(retry),
                    retry_read=RETRY_READ,
                )
                if settings.incremental and settings.catalog_prefix
                else {}
            ),
            "Result": {
                "Type": "Pass",
                "Parameters": {"table.$": "$.record.table", "status.$": "$.record.status"},
                "End": True,
            },
            "Table failed": _TABLE_FAILED,
        }
    )
    if settings.incremental:
        # An incremental link's polls start over from run.waits.
        states["First poll"] = {
            "Type": "Pass",
            "Parameters": {"attempt": -1, "seconds.$": "States.ArrayGetItem($.run.waits, 0)"},
            "ResultPath": "$.poll",
            "Next": "Wait",
        }
    if settings.incremental or not settings.catalog_prefix:
        # Where the table's status is not known on the way: FAILED and TIMED_OUT fail the
        # child; COMPLETED, and an incremental link not due yet (WAITING), do not.
        states["Outcome"] = {
            "Type": "Choice",
            "Choices": [
                {
                    "Or": [
                        {"Variable": "$.record.status", "StringEquals": "FAILED"},
                        {"Variable": "$.record.status", "StringEquals": "TIMED_OUT"},
                    ],
                    "Next": "Table failed",
                }
            ],
            "Default": "Result",
        }
    return states
