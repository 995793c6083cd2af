"""How fast ddbexport reads an export, against the naive way and against the floor.

Generates a synthetic FULL export in AWS's layout (``manifest-summary.json``,
``manifest-files.json`` and their ``.md5``, gzip'd DynamoDB-JSON data files of ~256 MB each
uncompressed) of ``--size-mb`` uncompressed (default 1024), then runs each variant in its own
process, so that each one's peak RSS (``ru_maxrss``) is its own:

- ``floor``: gzip decompression + ``orjson.loads`` of each line, no conversion: no reader of
  DynamoDB JSON in Python can beat it;
- ``naive``: ``json.loads`` + boto3's ``TypeDeserializer`` per attribute, the usual recipe
  (its binary handlers decode the file's base64 first, which boto3's own client would do);
- ``iter_items``: ``ddbexport.reader.iter_items`` (plain Python values), consumed;
- ``jsonl``: ``ddbexport.convert.convert(…, "jsonl", file, workers=None, engine="native")``, as
  ``ddbexport read`` runs it where the C converter is built: lines converted in C on one
  thread per CPU (up to 8), this thread inflating (ISA-L) and writing;
- ``jsonl-1``: the same on one thread (``workers=1``, the library's default);
- ``jsonl-python``: ``engine="python"``, ``workers=None``: one worker process per CPU decoding
  and encoding in Python, this process decompressing and writing; its peak RSS counts every
  worker too (this process's peak plus the largest worker's times the number of workers, an
  upper bound);
- ``parquet``: ``ddbexport.convert.convert(…, "parquet", file, engine="python")``: the
  Python writer, two passes over the data (schema, then row groups), so it reads everything
  twice;
- ``parquet-native``: ``convert(…, "parquet", file, engine="native", workers=None)``, as
  ``ddbexport read --to parquet`` runs it where the C converter was built: chunks surveyed and
  converted in C on one thread per CPU.

Prints items/s and MB/s of uncompressed input, the ratios against naive and floor, the CPU time
and peak RSS of each variant, the load average, and PASS/FAIL for the targets: ``jsonl`` and
``parquet-native`` at least 10x the naive way and 1.5x the floor's speed; ``iter_items`` within
2x of the floor's time; every ddbexport variant at most 500 MB peak RSS.

    python bench/reader.py --size-mb 256
    python bench/reader.py --data /tmp/export --keep   # generate once, run again later
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from boto3.dynamodb.types import TypeDeserializer

from ddbexport.data.convert import convert
from ddbexport.exports.reader import iter_items

EXPORT_ID = "01768385930622-efd1a093"
FILE_MB = 256
VARIANTS = (
    "floor",
    "naive",
    "iter_items",
    "jsonl",
    "jsonl-1",
    "jsonl-python",
    "parquet",
    "parquet-native",
)
#: The native engine's targets: this many times the naive way's speed and the floor's.
NATIVE_VS_NAIVE = 10.0
NATIVE_VS_FLOOR = 1.5
NATIVE_VARIANTS = ("jsonl", "parquet-native")
#: Reading into Python values cannot beat the floor: within this many times its time.
ITER_VS_FLOOR = 2.0
TARGET_RSS_MB = 500.0


# ---------------------------------------------------------------------------- the export


def _item(rng: random.Random, index: int, words: list[str]) -> dict[str, Any]:
    """An order-like item: keys, strings, numbers, a flag, a nested map with a list, and now
    and then a string set, a number set, binary and a NULL (~450 bytes as DynamoDB JSON)."""
    item: dict[str, Any] = {
        "pk": {"S": f"customer#{index // 7:09d}"},
        "sk": {"S": f"order#{2024 + index % 3}-{1 + index % 12:02d}#{index:010d}"},
        "status": {"S": rng.choice(("NEW", "PAID", "SHIPPED", "DELIVERED", "RETURNED"))},
        "amount": {"N": f"{rng.randrange(1, 10**7)}.{rng.randrange(100):02d}"},
        "quantity": {"N": str(rng.randrange(1, 50))},
        "created": {"N": str(1_700_000_000 + index)},
        "gift": {"BOOL": rng.random() < 0.1},
        "note": {"S": " ".join(rng.choices(words, k=rng.randrange(3, 25)))},
        "address": {
            "M": {
                "street": {"S": f"{rng.randrange(1, 999)} {rng.choice(words).title()} St"},
                "zip": {"S": f"{rng.randrange(10**5):05d}"},
                "geo": {
                    "L": [
                        {"N": f"{rng.uniform(-90, 90):.6f}"},
                        {"N": f"{rng.uniform(-180, 180):.6f}"},
                    ]
                },
            }
        },
    }
    if index % 3 == 0:
        item["tags"] = {"SS": sorted(set(rng.choices(words, k=4)))}
    if index % 5 == 0:
        item["sizes"] = {"NS": sorted({str(rng.randrange(30, 50)) for _ in range(3)})}
    if index % 4 == 0:
        item["thumbnail"] = {"B": base64.b64encode(rng.randbytes(24)).decode()}
    if index % 11 == 0:
        item["coupon"] = {"NULL": True}
    return item


def generate(root: Path, size_mb: int, seed: int = 1) -> tuple[int, int]:
    """Write the export under ``root``; returns (items, uncompressed bytes)."""
    rng = random.Random(seed)
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randrange(2, 10)))
        for _ in range(2000)
    ]
    folder = root / "AWSDynamoDB" / EXPORT_ID
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "_started").write_bytes(b"")
    target = size_mb << 20
    written = items = 0
    manifest_lines = []
    file_index = 0
    while written < target:
        name = f"{hashlib.sha256(f'{seed}-{file_index}'.encode()).hexdigest()[:26]}.json.gz"
        key = f"AWSDynamoDB/{EXPORT_ID}/data/{name}"
        path = root / key
        limit = min(written + (FILE_MB << 20), target)
        count = 0
        with gzip.GzipFile(path, "wb", compresslevel=6, mtime=0) as out:
            batch = []
            while written < limit:
                line = orjson.dumps(
                    {"Item": _item(rng, items, words)}, option=orjson.OPT_APPEND_NEWLINE
                )
                batch.append(line)
                written += len(line)
                items += 1
                count += 1
                if len(batch) >= 4096:
                    out.write(b"".join(batch))
                    batch.clear()
            out.write(b"".join(batch))
        digest = hashlib.md5()
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        manifest_lines.append(
            json.dumps(
                {
                    "itemCount": count,
                    "md5Checksum": base64.b64encode(digest.digest()).decode(),
                    "etag": hashlib.md5(digest.digest()).hexdigest() + "-1",
                    "dataFileS3Key": key,
                },
                separators=(",", ":"),
            )
        )
        file_index += 1
    files = "".join(line + "\n" for line in manifest_lines).encode()
    (folder / "manifest-files.json").write_bytes(files)
    (folder / "manifest-files.md5").write_bytes(base64.b64encode(hashlib.md5(files).digest()))
    summary = {
        "version": "2020-06-30",
        "exportArn": f"arn:aws:dynamodb:eu-west-1:123456789012:table/bench/export/{EXPORT_ID}",
        "startTime": "2026-01-14T10:18:50.622Z",
        "endTime": "2026-01-14T10:24:58.984Z",
        "tableArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/bench",
        "tableId": "cf263806-6bf1-4e51-a242-7067dcdecc72",
        "exportTime": "2026-01-14T10:18:50.622Z",
        "s3Bucket": "bench-bucket",
        "s3Prefix": None,
        "s3SseAlgorithm": "AES256",
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": f"AWSDynamoDB/{EXPORT_ID}/manifest-files.json",
        "billedSizeBytes": written,
        "itemCount": items,
        "outputFormat": "DYNAMODB_JSON",
    }
    summary_bytes = json.dumps(summary, separators=(",", ":")).encode()
    (folder / "manifest-summary.json").write_bytes(summary_bytes)
    (folder / "manifest-summary.md5").write_bytes(
        base64.b64encode(hashlib.md5(summary_bytes).digest())
    )
    (root / "bench-meta.json").write_text(
        json.dumps({"items": items, "bytes": written, "size_mb": size_mb})
    )
    return items, written


def _data_files(folder: Path) -> list[Path]:
    root = folder.parent.parent
    manifest = (folder / "manifest-files.json").read_text().splitlines()
    return [root / json.loads(line)["dataFileS3Key"] for line in manifest if line.strip()]


# ---------------------------------------------------------------------------- the variants


def _floor(folder: Path, _out: Path) -> int:
    count = 0
    loads = orjson.loads
    for path in _data_files(folder):
        with gzip.open(path, "rb") as stream:
            rest = b""
            while chunk := stream.read(1 << 20):
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    if line:
                        loads(line)
                        count += 1
            if rest:
                loads(rest)
                count += 1
    return count


def _naive(folder: Path, _out: Path) -> int:
    class FileDeserializer(TypeDeserializer):
        # Export files hold binary as base64 text; boto3's client decodes it before this runs.
        def _deserialize_b(self, value: Any) -> Any:
            return super()._deserialize_b(base64.b64decode(value))

        def _deserialize_bs(self, value: Any) -> Any:
            return super()._deserialize_bs([base64.b64decode(v) for v in value])

    deserializer = FileDeserializer()
    count = 0
    for path in _data_files(folder):
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            for line in stream:
                item = json.loads(line)["Item"]
                {name: deserializer.deserialize(value) for name, value in item.items()}
                count += 1
    return count


def _iter_items(folder: Path, _out: Path) -> int:
    count = 0
    for _ in iter_items(str(folder)):
        count += 1
    return count


def _jsonl(folder: Path, out: Path) -> int:
    return convert(str(folder), "jsonl", out / "items.jsonl", workers=None, engine="native").rows


def _jsonl_one_thread(folder: Path, out: Path) -> int:
    return convert(str(folder), "jsonl", out / "items.jsonl", workers=1, engine="native").rows


def _jsonl_python(folder: Path, out: Path) -> int:
    return convert(str(folder), "jsonl", out / "items.jsonl", workers=None, engine="python").rows


def _parquet(folder: Path, out: Path) -> int:
    return convert(str(folder), "parquet", out / "items.parquet", engine="python").rows


def _parquet_native(folder: Path, out: Path) -> int:
    path = out / "items.parquet"
    return convert(str(folder), "parquet", path, engine="native", workers=None).rows


def run_variant(name: str, folder: Path) -> dict[str, Any]:
    """Run one variant in this process; its peak RSS is this process's."""
    if name.startswith("parquet"):
        import pyarrow.parquet  # noqa: F401, PLC0415 - loaded before the clock starts, as others
    out = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    try:
        function = {
            "floor": _floor,
            "naive": _naive,
            "iter_items": _iter_items,
            "jsonl": _jsonl,
            "jsonl-1": _jsonl_one_thread,
            "jsonl-python": _jsonl_python,
            "parquet": _parquet,
            "parquet-native": _parquet_native,
        }[name]
        started = time.perf_counter()
        items = function(folder, out)
        seconds = time.perf_counter() - started
        output_bytes = sum(path.stat().st_size for path in out.iterdir())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = usage.ru_maxrss
    if name == "jsonl-python":
        workers = min(os.cpu_count() or 1, 8)
        peak_kb += resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * workers
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "variant": name,
        "seconds": seconds,
        # CPU time of every thread and worker process (start-up included): what the variant
        # costs whatever else the machine runs, where wall time depends on the load.
        "cpu_seconds": usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime,
        "items": items,
        "peak_rss_mb": peak_kb / 1024,
        "output_bytes": output_bytes,
    }


