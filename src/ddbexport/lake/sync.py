"""``lake sync``: bring each table's Iceberg mirror up to its newest catalogued export."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.schema import Schema
from pyiceberg.table import Table

from ddbexport.catalog.inventory import list_exports
from ddbexport.catalog.records import CatalogRecord, tables_named
from ddbexport.config.model import Config
from ddbexport.core.ports import ObjectApi
from ddbexport.core.timeparse import format_instant
from ddbexport.data.snapshot import Locate, catalogued
from ddbexport.data.snapshot.merging import open as open_catalogued
from ddbexport.errors import ConfigError
from ddbexport.exports.reader import OpenedExport, iter_changes

from .connect import connect, iceberg_name
from .plan import LOAD, Step, plan_sync
from .state import applied_state, summary_properties
from .writing import BATCH_ROWS, Written, load, merge


@dataclass(frozen=True, slots=True)
class StepResult:
    """One export applied: the snapshot that holds it."""

    action: str  # load | merge
    export_arn: str
    as_of: datetime
    snapshot_id: int
    rows: int
    deleted: int
    changes: int
    skipped: int
    files_rewritten: int
    columns_added: tuple[str, ...]
    columns_retyped: tuple[str, ...]
    seconds: float

    def to_dict(self) -> dict[str, object]:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["as_of"] = format_instant(self.as_of)
        data["columns_added"] = list(self.columns_added)
        data["columns_retyped"] = list(self.columns_retyped)
        return data


@dataclass(slots=True)
class TableSync:
    """What a sync did to one table's Iceberg mirror."""

    table: str
    table_arn: str
    iceberg_table: str
    why: str
    steps: list[StepResult] = field(default_factory=list)
    as_of: datetime | None = None  # the export instant the table shows now
    gap: str | None = None  # why it stopped short, if it did

    def to_dict(self) -> dict[str, object]:
        return {
            "table": self.table,
            "table_arn": self.table_arn,
            "iceberg_table": self.iceberg_table,
            "why": self.why,
            "as_of": format_instant(self.as_of) if self.as_of else None,
            "applied": [step.to_dict() for step in self.steps],
            "gap": self.gap,
        }


