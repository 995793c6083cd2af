"""AwsApi against botocore Stubbers: the exact parameters sent, the parsing, the error mapping."""

from __future__ import annotations

import functools
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
import urllib3.exceptions
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ddbexport.aws.adapter import AwsApi
from ddbexport.core.models import ExportDescription, ExportRequest
from ddbexport.errors import (
    AccessDenied,
    AwsError,
    ExportConflict,
    ExportNotFound,
    InvalidExportTime,
    LimitExceeded,
    ParameterNotFound,
    PitrUnavailable,
    RetryableAwsError,
    TableNotFound,
)
from ddbexport.planning.plan import client_token

REGION = "eu-west-1"
ACCOUNT = "123456789012"
TABLE = "orders"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"
RUN_ID = "20261128T030000Z-1a2b3c4d"
EXPORT_TIME = datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC)
START_TIME = datetime(2026, 11, 28, 3, 0, 5, tzinfo=UTC)
END_TIME = datetime(2026, 11, 28, 3, 12, 40, tzinfo=UTC)
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f6c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
BUCKET_OWNER = "210987654321"


def _export_arn(suffix: str) -> str:
    return f"{TABLE_ARN}/export/01764298800000-{suffix}"


@functools.cache
def _session() -> boto3.session.Session:
    # One session for the module: its loader caches the service models between clients. It is
    # first built inside a test, after conftest has isolated the AWS environment variables.
    return boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name=REGION
    )


def _client(service: str) -> Any:
    session = _session()
    config = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
    return session.client(service, config=config)


@pytest.fixture
def dynamodb() -> Any:
    """A real DynamoDB client with fake credentials and no retries."""
    return _client("dynamodb")


@pytest.fixture
def ssm() -> Any:
    """A real SSM client with fake credentials and no retries."""
    return _client("ssm")


@pytest.fixture
def ddb_stub(dynamodb: Any) -> Iterator[Stubber]:
    """An active Stubber on the DynamoDB client; every queued response must be consumed."""
    with Stubber(dynamodb) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def ssm_stub(ssm: Any) -> Iterator[Stubber]:
    """An active Stubber on the SSM client; every queued response must be consumed."""
    with Stubber(ssm) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def api(dynamodb: Any, ssm: Any) -> AwsApi:
    """The adapter over the two stubbed clients."""
    return AwsApi(dynamodb=dynamodb, ssm=ssm)


def _request(*, kms_key: str | None = None, bucket_owner: str | None = None) -> ExportRequest:
    return ExportRequest(
        table=TABLE,
        table_arn=TABLE_ARN,
        bucket="exports-bucket",
        prefix=f"ddb/{TABLE}/2026/11/28",
        format="DYNAMODB_JSON",
        sse="KMS" if kms_key else "AES256",
        export_time=EXPORT_TIME,
        client_token=client_token(RUN_ID, TABLE_ARN),
        kms_key=kms_key,
        bucket_owner=bucket_owner,
        size_bytes=1234,
    )


def _base_params(request: ExportRequest) -> dict[str, Any]:
    return {
        "TableArn": TABLE_ARN,
        "ExportTime": EXPORT_TIME,
        "ClientToken": request.client_token,
        "S3Bucket": "exports-bucket",
        "S3Prefix": f"ddb/{TABLE}/2026/11/28",
        "S3SseAlgorithm": request.sse,
        "ExportFormat": "DYNAMODB_JSON",
        "ExportType": "FULL_EXPORT",
    }


# ---------------------------------------------------------------------------------------- exports


def test_export_table_sends_exactly_the_required_parameters(api: AwsApi, ddb_stub: Stubber) -> None:
    """Without KMS key and bucket owner, ExportTableToPointInTime gets exactly the 8 base keys."""
    request = _request()
    ddb_stub.add_response(
        "export_table_to_point_in_time",
        {
            "ExportDescription": {
                "ExportArn": _export_arn("aaaaaaaa"),
                "ExportStatus": "IN_PROGRESS",
                "TableArn": TABLE_ARN,
                "ExportTime": EXPORT_TIME,
                "StartTime": START_TIME,
                "ClientToken": request.client_token,
                "S3Bucket": "exports-bucket",
                "S3Prefix": request.prefix,
                "ExportFormat": "DYNAMODB_JSON",
                "ExportType": "FULL_EXPORT",
            }
        },
        expected_params=_base_params(request),
    )

    description = api.export_table(request)

    assert description == ExportDescription(
        export_arn=_export_arn("aaaaaaaa"),
        status="IN_PROGRESS",
        table_arn=TABLE_ARN,
        start_time=START_TIME,
        export_time=EXPORT_TIME,
        client_token=request.client_token,
        s3_bucket="exports-bucket",
        s3_prefix=request.prefix,
        export_type="FULL_EXPORT",
    )
    assert description.end_time is None
    assert description.item_count is None
    assert description.duration_s is None


