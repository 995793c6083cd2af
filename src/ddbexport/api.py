"""The narrow seam between ddbexport's logic and AWS.

:class:`ExportApi` lists every AWS operation the planner and the runner need.
:class:`ddbexport.aws.AwsApi` implements it with boto3; :class:`ddbexport.testing.FakeExportApi`
implements it in memory for tests and benchmarks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

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
