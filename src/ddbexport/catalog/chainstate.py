"""The chain object: where an incremental table's chain stands, for the serverless pipeline.

The catalog is the truth about a table's exports and the local runner plans from it. A Step
Functions execution cannot read a whole folder of records, so beside the catalog each bucket
keeps one small object per incremental table, ``<catalog prefix>/chains/table=<table>.json``::

    {"version": 1, "table": "orders", "table_arn": "arn:…:table/orders",
     "baseline_export_arn": "…", "baseline_time": "2026-11-02T00:15:00Z",
     "end": "2026-11-02T03:15:00Z", "failed": {"key": "<from>/<to>", "attempts": 1} | null,
     "rebaseline": false, "updated_at": "…", "source": "run" | "pipeline"}

Both runners rewrite it whenever one of the table's chained exports ends: the local runner from
the catalog (after the export's record is written), the pipeline from the link it exported.
``failed`` names the last export that FAILED (``<from>/<to>`` of a window, ``full/<time>`` of a
full export) and how often, so that both runners send the same ClientToken when they try it
again. ``rebaseline`` asks the next run for a new full export (``ddbexport invoke --rebaseline``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ddbexport.core.ports import ObjectApi
from ddbexport.core.timeparse import canonical_instant, format_instant
from ddbexport.exports.files import join_key

from .chain import FULL
from .cursor import cursor_of
from .records import CatalogRecord

CHAINS = "chains"
VERSION = 1


def chain_records(records: Sequence[CatalogRecord]) -> list[CatalogRecord]:
    """The records an incremental table's chain may be made of: its incremental exports, and
    only those full exports that were taken as its baselines (marked ``extra.chain``), so that
    a full export made some other way (full mode before, an ad-hoc run) is never taken for
    one."""
    return [
        record
        for record in records
        if record.export_type != FULL or bool(record.extra.get("chain"))
    ]


def chain_key(catalog_prefix: str, table: str) -> str:
    """Where the chain object of ``table`` lives in its bucket."""
    return join_key(catalog_prefix.strip("/"), f"{CHAINS}/table={table}.json")


def export_key(record: CatalogRecord) -> str | None:
    """How ``failed`` names an export: ``<from>/<to>`` of a window, ``full/<time>`` of a full
    export (the instants in the canonical form of the client tokens)."""
    if record.export_type == FULL:
        return f"full/{canonical_instant(record.export_time)}" if record.export_time else None
    if record.from_time is None or record.to_time is None:
        return None
    return f"{canonical_instant(record.from_time)}/{canonical_instant(record.to_time)}"


def chain_state(
    records: Sequence[CatalogRecord],
    table: str,
    table_arn: str,
    *,
    last: CatalogRecord | None,
    now: datetime,
    rebaseline: bool = False,
) -> dict[str, Any]:
    """The chain object of a table from its catalog records; ``last`` is the export that just
    ended (its failures are counted when it FAILED)."""
    cursor = cursor_of(chain_records(records), table_arn)
    failed = None
    if last is not None and not last.good:
        key = export_key(last)
        if key is not None:
            attempts = sum(
                1
                for record in records
                if record.table_arn == table_arn and not record.good and export_key(record) == key
            )
            failed = {"key": key, "attempts": max(attempts, 1)}
    state: dict[str, Any] = {
        "version": VERSION,
        "table": table,
        "table_arn": table_arn,
        "baseline_export_arn": cursor.baseline.export_arn if cursor.baseline else None,
        "baseline_time": canonical_instant(cursor.baseline.export_time)
        if cursor.baseline and cursor.baseline.export_time
        else None,
        "end": canonical_instant(cursor.end) if cursor.end else None,
        "failed": failed,
        "rebaseline": rebaseline,
        "updated_at": format_instant(now),
        "source": "run",
    }
    return state


def write_chain_state(
    api: ObjectApi,
    bucket: str,
    key: str,
    state: dict[str, Any],
    *,
    kms_key: str | None = None,
    bucket_owner: str | None = None,
) -> None:
    """Write the chain object (JSON, encrypted like the exports)."""
    body = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    api.put_object(bucket, key, body, kms_key=kms_key, bucket_owner=bucket_owner)


def read_chain_state(api: ObjectApi, bucket: str, key: str) -> dict[str, Any] | None:
    """The chain object, or ``None`` when there is none (or it is not a JSON object)."""
    data = api.get_object(bucket, key)
    if data is None:
        return None
    try:
        state = json.loads(data)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None
