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

Nothing here prints or exits; bad input raises :class:`~ddbexport.errors.ConfigError` before
anything is started.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ddbexport.core.ports import ObjectApi
from ddbexport.core.timeparse import format_instant
from ddbexport.errors import AwsError, ConfigError, RetryableAwsError
from ddbexport.exports.files import (
    SCHEMA_SIDECAR,
    SUMMARY,
    ExportFolder,
    ExportSummary,
    ManifestError,
    parse_files,
    parse_folder,
    parse_summary,
)
from ddbexport.exports.stores import S3Store, open_target, parse_s3_url
from ddbexport.exports.verify import verify_export

PAY_PER_REQUEST = "PAY_PER_REQUEST"
PROVISIONED = "PROVISIONED"
BILLING_MODES = (PAY_PER_REQUEST, PROVISIONED)
#: ``kms_key`` values that are not keys: DynamoDB's own key, or the account's aws/dynamodb key.
KMS_AWS_OWNED = "aws-owned"
KMS_AWS_MANAGED = "aws-managed"
#: Import states after which nothing changes any more (CANCELLING still moves on).
TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
DEFAULT_POLL_S = 15.0
DEFAULT_TIMEOUT_S = 2 * 3600.0
#: ImportTable's documented limit of S3 objects per import (the quota may since have risen).
IMPORT_OBJECT_LIMIT = 5000
INPUT_FORMATS = ("DYNAMODB_JSON", "ION")
KEY_TYPES = ("S", "N", "B")

_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_KEY_OPTION = re.compile(r"([^:,\s]+):([A-Za-z]+)")
_ACCOUNT = re.compile(r"[0-9]{12}")


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


# ---------------------------------------------------------------------------- pure: definitions


@dataclass(frozen=True, slots=True)
class KeyAttribute:
    """One key attribute: its name and scalar type (S, N or B)."""

    name: str
    type: str


def parse_keys(text: str) -> tuple[KeyAttribute, ...]:
    """Read ``pk:S`` or ``pk:S,sk:N`` (partition key, then optional sort key).

    Raises:
        ConfigError: not one or two ``NAME:TYPE`` pairs with TYPE S, N or B.
    """
    parts = [part.strip() for part in text.split(",")]
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise ConfigError(
            f"--key {text!r}: expected the partition key and optionally the sort key as "
            "NAME:TYPE[,NAME:TYPE], e.g. pk:S or pk:S,sk:N"
        )
    keys = []
    for part in parts:
        match = _KEY_OPTION.fullmatch(part)
        if match is None:
            raise ConfigError(f"--key {text!r}: {part!r} is not NAME:TYPE (e.g. pk:S)")
        kind = match.group(2).upper()
        if kind not in KEY_TYPES:
            raise ConfigError(
                f"--key {text!r}: type {match.group(2)!r} of {match.group(1)!r} is not allowed; "
                "key attributes are S (string), N (number) or B (binary)"
            )
        keys.append(KeyAttribute(match.group(1), kind))
    if len(keys) == 2 and keys[0].name == keys[1].name:
        raise ConfigError(f"--key {text!r}: the partition and sort keys have the same name")
    return tuple(keys)


def check_table_name(name: str) -> None:
    """Raise :class:`ConfigError` unless ``name`` is a valid DynamoDB table name."""
    if not _TABLE_NAME.fullmatch(name):
        raise ConfigError(
            f"table name {name!r} is not allowed: use 3-255 characters from A-Z, a-z, 0-9, "
            "'_', '-' and '.'"
        )


@dataclass(frozen=True, slots=True)
class SourceTable:
    """What a new table can take from its source: keys, indexes, capacity, SSE, TTL, tags.

    ``global_indexes`` hold DescribeTable's index descriptions; ``uncopied`` names settings the
    source had that ImportTable cannot give a new table (streams, PITR, table class …).
    """

    name: str
    key_schema: tuple[KeyAttribute, ...]
    attribute_types: Mapping[str, str]
    global_indexes: tuple[Mapping[str, Any], ...] = ()
    local_indexes: tuple[str, ...] = ()
    billing_mode: str = PAY_PER_REQUEST
    capacity: tuple[int, int] | None = None
    on_demand: Mapping[str, int] | None = None
    sse_type: str | None = None
    sse_key: str | None = None
    ttl_attribute: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    uncopied: tuple[str, ...] = ()


def source_from_keys(name: str, keys: Sequence[KeyAttribute]) -> SourceTable:
    """A definition of keys only (no indexes, TTL or tags), billed on demand unless told."""
    return SourceTable(
        name=name,
        key_schema=tuple(keys),
        attribute_types={key.name: key.type for key in keys},
    )