def test_export_table_adds_kms_key_and_bucket_owner_when_set(
    api: AwsApi, ddb_stub: Stubber
) -> None:
    """S3SseKmsKeyId and S3BucketOwner are sent when set, and a completed replay is parsed."""
    request = _request(kms_key=KMS_KEY, bucket_owner=BUCKET_OWNER)
    ddb_stub.add_response(
        "export_table_to_point_in_time",
        {
            "ExportDescription": {
                "ExportArn": _export_arn("bbbbbbbb"),
                "ExportStatus": "COMPLETED",
                "TableArn": TABLE_ARN,
                "ExportTime": EXPORT_TIME,
                "StartTime": START_TIME,
                "EndTime": END_TIME,
                "ItemCount": 4242,
                "BilledSizeBytes": 987654,
                "ClientToken": request.client_token,
            }
        },
        expected_params={
            **_base_params(request),
            "S3SseAlgorithm": "KMS",
            "S3SseKmsKeyId": KMS_KEY,
            "S3BucketOwner": BUCKET_OWNER,
        },
    )

    description = api.export_table(request)

    assert description.status == "COMPLETED"
    assert description.export_arn == _export_arn("bbbbbbbb")
    assert description.table_arn == TABLE_ARN
    assert description.start_time == START_TIME
    assert description.end_time == END_TIME
    assert description.export_time == EXPORT_TIME
    assert description.item_count == 4242
    assert description.billed_size_bytes == 987654
    assert description.duration_s == (END_TIME - START_TIME).total_seconds()
    assert description.export_type == "FULL_EXPORT"  # defaulted: the response carried none


def test_describe_export_parses_a_failed_export(api: AwsApi, ddb_stub: Stubber) -> None:
    """DescribeExport is called with the ARN and the failure code and message are kept."""
    arn = _export_arn("cccccccc")
    ddb_stub.add_response(
        "describe_export",
        {
            "ExportDescription": {
                "ExportArn": arn,
                "ExportStatus": "FAILED",
                "TableArn": TABLE_ARN,
                "StartTime": START_TIME,
                "EndTime": END_TIME,
                "FailureCode": "S3NoSuchBucket",
                "FailureMessage": "The specified bucket does not exist",
                "S3Bucket": "exports-bucket",
                "S3Prefix": "ddb",
                "ExportType": "FULL_EXPORT",
            }
        },
        expected_params={"ExportArn": arn},
    )

    description = api.describe_export(arn)

    assert description.export_arn == arn
    assert description.status == "FAILED"
    assert description.failure_code == "S3NoSuchBucket"
    assert description.failure_message == "The specified bucket does not exist"
    assert description.s3_bucket == "exports-bucket"
    assert description.s3_prefix == "ddb"
    assert description.start_time == START_TIME
    assert description.end_time == END_TIME
    assert description.item_count is None


# ----------------------------------------------------------------------------------------- tables


def test_describe_table_takes_arn_size_and_count_from_the_response(
    api: AwsApi, ddb_stub: Stubber
) -> None:
    """DescribeTable(TableName) yields the response's name, ARN, size, item count and status."""
    ddb_stub.add_response(
        "describe_table",
        {
            "Table": {
                "TableName": TABLE,
                "TableArn": TABLE_ARN,
                "TableSizeBytes": 5_000_000_000,
                "ItemCount": 31337,
                "TableStatus": "UPDATING",
            }
        },
        expected_params={"TableName": TABLE},
    )

    info = api.describe_table(TABLE)

    assert info.name == TABLE
    assert info.arn == TABLE_ARN
    assert info.size_bytes == 5_000_000_000
    assert info.item_count == 31337
    assert info.status == "UPDATING"


