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


def table_states(settings: DefinitionSettings) -> dict[str, Any]:
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
    after_record = "Catalogue?" if settings.catalog_prefix else "Result"
    states.update(
        {
            "Export options": export_choice(),
            **{
                export_name(combo): export_task(combo, retry)
                for combo in [(), *export_variations()]
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
                "Retry": retry_describe(settings.limit_retry_s),
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
        }
    )
    return states