def source_from_schema(schema: Mapping[str, Any], where: str) -> SourceTable:
    """Read a schema sidecar (or :meth:`RestoreApi.table_schema`'s answer).

    Args:
        schema: ``{"Table": DescribeTable, "TimeToLiveDescription": …, "Tags": {…}, …}``.
        where: the sidecar's location, for error messages.

    Raises:
        ConfigError: the keys or their attribute types cannot be read.
    """
    table = schema.get("Table")
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: no 'Table' object (DescribeTable's output) in the schema")
    name = str(table.get("TableName") or schema.get("table") or "")
    types = _attribute_types(table.get("AttributeDefinitions"), where)
    key_schema = _key_schema(table.get("KeySchema"), types, f"{where}: Table.KeySchema")
    gsis = []
    for position, index in enumerate(_list(table.get("GlobalSecondaryIndexes"))):
        label = f"{where}: Table.GlobalSecondaryIndexes[{position}]"
        if not isinstance(index, Mapping) or not index.get("IndexName"):
            raise ConfigError(f"{label}: not an index description with an IndexName")
        _key_schema(index.get("KeySchema"), types, f"{label} ({index['IndexName']}).KeySchema")
        if not isinstance(index.get("Projection"), Mapping):
            raise ConfigError(f"{label} ({index['IndexName']}): no Projection")
        gsis.append(index)
    lsis = tuple(
        str(index.get("IndexName", "?"))
        for index in _list(table.get("LocalSecondaryIndexes"))
        if isinstance(index, Mapping)
    )
    billing = _mapping(table.get("BillingModeSummary")).get("BillingMode")
    # DescribeTable leaves BillingModeSummary out for tables that were always provisioned.
    billing_mode = str(billing) if billing in BILLING_MODES else PROVISIONED
    sse = _mapping(table.get("SSEDescription"))
    encrypted = sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING")
    ttl = _mapping(schema.get("TimeToLiveDescription"))
    ttl_on = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName")
    tags = _mapping(schema.get("Tags"))
    return SourceTable(
        name=name,
        key_schema=key_schema,
        attribute_types=types,
        global_indexes=tuple(gsis),
        local_indexes=lsis,
        billing_mode=billing_mode,
        capacity=_capacity(table.get("ProvisionedThroughput")),
        on_demand=_on_demand(table.get("OnDemandThroughput")),
        sse_type=str(sse["SSEType"]) if encrypted and sse.get("SSEType") else None,
        sse_key=str(sse["KMSMasterKeyArn"]) if encrypted and sse.get("KMSMasterKeyArn") else None,
        ttl_attribute=str(ttl["AttributeName"]) if ttl_on else None,
        tags={str(key): str(value) for key, value in tags.items()},
        uncopied=_uncopied(table, schema),
    )


def _uncopied(table: Mapping[str, Any], schema: Mapping[str, Any]) -> tuple[str, ...]:
    """The source's settings a new table will not have, each with how to add it back."""
    notes = []
    stream = _mapping(table.get("StreamSpecification"))
    if stream.get("StreamEnabled"):
        notes.append(
            f"DynamoDB Streams ({stream.get('StreamViewType', 'on')}): not enabled on the new "
            "table; enable them with UpdateTable"
        )
    backups = _mapping(schema.get("ContinuousBackupsDescription"))
    pitr = _mapping(backups.get("PointInTimeRecoveryDescription"))
    if pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
        notes.append(
            "point-in-time recovery: off on the new table; turn it on with "
            "UpdateContinuousBackups (or `ddbexport run --enable-pitr`) before exporting it"
        )
    if table.get("DeletionProtectionEnabled"):
        notes.append("deletion protection: off on the new table; turn it on with UpdateTable")
    table_class = _mapping(table.get("TableClassSummary")).get("TableClass")
    if table_class and table_class != "STANDARD":
        notes.append(f"table class {table_class}: the new table is STANDARD; change it later")
    if _list(table.get("Replicas")):
        notes.append("global table replicas: the new table has none; add them with UpdateTable")
    return tuple(notes)


def table_creation_parameters(
    source: SourceTable,
    table_name: str,
    *,
    billing_mode: str | None = None,
    capacity: tuple[int, int] | None = None,
    sse: Mapping[str, Any] | None = None,
    drop_local_indexes: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """ImportTable's ``TableCreationParameters`` for ``source``, and notes on what was left out.

    Args:
        billing_mode: ``PAY_PER_REQUEST`` or ``PROVISIONED``; default the source's.
        capacity: (read, write) units for the table and every GSI when provisioned; default the
            source's own capacities.
        sse: the ``SSESpecification`` to send (``None``: DynamoDB's default, an AWS owned key).
        drop_local_indexes: create the table without the source's local secondary indexes
            (ImportTable cannot create them, and they cannot be added to a table later).

    Raises:
        ConfigError: local indexes without ``drop_local_indexes``, provisioned without known
            capacity, capacity with on-demand billing, or an unknown billing mode.
    """
    notes = []
    if source.local_indexes:
        names = ", ".join(source.local_indexes)
        if not drop_local_indexes:
            raise ConfigError(
                f"table {source.name!r} has local secondary indexes ({names}): ImportTable "
                "cannot create them and they cannot be added to a table later. Pass "
                "--drop-local-indexes to restore without them, or, while the export time is "
                "still in the table's PITR window, use DynamoDB's own RestoreTableToPointInTime"
            )
        notes.append(f"local secondary indexes ({names}): dropped, ImportTable cannot create them")
    mode = billing_mode or source.billing_mode
    if mode not in BILLING_MODES:
        raise ConfigError(f"billing mode {mode!r} is not allowed; use {' or '.join(BILLING_MODES)}")
    if capacity is not None:
        if mode != PROVISIONED:
            raise ConfigError(
                "--capacity applies only to PROVISIONED billing; add --billing-mode PROVISIONED "
                "or leave --capacity out"
            )
        if min(capacity) < 1:
            raise ConfigError(f"--capacity {capacity[0]}:{capacity[1]}: both must be at least 1")
    params: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": [],  # filled below, once the indexes' keys are known
        "KeySchema": [
            {"AttributeName": key.name, "KeyType": "HASH" if position == 0 else "RANGE"}
            for position, key in enumerate(source.key_schema)
        ],
        "BillingMode": mode,
    }
    needed = [key.name for key in source.key_schema]
    table_capacity = capacity or source.capacity
    if mode == PROVISIONED:
        if table_capacity is None:
            raise ConfigError(
                f"table {source.name!r} was billed on demand, so it has no capacity to copy: "
                "give --capacity READ:WRITE (e.g. 5:5) with --billing-mode PROVISIONED"
            )
        params["ProvisionedThroughput"] = _throughput(table_capacity)
    elif mode == source.billing_mode and source.on_demand:
        params["OnDemandThroughput"] = dict(source.on_demand)
    indexes = []
    for index in source.global_indexes:
        name = str(index["IndexName"])
        entry: dict[str, Any] = {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": str(part["AttributeName"]), "KeyType": str(part["KeyType"])}
                for part in index["KeySchema"]
            ],
            "Projection": _projection(index["Projection"]),
        }
        needed += [str(part["AttributeName"]) for part in index["KeySchema"]]
        if mode == PROVISIONED and table_capacity is not None:
            own = None if capacity else _capacity(index.get("ProvisionedThroughput"))
            if own is None and capacity is None:
                notes.append(f"index {name}: no capacity of its own known, given the table's")
            entry["ProvisionedThroughput"] = _throughput(own or table_capacity)
        elif mode == source.billing_mode:
            limits = _on_demand(index.get("OnDemandThroughput"))
            if limits:
                entry["OnDemandThroughput"] = dict(limits)
        indexes.append(entry)
    params["AttributeDefinitions"] = [
        {"AttributeName": name, "AttributeType": source.attribute_types[name]}
        for name in dict.fromkeys(needed)
    ]
    if indexes:
        params["GlobalSecondaryIndexes"] = indexes
    if sse is not None:
        params["SSESpecification"] = dict(sse)
    return params, notes


