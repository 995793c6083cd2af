"""What `plan` and `run` print where no wide terminal is: nothing broken mid-word, fixes whole."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

import ddbexport
from ddbexport.cli.render import render_plan, render_summary
from ddbexport.errors import ConfigError
from ddbexport.sandbox.demo import MARKER, prepare_output
from ddbexport.testing import FakeTable, SimClock

from .helpers import BUCKET, fake_api, make_config

FIX = (
    "aws dynamodb update-continuous-backups --table-name audit-log "
    "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"
)


def _run(tmp_path: Path) -> tuple[ddbexport.ExportPlan, ddbexport.RunReport]:
    clock = SimClock()
    api = fake_api(
        clock,
        FakeTable("orders-with-a-rather-long-name-for-a-narrow-terminal"),
        FakeTable("audit-log", pitr=False),
        buckets={BUCKET},
    )
    config = make_config([{"match": "*"}])
    plan = ddbexport.plan(config, api=api, now=clock.now())
    report = ddbexport.run(
        config, api=api, state_dir=tmp_path, clock=clock.monotonic, sleep=clock.sleep, now=clock.now
    )
    return plan, report


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


@pytest.mark.parametrize("width", [80, 200])
def test_a_plan_off_a_terminal_is_one_block_per_export_with_whole_values(
    tmp_path: Path, width: int
) -> None:
    plan, _ = _run(tmp_path)
    out = io.StringIO()
    render_plan(plan, Console(file=out, width=width, soft_wrap=True))
    lines = _lines(out.getvalue())
    for request in plan.requests:
        assert f"table ARN     {request.table_arn}" in lines
        assert f"client token  {request.client_token}" in lines
    assert "┃" not in out.getvalue()  # no table


def test_a_plan_on_a_wide_terminal_is_a_table(tmp_path: Path) -> None:
    plan, _ = _run(tmp_path)
    out = io.StringIO()
    render_plan(plan, Console(file=out, width=220, force_terminal=True, soft_wrap=True))
    assert "┃" in out.getvalue() or "│" in out.getvalue()


def test_a_failed_tables_fix_is_printed_whole_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, report = _run(tmp_path)
    render_summary(report, None)
    out = capsys.readouterr().out
    failed = [line for line in out.splitlines() if line.startswith("audit-log: ")]
    assert len(failed) == 1
    assert FIX in failed[0]
    completed = next(r for r in report.tables if r.status == "COMPLETED")
    assert completed.export_arn is not None
    assert completed.export_arn in _lines(out)


def test_the_demo_empties_only_a_folder_it_wrote(tmp_path: Path) -> None:
    output = tmp_path / "demo"
    assert prepare_output(output) == 0
    (output / "bucket" / "key").parent.mkdir(parents=True)
    (output / "bucket" / "key").write_text("x")
    assert prepare_output(output) == 1
    assert sorted(path.name for path in output.iterdir()) == [MARKER]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="the demo did not write"):
        prepare_output(foreign)
    assert (foreign / "thesis.tex").read_text() == "precious"
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigError, match="is a file"):
        prepare_output(tmp_path / "a-file")
