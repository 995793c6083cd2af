"""The lake's own errors."""

from __future__ import annotations

from ddbexport.errors import ConfigError


class LakeError(ConfigError):
    """The Iceberg table cannot take what sync would write (a column of a type ddbexport does
    not write, a table that mirrors another DynamoDB table)."""