def test_list_table_names_follows_last_evaluated_table_name(api: AwsApi, ddb_stub: Stubber) -> None:
    """ListTables is paged with ExclusiveStartTableName until no LastEvaluatedTableName."""
    ddb_stub.add_response(
        "list_tables",
        {"TableNames": ["alpha", "beta"], "LastEvaluatedTableName": "beta"},
        expected_params={},
    )
    ddb_stub.add_response(
        "list_tables",
        {"TableNames": ["gamma"]},
        expected_params={"ExclusiveStartTableName": "beta"},
    )

    assert api.list_table_names() == ["alpha", "beta", "gamma"]


def test_list_tags_follows_next_token(api: AwsApi, ddb_stub: Stubber) -> None:
    """ListTagsOfResource is paged with NextToken and the tags of every page are merged."""
    ddb_stub.add_response(
        "list_tags_of_resource",
        {"Tags": [{"Key": "team", "Value": "billing"}], "NextToken": "page-2"},
        expected_params={"ResourceArn": TABLE_ARN},
    )
    ddb_stub.add_response(
        "list_tags_of_resource",
        {"Tags": [{"Key": "backup", "Value": "daily"}, {"Key": "env", "Value": "prod"}]},
        expected_params={"ResourceArn": TABLE_ARN, "NextToken": "page-2"},
    )

    assert api.list_tags(TABLE_ARN) == {"team": "billing", "backup": "daily", "env": "prod"}


def test_list_tags_of_an_untagged_table_is_empty(api: AwsApi, ddb_stub: Stubber) -> None:
    """A table without tags gives an empty mapping after one call."""
    ddb_stub.add_response(
        "list_tags_of_resource", {"Tags": []}, expected_params={"ResourceArn": TABLE_ARN}
    )

    assert api.list_tags(TABLE_ARN) == {}


def _schema_reads(ddb_stub: Stubber, *, describe_status: str | None) -> None:
    """Queue a schema's reads; DescribeTable only when ``describe_status`` is given."""
    if describe_status is not None:
        ddb_stub.add_response(
            "describe_table",
            {"Table": {"TableName": TABLE, "TableArn": TABLE_ARN, "TableStatus": describe_status}},
            expected_params={"TableName": TABLE},
        )
    ddb_stub.add_response(
        "describe_time_to_live",
        {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}},
        expected_params={"TableName": TABLE},
    )
    ddb_stub.add_response(
        "describe_continuous_backups",
        {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "ENABLED"}},
        expected_params={"TableName": TABLE},
    )
    ddb_stub.add_response(
        "list_tags_of_resource",
        {"Tags": [{"Key": "team", "Value": "billing"}]},
        expected_params={"ResourceArn": TABLE_ARN},
    )