def import_request(
    *,
    bucket: str,
    data_prefix: str,
    input_format: str,
    table_parameters: Mapping[str, Any],
    client_token: str,
    bucket_owner: str | None = None,
) -> dict[str, Any]:
    """The ImportTable request: every gzip'd object under the export's ``data/`` prefix."""
    if input_format not in INPUT_FORMATS:
        raise ConfigError(
            f"output format {input_format!r} cannot be imported; ImportTable reads "
            f"{' or '.join(INPUT_FORMATS)} exports"
        )
    source: dict[str, Any] = {"S3Bucket": bucket, "S3KeyPrefix": data_prefix}
    if bucket_owner:
        source["S3BucketOwner"] = bucket_owner
    return {
        "ClientToken": client_token,
        "S3BucketSource": source,
        "InputFormat": input_format,
        "InputCompressionType": "GZIP",
        "TableCreationParameters": dict(table_parameters),
    }


def restore_client_token(export_id: str, table_name: str, nonce: str = "") -> str:
    """The ImportTable ClientToken of restoring one export into one table (SHA-256, hex).

    Deterministic so that repeating a start (a retried call, a re-run after a lost response)
    within AWS's 8-hour window returns the same import instead of starting a second one. A
    ``nonce`` makes a new token: a new import even when an earlier one is still remembered.
    """
    text = f"ddbexport-restore/{export_id}/{table_name}" + (f"/{nonce}" if nonce else "")
    return hashlib.sha256(text.encode()).hexdigest()


