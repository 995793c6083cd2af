"""Reading exports: the real AWS export byte for byte, S3, ION, the sandbox, streaming, errors."""

from __future__ import annotations

import base64
import gzip
import json
import random
import shutil
import tracemalloc
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.core.ports import ObjectApi
from ddbexport.errors import ConfigError
from ddbexport.exports.files import ExportFolder, parse_folder
from ddbexport.exports.reader import (
    Change,
    ExportReadError,
    iter_changes,
    iter_items,
    open_export,
    plain_item,
    plain_value,
)
from ddbexport.exports.stores import LocalStore, S3Store
from ddbexport.sandbox import Sandbox, SandboxSettings
from ddbexport.sandbox.layout import build_export_files, full_record, keys_of, summary_fields

from .helpers import REGION

FIXTURE = Path(__file__).parent / "fixtures" / "real-aws-export"
FULL_ID = "01768385930622-efd1a093"
INSERTS_ID = "01768386924000-d339e52d"
MIXED_ID = "01768388186000-4a2fc3ff"
BUCKET = "reader-bucket"


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _micros(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


# The fixture's records, written out from its data files (README.md: the FULL export's one
# non-empty file, then each INCREMENTAL export's files in manifest-files.json order). Binary
# values are the base64 the files hold, decoded.
FIXTURE_ITEMS = [
    {"pk": "1", "sk": "1", "test": "test"},
    {"pk": "1", "sk": "2", "test": "test2"},
    {"pk": "1", "sk": "3", "test2": "2", "test1": "1"},
]


def _all_types(pk: str, sk: str, *, number: bool = True, nested: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {
        "b": _b64("0000"),
        "bset": {_b64("0000"), _b64("1111")},
        "null": None,
        "pk": pk,
        "sk": sk,
        "sset": {"test", "test2"},
        "string": "test",
    }
    if number:
        item["number"] = Decimal("12")
    if nested:
        item["list"] = ["test", "1"]
        item["mapp"] = {"test": _b64("test")}
        item["nset"] = {Decimal("1"), Decimal("2")}
    return item


INSERTS = [
    Change(
        "insert",
        {"pk": "2", "sk": "1"},
        None,
        {"pk": "2", "sk": "1", "test": "test2"},
        _micros(1768386096366933),
    ),
    Change(
        "insert",
        {"pk": "2", "sk": "2"},
        None,
        {"pk": "2", "sk": "2", "test": "test"},
        _micros(1768386111571848),
    ),
    Change(
        "insert",
        {"pk": "2", "sk": "3"},
        None,
        {"pk": "2", "sk": "3", "test": "test"},
        _micros(1768386122158621),
    ),
    Change("insert", {"pk": "3", "sk": "1"}, None, _all_types("3", "1"), _micros(1768386327803907)),
    Change("insert", {"pk": "3", "sk": "2"}, None, _all_types("3", "2"), _micros(1768386354284327)),
    Change("insert", {"pk": "3", "sk": "3"}, None, _all_types("3", "3"), _micros(1768386364054395)),
]
MIXED = [
    Change(
        "delete",
        {"pk": "2", "sk": "3"},
        {"pk": "2", "sk": "3", "test": "test"},
        None,
        _micros(1768387654353205),
    ),
    Change(
        "delete",
        {"pk": "1", "sk": "1"},
        {"pk": "1", "sk": "1", "test": "test"},
        None,
        _micros(1768387654350448),
    ),
    Change(
        "update",
        {"pk": "1", "sk": "3"},
        {"pk": "1", "sk": "3", "test1": "1", "test2": "2"},
        {
            "bin_update": {_b64("0000"), _b64("0001")},
            "pk": "1",
            "sk": "3",
            "test1": "1",
            "test2": "2",
        },
        _micros(1768387673917155),
    ),
    Change(
        "insert",
        {"pk": "4", "sk": "2"},
        None,
        _all_types("4", "2", nested=False),
        _micros(1768387634507675),
    ),
    Change(
        "update",
        {"pk": "3", "sk": "2"},
        _all_types("3", "2"),
        _all_types("3", "2", number=False),
        _micros(1768387643192366),
    ),
]


def fixture_folder(export_id: str) -> str:
    return str(FIXTURE / "AWSDynamoDB" / export_id)


# ---------------------------------------------------------------------------- the real export


def test_the_real_full_export_gives_exactly_its_items() -> None:
    """Plain values by default; the data file's own DynamoDB JSON with typed=True."""
    assert list(iter_items(fixture_folder(FULL_ID))) == FIXTURE_ITEMS
    assert list(iter_items(fixture_folder(FULL_ID), typed=True)) == [
        {"pk": {"S": "1"}, "sk": {"S": "1"}, "test": {"S": "test"}},
        {"pk": {"S": "1"}, "sk": {"S": "2"}, "test": {"S": "test2"}},
        {"pk": {"S": "1"}, "sk": {"S": "3"}, "test2": {"S": "2"}, "test1": {"S": "1"}},
    ]


@pytest.mark.parametrize(("export_id", "expected"), [(INSERTS_ID, INSERTS), (MIXED_ID, MIXED)])
def test_the_real_incremental_exports_give_their_changes(
    export_id: str, expected: list[Change]
) -> None:
    """Inserts, updates and deletes, every attribute type, write times to the microsecond."""
    changes = list(iter_changes(fixture_folder(export_id)))
    assert changes == expected
    assert {change.kind for change in changes} <= {"insert", "update", "delete"}


def test_typed_changes_are_the_records_images() -> None:
    update = list(iter_changes(fixture_folder(MIXED_ID), typed=True))[2]
    assert update.kind == "update"
    assert update.keys == {"pk": {"S": "1"}, "sk": {"S": "3"}}
    assert update.new_image is not None
    assert update.new_image["bin_update"] == {"BS": ["0000", "0001"]}
    assert update.old_image == {
        "pk": {"S": "1"},
        "sk": {"S": "3"},
        "test1": {"S": "1"},
        "test2": {"S": "2"},
    }


def test_reading_the_wrong_kind_of_export_says_what_to_use() -> None:
    with pytest.raises(ConfigError, match=r"INCREMENTAL export.*iter_changes\(\)"):
        iter_items(fixture_folder(MIXED_ID))
    with pytest.raises(ConfigError, match=r"FULL export.*iter_items\(\)"):
        iter_changes(fixture_folder(FULL_ID))


def test_not_an_export_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not an export folder"):
        iter_items(str(tmp_path))
    empty = tmp_path / "AWSDynamoDB" / FULL_ID
    empty.mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"manifest-summary\.json: no such file"):
        iter_items(str(empty))


def test_incremental_files_come_from_the_manifest_not_the_shared_folder(tmp_path: Path) -> None:
    """Another export's file in the shared data/ folder is not read as this export's."""
    copy = tmp_path / "copy"
    shutil.copytree(FIXTURE, copy)
    stray = copy / "AWSDynamoDB" / "data" / "aaaaaaaaaaaaaaaaaaaaaaaaaa.json.gz"
    stray.write_bytes(
        gzip.compress(
            b'{"Metadata":{"WriteTimestampMicros":{"N":"1"}},"Keys":{"pk":{"S":"x"}},'
            b'"NewImage":{"pk":{"S":"x"}}}\n'
        )
    )
    assert list(iter_changes(str(copy / "AWSDynamoDB" / INSERTS_ID))) == INSERTS
    assert list(iter_changes(str(copy / "AWSDynamoDB" / MIXED_ID))) == MIXED


# ---------------------------------------------------------------------------- S3


class CountingApi:
    """An ObjectApi that counts the streams it opens."""

    def __init__(self, api: ObjectApi) -> None:
        self.api = api
        self.opened: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    def open_object(self, bucket: str, key: str) -> BinaryIO:
        self.opened.append(key)
        return self.api.open_object(bucket, key)


def _upload_fixture(prefix: str) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for path in FIXTURE.rglob("*"):
        if path.is_file() and "AWSDynamoDB" in path.parts:
            key = f"{prefix}{path.relative_to(FIXTURE).as_posix()}"
            s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())