# ---------------------------------------------------------------------------- the report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="uncompressed size of the export")
    parser.add_argument(
        "--data", type=Path, help="where the export is (generated there if missing)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated export")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: run one variant, print JSON
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_variant(args.run, args.data)))
        return 0

    root = args.data or Path(tempfile.mkdtemp(prefix="ddbexport-bench-"))
    folder = root / "AWSDynamoDB" / EXPORT_ID
    meta_path = root / "bench-meta.json"
    try:
        if meta_path.exists() and json.loads(meta_path.read_text())["size_mb"] == args.size_mb:
            meta = json.loads(meta_path.read_text())
            items, size = meta["items"], meta["bytes"]
            print(f"reusing the export in {root}")
        else:
            started = time.perf_counter()
            items, size = generate(root, args.size_mb)
            print(
                f"generated {items:,} items, {size / 2**20:,.0f} MB uncompressed in "
                f"{len(_data_files(folder))} data files, in {time.perf_counter() - started:.0f} s"
            )
        compressed = sum(path.stat().st_size for path in _data_files(folder))
        python = sys.version.split()[0]
        print(f"export: {root} ({compressed / 2**20:,.0f} MB gzip'd); Python {python}\n")
        results = {}
        for name in args.variants.split(","):
            completed = subprocess.run(
                [sys.executable, __file__, "--run", name, "--data", str(folder)],
                check=True,
                capture_output=True,
                text=True,
            )
            results[name] = json.loads(completed.stdout.strip().splitlines()[-1])
            if results[name]["items"] != items:
                print(f"{name}: read {results[name]['items']} items, expected {items}")
                return 1
        return _report(results, items, size)
    finally:
        if not args.keep and args.data is None:
            shutil.rmtree(root, ignore_errors=True)


