"""Pure planning: config + table descriptions + export time → the exact export requests.

No AWS calls happen here; :mod:`ddbexport.planning.gather` reads the table descriptions first.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ddbexport.config.model import Config, Destination, TableSelector, effective_destination
from ddbexport.core.models import ExportPlan, ExportRequest, PlanProblem, TableInfo
from ddbexport.core.timeparse import format_instant
from ddbexport.errors import ConfigError

# Client tokens are digests of (run id, table ARN): the same run always sends the same token
# and a different run never collides with it (see client_token).


@dataclass(frozen=True, slots=True)
class Selection:
    """A table chosen by the config, with the settings of the selector that chose it."""

    table: str
    destination: Destination
    selector: TableSelector


def selected_tables(
    config: Config,
    table_names: Sequence[str],
    tags_by_table: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Selection]:
    """Apply the config's selectors to the tables of the account.

    ``name`` selectors win over ``match``/``tags`` ones; otherwise the first selector in file
    order that matches a table decides its settings. ``exclude`` patterns remove tables found by
    ``match`` or ``tags`` (a table named explicitly is always exported). A named table is selected
    even when it is not in ``table_names``: the run then reports it as missing.

    Raises:
        ConfigError: a ``match`` or ``tags`` selector matched no table.
    """
    chosen: dict[str, Selection] = {}
    for selector in config.tables:
        if selector.name is not None and selector.name not in chosen:
            destination = effective_destination(config.defaults, selector)
            chosen[selector.name] = Selection(selector.name, destination, selector)
    candidates = [
        name
        for name in table_names
        if not any(fnmatch.fnmatchcase(name, pattern) for pattern in config.exclude)
    ]
    for index, selector in enumerate(config.tables):
        if selector.name is not None:
            continue
        matched = [name for name in candidates if _matches(selector, name, tags_by_table)]
        if not matched:
            raise ConfigError(
                f"tables[{index}] ({selector.describe()}) matched no table "
                f"(looked at {len(table_names)} tables, {len(table_names) - len(candidates)} "
                "excluded)"
            )
        for name in matched:
            if name not in chosen:
                chosen[name] = Selection(
                    name, effective_destination(config.defaults, selector), selector
                )
    return sorted(chosen.values(), key=lambda selection: selection.table)


def _matches(
    selector: TableSelector, name: str, tags_by_table: Mapping[str, Mapping[str, str]] | None
) -> bool:
    if selector.match is not None:
        return fnmatch.fnmatchcase(name, selector.match)
    wanted = selector.tags or {}
    have = (tags_by_table or {}).get(name, {})
    return all(have.get(key) == value for key, value in wanted.items())


def needs_table_listing(config: Config) -> bool:
    """Whether selecting the config's tables needs ListTables (any ``match`` or ``tags``)."""
    return any(selector.name is None for selector in config.tables)


def needs_tags(config: Config) -> bool:
    """Whether selecting the config's tables needs every table's tags."""
    return any(selector.tags is not None for selector in config.tables)


def derive_run_id(config: Config, export_time: datetime) -> str:
    """The default run id: the export time plus a digest of what the config asks to export.

    Run settings (concurrency, polling) do not enter the digest: they do not change the requests.
    """
    relevant = config.model_dump(mode="json", include={"region", "exclude", "defaults", "tables"})
    # Keys of many accounts enter only when used: single-account run ids stay as they were.
    for table in relevant["tables"]:
        for key in ("accounts", "regions"):
            if table.get(key) is None:
                table.pop(key, None)
    if config.accounts:
        relevant["accounts"] = [
            account.model_dump(mode="json", exclude_none=True) for account in config.accounts
        ]
    digest = hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:8]
    return f"{export_time.strftime('%Y%m%dT%H%M%SZ')}-{digest}"


def export_time_of_run_id(run_id: str) -> datetime | None:
    """The export time encoded in a default run id (``20261128T030000Z-1a2b3c4d``), if any."""
    match = _DERIVED_RUN_ID.fullmatch(run_id)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


_DERIVED_RUN_ID = re.compile(r"(\d{8}T\d{6}Z)-[0-9a-f]{8}")


def client_token(run_id: str, table_arn: str, attempt: int = 1) -> str:
    """The deterministic ClientToken of a table's export in a run.

    ``attempt`` > 1 names a retry of an export that ended FAILED: AWS would answer the first
    token with the failed export again, so a retry needs a token of its own.

    The pipeline's state machine computes the same token (SHA-256 of ``run/arn``, hex), so a
    local run given a pipeline execution's name as its run id meets that execution's exports.
    """
    name = f"{run_id}/{table_arn}" if attempt == 1 else f"{run_id}/{table_arn}/{attempt}"
    return hashlib.sha256(name.encode()).hexdigest()


def render_prefix(template: str, *, table: str, export_time: datetime, run_id: str) -> str:
    """Fill a prefix template; ``{date}`` is YYYY/MM/DD and ``{time}`` HHMMSS of the export time."""
    rendered = template.format(
        table=table,
        date=export_time.strftime("%Y/%m/%d"),
        time=export_time.strftime("%H%M%S"),
        run_id=run_id,
    )
    return rendered.strip("/")


def build_plan(
    selections: Sequence[Selection],
    tables: Mapping[str, TableInfo | PlanProblem],
    *,
    export_time: datetime,
    run_id: str,
) -> ExportPlan:
    """Turn selected tables and their descriptions into the run's export requests.

    Args:
        selections: the tables the config selected, with their settings.
        tables: DescribeTable's answer per table name, or the problem that prevented it.
        export_time: the one instant every table is exported as of (whole seconds, UTC).
        run_id: the run's id; it seeds every client token.

    Raises:
        ConfigError: a rendered prefix is longer than the 1,024 bytes AWS allows.
    """
    requests: list[ExportRequest] = []
    problems: list[PlanProblem] = []
    for selection in selections:
        info = tables.get(selection.table)
        if info is None:
            problems.append(PlanProblem(selection.table, "NotDescribed", "table was not described"))
            continue
        if isinstance(info, PlanProblem):
            problems.append(info)
            continue
        destination = selection.destination
        prefix = render_prefix(
            destination.prefix or "", table=info.name, export_time=export_time, run_id=run_id
        )
        if len(prefix.encode()) > 1024:
            raise ConfigError(
                f"table {info.name!r}: prefix {prefix[:60]!r}… is {len(prefix.encode())} bytes; "
                "S3Prefix allows at most 1,024"
            )
        assert destination.bucket is not None  # Config validation guarantees a bucket
        requests.append(
            ExportRequest(
                table=info.name,
                table_arn=info.arn,
                bucket=destination.bucket,
                prefix=prefix,
                format=destination.format or "DYNAMODB_JSON",
                sse=destination.sse or "AES256",
                kms_key=destination.kms_key,
                bucket_owner=destination.bucket_owner,
                export_time=export_time,
                client_token=client_token(run_id, info.arn),
                size_bytes=info.size_bytes,
            )
        )
    return ExportPlan(
        run_id=run_id,
        export_time=export_time,
        requests=tuple(requests),
        problems=tuple(problems),
    )


def check_export_time(export_time: datetime, now: datetime) -> None:
    """Reject an export time in the future (AWS would answer InvalidExportTimeException)."""
    if export_time > now:
        raise ConfigError(
            f"export time {format_instant(export_time)} is in the future "
            f"(now is {format_instant(now)}); pass an --as-of in the past"
        )
