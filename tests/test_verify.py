"""verify on the real AWS export (tests/fixtures/real-aws-export) and on damaged copies of it."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from ddbexport.errors import ConfigError
from ddbexport.exports.files import base64_md5, parse_folder
from ddbexport.exports.stores import LocalStore
from ddbexport.exports.verify import Verification, verify_export

REAL = Path(__file__).parent / "fixtures" / "real-aws-export"
FULL = "01768385930622-efd1a093"
INCREMENTAL = "01768388186000-4a2fc3ff"
EXPORT_IDS = [FULL, "01768386924000-d339e52d", INCREMENTAL]


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    """A writable copy of the real export, laid out as its bucket was."""
    shutil.copytree(REAL / "AWSDynamoDB", tmp_path / "AWSDynamoDB")
    return tmp_path


def _verify(root: Path, export_id: str, *, deep: bool = True) -> Verification:
    return verify_export(LocalStore(root), parse_folder(f"AWSDynamoDB/{export_id}"), deep=deep)


def _checks(result: Verification) -> list[tuple[str, str]]:
    return [(Path(p.file).name, p.check) for p in result.problems]


@pytest.mark.parametrize("export_id", EXPORT_IDS)
def test_real_export_data_files_all_verify(export_id: str) -> None:
    """Every data file of the real exports matches its md5, etag and item count."""
    result = _verify(REAL, export_id)
    assert result.summary is not None
    assert result.data_files == 4
    assert result.counted_items == result.listed_items == result.summary.item_count
    # The summaries were anonymised after AWS wrote them: only their checksum may differ.
    assert _checks(result) == [("manifest-summary.json", "checksum (manifest-summary.md5)")]
    problem = result.problems[0]
    assert problem.expected == (REAL / f"AWSDynamoDB/{export_id}/manifest-summary.md5").read_text()
    assert "base64 MD5 of the manifest as stored" in problem.found


def test_incremental_export_resolves_the_shared_data_folder() -> None:
    """An incremental export's files are found in AWSDynamoDB/data/, not its own folder."""
    result = _verify(REAL, INCREMENTAL)
    assert result.summary is not None
    assert result.summary.export_type == "INCREMENTAL_EXPORT"
    assert result.counted_items == 5


def _manifest_entries(root: Path, export_id: str) -> list[dict[str, object]]:
    text = (root / f"AWSDynamoDB/{export_id}/manifest-files.json").read_text()
    return [json.loads(line) for line in text.splitlines()]


def _rewrite_manifest(root: Path, export_id: str, entries: list[dict[str, object]]) -> None:
    """Write manifest-files.json and a matching .md5, as a consistent (but lying) manifest."""
    folder = root / f"AWSDynamoDB/{export_id}"
    data = "".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in entries).encode()
    (folder / "manifest-files.json").write_bytes(data)
    (folder / "manifest-files.md5").write_text(base64_md5(data))


def _data_file(root: Path, export_id: str) -> Path:
    """The real full export's one non-empty data file."""
    for entry in _manifest_entries(root, export_id):
        if entry["itemCount"]:
            return root / str(entry["dataFileS3Key"])
    raise AssertionError("no data")


def test_truncated_data_file_is_caught(bucket: Path) -> None:
    """A data file cut short fails its md5 and its gzip stream."""
    path = _data_file(bucket, FULL)
    path.write_bytes(path.read_bytes()[:-12])
    checks = _checks(_verify(bucket, FULL))
    assert (path.name, "md5Checksum") in checks
    assert (path.name, "gzip") in checks


def test_replaced_data_file_with_wrong_item_count_is_caught(bucket: Path) -> None:
    """A data file with one line less: md5, etag and itemCount all disagree, each reported."""
    path = _data_file(bucket, FULL)
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    path.write_bytes(gzip.compress(b"".join(lines[:-1])))
    result = _verify(bucket, FULL)
    by_check = {p.check: p for p in result.problems if Path(p.file).name == path.name}
    assert by_check["itemCount"].expected == "3"
    assert by_check["itemCount"].found == "2 lines"
    assert {"md5Checksum", "etag", "itemCount"} <= set(by_check)


