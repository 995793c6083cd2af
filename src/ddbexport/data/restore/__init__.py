"""Restore a full export into a new table with ImportTable.

ImportTable reads every object under an S3 prefix and creates a *new* table from a definition
given with the request; it cannot create local secondary indexes and takes no TTL, tags, streams
or point-in-time recovery settings. So a restore

1. reads the export's summary (a FULL export, in S3) and, unless told not to, verifies the export
   and that its ``data/`` folder holds exactly the files its manifest lists (ImportTable would
   read any other object there too);
2. takes the new table's definition from the export's schema sidecar (``ddbexport-schema.json``,
   what DescribeTable said when the export was made), else from ``keys`` given by the caller,
   else from DescribeTable of the source table as it is now;
3. builds the ImportTable request (pure: :func:`table_creation_parameters`,
   :func:`import_request`) and starts it, with a ClientToken derived from the export id and the
   new table's name so that a repeated start within AWS's 8-hour window is the same import;
4. optionally waits for the import and, once it is COMPLETED, applies the source's TTL and tags.

The modules, in that order: :mod:`.source` (the source's definition, pure), :mod:`.request`
(the ImportTable request, pure), :mod:`.plan` (the reads and decisions before a start),
:mod:`.importing` (start, follow and wait), :mod:`.finish` (TTL and tags afterwards),
:mod:`.result` (what is reported) and :mod:`.api` (the AWS calls used). This package re-exports
their public names, so callers import from ``ddbexport.data.restore`` alone.

Nothing here prints or exits; bad input raises :class:`~ddbexport.errors.ConfigError` before
anything is started.
"""

from __future__ import annotations

from .api import RestoreApi
from .importing import DEFAULT_POLL_S, DEFAULT_TIMEOUT_S, TERMINAL_STATUSES, restore
from .plan import IMPORT_OBJECT_LIMIT, RestorePlan, plan_restore
from .request import (
    INPUT_FORMATS,
    KMS_AWS_MANAGED,
    KMS_AWS_OWNED,
    import_request,
    restore_client_token,
    sse_specification,
    table_creation_parameters,
)
from .result import ImportProgress, RestoreResult
from .source import (
    BILLING_MODES,
    KEY_TYPES,
    PAY_PER_REQUEST,
    PROVISIONED,
    KeyAttribute,
    SourceTable,
    check_table_name,
    parse_keys,
    source_from_keys,
    source_from_schema,
)

__all__ = [
    "BILLING_MODES",
    "DEFAULT_POLL_S",
    "DEFAULT_TIMEOUT_S",
    "IMPORT_OBJECT_LIMIT",
    "INPUT_FORMATS",
    "KEY_TYPES",
    "KMS_AWS_MANAGED",
    "KMS_AWS_OWNED",
    "PAY_PER_REQUEST",
    "PROVISIONED",
    "TERMINAL_STATUSES",
    "ImportProgress",
    "KeyAttribute",
    "RestoreApi",
    "RestorePlan",
    "RestoreResult",
    "SourceTable",
    "check_table_name",
    "import_request",
    "parse_keys",
    "plan_restore",
    "restore",
    "restore_client_token",
    "source_from_keys",
    "source_from_schema",
    "sse_specification",
    "table_creation_parameters",
]
