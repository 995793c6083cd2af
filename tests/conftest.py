"""Shared fixtures: fake AWS credentials, moto, a simulated clock and the in-memory fake API."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from ddbexport.sandbox import _jsonata
from ddbexport.testing import SimClock

from .helpers import REGION

# The pipeline's definition has JSONata states; moto needs an evaluator to execute them (the
# sandbox installs it too; tests that use moto alone need it as well).
_jsonata.install()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long`` run first: on the suite's workers (pytest-xdist hands tests out in
    this order) one of them starts at once, instead of holding the last worker long after the
    others have finished."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test ever reaches real AWS or the user's state directory."""
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("DDBEXPORT_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def moto_aws() -> Iterator[None]:
    """An in-process moto account."""
    with mock_aws():
        yield


@pytest.fixture
def clock() -> SimClock:
    """A simulated clock starting 2026-11-28T03:00:00Z."""
    return SimClock()


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """Python's own SIGINT handler while the test runs, as in a terminal (and a process started
    meanwhile gets SIGINT's default). A suite started in the background by a shell without job
    control inherits SIGINT ignored; Python, and every process it starts, then keep it so."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
