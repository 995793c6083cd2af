"""Where export files are read from: a folder on disk, or S3 through the AWS adapter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from .errors import ConfigError


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object's key, size and ETag (``None`` where the store has no ETags, e.g. a disk)."""

    key: str
    size: int
    etag: str | None = None


class ObjectApi(Protocol):
    """The S3 operations ddbexport uses. Implementations raise :mod:`ddbexport.errors` only."""

    def get_object(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes, or ``None`` when there is no such key."""

    def open_object(self, bucket: str, key: str) -> BinaryIO:
        """The object's bytes as a stream, to read in chunks (constant memory).

        Raises:
            AwsError: the object does not exist or cannot be read.
        """

    def list_objects(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        """Every object under ``prefix`` (all pages)."""

    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        kms_key: str | None = None,
        bucket_owner: str | None = None,
    ) -> None:
        """Write an object, encrypted (SSE-S3, or SSE-KMS with ``kms_key``)."""

    def delete_objects(self, bucket: str, keys: list[str]) -> None:
        """Delete these keys (1,000 per request)."""


class ExportStore(Protocol):
    """Read access to the keys of one bucket (or one folder standing for it)."""

    location: str

    def read(self, key: str) -> bytes | None:
        """The bytes at ``key``, or ``None`` when it does not exist."""

    def open(self, key: str) -> BinaryIO:
        """The bytes at ``key`` as a stream, to read in chunks; the caller closes it.

        Raises:
            OSError: (a folder on disk) the file does not exist or cannot be opened.
            AwsError: (S3) the object does not exist or cannot be read.
        """

    def stat(self, key: str) -> ObjectInfo | None:
        """Size and ETag of ``key``, or ``None`` when it does not exist."""

    def url(self, key: str) -> str:
        """How to show ``key`` to a user (``s3://…`` or a path)."""


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
