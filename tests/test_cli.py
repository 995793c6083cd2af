"""The command line, as users call it, against moto."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from ddbexport.cli.main import cli
from ddbexport.cli.render import render_summary
from ddbexport.running.report import ErrorInfo, RunReport, TableResult

from .helpers import BUCKET, FAST_RUN, REGION, create_bucket, create_table

pytestmark = pytest.mark.usefixtures("moto_aws")

SEED_PAYLOAD = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "time": "2026-11-28T03:00:00Z",
    "tablelist": [
        {"tablename": "test", "bucketname": BUCKET, "prefix": "exported/test"},
        {"tablename": "test2", "bucketname": BUCKET, "prefix": "exported/test2"},
    ],
}


def _write_config(tmp_path: Path, tables: str = '[[tables]]\nmatch = "*"\n') -> Path:
    run = "\n".join(f"{key} = {json.dumps(value)}" for key, value in FAST_RUN.items())
    path = tmp_path / "ddbexport.toml"
    path.write_text(
        f'region = "{REGION}"\n[defaults]\nbucket = "{BUCKET}"\n{tables}\n[run]\n{run}\n'
    )
    return path


def _invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_plan_json_lists_exact_requests_and_starts_nothing(tmp_path: Path) -> None:
    """`plan --json` shows every request with one export time and starts no export."""
    create_bucket()
    arn = create_table("orders")
    create_table("users")
    code, out, _ = _invoke("plan", "-c", str(_write_config(tmp_path)), "--json")
    assert code == 0
    plan = json.loads(out)
    assert [e["table"] for e in plan["exports"]] == ["orders", "users"]
    orders = plan["exports"][0]
    assert orders["table_arn"] == arn
    assert orders["s3_bucket"] == BUCKET
    assert orders["sse"] == "AES256"
    assert orders["format"] == "DYNAMODB_JSON"
    assert len({e["export_time"] for e in plan["exports"]}) == 1
    assert len({e["client_token"] for e in plan["exports"]}) == 2
    client = boto3.client("dynamodb", region_name=REGION)
    assert client.list_exports(TableArn=arn)["ExportSummaries"] == []


def test_plan_table_output_shows_run_id(tmp_path: Path) -> None:
    """The human plan names the run id, the export time and each table."""
    create_table("orders")
    code, out, _ = _invoke(
        "plan", "-c", str(_write_config(tmp_path)), "--as-of", "2026-11-01T00:00:00Z"
    )
    assert code == 0
    assert "run id 20261101T000000Z-" in out
    assert "2026-11-01T00:00:00Z" in out
    assert "orders" in out


def test_run_writes_report_and_exits_zero(tmp_path: Path) -> None:
    """`run --report` exports every table, writes the report and exits 0."""
    create_bucket()
    create_table("orders")
    report_path = tmp_path / "report.json"
    code, out, err = _invoke(
        "run", "-c", str(_write_config(tmp_path)), "--report", str(report_path)
    )
    assert code == 0, err
    report = json.loads(report_path.read_text())
    assert report["summary"]["COMPLETED"] == 1
    assert f"run_id={report['run_id']}" in err
    assert "COMPLETED" in out


def test_run_exit_one_when_a_table_fails(tmp_path: Path) -> None:
    """A table without PITR makes the run exit 1 and says how to fix it."""
    create_bucket()
    create_table("orders")
    create_table("no-pitr", pitr=False)
    code, out, _ = _invoke("run", "-c", str(_write_config(tmp_path)))
    assert code == 1
    assert "--enable-pitr" in out


def test_seed_tablelist_from_file_and_stdin(tmp_path: Path) -> None:
    """The seed's EventBridge payload works unchanged; its time becomes the export time."""
    create_bucket()
    create_table("test")
    create_table("test2")
    # The scheduled time must lie in the tables' PITR windows, which opened just now.
    time.sleep(1.0)
    scheduled = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps({**SEED_PAYLOAD, "time": scheduled}))
    config = _write_config(tmp_path, tables="")
    report_path = tmp_path / "r.json"
    code, _, err = _invoke(
        "run", "-c", str(config), "--tablelist", str(payload), "--report", str(report_path)
    )
    assert code == 0, err
    report = json.loads(report_path.read_text())
    assert report["export_time"] == scheduled
    assert {t["s3_prefix"] for t in report["tables"]} == {"exported/test", "exported/test2"}

    code, out, _ = _invoke(
        "plan", "--region", REGION, "--tablelist", "-", "--json", stdin=json.dumps(SEED_PAYLOAD)
    )
    assert code == 0
    assert [e["table"] for e in json.loads(out)["exports"]] == ["test", "test2"]


def test_tables_from_ssm(tmp_path: Path) -> None:
    """--tables-from-ssm reads the table list from a parameter holding JSON."""
    create_bucket()
    create_table("test")
    create_table("test2")
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/ddbexport/tables", Type="String", Value=json.dumps(SEED_PAYLOAD["tablelist"])
    )
    code, out, err = _invoke(
        "run",
        "-c",
        str(_write_config(tmp_path, tables="")),
        "--tables-from-ssm",
        "/ddbexport/tables",
    )
    assert code == 0, err
    assert out.count("COMPLETED") >= 2


def test_ssm_config_style_selectors(tmp_path: Path) -> None:
    """An SSM parameter may also hold config-style selectors under 'tables'."""
    create_table("orders-1")
    create_table("orders-2")
    create_table("users")
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/ddbexport/sel", Type="String", Value=json.dumps({"tables": [{"match": "orders-*"}]})
    )
    code, out, _ = _invoke(
        "plan",
        "-c",
        str(_write_config(tmp_path, tables="")),
        "--tables-from-ssm",
        "/ddbexport/sel",
        "--json",
    )
    assert code == 0
    assert [e["table"] for e in json.loads(out)["exports"]] == ["orders-1", "orders-2"]