def test_a_schema_takes_the_description_planning_read_once(api: AwsApi, ddb_stub: Stubber) -> None:
    """The table described for the plan is the schema's table, without a second DescribeTable;
    the description is taken once: the next schema of the table describes it again."""
    ddb_stub.add_response(
        "describe_table",
        {"Table": {"TableName": TABLE, "TableArn": TABLE_ARN, "TableStatus": "ACTIVE"}},
        expected_params={"TableName": TABLE},
    )
    api.describe_table(TABLE)
    _schema_reads(ddb_stub, describe_status=None)

    schema = api.table_schema(TABLE)

    assert schema["Table"] == {"TableName": TABLE, "TableArn": TABLE_ARN, "TableStatus": "ACTIVE"}
    assert schema["Tags"] == {"team": "billing"}
    assert schema["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
    _schema_reads(ddb_stub, describe_status="UPDATING")
    assert api.table_schema(TABLE)["Table"]["TableStatus"] == "UPDATING"


# ----------------------------------------------------------------------- latest_completed_export


def test_latest_completed_export_skips_unfinished_and_incremental_across_pages(
    api: AwsApi, ddb_stub: Stubber
) -> None:
    """ListExports pages are followed past IN_PROGRESS/FAILED/INCREMENTAL to the first full one."""
    ddb_stub.add_response(
        "list_exports",
        {
            "ExportSummaries": [
                {
                    "ExportArn": _export_arn("00000001"),
                    "ExportStatus": "IN_PROGRESS",
                    "ExportType": "FULL_EXPORT",
                },
                {
                    "ExportArn": _export_arn("00000002"),
                    "ExportStatus": "COMPLETED",
                    "ExportType": "INCREMENTAL_EXPORT",
                },
            ],
            "NextToken": "token-2",
        },
        expected_params={"TableArn": TABLE_ARN, "MaxResults": 25},
    )
    ddb_stub.add_response(
        "list_exports",
        {
            "ExportSummaries": [
                {
                    "ExportArn": _export_arn("00000003"),
                    "ExportStatus": "FAILED",
                    "ExportType": "FULL_EXPORT",
                },
                {
                    "ExportArn": _export_arn("00000004"),
                    "ExportStatus": "COMPLETED",
                    "ExportType": "FULL_EXPORT",
                },
                {
                    "ExportArn": _export_arn("00000005"),
                    "ExportStatus": "COMPLETED",
                    "ExportType": "FULL_EXPORT",
                },
            ],
            "NextToken": "token-3",
        },
        expected_params={"TableArn": TABLE_ARN, "MaxResults": 25, "NextToken": "token-2"},
    )
    ddb_stub.add_response(
        "describe_export",
        {
            "ExportDescription": {
                "ExportArn": _export_arn("00000004"),
                "ExportStatus": "COMPLETED",
                "TableArn": TABLE_ARN,
                "ExportTime": EXPORT_TIME,
                "EndTime": END_TIME,
                "ItemCount": 10,
                "ExportType": "FULL_EXPORT",
            }
        },
        expected_params={"ExportArn": _export_arn("00000004")},
    )

    latest = api.latest_completed_export(TABLE_ARN)

    assert latest is not None
    assert latest.export_arn == _export_arn("00000004")
    assert latest.status == "COMPLETED"
    assert latest.export_time == EXPORT_TIME
    assert latest.item_count == 10


def test_latest_completed_export_counts_a_summary_without_type_as_full(
    api: AwsApi, ddb_stub: Stubber
) -> None:
    """A COMPLETED summary with no ExportType (older exports) is taken as a full export."""
    ddb_stub.add_response(
        "list_exports",
        {"ExportSummaries": [{"ExportArn": _export_arn("0000000a"), "ExportStatus": "COMPLETED"}]},
        expected_params={"TableArn": TABLE_ARN, "MaxResults": 25},
    )
    ddb_stub.add_response(
        "describe_export",
        {"ExportDescription": {"ExportArn": _export_arn("0000000a"), "ExportStatus": "COMPLETED"}},
        expected_params={"ExportArn": _export_arn("0000000a")},
    )

    latest = api.latest_completed_export(TABLE_ARN)

    assert latest is not None
    assert latest.export_arn == _export_arn("0000000a")


def test_latest_completed_export_is_none_without_a_completed_full_export(
    api: AwsApi, ddb_stub: Stubber
) -> None:
    """With no COMPLETED full export on the last page, None is returned and nothing is described."""
    ddb_stub.add_response(
        "list_exports",
        {
            "ExportSummaries": [
                {
                    "ExportArn": _export_arn("00000001"),
                    "ExportStatus": "IN_PROGRESS",
                    "ExportType": "FULL_EXPORT",
                },
                {
                    "ExportArn": _export_arn("00000002"),
                    "ExportStatus": "COMPLETED",
                    "ExportType": "INCREMENTAL_EXPORT",
                },
            ]
        },
        expected_params={"TableArn": TABLE_ARN, "MaxResults": 25},
    )

    assert api.latest_completed_export(TABLE_ARN) is None


def test_latest_completed_export_is_none_for_a_table_never_exported(
    api: AwsApi, ddb_stub: Stubber
) -> None:
    """An empty ListExports answer gives None."""
    ddb_stub.add_response(
        "list_exports",
        {"ExportSummaries": []},
        expected_params={"TableArn": TABLE_ARN, "MaxResults": 25},
    )

    assert api.latest_completed_export(TABLE_ARN) is None


def test_latest_completed_export_reads_at_most_four_pages(api: AwsApi, ddb_stub: Stubber) -> None:
    """The search stops after four ListExports pages even when a NextToken is still returned."""
    token: str | None = None
    for page in range(4):
        expected: dict[str, Any] = {"TableArn": TABLE_ARN, "MaxResults": 25}
        if token:
            expected["NextToken"] = token
        token = f"token-{page + 2}"
        ddb_stub.add_response(
            "list_exports",
            {
                "ExportSummaries": [
                    {
                        "ExportArn": _export_arn(f"0000000{page}"),
                        "ExportStatus": "IN_PROGRESS",
                        "ExportType": "FULL_EXPORT",
                    }
                ],
                "NextToken": token,
            },
            expected_params=expected,
        )

    assert api.latest_completed_export(TABLE_ARN) is None


# ------------------------------------------------------------------------------------------- PITR


def test_describe_pitr_enabled_reports_the_window(api: AwsApi, ddb_stub: Stubber) -> None:
    """DescribeContinuousBackups(TableName) with PITR ENABLED gives the restorable window."""
    earliest = datetime(2026, 10, 29, 3, 0, 0, tzinfo=UTC)
    latest = datetime(2026, 11, 28, 2, 59, 55, tzinfo=UTC)
    ddb_stub.add_response(
        "describe_continuous_backups",
        {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {
                    "PointInTimeRecoveryStatus": "ENABLED",
                    "EarliestRestorableDateTime": earliest,
                    "LatestRestorableDateTime": latest,
                },
            }
        },
        expected_params={"TableName": TABLE},
    )

    window = api.describe_pitr(TABLE)

    assert window.enabled is True
    assert window.earliest == earliest
    assert window.latest == latest


