"""The I/O half of planning: everything the planner needs, read from AWS before it plans.

:func:`resolve_tables` lists, describes and reads the tags of the tables the selectors may pick;
:func:`gather_chains` reads what incremental tables continue from (catalog records, the chain
object, the PITR window, exports still running). Each table's failure is kept with the table;
planning itself (:mod:`.plan`, :mod:`.incremental`) then runs without any AWS call.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar, runtime_checkable

from ddbexport.catalog.chainstate import chain_key, chain_records, read_chain_state
from ddbexport.catalog.records import Catalog
from ddbexport.config.model import Config
from ddbexport.core.models import PlanProblem, TableInfo
from ddbexport.core.ports import ExportApi, ObjectApi
from ddbexport.errors import AccessDenied, AwsError, ConfigError, DdbExportError

from .incremental import ChainInputs
from .plan import (
    Selection,
    needs_table_listing,
    needs_tags,
    selected_tables,
)

#: DescribeTable and ListTagsOfResource calls in parallel while resolving selectors.
LOOKUP_THREADS = 8

T = TypeVar("T")
R = TypeVar("R")


def parallel_map(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(LOOKUP_THREADS, len(items))) as pool:
        return list(pool.map(function, items))


def describe_or_problem(api: ExportApi, name: str) -> TableInfo | PlanProblem:
    """DescribeTable, turning a per-table failure into a :class:`PlanProblem`."""
    try:
        return api.describe_table(name)
    except AwsError as exc:
        if exc.code in ("ResourceNotFoundException", "TableNotFoundException"):
            return PlanProblem(name, "TableNotFound", f"table {name!r} does not exist")
        return PlanProblem(name, exc.code, str(exc))


def resolve_tables(
    config: Config, api: ExportApi, *, only: Collection[str] | None = None
) -> tuple[list[Selection], dict[str, TableInfo | PlanProblem], list[PlanProblem]]:
    """The selected tables, their descriptions, and tables a tag selector could not rule on
    (of the tables in ``only``, when given: the others are not described).

    A table whose tags could not be read (throttling, a server error) may belong to the run: it
    is reported as a problem rather than silently left out. Tags we may not read at all
    (AccessDenied) and tables deleted since the listing simply do not match.
    """
    names = api.list_table_names() if needs_table_listing(config) else []
    described: dict[str, TableInfo | PlanProblem] = {}
    tags: dict[str, dict[str, str]] = {}
    unknown: dict[str, PlanProblem] = {}
    if needs_tags(config):
        candidates = [
            name
            for name in names
            if not any(fnmatch.fnmatchcase(name, pattern) for pattern in config.exclude)
        ]
        for name, info in zip(
            candidates,
            parallel_map(lambda n: describe_or_problem(api, n), candidates),
            strict=True,
        ):
            described[name] = info
        with_arn = [(n, i) for n, i in described.items() if isinstance(i, TableInfo)]
        for (name, _), table_tags in zip(
            with_arn,
            parallel_map(lambda pair: _tags_or_problem(api, pair[1]), with_arn),
            strict=True,
        ):
            if isinstance(table_tags, PlanProblem):
                unknown[name] = table_tags
            else:
                tags[name] = table_tags
        for name, info in described.items():
            if isinstance(info, PlanProblem) and info.code != "TableNotFound":
                unknown[name] = _unresolved(name, info.code, info.message)

    selections = selected_tables(config, names, tags)
    if only is not None:
        selections = [selection for selection in selections if selection.table in only]
        unknown = {name: problem for name, problem in unknown.items() if name in only}
    selected = {selection.table for selection in selections}
    unresolved = [problem for name, problem in unknown.items() if name not in selected]
    missing = [s.table for s in selections if s.table not in described]
    for name, info in zip(
        missing, parallel_map(lambda n: describe_or_problem(api, n), missing), strict=True
    ):
        described[name] = info
    return selections, described, unresolved


def _tags_or_problem(api: ExportApi, info: TableInfo) -> dict[str, str] | PlanProblem:
    try:
        return api.list_tags(info.arn)
    except AccessDenied:
        return {}  # tags we may not read cannot match a tag selector; not an error
    except AwsError as exc:
        if exc.code in ("ResourceNotFoundException", "TableNotFoundException"):
            return {}  # deleted since the listing
        return _unresolved(info.name, exc.code, str(exc))


def _unresolved(table: str, code: str, message: str) -> PlanProblem:
    return PlanProblem(
        table,
        code,
        f"could not tell whether a tags selector picks table {table!r} ({message}); it was "
        "not exported. Run again to retry",
    )


@runtime_checkable
class IncrementalApi(ExportApi, ObjectApi, Protocol):
    """What incremental planning needs beyond exporting: S3 (the catalog) and ListExports."""

    def exports_in_progress(self, table_arn: str) -> list[str]:
        """ARNs of the table's exports that are still IN_PROGRESS."""
        ...


def gather_chains(
    config: Config,
    api: ExportApi,
    selections: Iterable[Selection],
    described: Mapping[str, TableInfo | PlanProblem],
) -> dict[str, ChainInputs | DdbExportError]:
    """What the chain of each selected incremental table continues from, or why it cannot be
    read (tables that could not be described are left out: they are a problem already).

    Raises:
        ConfigError: ``api`` cannot read S3 or list exports (incremental tables need both).
    """
    if not isinstance(api, IncrementalApi):
        raise ConfigError(
            "incremental tables are planned from the catalog in S3 and from ListExports; this "
            "AWS adapter offers neither"
        )
    catalog = Catalog(api, config.catalog.prefix)
    found: dict[str, ChainInputs | DdbExportError] = {}
    for selection in selections:
        info = described.get(selection.table)
        if selection.destination.mode != "incremental" or not isinstance(info, TableInfo):
            continue
        bucket = selection.destination.bucket
        assert bucket is not None  # Config validation guarantees a bucket
        try:
            found[info.name] = _chain_inputs(catalog, api, info, bucket)
        except DdbExportError as exc:
            found[info.name] = exc
    return found


def _chain_inputs(
    catalog: Catalog, api: IncrementalApi, info: TableInfo, bucket: str
) -> ChainInputs:
    records, unreadable = catalog.records(bucket, info.name)
    # A bucket shared by accounts or regions may hold same-named tables' records too.
    records = [record for record in records if record.table_arn == info.arn]
    if unreadable:
        shown = ", ".join(f"s3://{bucket}/{key}" for key in unreadable[:3])
        raise ConfigError(
            f"{len(unreadable)} catalog record(s) of table {info.name} cannot be read "
            f"({shown}): a link of its chain may be among them, so nothing is planned. Fix or "
            "remove them, or run `ddbexport catalog rebuild`"
        )
    # The pipeline's way to ask for a new baseline (invoke --rebaseline) marks the chain object.
    state = read_chain_state(api, bucket, chain_key(catalog.prefix, info.name))
    pitr = api.describe_pitr(info.name)
    running = tuple(
        (arn, api.describe_export(arn).client_token) for arn in api.exports_in_progress(info.arn)
    )
    return ChainInputs(
        records=tuple(chain_records(records)),
        rebaseline_requested=bool(state and state.get("rebaseline") is True),
        pitr=pitr,
        running=running,
    )
