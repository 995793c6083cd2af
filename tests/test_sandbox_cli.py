"""`ddbexport sandbox` as a newcomer uses it: start it, paste what it prints, run the commands
it prints — exactly as printed, in another process, from another folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ddbexport.sandbox.server import free_port

DDBEXPORT = [sys.executable, "-m", "ddbexport"]


def _read_until(process: subprocess.Popen[str], marker: str, timeout_s: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} in the sandbox's output: {lines}")


@pytest.fixture
def sandbox_output(tmp_path: Path) -> Iterator[list[str]]:
    port = free_port()
    process = subprocess.Popen(
        [*DDBEXPORT, "sandbox", "--port", str(port), "--demo-tables"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        yield _read_until(process, "Ctrl-C stops the sandbox", timeout_s=120)
    finally:
        process.terminate()
        process.communicate(timeout=30)  # also closes its stdout


def test_the_printed_environment_and_commands_work_as_printed(
    sandbox_output: list[str], tmp_path: Path
) -> None:
    exports = [line.strip() for line in sandbox_output if line.strip().startswith("export ")]
    env = {
        name: value
        for name, _, value in (line[len("export ") :].partition("=") for line in exports)
    }
    assert set(env) == {
        "AWS_ENDPOINT_URL",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    }
    commands = [line.strip() for line in sandbox_output if line.strip().startswith("ddbexport ")]
    assert [command.split()[1] for command in commands] == ["init", "plan", "run", "status"]
    user = tmp_path / "elsewhere"
    user.mkdir()
    # Nothing of the test's own AWS setup may help: only what the sandbox printed.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    outputs = {}
    for command in commands:
        argv = [*DDBEXPORT, *command.split()[1:]]
        done = subprocess.run(
            argv,
            env={**clean, **env},
            cwd=user,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
        outputs[command.split()[1]] = done.stdout
    assert "3 export(s)" in outputs["plan"]
    assert "summary: 3 COMPLETED, 3 total" in outputs["run"]
    for table in ("orders", "customers", "events"):
        assert table in outputs["status"]
    assert (user / "ddbexport.toml").is_file()