def test_describe_pitr_disabled_has_no_window(api: AwsApi, ddb_stub: Stubber) -> None:
    """PITR DISABLED gives enabled=False and no window."""
    ddb_stub.add_response(
        "describe_continuous_backups",
        {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
            }
        },
        expected_params={"TableName": TABLE},
    )

    window = api.describe_pitr(TABLE)

    assert window.enabled is False
    assert window.earliest is None
    assert window.latest is None


def test_describe_pitr_without_a_pitr_description_is_disabled(
    api: AwsApi, ddb_stub: Stubber
) -> None:
    """A response lacking PointInTimeRecoveryDescription counts as PITR disabled."""
    ddb_stub.add_response(
        "describe_continuous_backups",
        {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "DISABLED"}},
        expected_params={"TableName": TABLE},
    )

    assert api.describe_pitr(TABLE).enabled is False


def test_enable_pitr_sends_update_continuous_backups(api: AwsApi, ddb_stub: Stubber) -> None:
    """enable_pitr calls UpdateContinuousBackups with PointInTimeRecoveryEnabled=True only."""
    ddb_stub.add_response(
        "update_continuous_backups",
        {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED"},
            }
        },
        expected_params={
            "TableName": TABLE,
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )

    assert api.enable_pitr(TABLE) is None


# -------------------------------------------------------------------------------------------- SSM


def test_get_parameter_asks_for_decryption(api: AwsApi, ssm_stub: Stubber) -> None:
    """GetParameter is sent with Name and WithDecryption=True and returns the value."""
    ssm_stub.add_response(
        "get_parameter",
        {
            "Parameter": {
                "Name": "/ddbexport/kms-key",
                "Type": "SecureString",
                "Value": KMS_KEY,
                "Version": 3,
            }
        },
        expected_params={"Name": "/ddbexport/kms-key", "WithDecryption": True},
    )

    assert api.get_parameter("/ddbexport/kms-key") == KMS_KEY


# ---------------------------------------------------------------------------------- error mapping

_Call = Callable[[AwsApi], object]

