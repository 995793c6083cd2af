"""State transitions and history events per table: the seed's definition versus ddbexport's.

Both definitions are *walked*, state by state, as Step Functions would run them for one table
whose export takes a given time (nothing runs in AWS, nothing sleeps): Wait states advance a
simulated clock, DescribeExport answers IN_PROGRESS until the export's duration has passed, and
Choice rules are evaluated on the values the walk knows. Every state entered is one billed state
transition; history events follow the documented counts (a Task logs 5 events, other states 2).
The walk is :mod:`ddbexport.pipeline.transitions`, which ``ddbexport estimate`` prices with.

* seed: ``bench/seed-statemachine.asl.json`` (copied from the project's shared reference: the
  original article's definition — an inline Map that polls every 15 s);
* ddbexport: the child workflow of the definition ``ddbexport synth`` generates for the default
  config (``poll_first`` 4m, ``poll_min`` 15s, ``poll_max`` 10m), one child execution per table.

Also printed: how many tables one execution can carry before its history reaches the 25,000-event
quota — the seed's inline Map counts every iteration's events in the parent's history; ddbexport's
Distributed Map gives each table its own child execution, so the parent's history does not grow
with the table count (its limits are then the 256 KiB state payload and 10,000 child executions).

Run ``python bench/stepfunctions.py``; it always exits 0.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ddbexport.config.model import validate_config
from ddbexport.pipeline.synth import synth
from ddbexport.pipeline.tablelist import PAYLOAD_LIMIT, results_size
from ddbexport.pipeline.transitions import EXPORT_STATUS, Walk, WalkResult, child_walk

HISTORY_QUOTA = 25_000
DURATIONS_MIN = (5, 15, 60, 180)
#: The seed's Choice tests the status DescribeExport returned; its Wait has fixed Seconds.
SEED_FACTS = {"$.ExportDescription.ExportStatus": EXPORT_STATUS}


def seed_walk(duration_s: float) -> WalkResult:
    definition = json.loads((Path(__file__).parent / "seed-statemachine.asl.json").read_text())
    iterator = definition["States"]["Map"]["Iterator"]
    return Walk(iterator["States"], iterator["StartAt"], duration_s, [15], SEED_FACTS).run()


def ddbexport_walk(duration_s: float) -> WalkResult:
    config = validate_config(
        {"defaults": {"bucket": "exports"}, "tables": [{"name": "orders"}]}, source="bench"
    )
    return child_walk(synth(config).definition, duration_s)


def main() -> None:
    print("Per table, one export of the given duration (state transitions are what AWS bills):")
    print()
    print(
        f"{'export':>8} | {'seed transitions':>16} {'events':>7} | {'ddbexport transitions':>21} "
        f"{'events':>7} | {'ratio':>6}"
    )
    for minutes in DURATIONS_MIN:
        seed = seed_walk(minutes * 60)
        ours = ddbexport_walk(minutes * 60)
        ratio = ours.transitions / seed.transitions
        print(
            f"{minutes:>6}m | {seed.transitions:>16} {seed.events:>7} | {ours.transitions:>21} "
            f"{ours.events:>7} | {ratio:>6.3f}"
        )
    print()
    print("Tables one execution can carry before 25,000 history events:")
    for minutes in DURATIONS_MIN:
        seed = seed_walk(minutes * 60)
        # Inline Map: MapIterationStarted/Succeeded add 2 events per table to the parent.
        per_table = seed.events + 2
        print(
            f"  {minutes:>4}m exports: seed {math.floor(HISTORY_QUOTA / per_table):>5} tables "
            f"({per_table} events each); ddbexport: the parent's history does not grow with "
            f"tables (each table's {ddbexport_walk(minutes * 60).events} events are in its own "
            "child execution)"
        )
    print()
    names = [f"service-orders-{index:05d}" for index in range(20_000)]  # 20-character names
    fits = max(n for n in range(100, 20_000, 100) if results_size(names[:n]) <= PAYLOAD_LIMIT)
    print(
        "ddbexport's limits instead: 10,000 parallel child executions, and the run's results "
        "(one {table, status} record per table, kept with the run record's body) within the "
        f"{PAYLOAD_LIMIT // 1024} KiB the pipeline allows of the 256 KiB state: about {fits:,} "
        "tables with 20-character names per execution (synth refuses a list that does not fit)."
    )


if __name__ == "__main__":
    main()