def sse_specification(
    source: SourceTable, kms_key: str | None, key_metadata: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """The new table's ``SSESpecification`` and a note on the choice.

    ``kms_key`` ``None`` follows the source: an AWS owned key stays the default; an AWS managed
    key becomes this account's own (``aws/dynamodb``: the source's belongs to its account and
    region); a customer managed key is used again (``key_metadata`` is its DescribeKey answer),
    so the restored data stays under the key its owners chose.

    Raises:
        ConfigError: the source's customer managed key is not enabled.
    """
    if kms_key == KMS_AWS_OWNED:
        return None, []
    if kms_key == KMS_AWS_MANAGED:
        return {"Enabled": True, "SSEType": "KMS"}, []
    if kms_key:
        return {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_key}, []
    if source.sse_type != "KMS":
        return None, []
    if source.sse_key is None or key_metadata is None:
        return {"Enabled": True, "SSEType": "KMS"}, []
    if key_metadata.get("KeyManager") == "AWS":
        return {"Enabled": True, "SSEType": "KMS"}, [
            "encryption: this account's AWS managed key (aws/dynamodb), as the source used its own"
        ]
    state = key_metadata.get("KeyState", "Enabled")
    if state != "Enabled":
        raise ConfigError(
            f"the source table was encrypted with KMS key {source.sse_key}, which is {state}: "
            f"enable it, or pass --kms-key KEY (another customer managed key), --kms-key "
            f"{KMS_AWS_MANAGED} or --kms-key {KMS_AWS_OWNED}"
        )
    key = str(key_metadata.get("Arn") or source.sse_key)
    return {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}, [
        f"encryption: the source's customer managed KMS key {key}"
    ]


def _attribute_types(value: Any, where: str) -> dict[str, str]:
    types = {}
    for definition in _list(value):
        if isinstance(definition, Mapping) and definition.get("AttributeName"):
            types[str(definition["AttributeName"])] = str(definition.get("AttributeType", ""))
    if not types:
        raise ConfigError(f"{where}: Table.AttributeDefinitions is missing or empty")
    return types


def _key_schema(value: Any, types: Mapping[str, str], where: str) -> tuple[KeyAttribute, ...]:
    parts = [part for part in _list(value) if isinstance(part, Mapping)]
    ordered = sorted(parts, key=lambda part: part.get("KeyType") != "HASH")
    if not 1 <= len(ordered) <= 2 or ordered[0].get("KeyType") != "HASH":
        raise ConfigError(
            f"{where}: expected a HASH key and at most one RANGE key, found {value!r}"
        )
    keys = []
    for part in ordered:
        name = str(part.get("AttributeName", ""))
        if types.get(name) not in KEY_TYPES:
            raise ConfigError(
                f"{where}: key attribute {name!r} has no S, N or B type in AttributeDefinitions"
            )
        keys.append(KeyAttribute(name, types[name]))
    return tuple(keys)


def _projection(value: Mapping[str, Any]) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": str(value.get("ProjectionType", "ALL"))}
    if projection["ProjectionType"] == "INCLUDE" and value.get("NonKeyAttributes"):
        projection["NonKeyAttributes"] = [str(name) for name in value["NonKeyAttributes"]]
    return projection


def _capacity(value: Any) -> tuple[int, int] | None:
    throughput = _mapping(value)
    read, write = throughput.get("ReadCapacityUnits"), throughput.get("WriteCapacityUnits")
    # On-demand tables report 0 units: that is "none", not a capacity.
    if isinstance(read, int) and isinstance(write, int) and read > 0 and write > 0:
        return read, write
    return None


def _on_demand(value: Any) -> dict[str, int] | None:
    # A maximum of -1 (or none) means "no maximum": only real limits are copied.
    limits = {
        name: units
        for name, units in _mapping(value).items()
        if name in ("MaxReadRequestUnits", "MaxWriteRequestUnits")
        and isinstance(units, int)
        and units > 0
    }
    return limits or None


def _throughput(capacity: tuple[int, int]) -> dict[str, int]:
    return {"ReadCapacityUnits": capacity[0], "WriteCapacityUnits": capacity[1]}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# ---------------------------------------------------------------------------- planning (reads)


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """Everything decided before ImportTable is called.

    Attributes:
        target: the export folder, ``s3://bucket/…/AWSDynamoDB/<ExportId>/``.
        table: the new table's name.
        export_arn: the export's ARN; ``source_table_arn`` the table it was made from.
        definition: where the new table's definition came from.
        request: the ImportTable request, exactly as it will be sent.
        ttl_attribute: TTL to enable once the import has COMPLETED (``None``: none).
        tags: tags to put on the new table once the import has COMPLETED.
        notes: what is not copied, or copied differently, and why.
        item_count: the export's item count.
    """

    target: str
    table: str
    export_arn: str
    source_table_arn: str
    definition: str
    request: dict[str, Any]
    ttl_attribute: str | None
    tags: dict[str, str]
    notes: tuple[str, ...]
    item_count: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "target": self.target,
            "table": self.table,
            "export_arn": self.export_arn,
            "source_table_arn": self.source_table_arn,
            "definition": self.definition,
            "item_count": self.item_count,
            "ttl_attribute": self.ttl_attribute,
            "tags": dict(self.tags),
            "notes": list(self.notes),
            "request": self.request,
        }


