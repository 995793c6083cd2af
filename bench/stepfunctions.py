"""State transitions, history events and detection lag per table: the seed's definition versus
ddbexport's, with and without a known previous export duration.

Both definitions are *walked*, state by state, as Step Functions would run them for one table
whose export takes a given time (nothing runs in AWS, nothing sleeps): Wait states advance a
simulated clock, DescribeExport answers IN_PROGRESS until the export's duration has passed, and
Choice rules are evaluated on the values the walk knows. Every state entered is one billed state
transition; history events follow the documented counts (a Task logs 5 events, other states 2).
The walk is :mod:`ddbexport.pipeline.transitions`, which ``ddbexport estimate`` prices with.

* seed: ``bench/seed-statemachine.asl.json`` (copied from the project's shared reference: the
  original article's definition — an inline Map that polls every 15 s);
* ddbexport: the child workflow of the definition ``ddbexport synth`` generates for the default
  config (``poll_first`` 4m, ``poll_min`` 15s, ``poll_max`` 10m), one child execution per table:
  "unknown" — no previous export (first wait ``poll_first``); "known" — the table list carries
  the previous export's duration (what ``deploy`` learns from ListExports) and the export takes
  as long again; then the same with the export 10 % faster or slower than the previous one.

Lag: seconds between the export's end and the poll that sees it.

Also printed: how many tables one execution carries — the seed's inline Map counts every
iteration's events in the parent's history; ddbexport's Distributed Map reads its items from S3
and writes its results there, so neither the parent's history nor its state grows with the
table count.

Run ``python bench/stepfunctions.py``; it always exits 0.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ddbexport.config.model import validate_config
from ddbexport.pipeline.synth import synth
from ddbexport.pipeline.transitions import (
    EXPORT_STATUS,
    Walk,
    WalkResult,
    child_walk,
    detection_lag,
)

HISTORY_QUOTA = 25_000
DURATIONS_MIN = (5, 15, 60, 120, 180)
#: The target: at most this many transitions for a one-hour export whose duration is known.
TARGET_TRANSITIONS_1H = 20
TARGET_LAG_S = 60.0
#: The seed's Choice tests the status DescribeExport returned; its Wait has fixed Seconds.
SEED_FACTS = {"$.ExportDescription.ExportStatus": EXPORT_STATUS}


def seed_walk(duration_s: float) -> WalkResult:
    definition = json.loads((Path(__file__).parent / "seed-statemachine.asl.json").read_text())
    iterator = definition["States"]["Map"]["Iterator"]
    return Walk(iterator["States"], iterator["StartAt"], duration_s, [15], SEED_FACTS).run()


def seed_lag(duration_s: float) -> float:
    return math.ceil(duration_s / 15) * 15 - duration_s


def ddbexport_definition() -> dict[str, object]:
    config = validate_config(
        {"defaults": {"bucket": "exports"}, "tables": [{"name": "orders"}]}, source="bench"
    )
    return synth(config).definition


def main() -> None:
    definition = ddbexport_definition()
    print("Per table, one export of the given duration (state transitions are what AWS bills):")
    print()
    print(
        f"{'export':>7} | {'seed':>5} {'events':>6} {'lag':>4} | {'unknown':>7} {'events':>6} "
        f"{'lag':>4} {'ratio':>6} | {'known':>5} {'events':>6} {'lag':>4} {'ratio':>6}"
    )
    verdicts = []
    for minutes in DURATIONS_MIN:
        duration = minutes * 60.0
        seed = seed_walk(duration)
        unknown = child_walk(definition, duration)
        known = child_walk(definition, duration, expected_s=duration)
        lags = (
            seed_lag(duration),
            detection_lag(definition, duration),
            detection_lag(definition, duration, duration),
        )
        print(
            f"{minutes:>5}m | {seed.transitions:>5} {seed.events:>6} {lags[0]:>4.0f} | "
            f"{unknown.transitions:>7} {unknown.events:>6} {lags[1]:>4.0f} "
            f"{unknown.transitions / seed.transitions:>6.3f} | {known.transitions:>5} "
            f"{known.events:>6} {lags[2]:>4.0f} {known.transitions / seed.transitions:>6.3f}"
        )
        if minutes == 60:
            verdicts.append(
                (
                    f"<= {TARGET_TRANSITIONS_1H} transitions at 1 h, duration known",
                    known.transitions <= TARGET_TRANSITIONS_1H,
                )
            )
            verdicts.append((f"lag <= {TARGET_LAG_S:.0f} s at 1 h", lags[2] <= TARGET_LAG_S))
    print()
    print("Known previous duration, but this export is faster or slower than the previous one:")
    print(f"{'previous':>9} | {'actual':>7} | {'transitions':>11} {'lag':>5}")
    for minutes in (15, 60, 180):
        previous = minutes * 60.0
        for factor in (0.9, 1.0, 1.1, 1.25):
            actual = previous * factor
            walked = child_walk(definition, actual, expected_s=previous)
            lag = detection_lag(definition, actual, previous)
            print(
                f"{minutes:>7}m | {factor:>6.2f}x | {walked.transitions:>11} {lag:>5.0f}"
                + ("   (ended before the first poll)" if factor < 1 else "")
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
            f"tables (each table's {child_walk(definition, minutes * 60).events} events are in "
            "its own child execution)"
        )
    print()
    print(
        "ddbexport's parent state does not grow with tables either: the Distributed Map reads "
        "its items from the table list object (ItemReader) and writes its results to S3 "
        "(ResultWriter); the parent keeps the Map Run's counts and the results' location. "
        "Its limits are a Map Run's (10,000 child executions at once, 100,000,000 items)."
    )
    print()
    for what, held in verdicts:
        print(f"{'OK' if held else 'MISSED'}: {what}")


if __name__ == "__main__":
    main()
