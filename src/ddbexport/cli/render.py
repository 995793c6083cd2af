"""Terminal rendering for the CLI: plans, live progress, summaries. The library never uses it."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from ddbexport.core.models import ExportPlan, ExportRequest, shown, where
from ddbexport.core.timeparse import format_duration, format_instant
from ddbexport.running.report import RunReport
from ddbexport.running.runner import RunEvent

_run_log = logging.getLogger("ddbexport.run")

# Names and messages come from configs and AWS: escaped, so a '[' never reads as rich markup.
_STATUS_STYLE = {
    "COMPLETED": "green",
    "FAILED": "red",
    "TIMED_OUT": "yellow",
    "INTERRUPTED": "yellow",
    "IN_PROGRESS": "cyan",
    "PENDING": "dim",
    "WAITING": "dim",
}


#: Below this many columns (and whenever stdout is no terminal) plans and summaries are lists:
#: a table would have to break ARNs, tokens and fix commands in the middle.
WIDE_COLUMNS = 140


def _console() -> Console:
    return Console(soft_wrap=True)


def print_whole(console: Console, text: str) -> None:
    """One line, never wrapped or cut (rich markup allowed): ARNs and commands stay copyable."""
    console.print(text, overflow="ignore", crop=False)


def is_wide(console: Console) -> bool:
    """Whether tables fit: a terminal of :data:`WIDE_COLUMNS` or more."""
    return console.is_terminal and console.width >= WIDE_COLUMNS


def render_plan(plan: ExportPlan, console: Console | None = None) -> None:
    """Print the plan on stdout: a table on a wide terminal, else one block per export."""
    console = console or _console()
    console.print(
        f"run id [bold]{plan.run_id}[/]  export time [bold]{format_instant(plan.export_time)}[/]  "
        f"{len(plan.requests)} export(s)"
    )
    chained = any(request.chained for request in plan.requests)
    rows = [_plan_fields(request, chained) for request in plan.requests]
    if is_wide(console):
        table = Table(show_lines=False)
        for column in rows[0] if rows else ("table",):
            table.add_column(column, overflow="fold")
        for fields in rows:
            table.add_row(*map(escape, fields.values()))
        console.print(table)
    else:
        for fields in rows:
            _print_block(console, fields)
    for request in plan.requests:
        if request.reason:
            console.print(escape(f"{_name(request)}: {export_label(request)}: {request.reason}"))
        if request.later:
            spans = ", ".join(
                f"{format_instant(start)} to {format_instant(end)}" for start, end in request.later
            )
            console.print(escape(f"{_name(request)}: then, once it has completed: {spans}"))
    for waiting in plan.waiting:
        console.print(
            f"[dim]{escape(f'{_name(waiting)}: nothing to export yet: {waiting.message}')}[/]"
        )
    for problem in plan.problems:
        detail = escape(f"cannot export {_name(problem)}: {problem.code}: {problem.message}")
        console.print(f"[red]{detail}[/]")


def _plan_fields(request: ExportRequest, chained: bool) -> dict[str, str]:
    fields = {"table": _name(request)}
    if chained:
        fields["export"] = export_label(request)
    fields["table ARN"] = request.table_arn
    fields["bucket"] = request.bucket + (
        f" (owner {request.bucket_owner})" if request.bucket_owner else ""
    )
    fields["prefix"] = request.prefix or "(none)"
    fields["format"] = request.format
    fields["SSE"] = request.sse + (f" ({request.kms_key})" if request.kms_key else "")
    fields["client token"] = request.client_token
    return fields


def _print_block(console: Console, fields: dict[str, str]) -> None:
    """One export as a heading line and indented ``name  value`` lines, never wrapped."""
    (_, heading), *rest = fields.items()
    console.print(f"[bold]{escape(heading)}[/]")
    width = max(len(name) for name, _ in rest)
    for name, value in rest:
        print_whole(console, f"  {name.ljust(width)}  {escape(value)}")


def export_label(request: ExportRequest) -> str:
    """What a request exports: ``full as of T`` or ``window F to T (VIEW)``."""
    if request.from_time is not None and request.to_time is not None:
        return (
            f"window {format_instant(request.from_time)} to {format_instant(request.to_time)} "
            f"({request.view})"
        )
    return f"full as of {format_instant(request.export_time)}"


def render_summary(report: RunReport, report_path: Path | None) -> None:
    """Print the per-table outcome and the counts on stdout.

    Errors and notes follow the table (or list) in full, each on its own line, so a fix command
    in a FAILED row can be copied as it is.
    """
    console = _console()
    title = f"run {report.run_id} - export time {format_instant(report.export_time)}"
    details: list[str] = []
    rows: list[tuple[str, str, str, str, str]] = []
    for result in report.tables:
        duration = ""
        if result.start_time and result.end_time:
            duration = format_duration((result.end_time - result.start_time).total_seconds())
        items = "" if result.item_count is None else str(result.item_count)
        export = result.export_arn or ""
        if result.from_time is not None and result.to_time is not None:
            window = f"{format_instant(result.from_time)} to {format_instant(result.to_time)}"
            export = f"window {window}: {export}"
        if result.error:
            details.append(f"{_name(result)}: {result.error.code}: {result.error.message}")
            export = result.error.code
        elif result.note:
            details.append(f"{_name(result)}: {result.note}")
        rows.append((_name(result), result.status, items, duration, export))
    if is_wide(console):
        table = Table(title=title)
        for column in ("table", "status", "items", "duration", "export / error"):
            table.add_column(column, overflow="fold")
        for name, status, items, duration, export in rows:
            table.add_row(escape(name), _styled(status), items, duration, escape(export))
        console.print(table)
    else:
        console.print(title)
        for name, status, items, duration, export in rows:
            facts = ", ".join(
                part for part in (f"{items} items" if items else "", duration) if part
            )
            print_whole(
                console, f"  {escape(name)}  {_styled(status)}" + (f"  {facts}" if facts else "")
            )
            if export and status == "COMPLETED":
                print_whole(console, f"    {escape(export)}")
    for detail in details:
        print_whole(console, escape(detail))
    counts = ", ".join(f"{count} {status}" for status, count in report.summary.items() if count)
    console.print(
        f"summary: {counts}"
        + (f"; report written to {escape(str(report_path))}" if report_path else "")
    )


def _styled(status: str) -> str:
    style = _STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/]" if style else status


class EventLog:
    """Run events as log records (``ddbexport.run``), for pipes, files, cron and machines:
    text or JSON lines as ``--log-format`` says, each with its run id and table."""

    def begin(self, plan: ExportPlan) -> None:
        """Announce the run."""
        _run_log.info(
            "run %s: %d table(s) as of %s",
            plan.run_id,
            len(plan.requests) + len(plan.problems),
            format_instant(plan.export_time),
            extra={"run_id": plan.run_id, "event": "planned"},
        )

    def on_event(self, event: RunEvent) -> None:
        """One record per event; the repetitive 'polled' ones only at debug level."""
        level = logging.DEBUG if event.kind == "polled" else logging.INFO
        if event.kind in ("failed", "timed_out"):
            level = logging.WARNING
        _run_log.log(
            level,
            "%s: %s%s",
            _name(event),
            event.kind,
            f" ({event.message})" if event.message else "",
            extra={
                "run_id": event.run_id,
                "table": event.table,
                **where(event.account, event.region),
                "event": event.kind,
                "status": event.status,
                "export_arn": event.export_arn,
                "items": event.item_count,
                "elapsed_s": round(event.elapsed_s, 1) if event.elapsed_s is not None else None,
            },
        )

    def end(self) -> None:
        """Nothing to tear down."""


class LiveProgress:
    """A live table on the terminal: table, status, elapsed, items."""

    def __init__(self) -> None:
        self._rows: dict[str, RunEvent] = {}
        self._run_id = ""
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._live: Live | None = None

    def begin(self, plan: ExportPlan) -> None:
        """Show every planned table as PENDING."""
        self._run_id = plan.run_id
        for request in plan.requests:
            self._rows[_name(request)] = RunEvent(
                "planned",
                plan.run_id,
                request.table,
                "PENDING",
                account=request.account,
                region=request.region,
            )
        self._live = Live(
            get_renderable=self._render, console=Console(stderr=True), refresh_per_second=2
        )
        self._live.start()

    def on_event(self, event: RunEvent) -> None:
        """Update the table's row."""
        with self._lock:
            self._rows[_name(event)] = event

    def end(self) -> None:
        """Stop the live display, leaving its last frame on screen."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _render(self) -> Table:
        with self._lock:
            rows = sorted(self._rows.values(), key=_name)
        done = sum(1 for event in rows if event.status not in ("PENDING", "IN_PROGRESS"))
        elapsed = format_duration(time.monotonic() - self._started)
        # The title counts wall-clock time; the rows' elapsed times are the service's (sandbox
        # time when the sandbox's clock runs fast).
        table = Table(title=f"run {self._run_id}  {done}/{len(rows)} done  {elapsed} wall clock")
        for column in ("table", "status", "elapsed", "items", "note"):
            table.add_column(column, overflow="fold")
        for event in rows:
            style = _STATUS_STYLE.get(event.status, "")
            table.add_row(
                escape(_name(event)),
                f"[{style}]{event.status}[/]" if style else event.status,
                format_duration(event.elapsed_s) if event.elapsed_s is not None else "",
                "" if event.item_count is None else str(event.item_count),
                escape(event.message),
            )
        return table


class _Located(Protocol):
    @property
    def table(self) -> str: ...
    @property
    def account(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...


def _name(item: _Located) -> str:
    return shown(item.table, item.account, item.region)
