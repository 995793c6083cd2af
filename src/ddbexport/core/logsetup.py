"""Logging for people and for machines: ``--log-format text|json`` and ``--log-level``.

Every record passes a filter that removes secrets before any handler sees it: the values of the
credential environment variables and of the session's credentials, and whatever follows a
secret-looking name (``X-Amz-Security-Token``, ``aws_secret_access_key``, a SigV4 signature).
JSON lines carry the run id and the table whenever a record has them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]
LEVELS = ("debug", "info", "warning", "error")
#: Fields a record may carry (``extra=``) that both formats show.
CONTEXT_FIELDS = (
    "run_id",
    "table",
    "account",
    "region",
    "event",
    "status",
    "export_arn",
    "items",
    "elapsed_s",
)
_SECRET_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)
#: Credential values learnt from sessions (profiles, SSO, roles), not only the environment.
_registered: set[str] = set()
_SECRET_NAMED = re.compile(
    r"(?i)(x-amz-security-token|aws_secret_access_key|aws_session_token|secretaccesskey|"
    r"sessiontoken|x-amz-credential)(['\"]?\s*[:=]\s*b?['\"]?)([^'\"\s,;}&]+)"
)
_SIGNATURE = re.compile(r"(?i)(signature=)([0-9a-f]{16,})")
_HANDLER_NAME = "ddbexport"
REDACTED = "[redacted]"


def register_secrets(*values: str | None) -> None:
    """Never log these values (credentials a session resolved)."""
    _registered.update(value for value in values if value and len(value) >= 8)


def secret_values() -> list[str]:
    """Credential values that must never be logged, longest first."""
    values = {os.environ.get(name, "") for name in _SECRET_VARIABLES} | _registered
    return sorted({value for value in values if len(value) >= 8}, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` without credential values or anything following a secret-looking name."""
    for secret in secret_values() if secrets is None else secrets:
        text = text.replace(secret, REDACTED)
    text = _SECRET_NAMED.sub(lambda match: match.group(1) + match.group(2) + REDACTED, text)
    return _SIGNATURE.sub(lambda match: match.group(1) + REDACTED, text)


class RedactSecrets(logging.Filter):
    """Formats each record's message once, without secrets (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secret_values()
        record.msg = redact(record.getMessage(), secrets)
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), secrets)
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's context."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value …`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        context = " ".join(
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None) is not None
        )
        text = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        text += f" {context}" if context else ""
        if record.exc_text:
            text += "\n" + record.exc_text
        return text


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        return None


def configure_logging(log_format: LogFormat = "text", level: str = "info") -> None:
    """Send ddbexport's records (and, at ``debug``, the AWS SDK's) to stderr in ``log_format``.

    Calling it again replaces the previous setup. Other libraries stay at warnings unless
    ``level`` is ``debug``.

    Raises:
        ValueError: an unknown level.
    """
    if level.lower() not in LEVELS:
        raise ValueError(f"{level!r} is not a log level; allowed: {', '.join(LEVELS)}")
    numeric = getattr(logging, level.upper())
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(numeric if numeric == logging.DEBUG else logging.WARNING)
    logging.getLogger("ddbexport").setLevel(numeric)
