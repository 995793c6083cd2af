"""Where export files are read from: a folder on disk, or S3 through the AWS adapter."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.core.ports import ExportStore, ObjectApi, ObjectInfo
from ddbexport.errors import ConfigError

from .files import ExportFolder, parse_folder


class LocalStore:
    """A folder on disk laid out as the bucket is (e.g. one downloaded with ``aws s3 sync``)."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ConfigError(f"{root} is not a folder")
        self.root = root
        self.location = str(root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def read(self, key: str) -> bytes | None:
        """The file's bytes."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def open(self, key: str) -> BinaryIO:
        """The file, opened for reading."""
        return self._path(key).open("rb")

    def stat(self, key: str) -> ObjectInfo | None:
        """The file's size; files on disk have no ETag."""
        path = self._path(key)
        if not path.is_file():
            return None
        return ObjectInfo(key, path.stat().st_size)

    def url(self, key: str) -> str:
        """The file's path."""
        return str(self._path(key))


class S3Store:
    """One bucket; listings are cached per folder so a verify costs one LIST per folder."""

    def __init__(self, api: ObjectApi, bucket: str) -> None:
        self._api = api
        self.bucket = bucket
        self.location = f"s3://{bucket}"
        self._folders: dict[str, dict[str, ObjectInfo]] = {}

    def read(self, key: str) -> bytes | None:
        """GetObject."""
        return self._api.get_object(self.bucket, key)

    def open(self, key: str) -> BinaryIO:
        """GetObject's body, streamed."""
        return self._api.open_object(self.bucket, key)

    def stat(self, key: str) -> ObjectInfo | None:
        """From the listing of the key's folder."""
        folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
        listing = self._folders.get(folder)
        if listing is None:
            listing = {info.key: info for info in self._api.list_objects(self.bucket, folder)}
            self._folders[folder] = listing
        return listing.get(key)

    def url(self, key: str) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{key}"


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key); raises :class:`ConfigError`."""
    if not url.startswith("s3://") or len(url) <= len("s3://"):
        raise ConfigError(f"{url!r} is not an S3 URL; expected s3://BUCKET/PREFIX")
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket:
        raise ConfigError(f"{url!r} names no bucket; expected s3://BUCKET/PREFIX")
    return bucket, key


def open_target(target: str, api: ObjectApi | None = None) -> tuple[ExportStore, ExportFolder]:
    """An export folder given as ``s3://bucket/…/AWSDynamoDB/<ExportId>/`` or a path on disk.

    Raises:
        ConfigError: the target is not an export folder, or the folder does not exist.
    """
    if target.startswith("s3://"):
        bucket, key = parse_s3_url(target)
        return S3Store(api or AwsApi(AwsSettings()), bucket), parse_folder(key)
    path = Path(target).resolve()
    parts = path.parts
    if "AWSDynamoDB" not in parts[:-1]:
        parse_folder(target)  # raises the standard message
    index = len(parts) - 1 - parts[::-1].index("AWSDynamoDB")
    if index + 1 >= len(parts):
        parse_folder(target)
    if not path.is_dir():
        raise ConfigError(f"{target}: no such folder")
    root = Path(*parts[:index])
    return LocalStore(root), ExportFolder("", parts[index + 1])
