"""``ddbexport init``: look at the account and write a commented starter config.

The survey (ListTables, DescribeTable, DescribeContinuousBackups, tags) is the I/O half;
:func:`starter_config` turns what it found into TOML text and is pure. The text is always
checked by the config loader before it is written, so what ``init`` writes ``run`` accepts.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ddbexport.config.model import parse_config_text
from ddbexport.core.ports import ExportApi
from ddbexport.core.timeparse import format_instant
from ddbexport.errors import AwsError, ConfigError

from .gather import parallel_map

#: The commented bucket line of a starter config written without --bucket.
BUCKET_PLACEHOLDER = '# bucket = "my-dynamodb-exports"'


@dataclass(frozen=True, slots=True)
class TableFacts:
    """What the survey learnt about one table."""

    name: str
    size_bytes: int = 0
    item_count: int = 0
    pitr: bool | None = None  # None: could not be read
    tags: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


def survey(
    api: ExportApi, *, match: str | None = None, tags: Mapping[str, str] | None = None
) -> list[TableFacts]:
    """The region's tables (those matching ``match`` and carrying every tag in ``tags``).

    Raises:
        AwsError: the tables cannot be listed.
    """
    names = sorted(api.list_table_names())
    if match is not None:
        names = [name for name in names if fnmatch.fnmatchcase(name, match)]

    def look(name: str) -> TableFacts:
        try:
            info = api.describe_table(name)
            found_tags = api.list_tags(info.arn) if tags else {}
            pitr = api.describe_pitr(name).enabled
        except AwsError as exc:
            return TableFacts(name, problem=str(exc))
        return TableFacts(name, info.size_bytes, info.item_count, pitr, found_tags)

    facts = parallel_map(look, names)
    if tags:
        facts = [
            fact
            for fact in facts
            if fact.problem is not None
            or all(fact.tags.get(key) == value for key, value in tags.items())
        ]
    return facts


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _size(size_bytes: int) -> str:
    value = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def _comment(text: str) -> str:
    return " ".join(text.split())


def starter_config(
    facts: Sequence[TableFacts],
    *,
    region: str,
    bucket: str | None,
    generated_at: datetime,
    match: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """The starter config's text: tables with PITR as entries, the others commented out with
    how to enable PITR, and the main settings with their defaults as comments."""
    chosen = [f"--match {match}"] if match else []
    chosen += [f"--tag {key}={value}" for key, value in sorted((tags or {}).items())]
    lines = [
        f"# ddbexport config written by `ddbexport init` on {format_instant(generated_at)}",
        f"# for region {region}"
        + (f", tables chosen with {' '.join(chosen)}" if chosen else ", every table")
        + ".",
        "# Reference: README.md, 'Configuration reference'. Check with: ddbexport check -c FILE",
        "",
        f"region = {_toml(region)}",
        "",
        "[defaults]",
    ]
    if bucket:
        lines.append(f"bucket = {_toml(bucket)}")
    else:
        lines += [
            "# REQUIRED: the S3 bucket exports go to (same region is cheapest), e.g.",
            BUCKET_PLACEHOLDER,
        ]
    lines += [
        'prefix = "{table}/{date}"      # {table} {date} {time} {run_id}',
        'format = "DYNAMODB_JSON"       # or "ION"',
        'sse = "AES256"                 # or "KMS" with kms_key = "alias/…"',
        "",
    ]
    ready = [fact for fact in facts if fact.pitr]
    without = [fact for fact in facts if fact.problem is None and not fact.pitr]
    unreadable = [fact for fact in facts if fact.problem is not None]
    if not facts:
        lines += ["# No table matched: add [[tables]] entries (name, match or tags).", ""]
    for fact in ready:
        lines += [
            f"# {_size(fact.size_bytes)}, {fact.item_count:,} items, PITR on",
            "[[tables]]",
            f"name = {_toml(fact.name)}",
            "",
        ]
    if without:
        lines += [
            "# Point-in-time recovery (PITR) is OFF for these tables, and exports need it. Enable",
            "# it (it is billed per GB-month), then uncomment the entry:",
            "#   aws dynamodb update-continuous-backups --table-name NAME \\",
            "#     --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
            "# or let a run do it: ddbexport run -c FILE --enable-pitr",
            "",
        ]
        for fact in without:
            lines += [
                f"# {_size(fact.size_bytes)}, {fact.item_count:,} items, PITR OFF",
                "# [[tables]]",
                f"# name = {_toml(fact.name)}",
                "",
            ]
    for fact in unreadable:
        lines += [
            f"# {fact.name}: could not be read ({_comment(fact.problem or '')})",
            "# [[tables]]",
            f"# name = {_toml(fact.name)}",
            "",
        ]
    lines += [
        "[run]",
        "# max_concurrency = 5          # exports in flight (1-300)",
        '# timeout = "24h"              # stop tracking after this long',
        "",
        "# [retention]                  # what `ddbexport prune` keeps",
        "# keep_last = 7",
        "",
        "[pipeline]                     # `ddbexport deploy` builds the scheduled pipeline",
        '# schedule = "cron(0 3 * * ? *)"',
        '# timezone = "UTC"',
        '# notify_email = "ops@example.com"',
        "",
    ]
    return "\n".join(lines)


def write_starter(
    text: str, path: Path, *, force: bool = False, source: str = "", check_only: bool = False
) -> None:
    """Check ``text`` as the loader would, then write it (never over a file unless ``force``;
    nothing with ``check_only``).

    Raises:
        ConfigError: the file exists, cannot be written, or the text is not a valid config.
    """
    # Without a bucket the text is incomplete on purpose: check it as it will be once set.
    parse_config_text(
        text.replace(BUCKET_PLACEHOLDER, BUCKET_PLACEHOLDER[2:]), source=source or str(path)
    )
    if check_only:
        return
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; pass --force to overwrite it")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from None