def plan_restore(
    target: str,
    table_name: str,
    *,
    api: RestoreApi,
    billing_mode: str | None = None,
    capacity: tuple[int, int] | None = None,
    kms_key: str | None = None,
    keys: Sequence[KeyAttribute] | None = None,
    bucket_owner: str | None = None,
    drop_local_indexes: bool = False,
    verify: bool = True,
    check_table: bool = True,
    new_import: bool = False,
) -> RestorePlan:
    """Read the export and decide the ImportTable request; nothing is started.

    Args:
        target: a FULL export folder in S3, ``s3://bucket/…/AWSDynamoDB/<ExportId>/``.
        table_name: the new table; it must not exist (unless ``check_table`` is False).
        keys: the key schema when the export has no (readable) schema sidecar; with a sidecar
            they must agree with it.
        bucket_owner: the bucket's account, for a bucket in another account.
        verify: check the export is whole before importing it (cheap checks: manifests,
            checksums, listed files) and that its ``data/`` folder holds nothing else.
        new_import: use a fresh ClientToken, so that AWS starts a new import even when it still
            remembers (for 8 hours) an ended import of this export into this table name.

    Raises:
        ConfigError: the target is not an S3 full export, is not whole, the table exists, the
            keys are unknown, or the definition cannot be imported; see the message.
    """
    check_table_name(table_name)
    if bucket_owner is not None and not _ACCOUNT.fullmatch(bucket_owner):
        raise ConfigError(f"bucket owner {bucket_owner!r} must be a 12-digit AWS account id")
    if not target.startswith("s3://"):
        raise ConfigError(_local_target_message(target))
    bucket, key = parse_s3_url(target)
    folder = parse_folder(key)
    url = f"s3://{bucket}/{folder.path}/"
    store = S3Store(api, bucket)
    summary = _read_summary(store, folder, url, verify=verify)
    data_prefix = folder.key("data/")
    data_files = _check_data_folder(api, store, folder, summary, data_prefix) if verify else None
    if check_table and api.table_exists(table_name):
        raise ConfigError(
            f"table {table_name!r} already exists: ImportTable only creates new tables. Choose "
            "another --table, or delete the table first. To finish an import this command "
            "started earlier, pass its ARN with --import-arn (find it with `aws dynamodb "
            "list-imports`)"
        )
    source, definition, notes = _source_definition(api, store, folder, summary, url, keys)
    sse, sse_notes = sse_specification(source, kms_key, _key_metadata(api, source, kms_key))
    params, param_notes = table_creation_parameters(
        source,
        table_name,
        billing_mode=billing_mode,
        capacity=capacity,
        sse=sse,
        drop_local_indexes=drop_local_indexes,
    )
    notes += param_notes + sse_notes + list(source.uncopied)
    tags = {k: v for k, v in source.tags.items() if not k.startswith("aws:")}
    if len(tags) < len(source.tags):
        notes.append("tags starting with 'aws:': not copied, only AWS may set them")
    if data_files is not None and data_files > IMPORT_OBJECT_LIMIT:
        notes.append(
            f"{data_files} data files: more than the {IMPORT_OBJECT_LIMIT} S3 objects per import "
            "ImportTable documents; the import may be refused unless the quota was raised"
        )
    request = import_request(
        bucket=bucket,
        data_prefix=data_prefix,
        input_format=summary.output_format,
        table_parameters=params,
        client_token=restore_client_token(
            summary.export_id, table_name, secrets.token_hex(8) if new_import else ""
        ),
        bucket_owner=bucket_owner,
    )
    return RestorePlan(
        target=url,
        table=table_name,
        export_arn=summary.export_arn,
        source_table_arn=summary.table_arn,
        definition=definition,
        request=request,
        ttl_attribute=source.ttl_attribute,
        tags=tags,
        notes=tuple(notes),
        item_count=summary.item_count,
    )


def _local_target_message(target: str) -> str:
    """Why a path on disk cannot be restored, with the export's S3 home when the copy knows it."""
    if not Path(target).exists():
        return (
            f"{target!r} is neither an s3:// URL nor a folder on disk; give the export folder as "
            "s3://BUCKET/PREFIX/AWSDynamoDB/<ExportId>/"
        )
    message = (
        f"{target} is a folder on disk, and ImportTable reads only from S3. Upload the export "
        "folder (e.g. `aws s3 sync FOLDER s3://BUCKET/PREFIX/AWSDynamoDB/<ExportId>/`) and give "
        "its s3://…/AWSDynamoDB/<ExportId>/ URL"
    )
    try:
        store, folder = open_target(target)
    except ConfigError:
        return message
    raw = store.read(folder.key(SUMMARY))
    try:
        summary = parse_summary(raw) if raw is not None else None
    except ManifestError:
        summary = None
    if summary is not None and summary.bucket:
        home = ExportFolder(summary.prefix or "", folder.export_id)
        message += f"; it was exported to s3://{summary.bucket}/{home.path}/ (if still there)"
    return message


def _read_summary(store: S3Store, folder: ExportFolder, url: str, *, verify: bool) -> ExportSummary:
    problems: list[str] = []
    if verify:
        checked = verify_export(store, folder)
        summary = checked.summary
        problems = [str(problem) for problem in checked.problems]
        if summary is None:
            raise ConfigError(f"{url}: no readable export: {problems[0]}")
    else:
        raw = store.read(folder.key(SUMMARY))
        if raw is None:
            raise ConfigError(f"{url}: no export here ({SUMMARY} not found)")
        try:
            summary = parse_summary(raw)
        except ManifestError as exc:
            raise ConfigError(f"{url}{SUMMARY}: cannot be read: {exc}") from None
    if summary.export_type != "FULL_EXPORT":
        since = format_instant(summary.from_time) if summary.from_time else "its window's start"
        raise ConfigError(
            f"{url} is an incremental export ({summary.export_type}: changes only, as "
            "Keys/NewImage records, which ImportTable cannot read). Restore the table's newest "
            f"full export at or before {since} "
            "(its baseline; `ddbexport list --table NAME` shows them); a table's state at a later "
            "instant is its baseline with the incremental exports merged in (a snapshot)"
        )
    if problems:
        shown = "; ".join(problems[:3])
        if len(problems) > 3:
            shown += f" (and {len(problems) - 3} more)"
        raise ConfigError(
            f"{url} is not whole, so the restored table would not be either: {shown}. "
            "Pass --no-verify to import it anyway"
        )
    return summary


