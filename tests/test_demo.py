"""The quick-start demo runs on a fresh machine and every step behaves as it says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"


def test_demo_runs_end_to_end() -> None:
    """`python examples/demo.py` exits 0 after plan, a partly failing run and a fixed re-run."""
    result = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo finished: every step behaved as expected" in result.stdout
    assert "event=resumed" in result.stderr
