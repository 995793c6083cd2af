"""The exceptions ddbexport raises.

::

    DdbExportError
     ├── ConfigError              bad config file, table list, option or export time (exit 2)
     └── AwsError                 an AWS call failed; ``code`` is AWS's error code
          ├── TableNotFound
          ├── PitrUnavailable     point-in-time recovery is off for the table
          ├── InvalidExportTime   export time outside the table's PITR window
          ├── ExportConflict      client token reused with other parameters, or S3 conflict
          ├── ExportNotFound
          ├── ParameterNotFound   SSM parameter missing
          ├── BucketNotFound      S3 bucket missing
          ├── KeyNotFound         KMS key missing
          ├── AccessDenied
          ├── AccountUnreachable  an account's role cannot be assumed, or credentials of another
          └── RetryableAwsError   throttling, quota and 5xx: worth trying again later
               └── LimitExceeded  the account's concurrent-export quota is full

Nothing above :mod:`ddbexport.aws` sees botocore's exceptions: the adapter translates them.
"""

from __future__ import annotations


class DdbExportError(Exception):
    """Base class of every error ddbexport raises."""


class ConfigError(DdbExportError):
    """The configuration or an input is invalid; nothing was started."""


class AwsError(DdbExportError):
    """An AWS call failed.

    Attributes:
        code: AWS's error code, e.g. ``TableNotFoundException``.
        operation: the API operation that failed, e.g. ``ExportTableToPointInTime``.
    """

    def __init__(self, message: str, *, code: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.code = code or type(self).__name__
        self.operation = operation


class TableNotFound(AwsError):
    """The table does not exist in this account and region."""


class PitrUnavailable(AwsError):
    """Point-in-time recovery is not enabled for the table."""


class InvalidExportTime(AwsError):
    """The export time lies outside the table's point-in-time recovery window."""


class ExportConflict(AwsError):
    """A client token was reused with different parameters, or S3 reported a conflict."""


class ExportNotFound(AwsError):
    """The export ARN is unknown (or older than the 90 days AWS keeps exports)."""


class ParameterNotFound(AwsError):
    """The SSM parameter does not exist."""


class BucketNotFound(AwsError):
    """The S3 bucket does not exist."""


class KeyNotFound(AwsError):
    """The KMS key does not exist."""


class AccessDenied(AwsError):
    """The credentials in use may not perform this call."""


class AccountUnreachable(AwsError):
    """An account of ``[[accounts]]`` cannot be reached: its role cannot be assumed, or the
    credentials in use belong to another account."""


class RetryableAwsError(AwsError):
    """Throttling, a full quota or a server error: the same call may succeed later."""


class LimitExceeded(RetryableAwsError):
    """Too many exports in flight for the account (300 by default) or another DynamoDB limit."""