_ERROR_CASES = [
    pytest.param(
        "dynamodb",
        "describe_table",
        "ResourceNotFoundException",
        400,
        TableNotFound,
        "DescribeTable",
        lambda api: api.describe_table(TABLE),
        id="ResourceNotFound-TableNotFound",
    ),
    pytest.param(
        "dynamodb",
        "export_table_to_point_in_time",
        "TableNotFoundException",
        400,
        TableNotFound,
        "ExportTableToPointInTime",
        lambda api: api.export_table(_request()),
        id="TableNotFoundException-TableNotFound",
    ),
    pytest.param(
        "dynamodb",
        "export_table_to_point_in_time",
        "PointInTimeRecoveryUnavailableException",
        400,
        PitrUnavailable,
        "ExportTableToPointInTime",
        lambda api: api.export_table(_request()),
        id="PitrUnavailable",
    ),
    pytest.param(
        "dynamodb",
        "export_table_to_point_in_time",
        "InvalidExportTimeException",
        400,
        InvalidExportTime,
        "ExportTableToPointInTime",
        lambda api: api.export_table(_request()),
        id="InvalidExportTime",
    ),
    pytest.param(
        "dynamodb",
        "export_table_to_point_in_time",
        "ExportConflictException",
        400,
        ExportConflict,
        "ExportTableToPointInTime",
        lambda api: api.export_table(_request()),
        id="ExportConflict",
    ),
    pytest.param(
        "dynamodb",
        "export_table_to_point_in_time",
        "LimitExceededException",
        400,
        LimitExceeded,
        "ExportTableToPointInTime",
        lambda api: api.export_table(_request()),
        id="LimitExceeded",
    ),
    pytest.param(
        "dynamodb",
        "describe_export",
        "ExportNotFoundException",
        400,
        ExportNotFound,
        "DescribeExport",
        lambda api: api.describe_export(_export_arn("deadbeef")),
        id="ExportNotFound",
    ),
    pytest.param(
        "dynamodb",
        "list_tables",
        "ThrottlingException",
        400,
        RetryableAwsError,
        "ListTables",
        lambda api: api.list_table_names(),
        id="Throttling-Retryable",
    ),
    pytest.param(
        "dynamodb",
        "describe_continuous_backups",
        "SomethingNewAndUnexpected",
        500,
        RetryableAwsError,
        "DescribeContinuousBackups",
        lambda api: api.describe_pitr(TABLE),
        id="unknown-500-Retryable",
    ),
    pytest.param(
        "dynamodb",
        "list_exports",
        "SomethingNewAndUnexpected",
        429,
        RetryableAwsError,
        "ListExports",
        lambda api: api.latest_completed_export(TABLE_ARN),
        id="unknown-429-Retryable",
    ),
    pytest.param(
        "dynamodb",
        "describe_table",
        "SomethingNewAndUnexpected",
        400,
        AwsError,
        "DescribeTable",
        lambda api: api.describe_table(TABLE),
        id="unknown-400-AwsError",
    ),
    pytest.param(
        "dynamodb",
        "update_continuous_backups",
        "AccessDeniedException",
        400,
        AccessDenied,
        "UpdateContinuousBackups",
        lambda api: api.enable_pitr(TABLE),
        id="AccessDenied",
    ),
    pytest.param(
        "dynamodb",
        "list_tags_of_resource",
        "AccessDeniedException",
        400,
        AccessDenied,
        "ListTagsOfResource",
        lambda api: api.list_tags(TABLE_ARN),
        id="AccessDenied-paginated",
    ),
    pytest.param(
        "ssm",
        "get_parameter",
        "ParameterNotFound",
        400,
        ParameterNotFound,
        "GetParameter",
        lambda api: api.get_parameter("/missing"),
        id="ssm-ParameterNotFound",
    ),
]


@pytest.mark.parametrize(
    ("service", "method", "code", "status", "expected", "operation", "call"), _ERROR_CASES
)
def test_client_errors_are_translated(
    api: AwsApi,
    ddb_stub: Stubber,
    ssm_stub: Stubber,
    service: str,
    method: str,
    code: str,
    status: int,
    expected: type[AwsError],
    operation: str,
    call: _Call,
) -> None:
    """Each AWS error code becomes its ddbexport error, with code, operation and the cause."""
    stub = ddb_stub if service == "dynamodb" else ssm_stub
    stub.add_client_error(
        method,
        service_error_code=code,
        service_message=f"stubbed {code}",
        http_status_code=status,
    )

    with pytest.raises(AwsError) as caught:
        call(api)

    error = caught.value
    assert type(error) is expected
    assert error.code == code
    assert error.operation == operation
    assert str(error) == f"{operation}: stubbed {code}"
    cause = error.__cause__
    assert isinstance(cause, botocore.exceptions.ClientError)
    assert cause.response["Error"]["Code"] == code
    assert not isinstance(
        error, botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError
    )


def test_limit_exceeded_is_retryable(api: AwsApi, ddb_stub: Stubber) -> None:
    """LimitExceededException is a LimitExceeded and therefore a RetryableAwsError."""
    ddb_stub.add_client_error(
        "export_table_to_point_in_time",
        service_error_code="LimitExceededException",
        http_status_code=400,
    )

    with pytest.raises(RetryableAwsError) as caught:
        api.export_table(_request())

    assert isinstance(caught.value, LimitExceeded)
    assert caught.value.code == "LimitExceededException"