def _report(results: dict[str, dict[str, Any]], items: int, size: int) -> int:
    floor = results.get("floor", {}).get("seconds")
    naive = results.get("naive", {}).get("seconds")
    header = ("seconds", 8), ("items/s", 11), ("MB/s", 7), ("vs naive", 9), ("vs floor", 9)
    print(f"{'variant':<14} " + " ".join(f"{name:>{width}}" for name, width in header), end="")
    print(f" {'CPU s':>6} {'peak RSS':>9}")
    for name, result in results.items():
        seconds = result["seconds"]
        speed_up = f"{naive / seconds:.1f}x" if naive else "-"
        slow_down = f"{seconds / floor:.2f}x" if floor else "-"
        print(
            f"{name:<14} {seconds:>8.1f} {items / seconds:>11,.0f} {size / 2**20 / seconds:>7.1f} "
            f"{speed_up:>9} {slow_down:>9} {result['cpu_seconds']:>6.1f} "
            f"{result['peak_rss_mb']:>6.0f} MB"
        )
    print(
        "\n(vs naive: how many times faster than naive; vs floor: how many times the floor's time;"
        "\n CPU s: CPU time of all its threads and processes)"
    )
    print(f"load average at the end: {', '.join(f'{load:.2f}' for load in os.getloadavg())}")
    ok = True
    checks: list[tuple[str, bool]] = []
    if naive and floor:
        for name in NATIVE_VARIANTS:
            if name in results:
                seconds = results[name]["seconds"]
                checks.append(
                    (f"{name}: >= {NATIVE_VS_NAIVE:g}x naive", naive / seconds >= NATIVE_VS_NAIVE)
                )
                checks.append(
                    (
                        f"{name}: >= {NATIVE_VS_FLOOR:g}x the floor's speed",
                        floor / seconds >= NATIVE_VS_FLOOR,
                    )
                )
        if "iter_items" in results:
            seconds = results["iter_items"]["seconds"]
            checks.append(
                (
                    f"iter_items: within {ITER_VS_FLOOR:g}x of the floor",
                    seconds / floor <= ITER_VS_FLOOR,
                )
            )
    for label, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {label}")
        ok &= passed
    for name in results:
        if name not in ("floor", "naive"):
            passed = results[name]["peak_rss_mb"] <= TARGET_RSS_MB
            print(f"{'PASS' if passed else 'FAIL'}  {name}: peak RSS <= {TARGET_RSS_MB:g} MB")
            ok &= passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
