"""Planning a restore: read the export (summary, verification, ``data/`` listing, schema
sidecar) and decide the :class:`RestorePlan`, ImportTable request included; nothing is started.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ddbexport.core.ports import ObjectApi
from ddbexport.core.timeparse import format_instant
from ddbexport.errors import AwsError, ConfigError, RetryableAwsError
from ddbexport.exports.files import (
    SCHEMA_SIDECAR,
    SUMMARY,
    ExportFolder,
    ExportSummary,
    ManifestError,
    parse_files,
    parse_folder,
    parse_summary,
)
from ddbexport.exports.stores import S3Store, open_target, parse_s3_url
from ddbexport.exports.verify import verify_export

from .api import RestoreApi
from .request import (
    KMS_AWS_MANAGED,
    KMS_AWS_OWNED,
    import_request,
    restore_client_token,
    sse_specification,
    table_creation_parameters,
)
from .source import (
    KeyAttribute,
    SourceTable,
    check_table_name,
    source_from_keys,
    source_from_schema,
)

#: ImportTable's documented limit of S3 objects per import (the quota may since have risen).
IMPORT_OBJECT_LIMIT = 5000

_ACCOUNT = re.compile(r"[0-9]{12}")


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """Everything decided before ImportTable is called.

    Attributes:
        target: the export folder, ``s3://bucket/…/AWSDynamoDB/<ExportId>/``.
        table: the new table's name.
        export_arn: the export's ARN; ``source_table_arn`` the table it was made from.
        definition: where the new table's definition came from.
        request: the ImportTable request, exactly as it will be sent.
        ttl_attribute: TTL to enable once the import has COMPLETED (``None``: none).
        tags: tags to put on the new table once the import has COMPLETED.
        notes: what is not copied, or copied differently, and why.
        item_count: the export's item count.
    """

    target: str
    table: str
    export_arn: str
    source_table_arn: str
    definition: str
    request: dict[str, Any]
    ttl_attribute: str | None
    tags: dict[str, str]
    notes: tuple[str, ...]
    item_count: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "target": self.target,
            "table": self.table,
            "export_arn": self.export_arn,
            "source_table_arn": self.source_table_arn,
            "definition": self.definition,
            "item_count": self.item_count,
            "ttl_attribute": self.ttl_attribute,
            "tags": dict(self.tags),
            "notes": list(self.notes),
            "request": self.request,
        }


def plan_restore(
    target: str,
    table_name: str,
    *,
    api: RestoreApi,
    billing_mode: str | None = None,
    capacity: tuple[int, int] | None = None,
    kms_key: str | None = None,
    keys: Sequence[KeyAttribute] | None = None,
    bucket_owner: str | None = None,
    drop_local_indexes: bool = False,
    verify: bool = True,
    check_table: bool = True,
    new_import: bool = False,
) -> RestorePlan:
    """Read the export and decide the ImportTable request; nothing is started.

    Args:
        target: a FULL export folder in S3, ``s3://bucket/…/AWSDynamoDB/<ExportId>/``.
        table_name: the new table; it must not exist (unless ``check_table`` is False).
        keys: the key schema when the export has no (readable) schema sidecar; with a sidecar
            they must agree with it.
        bucket_owner: the bucket's account, for a bucket in another account.
        verify: check the export is whole before importing it (cheap checks: manifests,
            checksums, listed files) and that its ``data/`` folder holds nothing else.
        new_import: use a fresh ClientToken, so that AWS starts a new import even when it still
            remembers (for 8 hours) an ended import of this export into this table name.

    Raises:
        ConfigError: the target is not an S3 full export, is not whole, the table exists, the
            keys are unknown, or the definition cannot be imported; see the message.
    """
    check_table_name(table_name)
    if bucket_owner is not None and not _ACCOUNT.fullmatch(bucket_owner):
        raise ConfigError(f"bucket owner {bucket_owner!r} must be a 12-digit AWS account id")
    if not target.startswith("s3://"):
        raise ConfigError(_local_target_message(target))
    bucket, key = parse_s3_url(target)
    folder = parse_folder(key)
    url = f"s3://{bucket}/{folder.path}/"
    store = S3Store(api, bucket)
    summary = _read_summary(store, folder, url, verify=verify)
    data_prefix = folder.key("data/")
    data_files = _check_data_folder(api, store, folder, summary, data_prefix) if verify else None
    if check_table and api.table_exists(table_name):
        raise ConfigError(
            f"table {table_name!r} already exists: ImportTable only creates new tables. Choose "
            "another --table, or delete the table first. To finish an import this command "
            "started earlier, pass its ARN with --import-arn (find it with `aws dynamodb "
            "list-imports`)"
        )
    source, definition, notes = _source_definition(api, store, folder, summary, url, keys)
    sse, sse_notes = sse_specification(source, kms_key, _key_metadata(api, source, kms_key))
    params, param_notes = table_creation_parameters(
        source,
        table_name,
        billing_mode=billing_mode,
        capacity=capacity,
        sse=sse,
        drop_local_indexes=drop_local_indexes,
    )
    notes += param_notes + sse_notes + list(source.uncopied)
    tags = {k: v for k, v in source.tags.items() if not k.startswith("aws:")}
    if len(tags) < len(source.tags):
        notes.append("tags starting with 'aws:': not copied, only AWS may set them")
    if data_files is not None and data_files > IMPORT_OBJECT_LIMIT:
        notes.append(
            f"{data_files} data files: more than the {IMPORT_OBJECT_LIMIT} S3 objects per import "
            "ImportTable documents; the import may be refused unless the quota was raised"
        )
    request = import_request(
        bucket=bucket,
        data_prefix=data_prefix,
        input_format=summary.output_format,
        table_parameters=params,
        client_token=restore_client_token(
            summary.export_id, table_name, secrets.token_hex(8) if new_import else ""
        ),
        bucket_owner=bucket_owner,
    )
    return RestorePlan(
        target=url,
        table=table_name,
        export_arn=summary.export_arn,
        source_table_arn=summary.table_arn,
        definition=definition,
        request=request,
        ttl_attribute=source.ttl_attribute,
        tags=tags,
        notes=tuple(notes),
        item_count=summary.item_count,
    )


def _local_target_message(target: str) -> str:
    """Why a path on disk cannot be restored, with the export's S3 home when the copy knows it."""
    if not Path(target).exists():
        return (
            f"{target!r} is neither an s3:// URL nor a folder on disk; give the export folder as "
            "s3://BUCKET/PREFIX/AWSDynamoDB/<ExportId>/"
        )
    message = (
        f"{target} is a folder on disk, and ImportTable reads only from S3. Upload the export "
        "folder (e.g. `aws s3 sync FOLDER s3://BUCKET/PREFIX/AWSDynamoDB/<ExportId>/`) and give "
        "its s3://…/AWSDynamoDB/<ExportId>/ URL"
    )
    try:
        store, folder = open_target(target)
    except ConfigError:
        return message
    raw = store.read(folder.key(SUMMARY))
    try:
        summary = parse_summary(raw) if raw is not None else None
    except ManifestError:
        summary = None
    if summary is not None and summary.bucket:
        home = ExportFolder(summary.prefix or "", folder.export_id)
        message += f"; it was exported to s3://{summary.bucket}/{home.path}/ (if still there)"
    return message