def test_wrong_item_count_in_manifest_is_caught(bucket: Path) -> None:
    """A manifest whose counts do not add up to the summary's itemCount is reported."""
    entries = _manifest_entries(bucket, FULL)
    target = next(entry for entry in entries if entry["itemCount"])
    target["itemCount"] = 4
    _rewrite_manifest(bucket, FULL, entries)
    result = _verify(bucket, FULL, deep=False)
    totals = [p for p in result.problems if p.check == "itemCount total"]
    assert len(totals) == 1
    assert totals[0].expected == "3 (the summary's itemCount)"
    assert totals[0].found == "4 (sum over 4 data files)"


def test_missing_data_file_is_caught_by_the_cheap_checks(bucket: Path) -> None:
    """A listed data file that is gone is found without reading any data."""
    path = _data_file(bucket, FULL)
    path.unlink()
    result = _verify(bucket, FULL, deep=False)
    missing = [p for p in result.problems if p.check == "exists"]
    assert [Path(p.file).name for p in missing] == [path.name]
    assert missing[0].found == "no file"


def test_altered_manifest_fails_its_checksum(bucket: Path) -> None:
    """Editing manifest-files.json without its .md5 is caught."""
    manifest = bucket / f"AWSDynamoDB/{FULL}/manifest-files.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"itemCount":3', b'"itemCount":2'))
    checks = _checks(_verify(bucket, FULL))
    assert ("manifest-files.json", "checksum (manifest-files.md5)") in checks
    assert ("manifest-files.json", "itemCount total") in checks


def test_documented_checksum_suffix_is_accepted(bucket: Path) -> None:
    """AWS's documentation names the checksum files .checksum: those are checked too."""
    folder = bucket / f"AWSDynamoDB/{FULL}"
    (folder / "manifest-files.md5").rename(folder / "manifest-files.checksum")
    checks = _checks(_verify(bucket, FULL))
    assert not [c for c in checks if c[0] == "manifest-files.json"]


def test_missing_checksum_and_unparseable_manifest(bucket: Path) -> None:
    """No checksum file at all, and a manifest line that is not JSON, are both reported."""
    folder = bucket / f"AWSDynamoDB/{FULL}"
    (folder / "manifest-files.md5").unlink()
    with (folder / "manifest-files.json").open("a") as handle:
        handle.write("{not json\n")
    result = _verify(bucket, FULL)
    by_check = {p.check: p for p in result.problems}
    assert by_check["exists"].expected == "a checksum file (.md5 or .checksum)"
    assert by_check["parse"].found.startswith("line 5:")


def test_missing_summary_is_one_clear_problem(bucket: Path) -> None:
    """Without manifest-summary.json there is nothing else to check: one problem says so."""
    (bucket / f"AWSDynamoDB/{FULL}/manifest-summary.json").unlink()
    result = _verify(bucket, FULL)
    assert _checks(result) == [("manifest-summary.json", "exists")]


@pytest.mark.parametrize(
    "path",
    ["exports/orders/AWSDynamoDB/01768385930622-efd1a093/", "AWSDynamoDB/01768385930622-efd1a093"],
)
def test_export_folders_are_recognised(path: str) -> None:
    """A target is read as <root>/AWSDynamoDB/<ExportId>."""
    folder = parse_folder(path)
    assert folder.export_id == FULL
    assert folder.root == ("exports/orders" if path.startswith("exports") else "")


def test_a_path_that_is_no_export_folder_is_refused() -> None:
    """A wrong target says what a target looks like."""
    with pytest.raises(ConfigError, match="expected a path ending in AWSDynamoDB/<ExportId>/"):
        parse_folder("exports/orders/")


def test_the_shared_data_folder_is_no_export_folder() -> None:
    """AWSDynamoDB/data/ holds incremental data files, not an export: refused as a target."""
    with pytest.raises(ConfigError, match="is not an export folder"):
        parse_folder("exports/AWSDynamoDB/data/")


def test_keys_resolve_from_the_export_folder_when_the_prefix_repeats_the_marker() -> None:
    """A prefix such as dyn/AWSDynamoDB is kept; manifest keys with or without it agree."""
    folder = parse_folder(f"dyn/AWSDynamoDB/AWSDynamoDB/{FULL}")
    assert folder.root == "dyn/AWSDynamoDB"
    expected = f"dyn/AWSDynamoDB/AWSDynamoDB/{FULL}/manifest-files.json"
    assert folder.resolve(f"AWSDynamoDB/{FULL}/manifest-files.json") == expected
    assert folder.resolve(expected) == expected
    assert (
        folder.resolve("other/AWSDynamoDB/data/x.json.gz")
        == "dyn/AWSDynamoDB/AWSDynamoDB/data/x.json.gz"
    )