def test_unknown_client_error_with_400_is_not_retryable(api: AwsApi, ddb_stub: Stubber) -> None:
    """An unknown 4xx code gives a plain AwsError, not a RetryableAwsError."""
    ddb_stub.add_client_error(
        "describe_table", service_error_code="ValidationException", http_status_code=400
    )

    with pytest.raises(AwsError) as caught:
        api.describe_table(TABLE)

    assert not isinstance(caught.value, RetryableAwsError)
    assert caught.value.code == "ValidationException"
    assert caught.value.operation == "DescribeTable"


def test_client_error_without_a_message_uses_the_code(api: AwsApi, ddb_stub: Stubber) -> None:
    """An error response with an empty message is reported with its code instead."""
    ddb_stub.add_client_error(
        "describe_table",
        service_error_code="ResourceNotFoundException",
        service_message="",
        http_status_code=400,
    )

    with pytest.raises(TableNotFound, match=r"^DescribeTable: ResourceNotFoundException$"):
        api.describe_table(TABLE)


def test_error_on_a_later_list_tables_page_is_translated(api: AwsApi, ddb_stub: Stubber) -> None:
    """A throttle on the second ListTables page surfaces as RetryableAwsError for ListTables."""
    ddb_stub.add_response(
        "list_tables",
        {"TableNames": ["alpha"], "LastEvaluatedTableName": "alpha"},
        expected_params={},
    )
    ddb_stub.add_client_error(
        "list_tables",
        service_error_code="ThrottlingException",
        http_status_code=400,
        expected_params={"ExclusiveStartTableName": "alpha"},
    )

    with pytest.raises(RetryableAwsError) as caught:
        api.list_table_names()

    assert caught.value.operation == "ListTables"


def test_connection_error_is_retryable(dynamodb: Any) -> None:
    """EndpointConnectionError becomes RetryableAwsError(code='ConnectionError'), chained."""
    original = botocore.exceptions.EndpointConnectionError(endpoint_url="https://ddb.invalid")

    def refuse(**_: object) -> None:
        raise original

    dynamodb.meta.events.register("before-send.dynamodb.DescribeTable", refuse)

    with pytest.raises(RetryableAwsError) as caught:
        AwsApi(dynamodb=dynamodb, ssm=_client("ssm")).describe_table(TABLE)

    assert caught.value.code == "ConnectionError"
    assert caught.value.operation == "DescribeTable"
    assert caught.value.__cause__ is original


@pytest.mark.parametrize(
    ("raised", "expected_class", "expected_code"),
    [
        (
            botocore.exceptions.SSLError(endpoint_url="https://x", error="bad"),
            RetryableAwsError,
            "ConnectionError",
        ),
        (
            botocore.exceptions.TokenRetrievalError(provider="sso", error_msg="expired"),
            AccessDenied,
            "TokenRetrievalError",
        ),
        (
            botocore.exceptions.CredentialRetrievalError(provider="process", error_msg="boom"),
            AccessDenied,
            "CredentialRetrievalError",
        ),
        (botocore.exceptions.DataNotFoundError(data_path="x"), AwsError, "DataNotFoundError"),
    ],
)
def test_other_botocore_errors_never_escape_the_adapter(
    dynamodb: Any, raised: Exception, expected_class: type[AwsError], expected_code: str
) -> None:
    """Network, credential and other botocore failures become ddbexport errors, chained."""

    def fail(**_: object) -> None:
        raise raised

    dynamodb.meta.events.register("before-send.dynamodb.DescribeTable", fail)
    with pytest.raises(expected_class) as caught:
        AwsApi(dynamodb=dynamodb, ssm=_client("ssm")).describe_table(TABLE)
    assert caught.value.code == expected_code
    assert caught.value.__cause__ is raised


def test_invalid_parameters_become_an_aws_error(api: AwsApi) -> None:
    """botocore's client-side validation (an empty table name) is reported, not raised raw."""
    with pytest.raises(AwsError) as caught:
        api.describe_table("")
    assert caught.value.code == "ParamValidation"
    assert not isinstance(caught.value, RetryableAwsError)


# ----------------------------------------------------------------------------------- drift guards


