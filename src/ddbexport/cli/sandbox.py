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
        f"ddbexport demo: a sandbox AWS, {len(TABLES)} tables, the sandbox clock {time_scale:g}x"
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
    click.echo(
        f"\n{len(result.downloaded)} exported objects downloaded to {output}/ "
        f"(e.g. {result.downloaded[0].relative_to(output) if result.downloaded else '-'})"
    )
    click.echo(
        "what happened: every table was exported as of one instant; 'audit-log' failed alone "
        "(no PITR) with the fix in the message; the same run id with --enable-pitr resumed the "
        "finished exports without starting them again and exported 'audit-log'."
    )
    sys.exit(0 if result.second.all_completed else EXIT_INCOMPLETE)


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=4566, show_default=True)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Sandbox seconds per real second.",
)
@handle_errors
def sandbox(port: int, time_scale: float) -> None:
    """Serve a local AWS (moto) whose DynamoDB exports behave like the real ones."""
    from ddbexport.sandbox.server import serve  # noqa: PLC0415 - needs the [sandbox] extra

    with serve(port, time_scale=time_scale) as (endpoint, _):
        click.echo(f"sandbox listening on {endpoint} (time scale {time_scale:g}x); Ctrl-C stops it")
        click.echo(f"try: ddbexport plan --endpoint-url {endpoint} -c ddbexport.toml")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("sandbox stopped")


# Further commands live in their own modules; importing them registers them.