@pytest.mark.usefixtures("moto_aws")
def test_reading_from_s3_streams_only_the_non_empty_files() -> None:
    """Through the S3 adapter: same items and changes; empty data files are never fetched."""
    _upload_fixture("backups/test/")
    api = AwsApi(AwsSettings(REGION))
    base = f"s3://{BUCKET}/backups/test/AWSDynamoDB"
    assert list(iter_items(f"{base}/{FULL_ID}/", api=api)) == FIXTURE_ITEMS
    assert list(iter_changes(f"{base}/{INSERTS_ID}/", api=api)) == INSERTS
    counting = CountingApi(api)
    store = S3Store(counting, BUCKET)
    folder = parse_folder(f"backups/test/AWSDynamoDB/{MIXED_ID}")
    assert list(iter_changes((store, folder))) == MIXED
    assert counting.opened == [
        f"backups/test/AWSDynamoDB/data/{name}.json.gz"
        for name in (
            "cs7ahitfvy7cvcukoarpvv6fu4",
            "vv6znehhmq4x3hfgpshdp2m5ta",
            "unx44ti5ru22xkgzcr7wlucsl4",
            "ipce3huava4gbixww55o55lpze",
        )
    ]


# ---------------------------------------------------------------------------- local exports


def write_export(
    root: Path,
    items: Sequence[Mapping[str, Any]],
    *,
    export_format: str = "DYNAMODB_JSON",
    partitions: int = 4,
    key_names: Sequence[str] = ("pk",),
    sidecar: bool = False,
) -> Path:
    """A FULL export of ``items`` (DynamoDB JSON) laid out as AWS does, under ``root``."""
    export_id = "01768385930622-0000abcd"
    moment = datetime(2026, 1, 14, 10, 18, 50, tzinfo=UTC)
    summary = summary_fields(
        export_arn=f"arn:aws:dynamodb:{REGION}:123456789012:table/t/export/{export_id}",
        start=moment,
        end=moment + timedelta(minutes=5),
        table_arn=f"arn:aws:dynamodb:{REGION}:123456789012:table/t",
        table_id="cf263806-6bf1-4e51-a242-7067dcdecc72",
        bucket="bucket",
        prefix=None,
        sse="AES256",
        kms_key=None,
        billed_bytes=0,
        export_format=export_format,
        export_time=moment,
    )
    files = build_export_files(
        lines=[(keys_of(item, key_names), full_record(item, export_format)) for item in items],
        summary=summary,
        prefix=None,
        export_id_value=export_id,
        export_format=export_format,
        incremental=False,
        partitions=partitions,
        rng=random.Random(5),
    )
    for key, data in files.objects.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    folder = root / "AWSDynamoDB" / export_id
    if sidecar:
        schema = [
            {"AttributeName": name, "KeyType": "HASH" if index == 0 else "RANGE"}
            for index, name in enumerate(key_names)
        ]
        # Range key first: the reader must put the partition key first whatever the order.
        (folder / "ddbexport-schema.json").write_text(
            json.dumps({"Table": {"KeySchema": schema[::-1]}})
        )
    return folder


