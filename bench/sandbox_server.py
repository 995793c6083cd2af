"""``ddbexport run`` against the sandbox server: thousands of tables, real HTTP, real process.

The sandbox server (``ddbexport sandbox``) runs in one process with its clock sped up; this
script creates the tables there (PITR on, not timed), writes a ``match = "*"`` config and times
``ddbexport run`` in a second process, exactly as a user would start it. The runner waits on the
service's clock (the sandbox's clock-rate header), so its polls take sandbox seconds; what
remains is the HTTP calls themselves (start, polls, verification, schema sidecar, catalog).

Printed per size: wall time of the run, peak RSS of the ``ddbexport run`` process, the CPU time
of the run's process and of the sandbox server during the run (each is one GIL-bound process:
either can set the pace), the load average (the machine may be busy with other work), and the
report's summary; then the targets (2,000 tables in ≤ 60 s with ≤ 150 MB). Run
``python bench/sandbox_server.py [TABLES ...]`` (default 2000 10000).
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import botocore.config

TIME_SCALE = 100
MAX_CONCURRENCY = 300
REGION = "eu-west-1"
BUCKET = "bench-exports"
TARGET_TABLES = 2000
TARGET_WALL_S = 60.0
TARGET_RSS_MB = 150.0


# Not ddbexport.sandbox.server's helpers: importing moto here would make every child forked
# from this process start from moto's memory, and ru_maxrss would count it.
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_listening(port: int) -> None:
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the sandbox server did not start")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process (Linux's /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def environment(endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
    }


def create_tables(endpoint: str, count: int) -> None:
    config = botocore.config.Config(max_pool_connections=16, retries={"mode": "standard"})
    common: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": endpoint,
        "aws_access_key_id": "sandbox",
        "aws_secret_access_key": "sandbox",
        "config": config,
    }
    s3: Any = boto3.client("s3", **common)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    dynamodb: Any = boto3.client("dynamodb", **common)

    def create(index: int) -> None:
        name = f"table-{index:05d}"
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(count)))


def one_size(tables: int, workdir: Path) -> dict[str, Any]:
    """Serve a fresh sandbox, create ``tables`` tables, time one ``ddbexport run`` of them."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    ddbexport = str(Path(sys.executable).with_name("ddbexport"))
    server = subprocess.Popen(
        [ddbexport, "sandbox", "--port", str(port), "--time-scale", str(TIME_SCALE)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port)
        started = time.perf_counter()
        create_tables(endpoint, tables)
        setup_s = time.perf_counter() - started
        config = workdir / f"bench-{tables}.toml"
        config.write_text(
            f'[defaults]\nbucket = "{BUCKET}"\n\n[[tables]]\nmatch = "*"\n\n'
            f'[run]\nmax_concurrency = {MAX_CONCURRENCY}\ntimeout = "30d"\n',
            encoding="utf-8",
        )
        report = workdir / f"report-{tables}.json"
        command = [
            ddbexport,
            "run",
            "-c",
            str(config),
            "--report",
            str(report),
            "--state-dir",
            str(workdir / f"state-{tables}"),
            "--log-level",
            "warning",
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_before = cpu_seconds(server.pid)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        run = subprocess.run(
            command,
            env=environment(endpoint),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        wall_s = time.perf_counter() - started
        server_after = cpu_seconds(server.pid)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # ru_maxrss of waited-for children is the largest of them. The sandbox server is not
        # waited for yet, so this is a `ddbexport run` process: this one, unless an earlier,
        # larger one (the figures are printed smallest size first).
        peak_kb = max(after.ru_maxrss, before.ru_maxrss)
        run_cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        server_cpu_s = None
        if server_before is not None and server_after is not None:
            server_cpu_s = server_after - server_before
        summary = json.loads(report.read_text())["summary"] if report.exists() else {}
        return {
            "tables": tables,
            "setup_s": setup_s,
            "wall_s": wall_s,
            "rss_mb": peak_kb / 1024,
            "run_cpu_s": run_cpu_s,
            "server_cpu_s": server_cpu_s,
            "load": (load_before, os.getloadavg()[0]),
            "exit": run.returncode,
            "summary": {status: count for status, count in summary.items() if count},
            "stderr": run.stderr[-2000:],
        }
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    """Measure each size (smallest first) and print the figures and the target."""
    sizes = sorted(int(arg) for arg in sys.argv[1:]) or [TARGET_TABLES, 10_000]
    print(
        f"ddbexport run against the sandbox server: time scale {TIME_SCALE}x (a 5-minute export "
        f"takes 3 s), max_concurrency {MAX_CONCURRENCY}, empty tables with PITR, verification on"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="ddbexport-bench-") as folder:
        for tables in sizes:
            result = one_size(tables, Path(folder))
            results.append(result)
            server_cpu = (
                "?" if result["server_cpu_s"] is None else f"{result['server_cpu_s']:.1f} s"
            )
            print(
                f"{tables:>6} tables: run {result['wall_s']:6.1f} s wall "
                f"({result['wall_s'] / tables * 1000:.1f} ms/table), peak RSS "
                f"{result['rss_mb']:.0f} MB, exit {result['exit']}, {result['summary']}; CPU: run "
                f"{result['run_cpu_s']:.1f} s, sandbox server {server_cpu}; load average "
                f"{result['load'][0]:.1f} before, {result['load'][1]:.1f} after (creating the "
                f"tables took {result['setup_s']:.0f} s, not counted)",
                flush=True,
            )
            if result["exit"] != 0:
                print(result["stderr"])
    for result in results:
        if result["tables"] == TARGET_TABLES:
            ok = result["wall_s"] <= TARGET_WALL_S and result["rss_mb"] <= TARGET_RSS_MB
            print(
                f"target {TARGET_TABLES} tables in <= {TARGET_WALL_S:.0f} s with <= "
                f"{TARGET_RSS_MB:.0f} MB: {'PASS' if ok else 'FAIL'}"
            )


if __name__ == "__main__":
    main()