@pytest.mark.parametrize(
    ("args", "setup", "expected"),
    [
        (["--tables-from-ssm", "/missing"], None, "SSM parameter '/missing' does not exist"),
        (["--tables-from-ssm", "/notjson"], "not json", "is not JSON"),
        (["--as-of", "2999-01-01T00:00:00Z"], None, "is in the future"),
        (["--as-of", "yesterday"], None, "--as-of: 'yesterday' is not an ISO-8601"),
        (["--poll", "often"], None, "--poll: 'often' is not a polling policy"),
        (["--timeout", "forever"], None, "--timeout: 'forever' is not a duration"),
        (["--run-id", "bad id!"], None, "run id 'bad id!' is invalid"),
        (["--tablelist", "/no/such/file.json"], None, "cannot read"),
    ],
)
def test_bad_inputs_exit_2_and_start_nothing(
    tmp_path: Path, args: list[str], setup: str | None, expected: str
) -> None:
    """Bad options and inputs give one clear message, exit 2, and no export."""
    create_bucket()
    arn = create_table("orders")
    if setup is not None:
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name="/notjson", Type="String", Value=setup
        )
    code, _, err = _invoke("run", "-c", str(_write_config(tmp_path)), *args)
    assert code == 2
    assert expected in err
    client = boto3.client("dynamodb", region_name=REGION)
    assert client.list_exports(TableArn=arn)["ExportSummaries"] == []


def test_unwritable_state_dir_exits_2_and_starts_nothing(tmp_path: Path) -> None:
    """A state folder that cannot hold the journal is refused before any export starts."""
    create_bucket()
    arn = create_table("orders")
    state = tmp_path / "state"
    state.mkdir()
    (state / "runs").write_text("a file where the journal folder should be")
    code, _, err = _invoke("run", "-c", str(_write_config(tmp_path)), "--state-dir", str(state))
    assert code == 2
    assert f"the run journal {state / 'runs'}" in err
    assert "--state-dir" in err
    assert "Traceback" not in err
    client = boto3.client("dynamodb", region_name=REGION)
    assert client.list_exports(TableArn=arn)["ExportSummaries"] == []


def test_report_that_cannot_be_written_still_shows_the_summary(tmp_path: Path) -> None:
    """The exports ran: the summary is printed, the write error named, and the exit is 1."""
    create_bucket()
    create_table("orders")
    report_path = tmp_path / "report.json"
    (tmp_path / "report.json.partial").mkdir()  # a folder in the way of the file being written
    code, out, err = _invoke(
        "run", "-c", str(_write_config(tmp_path)), "--report", str(report_path)
    )
    assert code == 1
    assert f"could not write the report to {report_path}" in err
    assert "COMPLETED" in out


def test_bad_config_file_exits_2(tmp_path: Path) -> None:
    """A config with a wrong enum value is refused with the file, field and allowed values."""
    path = tmp_path / "bad.toml"
    path.write_text('[defaults]\nbucket = "b-1"\nformat = "CSV"\n[[tables]]\nname = "orders"\n')
    code, _, err = _invoke("run", "-c", str(path))
    assert code == 2
    assert (
        f"{path}: defaults.format: 'CSV' is not allowed; allowed: 'DYNAMODB_JSON' or 'ION'" in err
    )


def test_no_table_source_exits_2() -> None:
    """Running with no config and no table list explains what to pass."""
    code, _, err = _invoke("run", "--region", REGION)
    assert code == 2
    assert "pass -c/--config FILE, --tablelist FILE|- or --tables-from-ssm NAME" in err


def test_global_options_work_before_the_command(tmp_path: Path) -> None:
    """-c and --region may come before the command name too."""
    create_table("orders")
    code, out, _ = _invoke("-c", str(_write_config(tmp_path)), "--region", REGION, "plan", "--json")
    assert code == 0
    assert json.loads(out)["exports"][0]["table"] == "orders"


def test_module_entry_point_help() -> None:
    """`python -m ddbexport --help` lists the commands."""
    result = subprocess.run(
        [sys.executable, "-m", "ddbexport", "--help"], capture_output=True, text=True, check=True
    )
    assert "plan" in result.stdout
    assert "run" in result.stdout


def test_summary_shows_brackets_in_messages_verbatim(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS messages with '[...]' are printed as they are, never read as terminal markup."""
    monkeypatch.setenv("COLUMNS", "300")  # one line per row
    moment = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    message = "Value '[/]' at 'tableName' failed [bold]validation[/bold]"
    report = RunReport(
        run_id="r1",
        export_time=moment,
        started_at=moment,
        finished_at=moment,
        tables=(
            TableResult(
                table="orders",
                table_arn="",
                status="FAILED",
                export_time=moment,
                client_token="",
                error=ErrorInfo("ValidationException", message),
            ),
        ),
    )
    render_summary(report, None)
    assert message in capsys.readouterr().out


@pytest.mark.parametrize("group", [[], ["catalog"], ["lake"]])
def test_help_gives_every_command_its_whole_summary(group: list[str]) -> None:
    """No summary is cut short ('…' or '...'), at the top level and in command groups; the top
    level lists its commands in the sections a user meets them in."""
    result = CliRunner().invoke(cli, [*group, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:" if group else "Try it", 1)[1]
    assert "..." not in listed
    if not group:
        titles = [line[:-1] for line in result.output.splitlines() if line.endswith(":")]
        assert titles[1:] == [
            "Try it (no AWS account)",
            "Export",
            "Pipeline",
            "Data",
            "Operations",
            "Config",
        ]