class CountingStore(LocalStore):
    """A LocalStore that counts the files it opens."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.opened = 0

    def open(self, key: str) -> BinaryIO:
        self.opened += 1
        return super().open(key)


def _typed(index: int) -> dict[str, Any]:
    return {
        "pk": {"S": f"item-{index:06d}"},
        "n": {"N": str(index)},
        "text": {"S": "x" * 400},
    }


def test_items_are_read_lazily_one_file_at_a_time(tmp_path: Path) -> None:
    folder = write_export(tmp_path, [_typed(index) for index in range(200)], partitions=4)
    store = CountingStore(tmp_path)
    items = iter_items((store, ExportFolder("", folder.name)))
    assert store.opened == 0
    first = next(items)
    assert first["pk"].startswith("item-")
    assert store.opened == 1
    assert len([first, *items]) == 200
    assert store.opened == 4


def test_memory_stays_flat_however_large_the_export(tmp_path: Path) -> None:
    """~20 MB of items in one data file are read with a few MB at most."""
    folder = write_export(tmp_path, [_typed(index) for index in range(40_000)], partitions=1)
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_items(str(folder)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 40_000
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MB"


def test_ion_and_json_files_read_the_same(tmp_path: Path) -> None:
    items = [
        {
            "pk": {"S": "a"},
            "n": {"N": "12345678901234567890123456789012345678"},
            "small": {"N": "-1.5E-7"},
            "bin": {"B": "AAE="},
            "m": {"M": {"odd name": {"BOOL": False}, "l": {"L": [{"NULL": True}, {"S": ""}]}}},
            "ns": {"NS": ["1", "2.5"]},
        }
    ]
    json_folder = write_export(tmp_path / "json", items)
    ion_folder = write_export(tmp_path / "ion", items, export_format="ION")
    assert next(ion_folder.glob("data/*.ion.gz"))
    expected = [
        {
            "pk": "a",
            "n": Decimal("12345678901234567890123456789012345678"),
            "small": Decimal("-1.5E-7"),
            "bin": b"\x00\x01",
            "m": {"odd name": False, "l": [None, ""]},
            "ns": {Decimal(1), Decimal("2.5")},
        }
    ]
    assert list(iter_items(str(json_folder))) == expected
    assert list(iter_items(str(ion_folder))) == expected


def test_a_corrupt_file_is_named_with_its_line(tmp_path: Path) -> None:
    folder = write_export(tmp_path, [_typed(index) for index in range(3)], partitions=1)
    data = next(folder.glob("data/*.json.gz"))
    data.write_bytes(gzip.compress(b'{"Item":{"pk":{"S":"1"}}}\n{"Item": nope}\n'))
    with pytest.raises(ExportReadError, match=rf"{data.name} line 2: not a record"):
        list(iter_items(str(folder)))
    data.write_bytes(gzip.compress(b'{"Item":{"pk":{"N":"one"}}}\n'))
    with pytest.raises(ExportReadError, match=rf"{data.name} line 1: bad attribute value"):
        list(iter_items(str(folder)))
    data.write_bytes(gzip.compress(b'{"Keys":{"pk":{"S":"1"}}}\n'))
    with pytest.raises(ExportReadError, match=r"line 1: not a record of a FULL_EXPORT.*Item"):
        list(iter_items(str(folder)))
    data.write_bytes(b"not gzip at all")
    with pytest.raises(ExportReadError, match=rf"{data.name}: cannot read it as gzip"):
        list(iter_items(str(folder)))
    data.unlink()
    with pytest.raises(ExportReadError, match=rf"{data.name}: cannot open it"):
        list(iter_items(str(folder)))


def test_open_export_reads_the_key_names_from_the_sidecar(tmp_path: Path) -> None:
    folder = write_export(tmp_path, [], key_names=("pk", "sk"), sidecar=True)
    assert open_export(str(folder)).key_names == ("pk", "sk")
    assert open_export(fixture_folder(FULL_ID)).key_names is None


def test_plain_values_of_every_type() -> None:
    assert plain_item(
        {
            "s": {"S": ""},
            "n": {"N": "-0.00000000000000000000000000000000000001"},
            "b": {"B": ""},
            "t": {"BOOL": True},
            "z": {"NULL": True},
            "m": {"M": {}},
            "l": {"L": []},
            "ss": {"SS": ["b", "a"]},
            "ns": {"NS": ["1E+125", "-1E-130"]},
            "bs": {"BS": ["AA==", "AQ=="]},
        }
    ) == {
        "s": "",
        "n": Decimal("-1E-38"),
        "b": b"",
        "t": True,
        "z": None,
        "m": {},
        "l": [],
        "ss": {"a", "b"},
        "ns": {Decimal("1E+125"), Decimal("-1E-130")},
        "bs": {b"\x00", b"\x01"},
    }
    with pytest.raises(ValueError, match="not a DynamoDB-JSON value"):
        plain_value({"X": 1})


# ---------------------------------------------------------------------------- the sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox whose one-minute exports finish in a blink, and a bucket."""
    with Sandbox(SandboxSettings(base_duration_s=60, seed=11), time_scale=3600) as box:
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield box