def _check_data_folder(
    api: ObjectApi, store: S3Store, folder: ExportFolder, summary: ExportSummary, prefix: str
) -> int:
    """Refuse a ``data/`` folder holding objects the manifest does not list; return its size.

    ImportTable reads every object under the prefix, so a stray file would be imported too (or
    fail the import).
    """
    files_key = folder.resolve(summary.manifest_files_key)
    try:
        listed = {folder.resolve(entry.key) for entry in parse_files(store.read(files_key) or b"")}
    except ManifestError as exc:  # verified a moment ago: only a concurrent rewrite gets here
        raise ConfigError(f"{store.url(files_key)}: {exc}") from None
    present = [info.key for info in api.list_objects(store.bucket, prefix)]
    stray = sorted(key for key in present if key not in listed and not key.endswith("/"))
    if stray:
        raise ConfigError(
            f"s3://{store.bucket}/{prefix} holds {len(stray)} object(s) the export's manifest "
            f"does not list (e.g. {stray[0]}); ImportTable would read them too. Move them away "
            "or pass --no-verify to import everything under data/"
        )
    return len(present)


def _source_definition(
    api: RestoreApi,
    store: S3Store,
    folder: ExportFolder,
    summary: ExportSummary,
    url: str,
    keys: Sequence[KeyAttribute] | None,
) -> tuple[SourceTable, str, list[str]]:
    """The source's definition: the sidecar, else ``keys``, else DescribeTable of the source."""
    where = f"{url}{SCHEMA_SIDECAR}"
    raw = store.read(folder.key(SCHEMA_SIDECAR))
    unreadable = None
    if raw is not None:
        try:
            schema = json.loads(raw)
            if not isinstance(schema, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            unreadable = f"{where} is not JSON: {exc}"
        else:
            try:
                source = source_from_schema(schema, where)
            except ConfigError as exc:
                unreadable = str(exc)
            else:
                if keys is not None and tuple(keys) != source.key_schema:
                    raise ConfigError(
                        f"--key {_keys_text(keys)} disagrees with the export's schema sidecar, "
                        f"whose keys are {_keys_text(source.key_schema)} ({where}); leave --key "
                        "out or correct it"
                    )
                return source, "schema sidecar", []
    if keys is not None:
        notes = ["definition: keys only (--key): no indexes, TTL, tags or capacity copied"]
        if unreadable:
            notes.append(f"schema sidecar ignored: {unreadable}")
        return source_from_keys(summary.table, keys), "--key", notes
    if unreadable:
        raise ConfigError(
            f"{unreadable}. Give the keys with --key NAME:TYPE[,NAME:TYPE] (e.g. pk:S,sk:N) to "
            "restore without the sidecar"
        )
    try:
        schema = api.table_schema(summary.table_arn)
    except RetryableAwsError:
        raise
    except AwsError as exc:
        raise ConfigError(
            f"{url} has no schema sidecar ({SCHEMA_SIDECAR}, written by ddbexport runs) and its "
            f"table {summary.table_arn} cannot be described ({exc}), so the new table's keys are "
            "unknown: give them with --key NAME:TYPE[,NAME:TYPE] (e.g. pk:S or pk:S,sk:N; types "
            "S, N or B)"
        ) from None
    source = source_from_schema(schema, f"DescribeTable of {summary.table_arn}")
    notes = [
        "definition: the source table as it is now (no schema sidecar): it may differ from the "
        "table at export time"
    ]
    return source, f"DescribeTable of {summary.table_arn}", notes


def _keys_text(keys: Sequence[KeyAttribute]) -> str:
    return ",".join(f"{key.name}:{key.type}" for key in keys)


def _key_metadata(
    api: RestoreApi, source: SourceTable, kms_key: str | None
) -> dict[str, Any] | None:
    """DescribeKey of the source's KMS key, when the new table is to follow the source."""
    if kms_key is not None or source.sse_type != "KMS" or source.sse_key is None:
        return None
    try:
        return api.describe_key(source.sse_key)
    except RetryableAwsError:
        raise
    except AwsError as exc:
        raise ConfigError(
            f"the source table was encrypted with KMS key {source.sse_key}, which cannot be used "
            f"here ({exc}): pass --kms-key KEY (a customer managed key usable in this account and "
            f"region), --kms-key {KMS_AWS_MANAGED} or --kms-key {KMS_AWS_OWNED}"
        ) from None


# ---------------------------------------------------------------------------- restore (starts)


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """One look at an import (DescribeImport)."""

    status: str
    processed_items: int
    imported_items: int
    error_count: int
    processed_bytes: int
    elapsed_s: float

    @classmethod
    def from_description(cls, description: Mapping[str, Any], elapsed_s: float) -> ImportProgress:
        """From an ImportTableDescription."""
        return cls(
            status=str(description.get("ImportStatus") or "IN_PROGRESS"),
            processed_items=int(description.get("ProcessedItemCount") or 0),
            imported_items=int(description.get("ImportedItemCount") or 0),
            error_count=int(description.get("ErrorCount") or 0),
            processed_bytes=int(description.get("ProcessedSizeBytes") or 0),
            elapsed_s=elapsed_s,
        )


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What a restore did.

    Attributes:
        plan: the decisions and the request sent.
        import_arn: the import's ARN; ``table_arn`` the new table's.
        progress: the last DescribeImport (or ImportTable) answer.
        waited: whether the restore waited for the import; ``timed_out`` whether it gave up.
        failure_code, failure_message: why a FAILED or CANCELLED import ended.
        log_group: the CloudWatch log group holding the item errors, when there were any.
        applied: what was applied to the new table after the import (TTL, tags).
        problems: what should have been applied but was not, with how to do it by hand.
    """

    plan: RestorePlan
    import_arn: str
    table_arn: str | None
    progress: ImportProgress
    waited: bool
    timed_out: bool = False
    failure_code: str | None = None
    failure_message: str | None = None
    log_group: str | None = None
    applied: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """The import's last known status."""
        return self.progress.status

    @property
    def ok(self) -> bool:
        """Started (not waiting), or COMPLETED with TTL and tags applied (waiting)."""
        if not self.waited:
            return self.status not in ("FAILED", "CANCELLED", "CANCELLING")
        return self.status == "COMPLETED" and not self.problems

    @property
    def exit_code(self) -> int:
        """0 when :attr:`ok`, else 1."""
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "table": self.plan.table,
            "table_arn": self.table_arn,
            "import_arn": self.import_arn,
            "status": self.status,
            "ok": self.ok,
            "waited": self.waited,
            "timed_out": self.timed_out,
            "processed_items": self.progress.processed_items,
            "imported_items": self.progress.imported_items,
            "error_count": self.progress.error_count,
            "processed_bytes": self.progress.processed_bytes,
            "elapsed_s": round(self.progress.elapsed_s, 3),
            "failure_code": self.failure_code,
            "failure_message": self.failure_message,
            "cloudwatch_log_group": self.log_group,
            "applied": list(self.applied),
            "problems": list(self.problems),
            "plan": self.plan.to_dict(),
        }