def _read_summary(store: S3Store, folder: ExportFolder, url: str, *, verify: bool) -> ExportSummary:
    problems: list[str] = []
    if verify:
        checked = verify_export(store, folder)
        summary = checked.summary
        problems = [str(problem) for problem in checked.problems]
        if summary is None:
            raise ConfigError(f"{url}: no readable export: {problems[0]}")
    else:
        raw = store.read(folder.key(SUMMARY))
        if raw is None:
            raise ConfigError(f"{url}: no export here ({SUMMARY} not found)")
        try:
            summary = parse_summary(raw)
        except ManifestError as exc:
            raise ConfigError(f"{url}{SUMMARY}: cannot be read: {exc}") from None
    if summary.export_type != "FULL_EXPORT":
        since = format_instant(summary.from_time) if summary.from_time else "its window's start"
        raise ConfigError(
            f"{url} is an incremental export ({summary.export_type}: changes only, as "
            "Keys/NewImage records, which ImportTable cannot read). Restore the table's newest "
            f"full export at or before {since} "
            "(its baseline; `ddbexport list --table NAME` shows them); a table's state at a later "
            "instant is its baseline with the incremental exports merged in (a snapshot)"
        )
    if problems:
        shown = "; ".join(problems[:3])
        if len(problems) > 3:
            shown += f" (and {len(problems) - 3} more)"
        raise ConfigError(
            f"{url} is not whole, so the restored table would not be either: {shown}. "
            "Pass --no-verify to import it anyway"
        )
    return summary


