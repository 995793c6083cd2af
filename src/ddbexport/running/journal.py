"""A run's journal: which export each table of a run started, kept on disk so a re-run resumes.

Client tokens already make a re-run of the same run id attach to the running exports, but AWS
honours a token only for 8 hours after the export completes. The journal (one JSON line appended
per started export) lets a re-run find its exports at any later time without starting new ones,
and survives the runner being killed at any instant: a line is either whole or ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ddbexport.core.timeparse import format_instant, parse_instant
from ddbexport.errors import ConfigError


def default_state_dir() -> Path:
    """Where journals live by default.

    ``$DDBEXPORT_STATE_DIR``, else ``$XDG_STATE_HOME/ddbexport``, else ``~/.local/state/ddbexport``.
    """
    explicit = os.environ.get("DDBEXPORT_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ddbexport"


_STATE_DIR_HELP = "Choose a writable folder with --state-dir or DDBEXPORT_STATE_DIR"


class JournalError(ConfigError):
    """The state folder cannot hold the run's journal (missing rights, a file in the way …)."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One started export."""

    table: str
    table_arn: str
    export_arn: str
    client_token: str
    export_time: datetime
    attempt: int = 1


class RunJournal:
    """The append-only journal of one run id, at ``<state_dir>/runs/<run_id>.jsonl``."""

    def __init__(self, state_dir: Path, run_id: str) -> None:
        self.path = state_dir / "runs" / f"{run_id}.jsonl"

    def export_time(self) -> datetime | None:
        """The export time the run was started with, if this run id has a journal."""
        for data in self._records():
            if data.get("kind") == "run":
                try:
                    return parse_instant(str(data["export_time"]))
                except (KeyError, ValueError):
                    return None
        return None

    def record_run(self, export_time: datetime) -> None:
        """Remember the run's export time once: a re-run of the run id sends the same requests."""
        if self.export_time() is None:
            self._append({"kind": "run", "export_time": format_instant(export_time)})

    def _records(self) -> list[dict[str, object]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise JournalError(
                f"cannot read the run journal {self.path}: {exc}. {_STATE_DIR_HELP}"
            ) from None
        records = []
        for line in lines:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict):
                records.append(data)
        return records

    def entries(self) -> dict[str, JournalEntry]:
        """The latest entry per table; torn or foreign lines are skipped."""
        found: dict[str, JournalEntry] = {}
        for data in self._records():
            if data.get("kind", "export") != "export":
                continue
            try:
                entry = JournalEntry(
                    table=str(data["table"]),
                    table_arn=str(data["table_arn"]),
                    export_arn=str(data["export_arn"]),
                    client_token=str(data["client_token"]),
                    export_time=parse_instant(str(data["export_time"])),
                    attempt=int(str(data.get("attempt", 1))),
                )
            except (ValueError, KeyError):
                continue
            found[entry.table] = entry
        return found

    def record(self, entry: JournalEntry) -> None:
        """Append one started export."""
        self._append(
            {
                "kind": "export",
                "table": entry.table,
                "table_arn": entry.table_arn,
                "export_arn": entry.export_arn,
                "client_token": entry.client_token,
                "export_time": format_instant(entry.export_time),
                "attempt": str(entry.attempt),
            }
        )

    def _append(self, record: dict[str, str]) -> None:
        line = json.dumps(record)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                # A run killed mid-write leaves a torn last line; start ours on a fresh line.
                torn = handle.tell() > 0 and not _ends_with_newline(self.path)
                handle.write((("\n" if torn else "") + line + "\n").encode())
                handle.flush()
        except OSError as exc:
            raise JournalError(
                f"cannot write the run journal {self.path}: {exc}. {_STATE_DIR_HELP}"
            ) from None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
