"""The outputs: the format, refusing a bad one early, the layout to a folder, to S3 or to a file."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from contextlib import suppress
from pathlib import Path, PurePosixPath

from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.core.ports import ObjectApi
from ddbexport.data import convert
from ddbexport.errors import AwsError, ConfigError
from ddbexport.exports.files import ExportFolder, join_key
from ddbexport.exports.stores import LocalStore, parse_s3_url

from .layout import Layout, write_data, write_manifests

DYNAMODB_JSON = "dynamodb-json"
FORMATS = (DYNAMODB_JSON, "jsonl", "parquet")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


def output_format(output: str | Path, to: str | None = None) -> str:
    """The format to write: ``to`` when given, else by the file name (``.jsonl``/``.ndjson``,
    ``.parquet``/``.pq``), else ``dynamodb-json`` (a folder).

    Raises:
        ConfigError: ``to`` is not one of :data:`FORMATS`.
    """
    if to is not None:
        if to not in FORMATS:
            raise ConfigError(
                f"unknown snapshot format {to!r}; expected one of {', '.join(FORMATS)}"
            )
        return to
    return _SUFFIX_FORMATS.get(PurePosixPath(str(output)).suffix.lower(), DYNAMODB_JSON)


def check_output(
    output: str | Path, fmt: str, *, force: bool, typed: bool, api: ObjectApi | None
) -> None:
    """Refuse an output that cannot or may not be written, before anything is read."""
    if typed and fmt == DYNAMODB_JSON:
        raise ConfigError(
            "--typed applies to jsonl and parquet snapshots; a dynamodb-json one is typed already"
        )
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ConfigError(convert.PARQUET_HINT)
    if isinstance(output, str) and output.startswith("s3://"):
        if fmt != DYNAMODB_JSON:
            raise ConfigError(
                f"{output}: only dynamodb-json snapshots are written to S3; write {fmt} to a "
                "file (-o PATH)"
            )
        bucket, prefix = parse_s3_url(output)
        root = join_key(prefix, "")
        present = (api or AwsApi(AwsSettings())).list_objects(bucket, root)
        if present and not force:
            raise ConfigError(
                f"{output} already holds {len(present)} object(s) (e.g. {present[0].key}): give "
                "an empty prefix, or --force to replace the snapshot's own folder there"
            )
        return
    path = Path(output)
    if not path.parent.is_dir():
        raise ConfigError(f"{path}: folder {path.parent} does not exist")
    if fmt == DYNAMODB_JSON:
        if path.exists() and not path.is_dir():
            raise ConfigError(
                f"{path} is a file; a dynamodb-json snapshot is a folder (give a new or empty "
                "folder, or -o FILE.jsonl / FILE.parquet for one file)"
            )
        if path.is_dir() and any(path.iterdir()) and not force:
            raise ConfigError(
                f"{path} is not empty: give a new or empty folder, or --force to replace what it "
                "holds"
            )
        return
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; a {fmt} snapshot is one file: give a file name")
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists: give another file, or --force to replace it")


def to_folder(layout: Layout, path: Path, force: bool) -> int:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    replaced = path.with_name(f".{path.name}.{os.getpid()}.old")
    try:
        folder = ExportFolder("", layout.export_id)
        files = write_data(layout, temporary, folder)
        write_manifests(layout, temporary, folder, files, {}, None)
        if path.is_dir():
            if any(path.iterdir()):
                # Checked before reading: --force was given. Moved aside, not deleted, until
                # the new folder is in place, so a failed rename can put it back.
                path.rename(replaced)
            else:
                path.rmdir()
        try:
            temporary.rename(path)
        except OSError:
            if replaced.exists() and not path.exists():
                replaced.rename(path)
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(replaced, ignore_errors=True)
    return sum(file.items for file in files)


def to_file(layout: Layout, path: Path, fmt: str, typed: bool) -> tuple[int, list[str]]:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.snapshot")
    try:
        folder = ExportFolder("", layout.export_id)
        files = write_data(layout, temporary, folder)
        write_manifests(layout, temporary, folder, files, {}, None)
        result = convert.convert((LocalStore(temporary), folder), fmt, path, typed=typed)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return result.rows, list(result.notes)


def write_to_s3(
    layout: Layout,
    api: ObjectApi,
    bucket: str,
    folder: ExportFolder,
    force: bool,
    kms_key: str | None,
    bucket_owner: str | None,
) -> int:
    uploaded: list[str] = []

    def upload(root: Path, key: str) -> None:
        data = (root / key).read_bytes()
        api.put_object(bucket, key, data, kms_key=kms_key, bucket_owner=bucket_owner)
        uploaded.append(key)

    with tempfile.TemporaryDirectory(prefix="ddbexport-snapshot-") as work:
        root = Path(work)
        files = write_data(layout, root, folder)
        if force:
            stale = [info.key for info in api.list_objects(bucket, folder.path + "/")]
            if stale:
                api.delete_objects(bucket, stale)
        try:
            for file in files:
                upload(root, file.key)
            etags = {
                info.key: info.etag.strip('"')
                for info in api.list_objects(bucket, folder.key("data/"))
                if info.etag
            }
            location = (bucket, kms_key)
            names = write_manifests(layout, root, folder, files, etags, location)
            for name in names:  # the summary last: it is what makes the folder an export
                upload(root, folder.key(name))
        except BaseException:
            with suppress(AwsError):
                api.delete_objects(bucket, uploaded)
            raise
    return sum(file.items for file in files)
