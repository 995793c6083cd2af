"""The adapter every other package reaches AWS through: :class:`AwsApi`, which combines the
operations of each service (:mod:`.dynamodb`, :mod:`.s3`, :mod:`.stacks`, :mod:`.account`) over
the session and clients of :mod:`.session`; botocore's errors are translated by :mod:`.errors`."""

from __future__ import annotations

from .account import AccountOperations
from .dynamodb import DynamoDbOperations
from .errors import map_aws_errors
from .responses import export_description
from .s3 import S3Operations
from .session import AwsSettings
from .stacks import StackOperations

__all__ = ["AwsApi", "AwsSettings", "export_description", "map_aws_errors"]


class AwsApi(DynamoDbOperations, S3Operations, StackOperations, AccountOperations):
    """:class:`~ddbexport.core.ports.ExportApi` over boto3 clients.

    Args:
        settings: region, profile and endpoint; ignored for clients passed in.
        session: a boto3 session to build clients from.
        dynamodb: a ready DynamoDB client (tests pass stubbed ones).
        ssm: a ready SSM client.
    """
