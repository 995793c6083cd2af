"""How the adapter reaches AWS: :class:`AwsSettings`, the boto3 session and its clients (built
once, lazily, thread-safely), the session's credentials registered with the log filter, and the
service's clock learnt from responses."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
import botocore.config
import botocore.exceptions

from ddbexport.core.logsetup import register_secrets
from ddbexport.core.pace import CLOCK_RATE_HEADER, ServiceClock
from ddbexport.core.version import VERSION
from ddbexport.errors import ConfigError

from .errors import map_aws_errors

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.client import CloudFormationClient
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_ssm.client import SSMClient
    from mypy_boto3_stepfunctions.client import SFNClient


def _register_credentials(session: boto3.session.Session) -> None:
    """Tell the log filter the session's credentials, wherever they came from."""
    try:
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError:
        return  # the first call will report the problem with its own context
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        register_secrets(frozen.access_key, frozen.secret_key, frozen.token)


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


class AwsClients:
    """The session and clients every group of :class:`~ddbexport.aws.adapter.AwsApi`'s
    operations calls through; arguments as for ``AwsApi``."""

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
        #: DescribeTable's answers by table name, each kept until a schema sidecar takes it
        #: (see ``DynamoDbOperations.table_schema``).
        self._table_descriptions: dict[str, dict[str, Any]] = {}
        # boto3 sessions are not thread-safe: clients are built once, under this lock.
        self._lock = threading.Lock()
        self._service_clock = ServiceClock()
        for client in (dynamodb, ssm, s3):
            if client is not None:
                self._watch_clock(client)

    @property
    def settings(self) -> AwsSettings:
        """Region, profile and endpoint these clients were asked for."""
        return self._settings

    def _boto_session(self) -> boto3.session.Session:
        if self._session is None:
            with map_aws_errors("CreateSession"):
                # AWS_REGION is what the other SDKs and the AWS CLI v2 read first; boto3 reads
                # only AWS_DEFAULT_REGION, so honour both.
                self._session = boto3.session.Session(
                    profile_name=self._settings.profile,
                    region_name=self._settings.region or os.environ.get("AWS_REGION") or None,
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
                self._watch_clock(client)
        return client

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
        """Learn the service's clock (time and pace) from each response's headers."""
        headers = (parsed or {}).get("ResponseMetadata", {}).get("HTTPHeaders", {})
        self._service_clock.observe(
            headers.get("date"), headers.get(CLOCK_RATE_HEADER), time.time()
        )

    def service_now(self) -> datetime:
        """Now on the service's clock (learnt from responses), else the local clock.

        Export times are judged by AWS's clock, so runs take "now" from it: a local clock that is
        ahead would otherwise ask for exports in the future.
        """
        return self._service_clock.now(time.time())

    def service_monotonic(self) -> float:
        """Seconds on the service's clock that never go back: a runner's ``clock``."""
        return self._service_clock.monotonic(time.time())

    def service_sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` have passed on the service's clock: a runner's ``sleep``.

        On AWS that is real time; the sandbox's clock may run faster (it says how fast).
        """
        time.sleep(self._service_clock.real_seconds(seconds))
