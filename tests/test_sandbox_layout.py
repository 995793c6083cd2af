"""The sandbox's export files held against a real AWS export, byte by byte where possible."""

from __future__ import annotations

import gzip
import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path

from ddbexport.sandbox.layout import (
    Change,
    aws_gzip,
    base64_md5,
    build_export_files,
    export_id,
    full_record,
    incremental_record,
    ion_struct,
    one_part_etag,
    summary_fields,
)

REAL = Path(__file__).parent / "fixtures" / "real-aws-export" / "AWSDynamoDB"
REAL_FULL = REAL / "01768385930622-efd1a093"
REAL_INCREMENTAL = REAL / "01768388186000-4a2fc3ff"
START = datetime(2026, 1, 14, 10, 18, 50, 622000, tzinfo=UTC)


def _lines(path: Path) -> list[str]:
    return gzip.decompress(path.read_bytes()).decode().splitlines()


def test_empty_data_file_is_byte_identical_to_aws() -> None:
    """An empty partition compresses to exactly AWS's 20-byte gzip member."""
    real_empty = REAL_FULL / "data" / "zqp435kgma323mmasy7jmciuje.json.gz"
    assert aws_gzip(b"") == real_empty.read_bytes()


def test_checksums_and_etags_use_awss_formulas() -> None:
    """md5Checksum, etag and the .md5 files agree with the real export's manifests."""
    manifest = (REAL_FULL / "manifest-files.json").read_bytes()
    assert base64_md5(manifest) == (REAL_FULL / "manifest-files.md5").read_text().strip()
    for line in manifest.decode().splitlines():
        entry = json.loads(line)
        data = (REAL.parent / entry["dataFileS3Key"]).read_bytes()
        assert base64_md5(data) == entry["md5Checksum"]
        assert one_part_etag(data) == entry["etag"]


def test_full_record_matches_real_line() -> None:
    """A full export line is {"Item": ...} in compact JSON, exactly like AWS's."""
    real = _lines(REAL_FULL / "data" / "5mrfg3b44e3vhnfickkozoym6a.json.gz")[0]
    item = json.loads(real)["Item"]
    assert full_record(item, "DYNAMODB_JSON") == real


def test_incremental_records_match_real_shapes() -> None:
    """Insert, update and delete records have the real keys and typed WriteTimestampMicros."""
    real_lines = []
    for line in (REAL_INCREMENTAL / "manifest-files.json").read_text().splitlines():
        real_lines += _lines(REAL.parent / json.loads(line)["dataFileS3Key"])
    for real in real_lines:
        record = json.loads(real)
        change = Change(
            keys=record["Keys"],
            old_image=record.get("OldImage"),
            new_image=record.get("NewImage"),
            write_micros=int(record["Metadata"]["WriteTimestampMicros"]["N"]),
        )
        mine = json.loads(incremental_record(change, "NEW_AND_OLD_IMAGES", "DYNAMODB_JSON") or "")
        assert mine == record
        assert list(mine) == list(record)  # same key order: Metadata, Keys, OldImage, NewImage


def test_new_image_view_leaves_out_old_images() -> None:
    """NEW_IMAGE: a delete is Keys and Metadata only; an update carries only NewImage."""
    keys = {"pk": {"S": "1"}}
    delete = Change(keys, {"pk": {"S": "1"}, "a": {"S": "x"}}, None, 5)
    update = Change(keys, {"pk": {"S": "1"}}, {"pk": {"S": "1"}, "a": {"S": "y"}}, 6)
    assert json.loads(incremental_record(delete, "NEW_IMAGE", "DYNAMODB_JSON") or "") == {
        "Metadata": {"WriteTimestampMicros": {"N": "5"}},
        "Keys": keys,
    }
    assert "OldImage" not in json.loads(
        incremental_record(update, "NEW_IMAGE", "DYNAMODB_JSON") or ""
    )


def test_ion_line_follows_the_documented_mapping() -> None:
    """ION lines start with $ion_1_0 and annotate sets; numbers are decimals, binary are blobs."""
    item = {
        "Id": {"N": "103"},
        "Price": {"N": "2e3"},
        "Authors": {"SS": ["Author1", "Author2"]},
        "Nums": {"NS": ["1", "2.5"]},
        "Blob": {"B": "AAE="},
        "InPublication": {"BOOL": False},
        "Nothing": {"NULL": True},
        "nested map": {"M": {"k": {"L": [{"S": "v"}]}}},
    }
    line = full_record(item, "ION")
    assert line == (
        '$ion_1_0 {Item:{Id:103.,Price:2.d3,Authors:$dynamodb_SS::["Author1","Author2"],'
        "Nums:$dynamodb_NS::[1.,2.5],Blob:{{AAE=}},InPublication:false,Nothing:null,"
        "'nested map':{k:[\"v\"]}}}"
    )
    assert ion_struct({"null": {"S": "x"}}) == "{'null':\"x\"}"