def restore(
    target: str,
    table_name: str,
    *,
    api: RestoreApi,
    wait: bool = False,
    poll_s: float = DEFAULT_POLL_S,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[ImportProgress], None] | None = None,
    billing_mode: str | None = None,
    capacity: tuple[int, int] | None = None,
    kms_key: str | None = None,
    keys: Sequence[KeyAttribute] | None = None,
    bucket_owner: str | None = None,
    drop_local_indexes: bool = False,
    verify: bool = True,
    import_arn: str | None = None,
    new_import: bool = False,
) -> RestoreResult:
    """Import the FULL export ``target`` into the new table ``table_name``.

    Args:
        wait: follow the import to its end (DescribeImport every ``poll_s``, at most
            ``timeout_s``), then apply the source's TTL and tags.
        sleep, clock: how waits are made and time is measured (tests pass fast ones).
        progress: called with every DescribeImport answer while waiting.
        import_arn: an import this function started before (e.g. without ``wait``): follow it
            instead of starting one; the table then exists already.

    Other arguments as for :func:`plan_restore`.

    Raises:
        ConfigError: bad input; nothing was started.
        AwsError: an AWS call failed (ImportTable: nothing was started).
    """
    if poll_s <= 0 or timeout_s <= 0:
        raise ConfigError("the poll interval and the timeout must be longer than zero")
    if new_import and import_arn is not None:
        raise ConfigError("--new-import starts an import and --import-arn follows one: not both")
    plan = plan_restore(
        target,
        table_name,
        api=api,
        billing_mode=billing_mode,
        capacity=capacity,
        kms_key=kms_key,
        keys=keys,
        bucket_owner=bucket_owner,
        drop_local_indexes=drop_local_indexes,
        verify=verify,
        check_table=import_arn is None,
        new_import=new_import,
    )
    if import_arn is None:
        description = _start(api, plan)
    else:
        try:
            description = api.describe_import(import_arn)
        except AwsError as exc:
            if exc.code != "ImportNotFoundException":
                raise
            raise ConfigError(
                f"--import-arn {import_arn}: no such import (AWS lists imports for 90 days)"
            ) from None
        _check_same_import(plan, import_arn, description)
    arn = str(description.get("ImportArn") or import_arn or "")
    started = clock()
    timed_out = False
    if wait:
        if progress is not None:
            progress(ImportProgress.from_description(description, 0.0))
        while description.get("ImportStatus") not in TERMINAL_STATUSES:
            remaining = timeout_s - (clock() - started)
            if remaining <= 0:
                timed_out = True
                break
            sleep(min(poll_s, remaining))
            try:
                description = api.describe_import(arn)
            except RetryableAwsError:
                continue  # throttled or a server hiccup: the import goes on, look again later
            if progress is not None:
                progress(ImportProgress.from_description(description, clock() - started))
    state = ImportProgress.from_description(description, clock() - started)
    table_arn = description.get("TableArn")
    applied: list[str] = []
    problems: list[str] = []
    if wait and state.status == "COMPLETED":
        applied, problems = _aftercare(api, plan, str(table_arn or ""))
    return RestoreResult(
        plan=plan,
        import_arn=arn,
        table_arn=str(table_arn) if table_arn else None,
        progress=state,
        waited=wait,
        timed_out=timed_out,
        failure_code=description.get("FailureCode"),
        failure_message=description.get("FailureMessage"),
        log_group=description.get("CloudWatchLogGroupArn") if state.error_count else None,
        applied=tuple(applied),
        problems=tuple(problems),
    )


