"""Logs for machines: JSON lines with run id and table, and never a credential."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from ddbexport.cli.main import cli
from ddbexport.core.logsetup import REDACTED, configure_logging, redact

from .helpers import BUCKET, FAST_RUN, REGION, create_bucket, create_table

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLEsessionTOKENvalue0123456789abcdef"


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    yield None
    configure_logging()  # the next test starts from the defaults


def _config(tmp_path: Path) -> Path:
    run = "\n".join(f"{key} = {json.dumps(value)}" for key, value in FAST_RUN.items())
    path = tmp_path / "ddbexport.toml"
    path.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\n'
        f'[[tables]]\nname = "orders"\n[[tables]]\nname = "users"\n[run]\n{run}\n'
    )
    return path


@pytest.mark.usefixtures("moto_aws", "credentials")
def test_json_logs_parse_line_by_line_and_hold_no_credentials(tmp_path: Path) -> None:
    """At debug level (the AWS SDK's signing logs included) every stderr line is a JSON object;
    the run's lines carry run id and table; no credential appears anywhere."""
    create_bucket()
    create_table("orders")
    create_table("users")
    result = CliRunner().invoke(
        cli,
        ["run", "-c", str(_config(tmp_path)), "--log-format", "json", "--log-level", "debug"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) > 20
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    completed = [line for line in lines if line.get("event") == "completed"]
    assert sorted(line["table"] for line in completed) == ["orders", "users"]
    assert all(line["run_id"] and line["export_arn"] for line in completed)
    assert any(line["logger"].startswith("botocore") for line in lines)
    everything = result.stdout + result.stderr
    for secret in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN):
        assert secret not in everything
    assert REDACTED in result.stderr  # the SDK did try to log the session token


@pytest.mark.usefixtures("moto_aws")
def test_text_logs_and_the_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a terminal, run events are log lines (no live table); DDBEXPORT_LOG_FORMAT and
    DDBEXPORT_LOG_LEVEL choose format and level for containers."""
    create_bucket()
    create_table("orders")
    create_table("users")
    config = str(_config(tmp_path))
    text = CliRunner().invoke(cli, ["run", "-c", config], catch_exceptions=False)
    assert text.exit_code == 0
    started = [line for line in text.stderr.splitlines() if ": started" in line]
    assert len(started) == 2
    assert all("run_id=" in line and "table=" in line for line in started)
    monkeypatch.setenv("DDBEXPORT_LOG_FORMAT", "json")
    monkeypatch.setenv("DDBEXPORT_LOG_LEVEL", "warning")
    quiet = CliRunner().invoke(
        cli, ["run", "-c", config, "--run-id", "20261128T030000Z-aaaaaaaa"], catch_exceptions=False
    )
    assert quiet.exit_code == 0
    assert [json.loads(line) for line in quiet.stderr.splitlines() if line.strip()] == []


def test_a_bad_level_is_refused() -> None:
    result = CliRunner().invoke(cli, ["list", "--log-level", "loud"])
    assert result.exit_code == 2
    assert "'loud' is not one of" in result.output


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("X-Amz-Security-Token: FwoGZXIvYXdzEtoken", "X-Amz-Security-Token: "),
        ("{'aws_secret_access_key': 'abc/def+ghi'}", "{'aws_secret_access_key': '"),
        ("Signature=0123456789abcdef0123456789abcdef", "Signature="),
    ],
)
def test_secret_looking_values_are_redacted(text: str, kept: str) -> None:
    cleaned = redact(text, secrets=[])
    assert cleaned.startswith(kept)
    assert REDACTED in cleaned


def test_client_tokens_and_table_names_are_not_redacted() -> None:
    """Only secrets go: ids people need to debug a run stay."""
    text = "ClientToken=3f2a9c table=orders NextToken=abc123"
    assert redact(text, secrets=[]) == text


def test_exceptions_are_logged_without_secrets(
    credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("json", "info")
    try:
        raise RuntimeError(f"boom with {SECRET_KEY}")
    except RuntimeError:
        logging.getLogger("ddbexport.test").exception("failed using %s", SESSION_TOKEN)
    err = capsys.readouterr().err
    line = json.loads(err.strip().splitlines()[-1])
    assert SECRET_KEY not in err
    assert SESSION_TOKEN not in err
    assert "boom with" in line["exception"]