def _check_data_folder(
    api: ObjectApi, store: S3Store, folder: ExportFolder, summary: ExportSummary, prefix: str
) -> int:
    """Refuse a ``data/`` folder holding objects the manifest does not list; return its size.

    ImportTable reads every object under the prefix, so a stray file would be imported too (or
    fail the import).
    """
    files_key = folder.resolve(summary.manifest_files_key)
    try:
        listed = {folder.resolve(entry.key) for entry in parse_files(store.read(files_key) or b"")}
    except ManifestError as exc:  # verified a moment ago: only a concurrent rewrite gets here
        raise ConfigError(f"{store.url(files_key)}: {exc}") from None
    present = [info.key for info in api.list_objects(store.bucket, prefix)]
    stray = sorted(key for key in present if key not in listed and not key.endswith("/"))
    if stray:
        raise ConfigError(
            f"s3://{store.bucket}/{prefix} holds {len(stray)} object(s) the export's manifest "
            f"does not list (e.g. {stray[0]}); ImportTable would read them too. Move them away "
            "or pass --no-verify to import everything under data/"
        )
    return len(present)


def _source_definition(
    api: RestoreApi,
    store: S3Store,
    folder: ExportFolder,
    summary: ExportSummary,
    url: str,
    keys: Sequence[KeyAttribute] | None,
) -> tuple[SourceTable, str, list[str]]:
    """The source's definition: the sidecar, else ``keys``, else DescribeTable of the source."""
    where = f"{url}{SCHEMA_SIDECAR}"
    raw = store.read(folder.key(SCHEMA_SIDECAR))
    unreadable = None
    if raw is not None:
        try:
            schema = json.loads(raw)
            if not isinstance(schema, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            unreadable = f"{where} is not JSON: {exc}"
        else:
            try:
                source = source_from_schema(schema, where)
            except ConfigError as exc:
                unreadable = str(exc)
            else:
                if keys is not None and tuple(keys) != source.key_schema:
                    raise ConfigError(
                        f"--key {_keys_text(keys)} disagrees with the export's schema sidecar, "
                        f"whose keys are {_keys_text(source.key_schema)} ({where}); leave --key "
                        "out or correct it"
                    )
                return source, "schema sidecar", []
    if keys is not None:
        notes = ["definition: keys only (--key): no indexes, TTL, tags or capacity copied"]
        if unreadable:
            notes.append(f"schema sidecar ignored: {unreadable}")
        return source_from_keys(summary.table, keys), "--key", notes
    if unreadable:
        raise ConfigError(
            f"{unreadable}. Give the keys with --key NAME:TYPE[,NAME:TYPE] (e.g. pk:S,sk:N) to "
            "restore without the sidecar"
        )
    try:
        schema = api.table_schema(summary.table_arn)
    except RetryableAwsError:
        raise
    except AwsError as exc:
        raise ConfigError(
            f"{url} has no schema sidecar ({SCHEMA_SIDECAR}, written by ddbexport runs) and its "
            f"table {summary.table_arn} cannot be described ({exc}), so the new table's keys are "
            "unknown: give them with --key NAME:TYPE[,NAME:TYPE] (e.g. pk:S or pk:S,sk:N; types "
            "S, N or B)"
        ) from None
    source = source_from_schema(schema, f"DescribeTable of {summary.table_arn}")
    notes = [
        "definition: the source table as it is now (no schema sidecar): it may differ from the "
        "table at export time"
    ]
    return source, f"DescribeTable of {summary.table_arn}", notes


def _keys_text(keys: Sequence[KeyAttribute]) -> str:
    return ",".join(f"{key.name}:{key.type}" for key in keys)


def _key_metadata(
    api: RestoreApi, source: SourceTable, kms_key: str | None
) -> dict[str, Any] | None:
    """DescribeKey of the source's KMS key, when the new table is to follow the source."""
    if kms_key is not None or source.sse_type != "KMS" or source.sse_key is None:
        return None
    try:
        return api.describe_key(source.sse_key)
    except RetryableAwsError:
        raise
    except AwsError as exc:
        raise ConfigError(
            f"the source table was encrypted with KMS key {source.sse_key}, which cannot be used "
            f"here ({exc}): pass --kms-key KEY (a customer managed key usable in this account and "
            f"region), --kms-key {KMS_AWS_MANAGED} or --kms-key {KMS_AWS_OWNED}"
        ) from None
