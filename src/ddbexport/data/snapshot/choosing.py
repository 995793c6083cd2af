"""Choosing the chain: the table's exports that show it at the instant, and the snapshot's id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from ddbexport.catalog.chain import INCREMENTAL, Chain, ChainError, baselines, find_chain
from ddbexport.catalog.records import CatalogRecord, tables_named
from ddbexport.core.timeparse import format_instant

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def table_chain(
    records: Sequence[CatalogRecord],
    table: str,
    *,
    as_of: datetime | None = None,
    allow_gaps: bool = False,
    where: str = "the catalog",
) -> Chain:
    """The chain of ``table``'s exports (``table`` a name or a table ARN) among ``records``.

    Args:
        where: the catalog's location, for messages.

    Raises:
        ChainError: no exports of the table, several tables of that name, no good full export
            (at or before ``as_of``), a gap (unless ``allow_gaps``), or exports that stop before
            ``as_of``; each message names the table and what is allowed.
    """
    arns = tables_named(records, table)
    if not arns:
        raise no_exports(table, where, {r.table for r in records})
    if len(arns) > 1:
        raise ChainError(
            f"several tables named {table!r} have exports in {where} ({', '.join(arns)}): pass "
            "the table ARN as the table"
        )
    own = [r for r in records if r.table_arn == arns[0]]
    first = next((full.export_time for full in baselines(own)), None)
    if first is None:
        incrementals = sum(1 for r in own if r.export_type == INCREMENTAL)
        failed = sum(1 for r in own if not r.good)
        raise ChainError(
            f"table {table!r} has no good full export in {where} ({len(own)} export(s): "
            f"{incrementals} incremental, {failed} failed or unverifiable); a snapshot starts "
            "from one: take a full export (`ddbexport run`) first"
        )
    if as_of is not None and as_of < first:
        raise ChainError(
            f"table {table!r}: {format_instant(as_of)} is before its first good full export "
            f"(as of {format_instant(first)}) in {where}, so no export shows the table then; "
            f"ask for {format_instant(first)} or later"
        )
    try:
        return find_chain(own, as_of=as_of, allow_gaps=allow_gaps)
    except ChainError as exc:
        raise ChainError(f"table {table!r}: {exc}") from None


def no_exports(table: str, where: str, tables: Iterable[str]) -> ChainError:
    others = sorted(tables)
    known = f"tables with exports there: {', '.join(others)}" if others else "it is empty"
    return ChainError(
        f"no exports of table {table!r} in {where} ({known}). Check the name, or run "
        "`ddbexport catalog rebuild` if its exports were made without a catalog record"
    )


def snapshot_id(chain: Chain) -> str:
    """``<14-digit epoch ms of the instant>-<8 hex>``, an export id's shape; the hex is a hash of
    the table, the instant and the exports, so the same snapshot always has the same id."""
    millis = (chain.as_of - _EPOCH) // timedelta(milliseconds=1)
    made_of = "\n".join([chain.baseline.table_arn, chain.as_of.isoformat(), *_arns(chain)])
    return f"{millis:014d}-{hashlib.sha256(made_of.encode()).hexdigest()[:8]}"


def _arns(chain: Chain) -> list[str]:
    return [record.export_arn for record in chain.exports]
