"""What a child writes besides its export: the table's record, the encryption of records,
and a COMPLETED export's catalog record. Pure."""

from __future__ import annotations

from typing import Any

from .prefixes import escape
from .retries import RETRY_READ

_EXPORT_ID = "States.ArrayGetItem(States.StringSplit($.export.arn, '/'), 3)"
_DESCRIBED = "$.described.description."


def catalog_states(prefix: str, incremental: bool = False) -> dict[str, Any]:
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
        f"States.Format('{escape(prefix)}/exports/table={{}}/{{}}.json', "
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
            # The table did not export: its child ends FAILED (records written).
            "Default": "Table failed",
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
            "Retry": RETRY_READ,
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.catalog_error", "Next": "Result"}
            ],
            "Next": "Result",
        }
    return states


def record_sse(kms_key: str | None) -> dict[str, Any]:
    if kms_key:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
    return {"ServerSideEncryption": "AES256"}


def record_state(status: str, description: str | None, error: str | None) -> dict[str, Any]:
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
