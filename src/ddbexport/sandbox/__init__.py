"""A local AWS (moto) whose DynamoDB exports behave like the real ones.

In process::

    from . import Sandbox

    with Sandbox() as sandbox:          # boto3 clients made inside talk to the sandbox
        ...                             # create tables, enable PITR, run exports
        sandbox.advance(20 * 60)        # "+20 min" on the sandbox clock

Exports follow AWS's layout, manifests and checksums, see the table as of their export time,
stay IN_PROGRESS for ``base + rate * items`` sandbox seconds, honour client tokens and the
concurrent-export quota, and support incremental windows and ION output.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from types import TracebackType

from moto import mock_aws

from . import _jsonata, _map_results, _moto_glue
from .clock import SandboxClock
from .engine import ExportService, SandboxApiError, SandboxSettings
from .history import WriteHistory

__all__ = ["Sandbox", "SandboxApiError", "SandboxClock", "SandboxSettings"]


class Sandbox:
    """The sandbox, as a context manager.

    Args:
        settings: quota, durations, partitions (see :class:`SandboxSettings`).
        time_scale: sandbox seconds per real second (e.g. 60: an hour passes in a minute).
        start: the sandbox clock's starting instant (default: now).
        in_process: intercept boto3 in this process (moto's ``mock_aws``); False when a moto
            server in this process serves the sandbox instead.
    """

    def __init__(
        self,
        settings: SandboxSettings | None = None,
        *,
        time_scale: float = 1.0,
        start: datetime | None = None,
        in_process: bool = True,
    ) -> None:
        self.clock = SandboxClock(start, time_scale)
        self.settings = settings or SandboxSettings()
        self.service = ExportService(
            self.clock,
            WriteHistory(),
            self.settings,
            put_object=_moto_glue.put_object,
            bucket_exists=_moto_glue.bucket_exists,
            key_usable=_moto_glue.kms_key_usable,
        )
        self._mock = mock_aws() if in_process else None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Sandbox:
        if self._mock is not None:
            self._mock.start()
        _jsonata.install()
        _map_results.install(self.clock.now)
        try:
            _moto_glue.install(self.service)
        except BaseException:
            if self._mock is not None:
                self._mock.stop()
            raise
        # Exports finish on their own, as on AWS, even when nobody asks DescribeExport.
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, name="sandbox-exports", daemon=True)
        self._ticker.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(0.05):
            self.service.refresh_all()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        _moto_glue.uninstall()
        if self._mock is not None:
            self._mock.stop()

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward (exports due by then finish at once)."""
        self.clock.advance(seconds)
        self.service.refresh_all()

    def now(self) -> datetime:
        """The sandbox's current time."""
        return self.clock.now()

    def monotonic(self) -> float:
        """Sandbox seconds, for a runner's ``clock`` (polling then counts in sandbox time)."""
        return self.clock.now().timestamp()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of sandbox time (real time divided by the time scale)."""
        time.sleep(max(seconds, 0.0) / self.clock.time_scale)

    def fail_next(self, operation: str, code: str, message: str = "", times: int = 1) -> None:
        """Answer the next calls of an operation (``DescribeExport`` …) with an AWS error."""
        self.service.fail_next(operation, code, message, times)

    def fail_exports_of(self, table: str, code: str = "UNKNOWN", message: str = "") -> None:
        """Make later exports of ``table`` end FAILED."""
        self.service.fail_exports_of(table, code, message)

    def stretch_durations(self, factor: float) -> None:
        """Make exports started from now on last ``factor`` times longer."""
        self.service.stretch_durations(factor)
