"""``ddbexport demo`` and ``ddbexport sandbox``: the product on a laptop, no AWS account needed."""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

import click

from .common import EXIT_INCOMPLETE, handle_errors
from .render import EventLog, LiveProgress, render_plan, render_summary


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("ddbexport-demo"),
    show_default=True,
    help="Where the exported files are downloaded (laid out as in S3).",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=1),
    default=200.0,
    show_default=True,
    help="Sandbox seconds per real second (a 5-minute export takes 1.5 s at 200).",
)
@handle_errors
def demo(output: Path, time_scale: float) -> None:
    """Show ddbexport working end to end in a local sandbox (no AWS account needed)."""
    # The sandbox needs moto (the [sandbox] extra): import it only when asked for.
    from ddbexport.sandbox.demo import TABLES, run_demo  # noqa: PLC0415

    interactive = sys.stderr.isatty()
    display: LiveProgress | EventLog = LiveProgress() if interactive else EventLog()

    def step(text: str) -> None:
        display.end()
        click.echo(f"\n== {text}")

    click.echo(
        f"ddbexport demo: a sandbox AWS, {len(TABLES)} tables; the sandbox clock runs "
        f"{time_scale:g}x real time, and every time and duration shown is sandbox time"
    )
    with tempfile.TemporaryDirectory(prefix="ddbexport-demo-state-") as state:
        result = run_demo(
            output,
            time_scale=time_scale,
            state_dir=Path(state),
            on_event=display.on_event,
            on_plan=display.begin,
            on_step=step,
            on_planned=render_plan,
        )
    display.end()
    render_summary(result.first, None)
    render_summary(result.second, None)
    shown = _shown_path(output)
    if result.removed:
        click.echo(
            f"\n{shown}/ held {result.removed} file(s) of an earlier demo run: removed first"
        )
    summaries = [path for path in result.downloaded if path.name == "manifest-summary.json"]
    example = _shown_path((summaries or result.downloaded)[0]) if result.downloaded else "-"
    click.echo(
        f"\n{len(result.downloaded)} exported objects downloaded to {shown}/ (laid out as in "
        f"S3), e.g.\n  {example}"
    )
    click.echo(
        "what happened: every table was exported as of one instant; 'audit-log' failed alone "
        "(no PITR) with the fix in the message; the same run id with --enable-pitr resumed the "
        "finished exports without starting them again and exported 'audit-log'."
    )
    sys.exit(0 if result.second.all_completed else EXIT_INCOMPLETE)


def _shown_path(path: Path) -> str:
    """``path`` as the user can type it from where they stand: relative below the current
    folder, else absolute."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


#: Dummy credentials: the sandbox accepts any, but boto3 wants some to sign requests.
SANDBOX_ENV = (
    ("AWS_ACCESS_KEY_ID", "sandbox"),
    ("AWS_SECRET_ACCESS_KEY", "sandbox"),
)


@click.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=4566,
    show_default=True,
    help="TCP port to listen on.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 to accept other machines; nothing is authenticated).",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=100.0,
    show_default=True,
    help="Sandbox seconds per real second: at 100 a 5-minute export takes 3 s; 1 is real time.",
)
@click.option(
    "--demo-tables",
    is_flag=True,
    help="Create the demo's four tables (one without PITR) and the bucket 'ddbexport-demo'.",
)
@handle_errors
def sandbox(port: int, host: str, time_scale: float, demo_tables: bool) -> None:
    """Serve a local AWS (moto) whose DynamoDB exports behave like the real ones.

    Prints the environment to paste into another shell (endpoint, region, dummy credentials)
    and the commands to try. Every region is served; the demo's tables are in eu-west-1.
    """
    # The sandbox needs moto (the [sandbox] extra): import it only when asked for.
    from ddbexport.sandbox.demo import BUCKET, REGION, TABLES, load_demo_tables  # noqa: PLC0415
    from ddbexport.sandbox.server import serve  # noqa: PLC0415

    with serve(port, host=host, time_scale=time_scale) as (endpoint, box):
        if demo_tables:
            click.echo(f"loading the demo's tables into the sandbox at {endpoint} …")
            load_demo_tables(box, served=True)
        shown = endpoint.replace("0.0.0.0", "127.0.0.1")
        click.echo(
            f"sandbox listening on {endpoint}; its clock runs {time_scale:g}x real time "
            f"(a 5-minute export takes {300 / time_scale:.3g} s; --time-scale 1 for real time)"
        )
        if demo_tables:
            names = ", ".join(table.name for table in TABLES)
            click.echo(f"loaded the demo's tables ({names}) and the bucket {BUCKET} in {REGION}")
        click.echo("\npaste into another shell:\n")
        env = (("AWS_ENDPOINT_URL", shown), ("AWS_DEFAULT_REGION", REGION), *SANDBOX_ENV)
        for name, value in env:
            click.echo(f"  export {name}={value}")
        click.echo("\nthen:\n")
        bucket = BUCKET if demo_tables else "my-bucket"
        if not demo_tables:
            click.echo(
                f"  aws s3 mb s3://{bucket}    # and create tables with PITR (or restart with "
                "--demo-tables)"
            )
        click.echo(f"  ddbexport init --bucket {bucket}")
        click.echo("  ddbexport plan -c ddbexport.toml")
        click.echo("  ddbexport run -c ddbexport.toml")
        click.echo("  ddbexport status -c ddbexport.toml")
        click.echo("\nCtrl-C stops the sandbox (everything in it is forgotten).")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("sandbox stopped")
