"""The DynamoDB operations of :class:`~ddbexport.aws.adapter.AwsApi`: tables, exports, PITR,
imports, TTL and tags."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ddbexport.core.models import ExportDescription, ExportRequest, PitrWindow, TableInfo
from ddbexport.errors import AwsError

from .errors import map_aws_errors
from .responses import export_description, jsonable
from .session import AwsClients


class DynamoDbOperations(AwsClients):
    """DynamoDB's calls, each translated and parsed."""

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
        # By the table's name, as aftercare asks (a selector may have described it by ARN).
        self._table_descriptions[table.get("TableName", name)] = dict(table)
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
        returns them (datetimes as ISO-8601 strings).

        The table's description is the one :meth:`describe_table` last read by this name, when
        there is one not yet taken (a run's planning reads it just before the export is asked
        for, so it is the table as exported, and one DescribeTable per table serves both); it is
        taken once, so a later schema of the same table is described afresh. TTL, the PITR
        settings and the tags are read here.
        """
        table = self._table_descriptions.pop(name, None)
        if table is None:
            with map_aws_errors("DescribeTable"):
                table = dict(self.dynamodb.describe_table(TableName=name)["Table"])
        with map_aws_errors("DescribeTimeToLive"):
            ttl = self.dynamodb.describe_time_to_live(TableName=name)
        with map_aws_errors("DescribeContinuousBackups"):
            backups = self.dynamodb.describe_continuous_backups(TableName=name)
        tags = self.list_tags(str(table.get("TableArn", name)))
        schema: dict[str, Any] = jsonable(
            {
                "Table": table,
                "TimeToLiveDescription": ttl.get("TimeToLiveDescription", {}),
                "ContinuousBackupsDescription": backups.get("ContinuousBackupsDescription", {}),
                "Tags": tags,
            }
        )
        return schema
