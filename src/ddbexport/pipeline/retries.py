"""The Retry lists of the definition's Tasks, and how many attempts each allows. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def start_retries(limit_interval_s: int) -> list[dict[str, Any]]:
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


def retry_describe(limit_interval_s: int) -> list[dict[str, Any]]:
    """DescribeExport shares the account's control-plane limits with the exports' starts."""
    return [_limit_retry(limit_interval_s), _TRANSIENT_RETRY]


RETRY_READ = [
    {
        "ErrorEquals": [*_DYNAMODB_TRANSIENT, "S3.SdkClientException", "S3.S3Exception"],
        "IntervalSeconds": 5,
        "BackoffRate": 2.0,
        "MaxAttempts": 8,
        "MaxDelaySeconds": 300,
        "JitterStrategy": "FULL",
    }
]


def attempts_of(retriers: Sequence[dict[str, Any]]) -> int:
    return sum(int(retrier["MaxAttempts"]) for retrier in retriers)
