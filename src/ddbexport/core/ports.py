"""The narrow seams between ddbexport's logic and AWS.

:class:`ExportApi` lists every AWS operation the planner and the runner need; :class:`ObjectApi`
the S3 operations, and :class:`ExportStore` read access to one bucket or a folder standing for it.
:class:`ddbexport.aws.adapter.AwsApi` implements them with boto3;
:class:`ddbexport.testing.FakeExportApi` implements ``ExportApi`` in memory, for tests and
benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable

from .models import ExportDescription, ExportRequest, PitrWindow, TableInfo


class ExportApi(Protocol):
    """AWS operations used by ddbexport. Implementations raise :mod:`ddbexport.errors` only."""

    def list_table_names(self) -> list[str]:
        """Every table name in the region (all pages of ListTables)."""
        ...

    def describe_table(self, name: str) -> TableInfo:
        """DescribeTable; raises ``TableNotFound``."""
        ...

    def list_tags(self, table_arn: str) -> dict[str, str]:
        """All tags of a table (all pages of ListTagsOfResource)."""
        ...

    def export_table(self, request: ExportRequest) -> ExportDescription:
        """ExportTableToPointInTime with exactly the request's parameters."""
        ...

    def describe_export(self, export_arn: str) -> ExportDescription:
        """DescribeExport."""
        ...

    def latest_completed_export(self, table_arn: str) -> ExportDescription | None:
        """The newest COMPLETED full export of the table that AWS still remembers, if any."""
        ...

    def describe_pitr(self, table: str) -> PitrWindow:
        """DescribeContinuousBackups, reduced to the PITR state and window."""
        ...

    def enable_pitr(self, table: str) -> None:
        """UpdateContinuousBackups with point-in-time recovery enabled."""
        ...

    def service_now(self) -> datetime:
        """The service's current time (UTC), as best known; the local clock when unknown."""
        ...

    def get_parameter(self, name: str) -> str:
        """The (decrypted) value of an SSM parameter; raises ``ParameterNotFound``."""
        ...


@runtime_checkable
class ServiceTime(Protocol):
    """A service clock to wait on: the runner's ``clock`` and ``sleep`` at the service's pace."""

    def service_monotonic(self) -> float:
        """Seconds on the service's clock that never go back."""
        ...

    def service_sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on the service's clock."""
        ...


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object's key, size and ETag (``None`` where the store has no ETags, e.g. a disk)."""

    key: str
    size: int
    etag: str | None = None


class ObjectApi(Protocol):
    """The S3 operations ddbexport uses. Implementations raise :mod:`ddbexport.errors` only."""

    def get_object(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes, or ``None`` when there is no such key."""

    def open_object(self, bucket: str, key: str) -> BinaryIO:
        """The object's bytes as a stream, to read in chunks (constant memory).

        Raises:
            AwsError: the object does not exist or cannot be read.
        """

    def list_objects(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        """Every object under ``prefix`` (all pages)."""

    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        kms_key: str | None = None,
        bucket_owner: str | None = None,
    ) -> None:
        """Write an object, encrypted (SSE-S3, or SSE-KMS with ``kms_key``)."""

    def delete_objects(self, bucket: str, keys: list[str]) -> None:
        """Delete these keys (1,000 per request)."""


class ExportStore(Protocol):
    """Read access to the keys of one bucket (or one folder standing for it)."""

    location: str

    def read(self, key: str) -> bytes | None:
        """The bytes at ``key``, or ``None`` when it does not exist."""

    def open(self, key: str) -> BinaryIO:
        """The bytes at ``key`` as a stream, to read in chunks; the caller closes it.

        Raises:
            OSError: (a folder on disk) the file does not exist or cannot be opened.
            AwsError: (S3) the object does not exist or cannot be read.
        """

    def stat(self, key: str) -> ObjectInfo | None:
        """Size and ETag of ``key``, or ``None`` when it does not exist."""

    def url(self, key: str) -> str:
        """How to show ``key`` to a user (``s3://…`` or a path)."""
