"""The ImportTable request, built purely from a :class:`~.source.SourceTable`: the new table's
creation parameters, its encryption, and the deterministic ClientToken.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ddbexport.errors import ConfigError

from .source import BILLING_MODES, PROVISIONED, SourceTable, capacity_of, on_demand_of

#: ``kms_key`` values that are not keys: DynamoDB's own key, or the account's aws/dynamodb key.
KMS_AWS_OWNED = "aws-owned"
KMS_AWS_MANAGED = "aws-managed"
INPUT_FORMATS = ("DYNAMODB_JSON", "ION")


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
            own = None if capacity else capacity_of(index.get("ProvisionedThroughput"))
            if own is None and capacity is None:
                notes.append(f"index {name}: no capacity of its own known, given the table's")
            entry["ProvisionedThroughput"] = _throughput(own or table_capacity)
        elif mode == source.billing_mode:
            limits = on_demand_of(index.get("OnDemandThroughput"))
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


def _projection(value: Mapping[str, Any]) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": str(value.get("ProjectionType", "ALL"))}
    if projection["ProjectionType"] == "INCLUDE" and value.get("NonKeyAttributes"):
        projection["NonKeyAttributes"] = [str(name) for name in value["NonKeyAttributes"]]
    return projection


def _throughput(capacity: tuple[int, int]) -> dict[str, int]:
    return {"ReadCapacityUnits": capacity[0], "WriteCapacityUnits": capacity[1]}
