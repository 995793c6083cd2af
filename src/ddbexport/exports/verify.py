"""Prove an export is whole: manifests, checksums, data files, item counts.

The cheap checks read the two manifests and their checksum files and look every listed data file
up in one listing per folder (its ETag where the store has ETags). ``deep`` also reads every data
file: its base64 MD5 against ``md5Checksum``, that it decompresses, and its lines against
``itemCount``. Every problem names the file, the check, what was expected and what was found.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from typing import Any

from ddbexport.core.ports import ExportStore

from .files import (
    CHECKSUM_SUFFIXES,
    SUMMARY,
    DataFileEntry,
    ExportFolder,
    ExportSummary,
    ManifestError,
    base64_md5,
    etag_parts,
    one_part_etag,
    parse_files,
    parse_summary,
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an export."""

    file: str
    check: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.file}: {self.check}: expected {self.expected}, found {self.found}"

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {
            "file": self.file,
            "check": self.check,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass(slots=True)
class Verification:
    """The outcome of verifying one export folder."""

    target: str
    deep: bool
    summary: ExportSummary | None = None
    data_files: int = 0
    listed_items: int = 0
    counted_items: int | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (also what the catalog and the run report keep)."""
        summary = self.summary
        return {
            "target": self.target,
            "ok": self.ok,
            "deep": self.deep,
            "export_arn": summary.export_arn if summary else None,
            "export_type": summary.export_type if summary else None,
            "item_count": summary.item_count if summary else None,
            "data_files": self.data_files,
            "listed_items": self.listed_items,
            "counted_items": self.counted_items,
            "problems": [problem.to_dict() for problem in self.problems],
        }


def verify_export(store: ExportStore, folder: ExportFolder, *, deep: bool = False) -> Verification:
    """Check the export in ``folder`` of ``store``; never raises for what it finds."""
    result = Verification(store.url(folder.path) + "/", deep)
    summary_key = folder.key(SUMMARY)
    summary_bytes = store.read(summary_key)
    if summary_bytes is None:
        result.problems.append(
            Problem(store.url(summary_key), "exists", "the export's summary manifest", "no file")
        )
        return result
    _check_checksum(store, summary_key, summary_bytes, result)
    try:
        summary = parse_summary(summary_bytes)
    except ManifestError as exc:
        result.problems.append(Problem(store.url(summary_key), "parse", "a summary", str(exc)))
        return result
    result.summary = summary
    if summary.export_id != folder.export_id:
        result.problems.append(
            Problem(store.url(summary_key), "exportArn", folder.export_id, summary.export_id)
        )
    files_key = folder.resolve(summary.manifest_files_key)
    files_bytes = store.read(files_key)
    if files_bytes is None:
        result.problems.append(
            Problem(store.url(files_key), "exists", "the manifest of data files", "no file")
        )
        return result
    _check_checksum(store, files_key, files_bytes, result)
    try:
        entries = parse_files(files_bytes)
    except ManifestError as exc:
        result.problems.append(Problem(store.url(files_key), "parse", "JSON lines", str(exc)))
        return result
    result.data_files = len(entries)
    result.listed_items = sum(entry.item_count for entry in entries)
    if result.listed_items != summary.item_count:
        result.problems.append(
            Problem(
                store.url(files_key),
                "itemCount total",
                f"{summary.item_count} (the summary's itemCount)",
                f"{result.listed_items} (sum over {len(entries)} data files)",
            )
        )
    counted = 0
    for entry in entries:
        counted += _check_data_file(store, folder, entry, summary, deep, result)
    if deep:
        result.counted_items = counted
    return result


def _check_checksum(
    store: ExportStore, manifest_key: str, manifest: bytes, result: Verification
) -> None:
    stem = manifest_key.removesuffix(".json")
    for suffix in CHECKSUM_SUFFIXES:
        recorded = store.read(stem + suffix)
        if recorded is None:
            continue
        expected = recorded.decode("utf-8", errors="replace").strip()
        found = base64_md5(manifest)
        if expected != found:
            result.problems.append(
                Problem(
                    store.url(manifest_key),
                    f"checksum ({stem.rsplit('/', 1)[-1]}{suffix})",
                    expected,
                    f"{found} (base64 MD5 of the manifest as stored)",
                )
            )
        return
    result.problems.append(
        Problem(
            store.url(stem + CHECKSUM_SUFFIXES[0]),
            "exists",
            f"a checksum file ({' or '.join(CHECKSUM_SUFFIXES)})",
            "no file",
        )
    )


def _check_data_file(
    store: ExportStore,
    folder: ExportFolder,
    entry: DataFileEntry,
    summary: ExportSummary,
    deep: bool,
    result: Verification,
) -> int:
    """Check one listed data file; returns the items counted in it (deep), else 0."""
    key = folder.resolve(entry.key)
    url = store.url(key)
    info = store.stat(key)
    if info is None:
        result.problems.append(Problem(url, "exists", f"a data file ({entry.key})", "no file"))
        return 0
    if info.etag is not None and entry.etag and info.etag.strip('"') != entry.etag.strip('"'):
        result.problems.append(Problem(url, "etag", entry.etag, info.etag.strip('"')))
    if not deep:
        return 0
    data = store.read(key)
    if data is None:
        result.problems.append(Problem(url, "exists", f"a data file ({entry.key})", "no file"))
        return 0
    found_md5 = base64_md5(data)
    if found_md5 != entry.md5:
        result.problems.append(Problem(url, "md5Checksum", entry.md5, found_md5))
    if info.etag is None and etag_parts(entry.etag) == 1:
        # No ETag from the store (a disk): a one-part ETag can be recomputed from the bytes.
        found_etag = one_part_etag(data)
        if found_etag != entry.etag.strip('"'):
            result.problems.append(Problem(url, "etag", entry.etag, found_etag))
    try:
        text = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        result.problems.append(Problem(url, "gzip", "a whole gzip file", str(exc)))
        return 0
    lines = count_records(text, summary.output_format)
    if lines != entry.item_count:
        result.problems.append(Problem(url, "itemCount", str(entry.item_count), f"{lines} lines"))
    return lines


def count_records(text: bytes, output_format: str) -> int:
    """Records in a decompressed data file: one per line (ION's version marker aside)."""
    count = 0
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or (output_format == "ION" and stripped == b"$ion_1_0"):
            continue
        count += 1
    return count