@dataclass(slots=True)
class SyncResult:
    tables: list[TableSync]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when a table stopped at a gap."""
        return all(table.gap is None for table in self.tables)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "tables": [table.to_dict() for table in self.tables],
            "notes": self.notes,
        }


def sync(
    config: Config,
    api: ObjectApi,
    *,
    tables: Sequence[str] = (),
    rebuild: bool = False,
    catalog: Catalog | None = None,
    locate: Locate | None = None,
    batch_rows: int = BATCH_ROWS,
    clock: Callable[[], float] = time.perf_counter,
) -> SyncResult:
    """Apply every export each table's Iceberg mirror lacks, one snapshot per export.

    Args:
        tables: names or table ARNs (default: every table the config's catalogs list).
        rebuild: reload each table from its newest baseline, whatever it holds.
        catalog: the Iceberg catalog (default: the one ``[lake]`` configures).
        locate: where each export's files are (default: where its catalog record says).

    Raises:
        ConfigError: an unknown table, no good full export, an Iceberg table that mirrors
            another DynamoDB table or has a column ddbexport does not write.
        ExportReadError: an export file is not what AWS writes.
        AwsError: S3 failed.
    """
    listing = list_exports(config, api)
    by_arn: dict[str, list[CatalogRecord]] = {}
    for record in listing.records:
        by_arn.setdefault(record.table_arn, []).append(record)
    chosen = _select(listing.records, tables)
    lake = config.lake
    iceberg = catalog if catalog is not None else connect(lake, region=config.region)
    iceberg.create_namespace_if_not_exists(lake.namespace)
    where = locate if locate is not None else catalogued(api)
    result = SyncResult(
        [], [f"catalog record {key} could not be read" for key in listing.unreadable]
    )
    for table_arn in chosen:
        identifier = iceberg_name(lake, table_arn)
        table = _table(iceberg, identifier)
        result.tables.append(
            _sync_table(by_arn[table_arn], table, where, rebuild, batch_rows, clock)
        )
    return result


def _select(records: Sequence[CatalogRecord], tables: Sequence[str]) -> list[str]:
    arns = sorted({record.table_arn for record in records})
    if not tables:
        if not arns:
            raise ConfigError("the config's catalogs list no exports: nothing to sync")
        return arns
    chosen: list[str] = []
    for wanted in tables:
        found = tables_named(records, wanted)
        if not found:
            known = ", ".join(sorted({arn.rsplit("/", 1)[-1] for arn in arns})) or "none"
            raise ConfigError(
                f"no exports of table {wanted!r} in the config's catalogs (tables with exports: "
                f"{known})"
            )
        if len(found) > 1:
            raise ConfigError(
                f"several tables named {wanted!r} have exports ({', '.join(found)}): pass the "
                "table ARN"
            )
        chosen += [arn for arn in found if arn not in chosen]
    return chosen


def _table(iceberg: Catalog, identifier: tuple[str, str]) -> Table:
    try:
        return iceberg.load_table(identifier)
    except NoSuchTableError:
        # Columns come with the first load; an empty table holds nothing applied, so a sync that
        # fails before its first commit simply starts again.
        return iceberg.create_table(identifier, schema=Schema())


def _sync_table(
    records: list[CatalogRecord],
    table: Table,
    locate: Locate,
    rebuild: bool,
    batch_rows: int,
    clock: Callable[[], float],
) -> TableSync:
    applied = applied_state(table)
    plan = plan_sync(records, applied, rebuild=rebuild)
    first = records[0]
    outcome = TableSync(
        first.table,
        first.table_arn,
        ".".join(table.name()),
        plan.why,
        as_of=applied.as_of if applied else None,
        gap=plan.gap,
    )
    if not plan.steps:
        return outcome
    exports = [open_catalogued(step.record, locate) for step in plan.steps]
    keys = _keys(table, exports)
    held_through = applied.held_through if applied else None
    for step, export in zip(plan.steps, exports, strict=True):
        started = clock()
        properties = summary_properties(step)
        if step.action == LOAD:
            written = load(table, export, keys, properties, batch_rows=batch_rows)
        else:
            assert held_through is not None  # a MERGE follows a load or an applied export
            written = merge(table, export, keys, held_through, properties, batch_rows=batch_rows)
        held_through = step.held_through
        outcome.steps.append(_step_result(step, written, clock() - started))
        outcome.as_of = step.as_of
    return outcome


def _keys(table: Table, exports: Sequence[OpenedExport]) -> tuple[str, ...]:
    """The table's key attributes: the Iceberg table's identifier fields, else a schema sidecar
    of the exports, else the keys of the first change of an incremental export (a full export
    alone does not say which attributes are keys without its sidecar)."""
    schema = table.schema()
    if schema.identifier_field_ids:
        return tuple(schema.find_field(number).name for number in schema.identifier_field_ids)
    for export in exports:
        if export.key_names:
            return export.key_names
    for export in exports:
        if export.incremental:
            for change in iter_changes(export, typed=True):
                return tuple(sorted(change.keys))
    return ()


def _step_result(step: Step, written: Written, seconds: float) -> StepResult:
    return StepResult(
        action=step.action,
        export_arn=step.record.export_arn,
        as_of=step.as_of,
        snapshot_id=written.snapshot_id,
        rows=written.rows,
        deleted=written.deleted,
        changes=written.changes,
        skipped=written.skipped,
        files_rewritten=written.files_rewritten,
        columns_added=tuple(written.evolution.added),
        columns_retyped=tuple(written.evolution.retyped),
        seconds=seconds,
    )