def test_whole_full_export_has_the_real_layout() -> None:
    """Object names, manifest keys and summary keys are those of the real full export."""
    rng = random.Random(7)
    identifier = export_id(START, rng)
    assert re.fullmatch(r"01768385930622-[0-9a-f]{8}", identifier)
    arn = f"arn:aws:dynamodb:eu-north-1:123456789123:table/test/export/{identifier}"
    items = [
        json.loads(line)["Item"]
        for line in _lines(REAL_FULL / "data" / "5mrfg3b44e3vhnfickkozoym6a.json.gz")
    ]
    files = build_export_files(
        lines=[({"pk": i["pk"], "sk": i["sk"]}, full_record(i, "DYNAMODB_JSON")) for i in items],
        summary=summary_fields(
            export_arn=arn,
            start=START,
            end=START,
            table_arn="arn:aws:dynamodb:eu-north-1:123456789123:table/test",
            table_id="cf263806-6bf1-4e51-a242-7067dcdecc72",
            bucket="test-1231x1x",
            prefix=None,
            sse="AES256",
            kms_key=None,
            billed_bytes=0,
            export_format="DYNAMODB_JSON",
            export_time=START,
        ),
        prefix=None,
        export_id_value=identifier,
        export_format="DYNAMODB_JSON",
        incremental=False,
        partitions=4,
        rng=rng,
    )
    base = f"AWSDynamoDB/{identifier}"
    names = {key.replace(identifier, "ID") for key in files.objects}
    real_names = {
        str(p.relative_to(REAL.parent)).replace("01768385930622-efd1a093", "ID")
        for p in REAL_FULL.rglob("*")
        if p.is_file()
    }
    pattern = re.compile(r"AWSDynamoDB/ID/data/[a-z2-7]{26}\.json\.gz")
    assert {n for n in names if not pattern.fullmatch(n)} == {
        n for n in real_names if not pattern.fullmatch(n)
    }
    assert sum(1 for n in names if pattern.fullmatch(n)) == 4
    summary = json.loads(files.objects[f"{base}/manifest-summary.json"])
    real_summary = json.loads((REAL_FULL / "manifest-summary.json").read_text())
    assert list(summary) == list(real_summary)
    assert summary["itemCount"] == 3
    assert files.objects[f"{base}/manifest-summary.md5"].decode() == base64_md5(
        files.objects[f"{base}/manifest-summary.json"]
    )
    entries = [
        json.loads(line)
        for line in files.objects[f"{base}/manifest-files.json"].decode().splitlines()
    ]
    assert sum(e["itemCount"] for e in entries) == 3
    real_entry = json.loads((REAL_FULL / "manifest-files.json").read_text().splitlines()[0])
    for entry in entries:
        assert list(entry) == list(real_entry)
        data = files.objects[entry["dataFileS3Key"]]
        assert base64_md5(data) == entry["md5Checksum"]
        assert len(gzip.decompress(data).splitlines()) == entry["itemCount"]
    exported = sorted(
        line
        for e in entries
        for line in gzip.decompress(files.objects[e["dataFileS3Key"]]).decode().splitlines()
    )
    assert exported == sorted(_lines(REAL_FULL / "data" / "5mrfg3b44e3vhnfickkozoym6a.json.gz"))


def test_incremental_export_writes_to_the_shared_data_folder() -> None:
    """Incremental data files sit in <prefix>/AWSDynamoDB/data/, not under the export id."""
    rng = random.Random(1)
    files = build_export_files(
        lines=[],
        summary={},
        prefix="exports/t",
        export_id_value="01768388186000-4a2fc3ff",
        export_format="ION",
        incremental=True,
        partitions=2,
        rng=rng,
    )
    assert all(
        re.fullmatch(r"exports/t/AWSDynamoDB/data/[a-z2-7]{26}\.ion\.gz", key)
        for key in files.data_keys
    )
    summary = json.loads(
        files.objects["exports/t/AWSDynamoDB/01768388186000-4a2fc3ff/manifest-summary.json"]
    )
    real = json.loads((REAL_INCREMENTAL / "manifest-summary.json").read_text())
    assert list(summary) == list(real)
