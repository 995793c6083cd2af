"""A child's export request: the table's ARN and client token, the Choice between the
request's variations, and the ExportTableToPointInTime Task of each. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .retries import start_retries

#: How an export request can differ from the common one (prefix, no KMS key, no bucket owner),
#: each with the Choice condition that detects it in the table's entry.
_VARIATIONS: dict[str, dict[str, Any]] = {
    "KMS": {"Variable": "$.entry.kms_key", "IsPresent": True},
    "owner": {"Variable": "$.entry.bucket_owner", "IsPresent": True},
    # AWS writes to the bucket's root without a prefix; an empty S3Prefix is not sent at all.
    "no prefix": {"Variable": "$.prefix.value", "StringEquals": ""},
}


def export_name(variation: Sequence[str]) -> str:
    return "Export" + (f" ({', '.join(variation)})" if variation else "")


def export_variations() -> list[tuple[str, ...]]:
    """Every combination of variations, the most specific first (the Choice's order)."""
    names = list(_VARIATIONS)
    combos = [
        tuple(name for bit, name in enumerate(names) if mask >> bit & 1)
        for mask in range(1, 2 ** len(names))
    ]
    return sorted(combos, key=lambda combo: -len(combo))


def export_choice() -> dict[str, Any]:
    choices = []
    for combo in export_variations():
        conditions = [_VARIATIONS[name] for name in combo]
        rule = {"And": conditions} if len(conditions) > 1 else dict(conditions[0])
        choices.append({**rule, "Next": export_name(combo)})
    return {"Type": "Choice", "Choices": choices, "Default": export_name(())}


def export_task(variation: Sequence[str], limit_retry_s: int) -> dict[str, Any]:
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
        "Retry": start_retries(limit_retry_s),
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Not started"}],
        "Next": "Wait for the export",
    }


def arn_state(value: str) -> dict[str, Any]:
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
