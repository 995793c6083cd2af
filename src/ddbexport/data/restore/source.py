"""The source table's definition, read purely: from a schema sidecar (or DescribeTable's
answer) or from ``--key``, into a :class:`SourceTable`; also the table name and key checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ddbexport.errors import ConfigError

PAY_PER_REQUEST = "PAY_PER_REQUEST"
PROVISIONED = "PROVISIONED"
BILLING_MODES = (PAY_PER_REQUEST, PROVISIONED)
KEY_TYPES = ("S", "N", "B")

_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_KEY_OPTION = re.compile(r"([^:,\s]+):([A-Za-z]+)")


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
        capacity=capacity_of(table.get("ProvisionedThroughput")),
        on_demand=on_demand_of(table.get("OnDemandThroughput")),
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


def capacity_of(value: Any) -> tuple[int, int] | None:
    throughput = _mapping(value)
    read, write = throughput.get("ReadCapacityUnits"), throughput.get("WriteCapacityUnits")
    # On-demand tables report 0 units: that is "none", not a capacity.
    if isinstance(read, int) and isinstance(write, int) and read > 0 and write > 0:
        return read, write
    return None


def on_demand_of(value: Any) -> dict[str, int] | None:
    # A maximum of -1 (or none) means "no maximum": only real limits are copied.
    limits = {
        name: units
        for name, units in _mapping(value).items()
        if name in ("MaxReadRequestUnits", "MaxWriteRequestUnits")
        and isinstance(units, int)
        and units > 0
    }
    return limits or None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
