"""The AWS calls a restore makes: a protocol the AWS adapter (or a test double) implements."""

from __future__ import annotations

from typing import Any, Protocol

from ddbexport.core.ports import ObjectApi


class RestoreApi(ObjectApi, Protocol):
    """The AWS calls a restore makes (:class:`~ddbexport.aws.adapter.AwsApi` implements them)."""

    def table_exists(self, name: str) -> bool:
        """Whether DescribeTable finds the table."""

    def table_schema(self, name: str) -> dict[str, Any]:
        """DescribeTable, DescribeTimeToLive, DescribeContinuousBackups and tags (the sidecar's
        form); ``name`` may be a table ARN."""

    def describe_key(self, key: str) -> dict[str, Any]:
        """KMS DescribeKey's ``KeyMetadata``."""

    def import_table(self, request: dict[str, Any]) -> dict[str, Any]:
        """ImportTable; returns the ImportTableDescription."""

    def describe_import(self, import_arn: str) -> dict[str, Any]:
        """DescribeImport; returns the ImportTableDescription."""

    def set_time_to_live(self, table: str, attribute: str) -> None:
        """UpdateTimeToLive, enabled on ``attribute``."""

    def tag_table(self, table_arn: str, tags: dict[str, str]) -> None:
        """TagResource."""