def _start(api: RestoreApi, plan: RestorePlan) -> dict[str, Any]:
    called = datetime.now(UTC)
    try:
        description = api.import_table(plan.request)
    except AwsError as exc:
        if exc.code == "ResourceInUseException":
            # Created between the check and the call: still bad input, still nothing started.
            raise ConfigError(
                f"table {plan.table!r} already exists ({exc}): ImportTable only creates new tables"
            ) from None
        if "IdempotentParameterMismatch" in exc.code:
            raise ConfigError(
                f"an import of this export into {plan.table!r} with other settings was started "
                "in the last 8 hours (same ClientToken, other parameters): follow that one with "
                "--import-arn, or restore into another table name"
            ) from None
        raise
    if _an_earlier_import(description, called):
        raise ConfigError(
            f"AWS returned an earlier import of this export into {plan.table!r}, started at "
            f"{description['StartTime']} and {description['ImportStatus']} "
            f"({description.get('ImportArn')}): an import's ClientToken is remembered for 8 "
            "hours, so nothing new was started. Run again with --new-import to start a new import"
        )
    return description


#: How much earlier than our call an import must have started to be taken for an earlier one
#: (clocks differ; an emulator may finish an import within the call).
_EARLIER_IMPORT_SLACK = timedelta(minutes=1)


def _an_earlier_import(description: Mapping[str, Any], called: datetime) -> bool:
    """Whether ImportTable gave back an import that had ended before this call.

    A new import is IN_PROGRESS. An ended one that started before the call is an earlier import
    with the same ClientToken, which AWS returns for 8 hours instead of starting anything.
    """
    if description.get("ImportStatus") not in TERMINAL_STATUSES:
        return False
    started = description.get("StartTime")
    if isinstance(started, str):
        try:
            started = datetime.fromisoformat(started)
        except ValueError:
            return False
    if not isinstance(started, datetime):
        return False
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return started < called - _EARLIER_IMPORT_SLACK


def _check_same_import(plan: RestorePlan, import_arn: str, description: Mapping[str, Any]) -> None:
    """Refuse to follow an import of another table or another export."""
    table_arn = str(description.get("TableArn") or "")
    if table_arn and table_arn.rsplit("/", 1)[-1] != plan.table:
        raise ConfigError(f"import {import_arn} creates {table_arn}, not table {plan.table!r}")
    source = description.get("S3BucketSource")
    expected = plan.request["S3BucketSource"]
    if isinstance(source, Mapping) and (
        source.get("S3Bucket") != expected["S3Bucket"]
        or (source.get("S3KeyPrefix") or "") != expected["S3KeyPrefix"]
    ):
        raise ConfigError(
            f"import {import_arn} reads s3://{source.get('S3Bucket')}/"
            f"{source.get('S3KeyPrefix') or ''}, not this export's "
            f"s3://{expected['S3Bucket']}/{expected['S3KeyPrefix']}"
        )


def _aftercare(api: RestoreApi, plan: RestorePlan, table_arn: str) -> tuple[list[str], list[str]]:
    """Apply TTL and tags; a failure is reported with the command that does it by hand."""
    applied: list[str] = []
    problems: list[str] = []
    if plan.ttl_attribute:
        try:
            api.set_time_to_live(plan.table, plan.ttl_attribute)
        except AwsError as exc:
            # Finishing the same import twice: AWS refuses to enable TTL that is already on.
            if "already enabled" in str(exc).lower():
                applied.append(f"TTL on {plan.ttl_attribute!r} (already on)")
            else:
                problems.append(
                    f"TTL not enabled ({exc}); run: aws dynamodb update-time-to-live "
                    f"--table-name {plan.table} --time-to-live-specification "
                    f"Enabled=true,AttributeName={plan.ttl_attribute}"
                )
        else:
            applied.append(f"TTL on {plan.ttl_attribute!r}")
    if plan.tags:
        try:
            api.tag_table(table_arn, plan.tags)
        except AwsError as exc:
            pairs = " ".join(f"Key={key},Value={value}" for key, value in plan.tags.items())
            problems.append(
                f"tags not applied ({exc}); run: aws dynamodb tag-resource --resource-arn "
                f"{table_arn} --tags {pairs}"
            )
        else:
            applied.append(f"{len(plan.tags)} tag(s)")
    return applied, problems
