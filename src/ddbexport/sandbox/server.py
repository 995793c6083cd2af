"""The sandbox as a local server: every AWS API moto supports, on one endpoint URL."""

from __future__ import annotations

import logging
import os
import socket
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from moto.core.config import default_user_config

from . import Sandbox
from .engine import SandboxSettings
from .keepalive import SandboxHttpServer


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _restore_env(name: str, value: str | None) -> Iterator[None]:
    try:
        yield
    finally:
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def serve(
    port: int = 4566,
    *,
    host: str = "127.0.0.1",
    time_scale: float = 1.0,
    settings: SandboxSettings | None = None,
) -> Iterator[tuple[str, Sandbox]]:
    """Run the sandbox behind a moto server; yields (endpoint URL, sandbox) once it accepts.

    Step Functions state machines are executed by moto's interpreter, so a generated pipeline can
    run against the sandbox too.
    """
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    server = SandboxHttpServer(host, port)
    sandbox = Sandbox(settings, time_scale=time_scale, in_process=False)
    # State machines' AWS SDK tasks call back into "the moto server": tell moto which one.
    previous_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(port)
    with sandbox, _restore_env("MOTO_PORT", previous_port):
        server.start()
        endpoint = f"http://{host}:{port}"
        try:
            wait_until_listening(host, port)
            _reset(endpoint)  # moto's backends are per process: start from an empty account
            yield endpoint, sandbox
        finally:
            _reset(endpoint)
            server.stop()


def _reset(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def wait_until_listening(host: str, port: int) -> None:
    """Return once something accepts connections on host:port (raises after 10 s)."""
    for _ in range(200):
        try:
            with socket.create_connection((host, port), timeout=0.1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the sandbox server did not start on {host}:{port}")
