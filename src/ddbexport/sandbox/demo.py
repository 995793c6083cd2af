"""``ddbexport demo``: the whole product on a laptop, inside the sandbox.

Creates realistic tables (every attribute type, a GSI, one table without PITR), runs the real
planner and runner against the sandbox with its clock sped up, shows the PITR failure and the
``--enable-pitr`` fix, and downloads every exported object into a local folder laid out as in S3.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto import mock_aws

from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.config.model import Config, validate_config
from ddbexport.core.models import ExportPlan
from ddbexport.errors import ConfigError
from ddbexport.running.facade import plan as plan_exports
from ddbexport.running.facade import run as run_exports
from ddbexport.running.report import RunReport
from ddbexport.running.runner import EventHandler

from . import Sandbox, SandboxSettings
from .seed import DemoTable, create_tables, download_bucket

REGION = "eu-west-1"
BUCKET = "ddbexport-demo"
#: Written into the demo's output folder: a re-run may empty a folder that holds it, only.
MARKER = ".ddbexport-demo"
TABLES = (
    DemoTable("orders", 2000, range_key=True, gsi=True),
    DemoTable("customers", 1200),
    DemoTable("events", 1500, range_key=True),
    DemoTable("audit-log", 400, pitr=False),
)


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo did."""

    first: RunReport
    second: RunReport
    plan: ExportPlan
    downloaded: list[Path]
    output: Path
    #: Files of an earlier demo run that were removed first.
    removed: int = 0


def prepare_output(output: Path) -> int:
    """Make ``output`` an empty demo folder; returns how many files of an earlier run went.

    Raises:
        ConfigError: ``output`` is a file, or a folder with files the demo did not write.
    """
    if output.exists() and not output.is_dir():
        raise ConfigError(f"-o {output}: is a file; the demo needs a folder")
    if output.is_dir() and any(output.iterdir()):
        if not (output / MARKER).is_file():
            raise ConfigError(
                f"-o {output}: the folder has files the demo did not write; choose another "
                "folder or empty it"
            )
        removed = sum(1 for path in output.rglob("*") if path.is_file()) - 1
        shutil.rmtree(output)
    else:
        removed = 0
    output.mkdir(parents=True, exist_ok=True)
    (output / MARKER).write_text("written by `ddbexport demo`; a re-run empties this folder\n")
    return removed


def load_demo_tables(sandbox: Sandbox, *, served: bool = False) -> None:
    """The demo's tables and bucket, in ``sandbox``.

    ``served``: the sandbox is served from this process (``ddbexport sandbox``). The tables are
    then written in process all the same — the server's backends are this process's — which
    takes a second where 200 batches over HTTP to ourselves take twenty.
    """
    if not served:
        create_tables(sandbox, TABLES, region=REGION, bucket=BUCKET)
        return
    mock = mock_aws()
    mock.start(reset=False)
    try:
        create_tables(sandbox, TABLES, region=REGION, bucket=BUCKET)
    finally:
        mock.stop(remove_data=False)


def demo_config() -> Config:
    """The demo's config: every table tagged backup=daily, to the demo bucket."""
    return validate_config(
        {
            "region": REGION,
            "defaults": {"bucket": BUCKET, "prefix": "dynamodb/{table}/{date}"},
            "tables": [{"tags": {"backup": "daily"}}],
            "run": {"max_concurrency": 3, "poll_min": "10s"},
        },
        source="demo",
    )


def run_demo(
    output: Path,
    *,
    time_scale: float = 200.0,
    state_dir: Path,
    on_event: EventHandler | None = None,
    on_plan: Callable[[ExportPlan], None] | None = None,
    on_step: Callable[[str], None] | None = None,
    on_planned: Callable[[ExportPlan], None] | None = None,
) -> DemoResult:
    """Run the whole demo in an in-process sandbox and download the exports into ``output``.

    ``output`` is emptied first when an earlier demo run wrote it (see :func:`prepare_output`).
    """
    step = on_step or (lambda _: None)
    removed = prepare_output(output)
    settings = SandboxSettings(base_duration_s=300.0, seconds_per_item=0.05, seed=7)
    with Sandbox(settings, time_scale=time_scale) as sandbox:
        step(f"creating {len(TABLES)} tables with {sum(t.items for t in TABLES):,} items")
        load_demo_tables(sandbox)
        config = demo_config()
        api = AwsApi(AwsSettings(REGION))
        timing: dict[str, Any] = {
            "clock": sandbox.monotonic,
            "sleep": sandbox.sleep,
            "now": sandbox.now,
        }
        step("ddbexport plan: the exact requests, one export time for every table")
        export_plan = plan_exports(config, api=api, now=sandbox.now(), state_dir=state_dir)
        if on_planned is not None:
            on_planned(export_plan)
        step("running the exports ('audit-log' has no PITR: it fails alone)")
        first = run_exports(
            config,
            api=api,
            state_dir=state_dir,
            run_id=export_plan.run_id,
            as_of=export_plan.export_time,
            on_event=on_event,
            on_plan=on_plan,
            **timing,
        )
        step(f"running the same run id with --enable-pitr ({first.run_id})")
        second = run_exports(
            config,
            api=api,
            state_dir=state_dir,
            run_id=first.run_id,
            enable_pitr=True,
            on_event=on_event,
            on_plan=on_plan,
            **timing,
        )
        downloaded = download_bucket(BUCKET, output, region=REGION)
    return DemoResult(first, second, export_plan, downloaded, output, removed)