def test_api_kwargs_are_members_of_the_export_input_shape(dynamodb: Any) -> None:
    """Every key of ExportRequest.api_kwargs() is a member of the ExportTableToPointInTime input."""
    kwargs = _request(kms_key=KMS_KEY, bucket_owner=BUCKET_OWNER).api_kwargs()
    shape = dynamodb.meta.service_model.operation_model("ExportTableToPointInTime").input_shape

    assert set(kwargs) <= set(shape.members)
    assert set(shape.required_members) <= set(kwargs)
    assert kwargs["ExportType"] in shape.members["ExportType"].enum
    assert kwargs["S3SseAlgorithm"] in shape.members["S3SseAlgorithm"].enum
    assert kwargs["ExportFormat"] in shape.members["ExportFormat"].enum
    assert _request().api_kwargs()["S3SseAlgorithm"] in shape.members["S3SseAlgorithm"].enum


def test_client_token_matches_the_model_pattern_and_is_deterministic(dynamodb: Any) -> None:
    """client_token fits ClientToken's pattern, repeats per (run, table) and differs otherwise."""
    shape = dynamodb.meta.service_model.operation_model("ExportTableToPointInTime").input_shape
    pattern = shape.members["ClientToken"].metadata["pattern"]
    assert pattern == r"^[^\$]+$"
    other_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/customers"

    token = client_token(RUN_ID, TABLE_ARN)

    assert re.search(pattern, token)
    assert token == hashlib.sha256(f"{RUN_ID}/{TABLE_ARN}".encode()).hexdigest()
    assert client_token(RUN_ID, TABLE_ARN) == token
    assert client_token("20261129T030000Z-1a2b3c4d", TABLE_ARN) != token
    assert client_token(RUN_ID, other_arn) != token
    assert client_token(RUN_ID, other_arn) != client_token("20261129T030000Z-1a2b3c4d", other_arn)
    for run_id in ("a$b", "nightly", RUN_ID):
        assert re.search(pattern, client_token(run_id, TABLE_ARN))


class _DroppedConnection:
    """A raw HTTP body that gives some bytes, then loses the connection."""

    def __init__(self, error: Exception) -> None:
        self.sent = False
        self.error = error

    def read(self, *_: object, **__: object) -> bytes:
        if not self.sent:
            self.sent = True
            return b"first bytes"
        raise self.error

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    "error",
    [
        urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead"),
        urllib3.exceptions.ReadTimeoutError(None, "/k", "Read timed out."),  # type: ignore[arg-type]
    ],
)
def test_a_connection_lost_while_reading_an_object_is_retryable(error: Exception) -> None:
    """botocore raises its streaming errors from read(), after GetObject has returned: the
    adapter's stream translates them too, naming the object."""
    s3 = _client("s3")
    with Stubber(s3) as stub:
        body = StreamingBody(_DroppedConnection(error), content_length=1000)  # type: ignore[arg-type]
        stub.add_response("get_object", {"Body": body}, {"Bucket": "b", "Key": "k"})
        stream = AwsApi(s3=s3).open_object("b", "k")
        assert stream.read(11) == b"first bytes"
        with pytest.raises(RetryableAwsError, match="GetObject s3://b/k") as caught:
            stream.read(100)
    assert caught.value.code == "ConnectionError"
    stream.close()


def test_an_object_shorter_than_announced_is_retryable() -> None:
    s3 = _client("s3")
    with Stubber(s3) as stub:
        body = StreamingBody(io.BytesIO(b"short"), content_length=1000)
        stub.add_response("get_object", {"Body": body}, {"Bucket": "b", "Key": "k"})
        stream = AwsApi(s3=s3).open_object("b", "k")
        with pytest.raises(RetryableAwsError, match="GetObject s3://b/k"):
            stream.read()


def test_a_table_described_by_arn_gives_its_schema_by_name(api: AwsApi, ddb_stub: Stubber) -> None:
    """A selector may name a table by ARN; aftercare asks for the schema by the table's name."""
    ddb_stub.add_response(
        "describe_table",
        {"Table": {"TableName": TABLE, "TableArn": TABLE_ARN, "TableStatus": "ACTIVE"}},
        expected_params={"TableName": TABLE_ARN},
    )
    api.describe_table(TABLE_ARN)
    _schema_reads(ddb_stub, describe_status=None)

    assert api.table_schema(TABLE)["Table"]["TableStatus"] == "ACTIVE"
