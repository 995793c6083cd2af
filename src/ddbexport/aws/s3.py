"""The S3 operations of :class:`~ddbexport.aws.adapter.AwsApi`: objects read (whole or as a
stream), listed, written and deleted, and buckets checked."""

from __future__ import annotations

import contextlib
import io
from typing import Any, BinaryIO, cast

import botocore.exceptions

from ddbexport.core.ports import ObjectInfo
from ddbexport.errors import AccessDenied, AwsError, BucketNotFound

from .errors import map_aws_errors
from .session import AwsClients


class _ObjectStream(io.RawIOBase):
    """An S3 object's body whose read errors are ours: a connection dropped mid-object
    (botocore's ResponseStreamingError, ReadTimeoutError, IncompleteReadError) becomes a
    :class:`RetryableAwsError` naming the object, like any other failed call."""

    def __init__(self, body: Any, operation: str) -> None:
        super().__init__()
        self._body = body
        self._operation = operation

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with map_aws_errors(self._operation):
            data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


class S3Operations(AwsClients):
    """S3's calls, each translated."""

    # ------------------------------------------------------------------ S3

    def get_object(self, bucket: str, key: str) -> bytes | None:
        """GetObject; ``None`` when the key does not exist."""
        with map_aws_errors("GetObject"):
            try:
                return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return None
                raise

    def open_object(self, bucket: str, key: str) -> BinaryIO:
        """GetObject's body as a stream (read it in chunks: constant memory).

        Raises:
            AwsError: the object does not exist (``NoSuchKey``) or cannot be read.
        """
        with map_aws_errors("GetObject"):
            body: Any = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
        return cast(BinaryIO, _ObjectStream(body, f"GetObject s3://{bucket}/{key}"))

    def list_objects(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        """Every object under ``prefix`` (all pages of ListObjectsV2)."""
        found = []
        with map_aws_errors("ListObjectsV2"):
            for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            ):
                found += [
                    ObjectInfo(obj["Key"], int(obj.get("Size", 0)), obj.get("ETag"))
                    for obj in page.get("Contents", [])
                ]
        return found

    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        kms_key: str | None = None,
        bucket_owner: str | None = None,
    ) -> None:
        """PutObject, always encrypted: SSE-KMS with ``kms_key``, else SSE-S3."""
        extra: dict[str, Any] = {"ServerSideEncryption": "AES256"}
        if kms_key:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
        if bucket_owner:
            extra["ExpectedBucketOwner"] = bucket_owner
        with map_aws_errors("PutObject"):
            self.s3.put_object(Bucket=bucket, Key=key, Body=data, **extra)

    def check_bucket(self, bucket: str, expected_owner: str | None = None) -> None:
        """HeadBucket (with ExpectedBucketOwner): raises ``BucketNotFound`` when it does not
        exist, ``AccessDenied`` when it is not ours to read or belongs to another account."""
        extra: dict[str, Any] = {"ExpectedBucketOwner": expected_owner} if expected_owner else {}
        with map_aws_errors("HeadBucket"):
            try:
                self.s3.head_bucket(Bucket=bucket, **extra)
            except botocore.exceptions.ClientError as exc:
                # HEAD responses have no body: S3 answers with a bare status code.
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in ("404", "NoSuchBucket", "NotFound"):
                    raise BucketNotFound(
                        f"HeadBucket: bucket {bucket!r} does not exist",
                        code="NoSuchBucket",
                        operation="HeadBucket",
                    ) from None
                if code in ("403", "AccessDenied", "Forbidden"):
                    raise AccessDenied(
                        f"HeadBucket: access to bucket {bucket!r} denied"
                        + (f" (or it is not owned by account {expected_owner})" if extra else ""),
                        code="AccessDenied",
                        operation="HeadBucket",
                    ) from None
                raise

    def delete_objects(self, bucket: str, keys: list[str]) -> None:
        """DeleteObjects in batches of 1,000; any key it could not delete raises."""
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            with map_aws_errors("DeleteObjects"):
                response = self.s3.delete_objects(
                    Bucket=bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise AwsError(
                    f"DeleteObjects: {len(errors)} key(s) not deleted, e.g. "
                    f"{first.get('Key')}: {first.get('Message')}",
                    code=str(first.get("Code", "DeleteFailed")),
                    operation="DeleteObjects",
                )
