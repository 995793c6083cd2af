"""The only module that talks to boto3: a typed adapter plus botocore-error translation."""

from __future__ import annotations

import contextlib
import email.utils
import io
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import boto3
import botocore.config
import botocore.exceptions

from ddbexport.core.logsetup import register_secrets
from ddbexport.core.models import ExportDescription, ExportRequest, PitrWindow, TableInfo
from ddbexport.core.ports import ObjectInfo
from ddbexport.core.version import VERSION
from ddbexport.errors import (
    AccessDenied,
    AwsError,
    BucketNotFound,
    ConfigError,
    ExportConflict,
    ExportNotFound,
    InvalidExportTime,
    KeyNotFound,
    LimitExceeded,
    ParameterNotFound,
    PitrUnavailable,
    RetryableAwsError,
    TableNotFound,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.client import CloudFormationClient
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_ssm.client import SSMClient
    from mypy_boto3_stepfunctions.client import SFNClient

_ERRORS_BY_CODE: dict[str, type[AwsError]] = {
    "ResourceNotFoundException": TableNotFound,
    "TableNotFoundException": TableNotFound,
    "PointInTimeRecoveryUnavailableException": PitrUnavailable,
    "InvalidExportTimeException": InvalidExportTime,
    "ExportConflictException": ExportConflict,
    "ExportNotFoundException": ExportNotFound,
    "ParameterNotFound": ParameterNotFound,
    "NoSuchBucket": BucketNotFound,
    "NotFoundException": KeyNotFound,
    "AccessDeniedException": AccessDenied,
    "AccessDenied": AccessDenied,
    "UnrecognizedClientException": AccessDenied,
    "ExpiredTokenException": AccessDenied,
    "LimitExceededException": LimitExceeded,
    "ThrottlingException": RetryableAwsError,
    "Throttling": RetryableAwsError,
    "RequestLimitExceeded": RetryableAwsError,
    "ProvisionedThroughputExceededException": RetryableAwsError,
    "InternalServerError": RetryableAwsError,
    "InternalFailure": RetryableAwsError,
    "ServiceUnavailable": RetryableAwsError,
}


def _register_credentials(session: boto3.session.Session) -> None:
    """Tell the log filter the session's credentials, wherever they came from."""
    try:
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError:
        return  # the first call will report the problem with its own context
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        register_secrets(frozen.access_key, frozen.secret_key, frozen.token)


@contextlib.contextmanager
def map_aws_errors(operation: str) -> Iterator[None]:
    """Translate botocore exceptions raised inside the block into :mod:`ddbexport.errors`."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", "")) or code
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        cls = _ERRORS_BY_CODE.get(code)
        if cls is None:
            cls = RetryableAwsError if status >= 500 or status == 429 else AwsError
        raise cls(f"{operation}: {message}", code=code, operation=operation) from exc
    except botocore.exceptions.NoRegionError:
        raise ConfigError(
            "no AWS region: set 'region' in the config, pass --region, or set AWS_REGION"
        ) from None
    except botocore.exceptions.NoCredentialsError:
        raise AccessDenied(
            "no AWS credentials found (environment, profile or instance role)",
            code="NoCredentials",
            operation=operation,
        ) from None
    except botocore.exceptions.ProfileNotFound as exc:
        raise ConfigError(f"AWS profile not found: {exc}") from None
    except (
        botocore.exceptions.ConnectionError,
        botocore.exceptions.HTTPClientError,
        botocore.exceptions.IncompleteReadError,
    ) as exc:
        # Endpoint, proxy, TLS, timeout and streaming failures: the network may recover.
        raise RetryableAwsError(
            f"{operation}: {exc}", code="ConnectionError", operation=operation
        ) from exc
    except botocore.exceptions.ParamValidationError as exc:
        raise AwsError(
            f"{operation}: invalid parameters: {exc}", code="ParamValidation", operation=operation
        ) from exc
    except (
        botocore.exceptions.CredentialRetrievalError,
        botocore.exceptions.PartialCredentialsError,
        botocore.exceptions.TokenRetrievalError,
        botocore.exceptions.SSOError,
        botocore.exceptions.UnauthorizedSSOTokenError,
    ) as exc:
        raise AccessDenied(
            f"{operation}: AWS credentials unusable: {exc}",
            code=type(exc).__name__,
            operation=operation,
        ) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsError(f"{operation}: {exc}", code=type(exc).__name__, operation=operation) from exc


@dataclass(frozen=True, slots=True)
class AwsSettings:
    """How to reach AWS.

    Attributes:
        region: region name; ``None`` uses the profile's or the environment's.
        profile: named profile from the shared config files.
        endpoint_url: one URL for every service (moto server and other emulators).
        max_attempts: attempts per call (first try included), in botocore's ``standard`` mode.
    """

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = 5


class _ObjectStream(io.RawIOBase):
    """An S3 object's body whose read errors are ours: a connection dropped mid-object
    (botocore's ResponseStreamingError, ReadTimeoutError, IncompleteReadError) becomes a
    :class:`RetryableAwsError` naming the object, like any other failed call."""

    def __init__(self, body: Any, operation: str) -> None:
        super().__init__()
        self._body = body
        self._operation = operation

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with map_aws_errors(self._operation):
            data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


class AwsApi:
    """:class:`~ddbexport.core.ports.ExportApi` over boto3 clients.

    Args:
        settings: region, profile and endpoint; ignored for clients passed in.
        session: a boto3 session to build clients from.
        dynamodb: a ready DynamoDB client (tests pass stubbed ones).
        ssm: a ready SSM client.
    """

    def __init__(
        self,
        settings: AwsSettings | None = None,
        *,
        session: boto3.session.Session | None = None,
        dynamodb: DynamoDBClient | None = None,
        ssm: SSMClient | None = None,
        s3: S3Client | None = None,
        kms: KMSClient | None = None,
    ) -> None:
        self._settings = settings or AwsSettings()
        self._session = session
        self._dynamodb = dynamodb
        self._ssm = ssm
        self._s3 = s3
        self._kms = kms
        self._extra_clients: dict[str, Any] = {}
        # boto3 sessions are not thread-safe: clients are built once, under this lock.
        self._lock = threading.Lock()
        self._clock_offset_s = 0.0
        for client in (dynamodb, ssm, s3):
            if client is not None:
                self._watch_clock(client)

    def _boto_session(self) -> boto3.session.Session:
        if self._session is None:
            with map_aws_errors("CreateSession"):
                self._session = boto3.session.Session(
                    profile_name=self._settings.profile, region_name=self._settings.region
                )
            _register_credentials(self._session)
        return self._session

    def _client_config(self) -> botocore.config.Config:
        return botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": self._settings.max_attempts},
            user_agent_extra=f"ddbexport/{VERSION}",
        )

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The DynamoDB client, built on first use."""
        with self._lock, map_aws_errors("CreateClient"):
            if self._dynamodb is None:
                self._dynamodb = self._boto_session().client(
                    "dynamodb",
                    endpoint_url=self._settings.endpoint_url,
                    config=self._client_config(),
                )
                self._watch_clock(self._dynamodb)
        return self._dynamodb

    @property
    def ssm(self) -> SSMClient:
        """The SSM client, built on first use."""
        with self._lock, map_aws_errors("CreateClient"):
            if self._ssm is None:
                self._ssm = self._boto_session().client(
                    "ssm", endpoint_url=self._settings.endpoint_url, config=self._client_config()
                )
        return self._ssm

    @property
    def s3(self) -> S3Client:
        """The S3 client, built on first use."""
        with self._lock, map_aws_errors("CreateClient"):
            if self._s3 is None:
                self._s3 = self._boto_session().client(
                    "s3", endpoint_url=self._settings.endpoint_url, config=self._client_config()
                )
                self._watch_clock(self._s3)
        return self._s3

    def _client(self, service: str) -> Any:
        """A client for a service the pipeline commands use, built on first use."""
        with self._lock, map_aws_errors("CreateClient"):
            client = self._extra_clients.get(service)
            if client is None:
                session: Any = self._boto_session()  # the service name is not a literal here
                client = session.client(
                    service, endpoint_url=self._settings.endpoint_url, config=self._client_config()
                )
                self._extra_clients[service] = client
        return client

    def caller_account(self) -> str:
        """The account the credentials belong to (STS GetCallerIdentity)."""
        with map_aws_errors("GetCallerIdentity"):
            return str(self._client("sts").get_caller_identity()["Account"])

    def region_name(self) -> str:
        """The region the clients talk to.

        Raises:
            ConfigError: no region is configured anywhere.
        """
        with map_aws_errors("CreateClient"):
            region = self._boto_session().region_name
        if not region:
            raise ConfigError(
                "no AWS region: set 'region' in the config, pass --region, or set AWS_REGION"
            )
        return str(region)

    @property
    def cloudformation(self) -> CloudFormationClient:
        """The CloudFormation client."""
        client: CloudFormationClient = self._client("cloudformation")
        return client

    @property
    def stepfunctions(self) -> SFNClient:
        """The Step Functions client."""
        client: SFNClient = self._client("stepfunctions")
        return client

    @property
    def kms(self) -> KMSClient:
        """The KMS client, built on first use."""
        with self._lock, map_aws_errors("CreateClient"):
            if self._kms is None:
                self._kms = self._boto_session().client(
                    "kms", endpoint_url=self._settings.endpoint_url, config=self._client_config()
                )
        return self._kms

    # ------------------------------------------------------------------ the service's clock

    def _watch_clock(self, client: Any) -> None:
        client.meta.events.register("after-call", self._note_service_time)

    def _note_service_time(self, parsed: Any = None, **_: Any) -> None:
        """Learn the service's clock from each response's HTTP Date header."""
        headers = (parsed or {}).get("ResponseMetadata", {}).get("HTTPHeaders", {})
        stamp = headers.get("date")
        if not stamp:
            return
        try:
            service = email.utils.parsedate_to_datetime(stamp).timestamp()
        except (TypeError, ValueError):
            return
        # Date has whole seconds: its middle is the best guess; ignore differences under 2 s,
        # which are that rounding rather than skew.
        offset = service + 0.5 - time.time()
        self._clock_offset_s = offset if abs(offset) >= 2 else 0.0

    def service_now(self) -> datetime:
        """Now on the service's clock (learnt from responses), else the local clock.

        Export times are judged by AWS's clock, so runs take "now" from it: a local clock that is
        ahead would otherwise ask for exports in the future.
        """
        return datetime.now(UTC) + timedelta(seconds=self._clock_offset_s)

    # ------------------------------------------------------------------ tables

    def list_table_names(self) -> list[str]:
        """Every table name in the region (all pages of ListTables)."""
        names: list[str] = []
        with map_aws_errors("ListTables"):
            for page in self.dynamodb.get_paginator("list_tables").paginate():
                names.extend(page.get("TableNames", []))
        return names

    def describe_table(self, name: str) -> TableInfo:
        """DescribeTable; raises ``TableNotFound``."""
        with map_aws_errors("DescribeTable"):
            table = self.dynamodb.describe_table(TableName=name)["Table"]
        return TableInfo(
            name=table.get("TableName", name),
            arn=table.get("TableArn", ""),
            size_bytes=int(table.get("TableSizeBytes", 0)),
            item_count=int(table.get("ItemCount", 0)),
            status=table.get("TableStatus", "ACTIVE"),
        )

    def list_tags(self, table_arn: str) -> dict[str, str]:
        """All tags of a table (all pages of ListTagsOfResource)."""
        tags: dict[str, str] = {}
        with map_aws_errors("ListTagsOfResource"):
            for page in self.dynamodb.get_paginator("list_tags_of_resource").paginate(
                ResourceArn=table_arn
            ):
                tags.update({tag["Key"]: tag["Value"] for tag in page.get("Tags", [])})
        return tags

    # ------------------------------------------------------------------ exports

    def export_table(self, request: ExportRequest) -> ExportDescription:
        """ExportTableToPointInTime with exactly the request's parameters."""
        with map_aws_errors("ExportTableToPointInTime"):
            response = self.dynamodb.export_table_to_point_in_time(**request.api_kwargs())
        return export_description(dict(response["ExportDescription"]))

    def describe_export(self, export_arn: str) -> ExportDescription:
        """DescribeExport."""
        with map_aws_errors("DescribeExport"):
            response = self.dynamodb.describe_export(ExportArn=export_arn)
        return export_description(dict(response["ExportDescription"]))

    def _export_summaries(self, table_arn: str) -> Iterator[Mapping[str, Any]]:
        """ListExports' summaries of the table, newest first (the API returns ARNs in reverse
        order and has no botocore paginator); at most four pages of 25."""
        token: str | None = None
        for _ in range(4):
            kwargs: dict[str, Any] = {"TableArn": table_arn, "MaxResults": 25}
            if token:
                kwargs["NextToken"] = token
            with map_aws_errors("ListExports"):
                page = self.dynamodb.list_exports(**kwargs)
            yield from page.get("ExportSummaries", [])
            token = page.get("NextToken")
            if not token:
                return

    def latest_completed_export(self, table_arn: str) -> ExportDescription | None:
        """The newest COMPLETED full export that ListExports still lists for the table."""
        for summary in self._export_summaries(table_arn):
            if (
                summary.get("ExportStatus") == "COMPLETED"
                and summary.get("ExportType", "FULL_EXPORT") == "FULL_EXPORT"
            ):
                return self.describe_export(summary["ExportArn"])
        return None

    def exports_in_progress(self, table_arn: str) -> list[str]:
        """ARNs of the table's exports still IN_PROGRESS (far fewer than the pages read)."""
        return [
            summary["ExportArn"]
            for summary in self._export_summaries(table_arn)
            if summary.get("ExportStatus") == "IN_PROGRESS"
        ]

    # ------------------------------------------------------------------ PITR

    def describe_pitr(self, table: str) -> PitrWindow:
        """DescribeContinuousBackups, reduced to the PITR state and window."""
        with map_aws_errors("DescribeContinuousBackups"):
            response = self.dynamodb.describe_continuous_backups(TableName=table)
        description = response["ContinuousBackupsDescription"].get(
            "PointInTimeRecoveryDescription", {}
        )
        return PitrWindow(
            enabled=description.get("PointInTimeRecoveryStatus") == "ENABLED",
            earliest=description.get("EarliestRestorableDateTime"),
            latest=description.get("LatestRestorableDateTime"),
        )

    def enable_pitr(self, table: str) -> None:
        """UpdateContinuousBackups with point-in-time recovery enabled."""
        with map_aws_errors("UpdateContinuousBackups"):
            self.dynamodb.update_continuous_backups(
                TableName=table,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )

    def import_table(self, request: dict[str, Any]) -> dict[str, Any]:
        """ImportTable with exactly these parameters; returns the ImportTableDescription."""
        with map_aws_errors("ImportTable"):
            response = self.dynamodb.import_table(**request)
        return dict(response["ImportTableDescription"])

    def describe_import(self, import_arn: str) -> dict[str, Any]:
        """DescribeImport: the ImportTableDescription."""
        with map_aws_errors("DescribeImport"):
            response = self.dynamodb.describe_import(ImportArn=import_arn)
        return dict(response["ImportTableDescription"])

    def set_time_to_live(self, table: str, attribute: str) -> None:
        """UpdateTimeToLive: enable TTL on ``attribute``."""
        with map_aws_errors("UpdateTimeToLive"):
            self.dynamodb.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
            )

    def tag_table(self, table_arn: str, tags: dict[str, str]) -> None:
        """TagResource with ``tags`` (nothing when empty)."""
        if not tags:
            return
        with map_aws_errors("TagResource"):
            self.dynamodb.tag_resource(
                ResourceArn=table_arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
            )

    def table_exists(self, name: str) -> bool:
        """Whether DescribeTable finds ``name``."""
        try:
            self.describe_table(name)
        except AwsError as exc:
            if exc.code in ("ResourceNotFoundException", "TableNotFoundException"):
                return False
            raise
        return True

    def table_schema(self, name: str) -> dict[str, Any]:
        """What an export leaves out: DescribeTable, TTL, tags and the PITR settings, as AWS
        returns them (datetimes as ISO-8601 strings)."""
        with map_aws_errors("DescribeTable"):
            table = self.dynamodb.describe_table(TableName=name)["Table"]
        with map_aws_errors("DescribeTimeToLive"):
            ttl = self.dynamodb.describe_time_to_live(TableName=name)
        with map_aws_errors("DescribeContinuousBackups"):
            backups = self.dynamodb.describe_continuous_backups(TableName=name)
        tags = self.list_tags(str(table.get("TableArn", name)))
        schema: dict[str, Any] = _jsonable(
            {
                "Table": table,
                "TimeToLiveDescription": ttl.get("TimeToLiveDescription", {}),
                "ContinuousBackupsDescription": backups.get("ContinuousBackupsDescription", {}),
                "Tags": tags,
            }
        )
        return schema

    # ------------------------------------------------------------------ S3

    def get_object(self, bucket: str, key: str) -> bytes | None:
        """GetObject; ``None`` when the key does not exist."""
        with map_aws_errors("GetObject"):
            try:
                return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return None
                raise

    def open_object(self, bucket: str, key: str) -> BinaryIO:
        """GetObject's body as a stream (read it in chunks: constant memory).

        Raises:
            AwsError: the object does not exist (``NoSuchKey``) or cannot be read.
        """
        with map_aws_errors("GetObject"):
            body: Any = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
        return cast(BinaryIO, _ObjectStream(body, f"GetObject s3://{bucket}/{key}"))

    def list_objects(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        """Every object under ``prefix`` (all pages of ListObjectsV2)."""
        found = []
        with map_aws_errors("ListObjectsV2"):
            for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            ):
                found += [
                    ObjectInfo(obj["Key"], int(obj.get("Size", 0)), obj.get("ETag"))
                    for obj in page.get("Contents", [])
                ]
        return found

    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        kms_key: str | None = None,
        bucket_owner: str | None = None,
    ) -> None:
        """PutObject, always encrypted: SSE-KMS with ``kms_key``, else SSE-S3."""
        extra: dict[str, Any] = {"ServerSideEncryption": "AES256"}
        if kms_key:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
        if bucket_owner:
            extra["ExpectedBucketOwner"] = bucket_owner
        with map_aws_errors("PutObject"):
            self.s3.put_object(Bucket=bucket, Key=key, Body=data, **extra)

    def check_bucket(self, bucket: str, expected_owner: str | None = None) -> None:
        """HeadBucket (with ExpectedBucketOwner): raises ``BucketNotFound`` when it does not
        exist, ``AccessDenied`` when it is not ours to read or belongs to another account."""
        extra: dict[str, Any] = {"ExpectedBucketOwner": expected_owner} if expected_owner else {}
        with map_aws_errors("HeadBucket"):
            try:
                self.s3.head_bucket(Bucket=bucket, **extra)
            except botocore.exceptions.ClientError as exc:
                # HEAD responses have no body: S3 answers with a bare status code.
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in ("404", "NoSuchBucket", "NotFound"):
                    raise BucketNotFound(
                        f"HeadBucket: bucket {bucket!r} does not exist",
                        code="NoSuchBucket",
                        operation="HeadBucket",
                    ) from None
                if code in ("403", "AccessDenied", "Forbidden"):
                    raise AccessDenied(
                        f"HeadBucket: access to bucket {bucket!r} denied"
                        + (f" (or it is not owned by account {expected_owner})" if extra else ""),
                        code="AccessDenied",
                        operation="HeadBucket",
                    ) from None
                raise

    def describe_key(self, key: str) -> dict[str, Any]:
        """KMS DescribeKey's ``KeyMetadata`` (KeyState, KeyUsage, Arn …)."""
        with map_aws_errors("DescribeKey"):
            metadata = self.kms.describe_key(KeyId=key)["KeyMetadata"]
        return dict(metadata)

    def delete_objects(self, bucket: str, keys: list[str]) -> None:
        """DeleteObjects in batches of 1,000; any key it could not delete raises."""
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            with map_aws_errors("DeleteObjects"):
                response = self.s3.delete_objects(
                    Bucket=bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise AwsError(
                    f"DeleteObjects: {len(errors)} key(s) not deleted, e.g. "
                    f"{first.get('Key')}: {first.get('Message')}",
                    code=str(first.get("Code", "DeleteFailed")),
                    operation="DeleteObjects",
                )

    # ------------------------------------------------------------------ stacks

    def describe_stack(self, name: str) -> dict[str, Any] | None:
        """DescribeStacks for one stack; ``None`` when it does not exist."""
        with map_aws_errors("DescribeStacks"):
            try:
                stacks = self.cloudformation.describe_stacks(StackName=name)["Stacks"]
            except botocore.exceptions.ClientError as exc:
                message = str(exc.response.get("Error", {}).get("Message", ""))
                if "does not exist" in message:
                    return None
                raise
        return _jsonable(dict(stacks[0])) if stacks else None

    def create_change_set(
        self, stack: str, change_set: str, template: dict[str, str], *, create: bool
    ) -> str:
        """CreateChangeSet (CREATE or UPDATE) with IAM capabilities; returns its ARN.

        ``template`` is ``{"TemplateBody": …}`` or ``{"TemplateURL": …}``.
        """
        with map_aws_errors("CreateChangeSet"):
            response = self.cloudformation.create_change_set(
                StackName=stack,
                ChangeSetName=change_set,
                ChangeSetType="CREATE" if create else "UPDATE",
                Capabilities=["CAPABILITY_IAM"],
                **template,  # type: ignore[arg-type]
            )
        return str(response["Id"])

    def describe_change_set(self, arn: str) -> dict[str, Any]:
        """DescribeChangeSet: its Status, StatusReason and Changes."""
        with map_aws_errors("DescribeChangeSet"):
            return _jsonable(dict(self.cloudformation.describe_change_set(ChangeSetName=arn)))  # type: ignore[no-any-return]

    def execute_change_set(self, arn: str) -> None:
        """ExecuteChangeSet."""
        with map_aws_errors("ExecuteChangeSet"):
            self.cloudformation.execute_change_set(ChangeSetName=arn)

    def delete_change_set(self, arn: str) -> None:
        """DeleteChangeSet (an empty one, when there was nothing to change)."""
        with map_aws_errors("DeleteChangeSet"):
            self.cloudformation.delete_change_set(ChangeSetName=arn)

    def stack_events(self, name: str) -> list[dict[str, Any]]:
        """The stack's events, newest first (first page)."""
        with map_aws_errors("DescribeStackEvents"):
            events = self.cloudformation.describe_stack_events(StackName=name)["StackEvents"]
        return [_jsonable(dict(event)) for event in events]

    def stack_resource(self, stack: str, logical_id: str) -> str | None:
        """The physical id (for a state machine, its ARN) of a stack's resource, if it exists."""
        with map_aws_errors("DescribeStackResource"):
            try:
                detail = self.cloudformation.describe_stack_resource(
                    StackName=stack, LogicalResourceId=logical_id
                )["StackResourceDetail"]
            except botocore.exceptions.ClientError as exc:
                if "does not exist" in str(exc.response.get("Error", {}).get("Message", "")):
                    return None
                raise
        physical = detail.get("PhysicalResourceId")
        return str(physical) if physical else None

    def delete_stack(self, name: str) -> None:
        """DeleteStack."""
        with map_aws_errors("DeleteStack"):
            self.cloudformation.delete_stack(StackName=name)

    # ------------------------------------------------------------------ executions

    def start_execution(self, machine: str, name: str, payload: str) -> str:
        """StartExecution; returns the execution ARN."""
        with map_aws_errors("StartExecution"):
            response = self.stepfunctions.start_execution(
                stateMachineArn=machine, name=name, input=payload
            )
        return str(response["executionArn"])

    def describe_execution(self, arn: str) -> dict[str, Any]:
        """DescribeExecution: status, output, error, cause."""
        with map_aws_errors("DescribeExecution"):
            return _jsonable(dict(self.stepfunctions.describe_execution(executionArn=arn)))  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ SSM

    def get_parameter(self, name: str) -> str:
        """The (decrypted) value of an SSM parameter; raises ``ParameterNotFound``."""
        with map_aws_errors("GetParameter"):
            response = self.ssm.get_parameter(Name=name, WithDecryption=True)
        return str(response["Parameter"].get("Value", ""))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def export_description(raw: dict[str, Any]) -> ExportDescription:
    """Build an :class:`ExportDescription` from the API's ``ExportDescription`` mapping."""
    window = raw.get("IncrementalExportSpecification") or {}
    return ExportDescription(
        export_arn=raw.get("ExportArn", ""),
        status=raw.get("ExportStatus", "IN_PROGRESS"),
        table_arn=raw.get("TableArn", ""),
        start_time=_as_datetime(raw.get("StartTime")),
        end_time=_as_datetime(raw.get("EndTime")),
        export_time=_as_datetime(raw.get("ExportTime")),
        item_count=raw.get("ItemCount"),
        billed_size_bytes=raw.get("BilledSizeBytes"),
        failure_code=raw.get("FailureCode"),
        failure_message=raw.get("FailureMessage"),
        client_token=raw.get("ClientToken"),
        s3_bucket=raw.get("S3Bucket"),
        s3_prefix=raw.get("S3Prefix"),
        export_type=raw.get("ExportType") or "FULL_EXPORT",
        export_manifest=raw.get("ExportManifest"),
        from_time=_as_datetime(window.get("ExportFromTime")),
        to_time=_as_datetime(window.get("ExportToTime")),
        view=window.get("ExportViewType"),
    )


def _as_datetime(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None