def _create_table(name: str) -> str:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    arn = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    dynamodb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    return str(arn)


def _export(sandbox: Sandbox, arn: str, **kwargs: Any) -> str:
    """Run an export to the end; returns its s3:// folder."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    started = dynamodb.export_table_to_point_in_time(TableArn=arn, S3Bucket=BUCKET, **kwargs)
    sandbox.advance(3600)
    done = dynamodb.describe_export(ExportArn=started["ExportDescription"]["ExportArn"])
    description = done["ExportDescription"]
    assert description["ExportStatus"] == "COMPLETED"
    return f"s3://{BUCKET}/{description['ExportManifest'].rsplit('/', 1)[0]}/"


_SERIALIZER = TypeSerializer()


def _put(table: str, items: Sequence[Mapping[str, Any]]) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for item in items:
        typed = {name: _SERIALIZER.serialize(value) for name, value in item.items()}
        dynamodb.put_item(TableName=table, Item=typed)


def _nest(value: Any, depth: int) -> Any:
    for level in range(depth):
        value = {"d": value} if level % 2 else [value]
    return value


EVERY_TYPE = [
    {
        "pk": "every-type",
        "s": "ünïcødé ✓ 😀",
        "empty": "",
        "n": Decimal("-9.9999999999999999999999999999999999999E+125"),
        "tiny": Decimal("1E-130"),
        "int": Decimal("12345678901234567890123456789012345678"),
        "b": b"\x00\xff binary",
        "empty_b": b"",
        "t": True,
        "f": False,
        "z": None,
        "ss": {"a", "ß", " "},
        "ns": {Decimal("1"), Decimal("0.5"), Decimal("-3E+10")},
        "bs": {b"\x00", b"\x01\x02"},
        "l": [Decimal(1), "two", None, [b"\x03"], {"k": {"x"}}],
        "m": {"nested": {"deeper": [True, Decimal("0.1")]}, "with space": "x"},
        "deep": _nest("bottom", 31),
    },
    {"pk": "sparse"},
]


def test_sandbox_exports_in_json_and_ion_read_back_as_the_table(sandbox: Sandbox) -> None:
    """Every attribute type, 32 levels of nesting, unicode: the table, from either format."""
    arn = _create_table("every")
    _put("every", EVERY_TYPE)
    sandbox.advance(60)
    for export_format in ("DYNAMODB_JSON", "ION"):
        target = _export(sandbox, arn, ExportFormat=export_format, S3Prefix=export_format.lower())
        api = AwsApi(AwsSettings(REGION))
        items = sorted(iter_items(target, api=api), key=lambda item: item["pk"])
        assert items == sorted(EVERY_TYPE, key=lambda item: item["pk"]), export_format
        typed = sorted(iter_items(target, typed=True, api=api), key=lambda item: item["pk"]["S"])
        assert [plain_item(item) for item in typed] == items


def test_sandbox_incremental_exports_say_insert_update_delete(sandbox: Sandbox) -> None:
    """NEW_AND_OLD_IMAGES tells inserts from updates; NEW_IMAGE cannot, and says update."""
    arn = _create_table("orders")
    _put("orders", [{"pk": "old", "n": Decimal(1)}, {"pk": "gone", "n": Decimal(2)}])
    sandbox.advance(60)
    start = sandbox.now()
    sandbox.advance(1)
    _put("orders", [{"pk": "new", "n": Decimal(3)}, {"pk": "old", "n": Decimal(4)}])
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName="orders", Key={"pk": {"S": "gone"}}
    )
    sandbox.advance(20 * 60)
    spec = {"ExportFromTime": start, "ExportToTime": start + timedelta(minutes=15)}
    api = AwsApi(AwsSettings(REGION))
    expected = {
        "NEW_AND_OLD_IMAGES": {
            "new": ("insert", None, {"pk": "new", "n": Decimal(3)}),
            "old": ("update", {"pk": "old", "n": Decimal(1)}, {"pk": "old", "n": Decimal(4)}),
            "gone": ("delete", {"pk": "gone", "n": Decimal(2)}, None),
        },
        "NEW_IMAGE": {
            "new": ("update", None, {"pk": "new", "n": Decimal(3)}),
            "old": ("update", None, {"pk": "old", "n": Decimal(4)}),
            "gone": ("delete", None, None),
        },
    }
    for view, wanted in expected.items():
        target = _export(
            sandbox,
            arn,
            S3Prefix=view.lower(),
            ExportType="INCREMENTAL_EXPORT",
            IncrementalExportSpecification={**spec, "ExportViewType": view},
        )
        changes = {change.keys["pk"]: change for change in iter_changes(target, api=api)}
        got = {pk: (c.kind, c.old_image, c.new_image) for pk, c in changes.items()}
        assert got == wanted, view
        for change in changes.values():
            assert change.write_time is not None
            assert start <= change.write_time < start + timedelta(minutes=15)


# Attribute values as Python values, the way boto3's TypeSerializer takes them.
_names = st.text(min_size=1, max_size=6)
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_numbers = st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(int(d) for d in digits), exponent)),
    st.integers(0, 1),
    st.text("0123456789", min_size=1, max_size=38).filter(lambda d: d[0] != "0" or d == "0"),
    st.integers(-40, 40),
)
_scalars = (
    _text
    | _numbers
    | st.binary(max_size=12)
    | st.booleans()
    | st.none()
    | st.sets(_text.filter(bool), min_size=1, max_size=4)
    | st.sets(_numbers, min_size=1, max_size=4)
    | st.sets(st.binary(max_size=8), min_size=1, max_size=4)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
    max_leaves=8,
)
_deep_values = st.builds(_nest, _values, st.integers(0, 30))
_items = st.lists(
    st.dictionaries(_names.filter(lambda name: name != "pk"), _values | _deep_values, max_size=5),
    max_size=3,
)


def test_property_table_to_export_to_items(sandbox: Sandbox) -> None:
    """Whatever the table holds, iter_items gives back exactly that (through S3 and gzip)."""
    api = AwsApi(AwsSettings(REGION))
    tables = iter(range(10_000))

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(_items, st.sampled_from(["DYNAMODB_JSON", "ION"]))
    def check(attributes: list[dict[str, Any]], export_format: str) -> None:
        name = f"prop-{next(tables)}"
        arn = _create_table(name)
        items = [{"pk": f"item-{index}", **item} for index, item in enumerate(attributes)]
        _put(name, items)
        sandbox.advance(60)
        target = _export(sandbox, arn, S3Prefix=name, ExportFormat=export_format)
        got = sorted(iter_items(target, api=api), key=lambda item: item["pk"])
        assert got == items

    check()
