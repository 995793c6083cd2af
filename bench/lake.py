"""`lake sync` throughput: a full load and a MERGE of an incremental export into Iceberg.

Generates, on disk, a FULL export of N items and an INCREMENTAL export of M changes to it
(updates, deletes, inserts), then, in one process:

* baseline: the FULL export written as one Parquet file by `ddbexport read --to parquet`'s
  converter (the same rows, the same column typing, no Iceberg);
* load: `ddbexport.lake.writing.load` into a fresh Iceberg table (SQLite catalog, local
  warehouse) — two passes over the export, data files, one snapshot;
* merge: `ddbexport.lake.writing.merge` of the incremental export (each key's last change,
  copy-on-write of the data files holding changed keys, one snapshot).

Prints rows/s of each and the ratio of the load to the baseline. Usage:

    .venv/bin/python bench/lake.py [--items 200000] [--changes 20000]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from pyiceberg.schema import Schema

from ddbexport.catalog.records import CatalogRecord
from ddbexport.config.lake import LakeSettings
from ddbexport.data.convert import convert
from ddbexport.exports.reader import open_export
from ddbexport.lake.connect import connect
from ddbexport.lake.plan import LOAD, MERGE, Step
from ddbexport.lake.state import summary_properties
from ddbexport.lake.writing import load, merge

TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/bench"
FULL_ID = "01768385930622-aaaaaaaa"
INC_ID = "01768386924000-bbbbbbbb"
EXPORT_TIME = datetime(2026, 1, 14, 10, 15, tzinfo=UTC)


def _item(rng: random.Random, index: int) -> dict[str, Any]:
    return {
        "pk": {"S": f"customer-{index % 5000:05d}"},
        "sk": {"N": str(index)},
        "status": {"S": rng.choice(["new", "paid", "shipped", "returned"])},
        "total": {"N": f"{rng.randrange(1, 100000) / 100:.2f}"},
        "quantity": {"N": str(rng.randrange(1, 20))},
        "tags": {"SS": rng.sample(["gift", "rush", "fragile", "bulk", "eu"], 2)},
        "address": {"M": {"city": {"S": rng.choice(["Lyon", "Oslo", "Porto"])}}},
        "paid": {"BOOL": rng.random() < 0.5},
    }


def _write_export(root: Path, export_id: str, lines: list[bytes], summary: dict[str, Any]) -> None:
    folder = root / "AWSDynamoDB" / export_id
    (folder / "data").mkdir(parents=True, exist_ok=True)
    key = f"AWSDynamoDB/{export_id}/data/{export_id}.json.gz"
    with gzip.GzipFile(root / key, "wb", compresslevel=1, mtime=0) as out:
        out.write(b"".join(lines))
    digest = hashlib.md5((root / key).read_bytes()).digest()
    entry = {
        "itemCount": len(lines),
        "md5Checksum": base64.b64encode(digest).decode(),
        "etag": hashlib.md5(digest).hexdigest() + "-1",
        "dataFileS3Key": key,
    }
    (folder / "manifest-files.json").write_text(json.dumps(entry) + "\n")
    summary = {
        "version": "2023-08-01",
        "exportArn": f"{TABLE_ARN}/export/{export_id}",
        "startTime": "2026-01-14T10:18:50.622Z",
        "endTime": "2026-01-14T10:24:58.984Z",
        "tableArn": TABLE_ARN,
        "tableId": "cf263806-6bf1-4e51-a242-7067dcdecc72",
        "s3Bucket": "bench-bucket",
        "s3Prefix": None,
        "s3SseAlgorithm": "AES256",
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": f"AWSDynamoDB/{export_id}/manifest-files.json",
        "billedSizeBytes": 1,
        "itemCount": len(lines),
        "outputFormat": "DYNAMODB_JSON",
        **summary,
    }
    (folder / "manifest-summary.json").write_text(json.dumps(summary))


def generate(root: Path, items: int, changes: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    lines = [
        orjson.dumps({"Item": _item(rng, i)}, option=orjson.OPT_APPEND_NEWLINE)
        for i in range(items)
    ]
    _write_export(
        root,
        FULL_ID,
        lines,
        {"exportTime": "2026-01-14T10:15:00.000Z", "exportType": "FULL_EXPORT"},
    )
    micros = int(EXPORT_TIME.timestamp() * 1_000_000)
    records = []
    for n in range(changes):
        written = {"WriteTimestampMicros": {"N": str(micros + 1 + n)}}
        roll = rng.random()
        if roll < 0.6:  # update
            item = _item(rng, rng.randrange(items))
            keys = {"pk": item["pk"], "sk": item["sk"]}
            record = {"Metadata": written, "Keys": keys, "OldImage": item, "NewImage": item}
        elif roll < 0.8:  # delete
            item = _item(rng, rng.randrange(items))
            keys = {"pk": item["pk"], "sk": item["sk"]}
            record = {"Metadata": written, "Keys": keys, "OldImage": item}
        else:  # insert
            item = _item(rng, items + n)
            keys = {"pk": item["pk"], "sk": item["sk"]}
            record = {"Metadata": written, "Keys": keys, "NewImage": item}
        records.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    _write_export(
        root,
        INC_ID,
        records,
        {
            "exportFromTime": "2026-01-14T10:15:00.000Z",
            "exportToTime": "2026-01-14T10:30:00.000Z",
            "outputView": "NEW_AND_OLD_IMAGES",
            "exportType": "INCREMENTAL_EXPORT",
        },
    )


def _record(export_id: str, kind: str, **times: datetime) -> CatalogRecord:
    return CatalogRecord(
        "bench",
        TABLE_ARN,
        f"{TABLE_ARN}/export/{export_id}",
        kind,
        "COMPLETED",
        "b",
        None,
        f"AWSDynamoDB/{export_id}",
        **times,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--changes", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "exports"
        generate(root, args.items, args.changes)
        full = open_export(str(root / "AWSDynamoDB" / FULL_ID))
        incremental = open_export(str(root / "AWSDynamoDB" / INC_ID))
        keys = ("pk", "sk")

        started = time.perf_counter()
        rows = convert(
            str(root / "AWSDynamoDB" / FULL_ID), "parquet", Path(scratch) / "items.parquet"
        ).rows
        parquet_s = time.perf_counter() - started

        catalog = connect(LakeSettings(warehouse=str(Path(scratch) / "lake")))
        catalog.create_namespace_if_not_exists("dynamodb")
        table = catalog.create_table(("dynamodb", "bench"), schema=Schema())
        baseline = _record(FULL_ID, "FULL_EXPORT", export_time=EXPORT_TIME)
        window = _record(
            INC_ID,
            "INCREMENTAL_EXPORT",
            from_time=EXPORT_TIME,
            to_time=EXPORT_TIME + timedelta(minutes=15),
        )
        started = time.perf_counter()
        loaded = load(table, full, keys, summary_properties(Step(LOAD, baseline, baseline, 0)))
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        merged = merge(
            table,
            incremental,
            keys,
            EXPORT_TIME,
            summary_properties(Step(MERGE, window, baseline, 1)),
        )
        merge_s = time.perf_counter() - started
        final = table.scan().to_arrow().num_rows

    print(
        f"items {args.items:,}, changes {args.changes:,} ({merged.changes:,} keys: "
        f"{merged.rows:,} upserted, {merged.deleted:,} deleted); table after: {final:,} rows"
    )
    print(f"{'':28}{'seconds':>10}{'rows/s':>12}{'vs Parquet':>12}")
    print(
        f"{'Parquet (read --to parquet)':28}{parquet_s:>10.2f}{rows / parquet_s:>12,.0f}{1:>12.2f}"
    )
    print(
        f"{'Iceberg load (full export)':28}{load_s:>10.2f}{loaded.rows / load_s:>12,.0f}"
        f"{load_s / parquet_s:>12.2f}"
    )
    print(f"{'Iceberg MERGE (incremental)':28}{merge_s:>10.2f}{args.changes / merge_s:>12,.0f}")
    print(f"  MERGE rewrote {merged.files_rewritten} data file(s) holding changed keys")


if __name__ == "__main__":
    main()
