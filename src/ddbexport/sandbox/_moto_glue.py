"""Where the sandbox plugs into moto: write capture, the export API and PITR windows.

moto's DynamoDB calls ``table.stream_shard.add(old, new)`` on every write (put, update, delete,
batch and transactions alike); the sandbox puts a recorder there that timestamps each write on the
sandbox clock and forwards to a real stream shard when the table has one. The export, PITR and
delete-table handlers are replaced while a sandbox is active and restored afterwards.
"""

from __future__ import annotations

import bisect
import email.utils
import functools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import moto.backends as moto_backends
import moto.core.responses as moto_responses
from moto.core.botocore_stubber import BotocoreStubber
from moto.core.exceptions import JsonRESTError
from moto.core.models import botocore_stubber
from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, ResourceNotFoundException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import dynamo_json_dump
from moto.dynamodb.responses import DynamoHandler
from moto.kms.models import kms_backends
from moto.moto_server.werkzeug_app import MotoRequestHandler
from moto.s3.models import FakeTableStorageBucket, S3Backend, s3_backends
from moto.s3.utils import _VersionedKeyStore
from moto.settings import moto_server_port
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (  # noqa: E501
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.utils import boto_client as moto_boto_client
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.sts.models import STSBackend
from py_partiql_parser import JsonParser

from ddbexport.core.pace import CLOCK_RATE_HEADER
from ddbexport.exports.files import one_part_etag
from ddbexport.exports.ion import read_record

from .accounts import strict_assume_role
from .engine import ExportService, SandboxApiError, TableState

if TYPE_CHECKING:
    from moto.dynamodb.models.dynamo_type import Item

_active: ExportService | None = None
_originals: dict[tuple[Any, str], Any] = {}
#: Writes of the transaction running on this thread; kept until it commits, dropped on cancel.
_transaction = threading.local()


def active_service() -> ExportService:
    """The export service of the running sandbox."""
    if _active is None:
        raise RuntimeError("no ddbexport sandbox is active")
    return _active


def _aws_error(error: SandboxApiError) -> JsonRESTError:
    return JsonRESTError(ERROR_TYPE_PREFIX + error.code, error.message)


def _item_json(item: Item) -> dict[str, Any]:
    return dict(json.loads(dynamo_json_dump(item.to_json()["Attributes"])))


def _state_of(service: ExportService, table: Table) -> TableState:
    keys = tuple(k for k in (table.hash_key_attr, table.range_key_attr) if k)
    return service.table_state(table.name, table.table_arn, keys)


class _WriteRecorder:
    """Sits where moto keeps a table's stream shard and records every write."""

    def __init__(self, table: Table, real_shard: Any) -> None:
        self._table = table
        self._real = real_shard

    def add(self, old: Item | None, new: Item | None) -> None:
        service = _active
        source = new if new is not None else old
        if service is not None and source is not None:
            write = _write_of(service, self._table, source, new)
            pending: list[_Write] | None = getattr(_transaction, "writes", None)
            if pending is not None:
                pending.append(write)
            else:
                service.history.record(*write)
        if self._real is not None:
            self._real.add(old, new)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


_Write = tuple[str, dict[str, Any], dict[str, Any] | None, int]


def _write_of(service: ExportService, table: Table, source: Item, new: Item | None) -> _Write:
    attributes = _item_json(source)
    state = _state_of(service, table)
    keys = {name: attributes[name] for name in state.key_names if name in attributes}
    image = _item_json(new) if new is not None else None
    return table.table_arn, keys, image, service.clock.micros()


# The real shard stays in the instance's own ``stream_shard`` slot (the property shadows it while
# the sandbox runs), so every table, whenever it was made, works the same once moto is restored.
def _get_shard(table: Table) -> Any:
    real = table.__dict__.get("stream_shard")
    return _WriteRecorder(table, real) if _active is not None else real


def _set_shard(table: Table, value: Any) -> None:
    table.__dict__["stream_shard"] = value


def _transact_write_items(backend: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
    # moto applies a transaction item by item and, on cancel, puts back deep copies of the
    # tables: its writes reach the history only once the whole transaction has gone through.
    _transaction.writes = []
    try:
        result = _originals[(DynamoDBBackend, "transact_write_items")](backend, *args, **kwargs)
        writes: list[_Write] = _transaction.writes
    finally:
        _transaction.writes = None
    service = _active
    if service is not None:
        for write in writes:
            service.history.record(*write)
    return result


def _record_restored(table: Table) -> Table:
    """A restored table's items exist from the moment of the restore."""
    service = _active
    if service is not None:
        for item in table.all_items():
            service.history.record(*_write_of(service, table, item, item))
    return table


def _restore_table_from_backup(backend: DynamoDBBackend, *args: Any, **kwargs: Any) -> Table:
    original = _originals[(DynamoDBBackend, "restore_table_from_backup")]
    return _record_restored(original(backend, *args, **kwargs))


def _restore_table_to_point_in_time(backend: DynamoDBBackend, *args: Any, **kwargs: Any) -> Table:
    original = _originals[(DynamoDBBackend, "restore_table_to_point_in_time")]
    return _record_restored(original(backend, *args, **kwargs))


# --------------------------------------------------------------------------- handlers


def _table_for(handler: DynamoHandler, name_or_arn: str) -> Table:
    backend: DynamoDBBackend = handler.dynamodb_backend
    try:
        return backend.get_table(name_or_arn)
    except ResourceNotFoundException:
        raise JsonRESTError(
            ERROR_TYPE_PREFIX + "TableNotFoundException", f"Table not found: {name_or_arn}"
        ) from None


def export_table_to_point_in_time(handler: DynamoHandler) -> ActionResult:
    service = active_service()
    body = dict(handler.body)
    try:
        table = _table_for(handler, body["TableArn"])
        description = service.start(
            handler.current_account, handler.region, _state_of(service, table), body
        )
    except SandboxApiError as error:
        raise _aws_error(error) from None
    return ActionResult({"ExportDescription": description})


def describe_export(handler: DynamoHandler) -> ActionResult:
    try:
        description = active_service().describe(handler.body["ExportArn"])
    except SandboxApiError as error:
        raise _aws_error(error) from None
    return ActionResult({"ExportDescription": description})


def list_exports(handler: DynamoHandler) -> ActionResult:
    body = handler.body
    try:
        page = active_service().list_exports(
            body.get("TableArn"), int(body.get("MaxResults") or 25), body.get("NextToken")
        )
    except SandboxApiError as error:
        raise _aws_error(error) from None
    return ActionResult(page)


def _backups_description(service: ExportService, state: TableState) -> dict[str, Any]:
    window = service.pitr_window(state)
    if window is None:
        pitr: dict[str, Any] = {"PointInTimeRecoveryStatus": "DISABLED"}
    else:
        pitr = {
            "PointInTimeRecoveryStatus": "ENABLED",
            "RecoveryPeriodInDays": state.recovery_days,
            "EarliestRestorableDateTime": window[0],
            "LatestRestorableDateTime": window[1],
        }
    return {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": pitr}


def describe_continuous_backups(handler: DynamoHandler) -> ActionResult:
    service = active_service()
    state = _state_of(service, _table_for(handler, handler.body["TableName"]))
    return ActionResult({"ContinuousBackupsDescription": _backups_description(service, state)})


def update_continuous_backups(handler: DynamoHandler) -> ActionResult:
    service = active_service()
    state = _state_of(service, _table_for(handler, handler.body["TableName"]))
    spec = handler.body["PointInTimeRecoverySpecification"]
    days = spec.get("RecoveryPeriodInDays")
    service.set_pitr(state, bool(spec["PointInTimeRecoveryEnabled"]), int(days) if days else None)
    return ActionResult({"ContinuousBackupsDescription": _backups_description(service, state)})


def _delete_table(backend: DynamoDBBackend, name: str) -> Table:
    table: Table = _originals[(DynamoDBBackend, "delete_table")](backend, name)
    service = _active
    if service is not None:
        service.history.forget(table.table_arn)
        service.tables.pop(table.table_arn, None)
    return table


# --------------------------------------------------------------------------- S3


def put_object(account: str, bucket: str, key: str, data: bytes) -> bool:
    """Write into moto's S3 of ``account``; False when the bucket does not exist."""
    backend = s3_backends[account]["aws"]
    if bucket not in backend.buckets:
        return False
    stored = backend.put_object(bucket_name=bucket, key_name=key, value=data)
    if key.endswith(".gz"):
        # AWS uploads data files as one-part multipart uploads: their ETag is "<md5 of md5>-1",
        # the value manifest-files.json records.
        stored._etag = one_part_etag(data)
    return True


def kms_key_usable(account: str, region: str, key: str) -> bool:
    """Whether ``key`` (id, ARN or alias) names an enabled key in moto's KMS."""
    backend = kms_backends[account][region]
    try:
        key_id = backend.any_id_to_key_id(key) if key else ""
    except Exception:  # moto raises several types for unknown ids and aliases
        return False
    found = backend.keys.get(key_id)
    return found is not None and found.key_state == "Enabled"


def bucket_exists(account: str, bucket: str) -> bool:
    """Whether ``bucket`` exists in ``account`` (moto S3)."""
    return bucket in s3_backends[account]["aws"].buckets


# --------------------------------------------------------------------------- ImportTable


def import_records(original: str) -> Iterator[Any]:
    """Read export data files in moto's ImportTable as AWS does.

    moto reads them with py_partiql_parser's JsonParser, which cannot read ION, counts an empty
    data file (every export has some: one file per partition) as an item error, and silently
    drops an item holding an empty map together with the rest of its file. Export data files
    (lines of ``{"Item": …}`` records) are read here instead; anything else goes to moto.
    """
    # Lines end at "\n" only: str.splitlines would also cut at U+0085 or U+2028 in a value.
    lines = [line for line in original.split("\n") if line.strip()]
    moto_parse = _originals[(JsonParser, "parse")].__func__
    try:
        if all(line.startswith("$ion_1_0") for line in lines):
            return iter([read_record(line) for line in lines])
        records = [json.loads(line) for line in lines]
    except ValueError:
        return iter(moto_parse(original))
    if all(isinstance(record, dict) and set(record) == {"Item"} for record in records):
        return iter(records)
    return iter(moto_parse(original))


# --------------------------------------------------------------------------- install


_HANDLERS = {
    "export_table_to_point_in_time": export_table_to_point_in_time,
    "describe_export": describe_export,
    "list_exports": list_exports,
    "describe_continuous_backups": describe_continuous_backups,
    "update_continuous_backups": update_continuous_backups,
}


_BACKEND_PATCHES: dict[str, Callable[..., Any]] = {
    "delete_table": _delete_table,
    "transact_write_items": _transact_write_items,
    "restore_table_from_backup": _restore_table_from_backup,
    "restore_table_to_point_in_time": _restore_table_to_point_in_time,
}


def _evaluation_environment(worker: ExecutionWorker) -> Any:
    """``$$.Execution.StartTime`` as AWS gives it — ISO-8601 text (``2026-11-28T03:00:00.123Z``),
    where moto hands over a datetime — and on the sandbox clock, like every other time."""
    env = _originals[(ExecutionWorker, "_get_evaluation_environment")](worker)
    execution = env.states.context_object.context_object_data["Execution"]
    start = active_service().clock.now() if _active is not None else execution.get("StartTime")
    if isinstance(start, datetime):
        stamp = start.astimezone(UTC).isoformat(timespec="milliseconds")
        execution["StartTime"] = stamp.replace("+00:00", "Z")
    return env


def _iso_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dict):
        return {key: _iso_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_iso_text(item) for item in value]
    if hasattr(value, "read"):  # GetObject's Body: AWS hands state machines the text
        return value.read().decode("utf-8", errors="replace")
    return value


def _aws_sdk_task(
    task: StateTaskServiceAwsSdk,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> Any:
    """AWS SDK task results as AWS gives them: timestamps and object bodies as text (moto
    leaves datetimes and streams, which States.JsonToString and intrinsics cannot take).

    Step Functions' own API names its members in camelCase (``mapRunArn``, ``itemCounts``);
    AWS SDK integrations take and give them in PascalCase, as for every service. moto passes
    them through unchanged (so ``MapRunArn`` is refused): here they are translated both ways.
    """
    original = _originals[(StateTaskServiceAwsSdk, "_eval_service_task")]
    runtime, parameters, credentials = (
        resource_runtime_part,
        normalised_parameters,
        state_credentials,
    )
    operation = None
    if task._get_boto_service_name() == "stepfunctions":
        client = boto_client_for(
            service="stepfunctions", region=runtime.region, state_credentials=credentials
        )
        name = client.meta.method_to_api_mapping[task._get_boto_service_action()]
        operation = client.meta.service_model.operation_model(name)
        if operation.input_shape is not None:
            task._to_boto_request(parameters, operation.input_shape)
    result = original(
        task,
        env,
        resource_runtime_part=runtime,
        normalised_parameters=parameters,
        state_credentials=credentials,
    )
    if env.stack:
        if operation is not None and operation.output_shape is not None:
            task._from_boto_response(env.stack[-1], operation.output_shape)
        env.stack[-1] = _iso_text(env.stack[-1])
    return result


def _call_action(handler: DynamoHandler) -> Any:
    """Every DynamoDB call passes here first: injected faults answer before moto does."""
    service = active_service()
    try:
        service.check_fault(handler._get_action())
    except SandboxApiError as error:
        status = 500 if error.code in ("InternalServerError", "ServiceUnavailable") else 400
        body = json.dumps({"__type": ERROR_TYPE_PREFIX + error.code, "message": error.message})
        headers = {**handler.response_headers, "Content-Type": "application/x-amz-json-1.0"}
        return status, headers, body
    return _originals[(DynamoHandler, "call_action")](handler)


def install(service: ExportService) -> None:
    """Route moto's export, PITR and write paths through ``service``."""
    global _active  # noqa: PLW0603 - one sandbox per process, as moto's backends are global
    if _active is not None:
        raise RuntimeError("a ddbexport sandbox is already active in this process")
    _active = service
    try:
        _patch(service)
    except BaseException:
        uninstall()  # never leave moto half patched
        raise


def _patch(service: ExportService) -> None:
    for name, function in _HANDLERS.items():
        _originals[(DynamoHandler, name)] = DynamoHandler.__dict__[name]
        setattr(DynamoHandler, name, function)
    _originals[(DynamoHandler, "call_action")] = DynamoHandler.__dict__["call_action"]
    DynamoHandler.call_action = _call_action  # type: ignore[method-assign]
    for name, function in _BACKEND_PATCHES.items():
        _originals[(DynamoDBBackend, name)] = DynamoDBBackend.__dict__[name]
        setattr(DynamoDBBackend, name, function)
    _originals[(ExecutionWorker, "_get_evaluation_environment")] = ExecutionWorker.__dict__[
        "_get_evaluation_environment"
    ]
    ExecutionWorker._get_evaluation_environment = _evaluation_environment  # type: ignore[method-assign,assignment]
    _originals[(StateTaskServiceAwsSdk, "_eval_service_task")] = StateTaskServiceAwsSdk.__dict__[
        "_eval_service_task"
    ]
    StateTaskServiceAwsSdk._eval_service_task = _aws_sdk_task  # type: ignore[method-assign,assignment]
    # AssumeRole as strict as AWS's: the role must exist (and its ExternalId be sent).
    _originals[(STSBackend, "assume_role")] = STSBackend.__dict__["assume_role"]
    STSBackend.assume_role = strict_assume_role  # type: ignore[method-assign]
    _originals[(Table, "stream_shard")] = Table.__dict__.get("stream_shard")
    Table.stream_shard = property(_get_shard, _set_shard)  # type: ignore[assignment]
    # The HTTP Date header follows the sandbox clock: moto sets it in process, werkzeug when
    # serving. Clients that read the service's time then live on the sandbox clock.
    clock = service.clock
    _originals[(moto_responses, "utcnow")] = moto_responses.utcnow  # type: ignore[attr-defined]
    moto_responses.utcnow = lambda: clock.now().replace(tzinfo=None)  # type: ignore[attr-defined]
    _originals[(MotoRequestHandler, "date_time_string")] = MotoRequestHandler.__dict__.get(
        "date_time_string"
    )
    MotoRequestHandler.date_time_string = (  # type: ignore[method-assign]
        lambda self, timestamp=None: email.utils.formatdate(clock.now().timestamp(), usegmt=True)
    )
    _originals[(JsonParser, "parse")] = JsonParser.__dict__["parse"]
    JsonParser.parse = staticmethod(import_records)
    # Every response says how fast the sandbox clock runs, so that clients which wait on the
    # service's clock (the runner does) wait sandbox seconds, not real ones. Read per response:
    # a test may change the pace while the sandbox runs.
    original_stub = BotocoreStubber.__dict__["process_request"]
    _originals[(BotocoreStubber, "process_request")] = original_stub

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        response = original_stub(self, request)
        if response is not None:
            response[1][CLOCK_RATE_HEADER] = f"{clock.time_scale:g}"
        return response

    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
    # A state machine's Wait states wait sandbox seconds too, like everything else here.
    _originals[(WaitFunction, "_wait_interval")] = WaitFunction.__dict__["_wait_interval"]

    def wait_interval(self: WaitFunction, env: Any, wait_seconds: int) -> None:
        deadline = time.monotonic() + max(wait_seconds, 0) / clock.time_scale
        while (remaining := deadline - time.monotonic()) > 0 and env.is_running():
            env.program_state_event.wait(remaining)

    WaitFunction._wait_interval = wait_interval  # type: ignore[method-assign]
    original_end_headers = MotoRequestHandler.end_headers
    _originals[(MotoRequestHandler, "end_headers")] = MotoRequestHandler.__dict__.get("end_headers")

    def end_headers(self: MotoRequestHandler) -> None:
        self.send_header(CLOCK_RATE_HEADER, f"{clock.time_scale:g}")
        original_end_headers(self)

    MotoRequestHandler.end_headers = end_headers  # type: ignore[method-assign,assignment]
    # Serving thousands of tables: moto lists its own package folder on every request to route
    # it; the list cannot change while serving.
    modules = tuple(moto_backends.list_of_moto_modules())
    _originals[(moto_backends, "list_of_moto_modules")] = moto_backends.list_of_moto_modules
    moto_backends.list_of_moto_modules = lambda: modules
    # moto lists a prefix by reading every version of every key of the bucket; thousands of
    # exports made that the server's largest cost, and a scan of every key name still grows with
    # the bucket. Each bucket's key names are kept sorted as keys are written and deleted, so a
    # prefix is found by bisection.
    original_list = S3Backend.__dict__["list_objects"]
    _originals[(S3Backend, "list_objects")] = original_list

    def list_objects(
        self: S3Backend, bucket: Any, prefix: str | None, *args: Any, **kwargs: Any
    ) -> Any:
        if prefix and not isinstance(bucket, FakeTableStorageBucket):
            keys = bucket.keys
            found = ((name, keys.get(name)) for name in _names_under(keys, prefix))
            matching = [(name, key) for name, key in found if key is not None]
            bucket = SimpleNamespace(keys=SimpleNamespace(items=lambda: matching))
        return original_list(self, bucket, prefix, *args, **kwargs)

    S3Backend.list_objects = list_objects  # type: ignore[method-assign]
    _index_key_names()
    _speed_up_requests()
    _cache_json_paths()
    _cache_boto_clients()


# --------------------------------------------------------------------------- interpreter speed
# moto's Step Functions interpreter was written for a few executions, not a Map of thousands of
# children: it parses every JSONPath again on each use and makes a new boto3 client for every
# task. Both are kept here while the sandbox runs.


def _replace(owner: Any, name: str, value: Any) -> None:
    _originals[(owner, name)] = getattr(owner, name)
    setattr(owner, name, value)


#: Guards every bucket's sorted key names (see :func:`_index_key_names`).
_names_lock = threading.Lock()
_NAMES = "_ddbexport_sorted_names"


def _sorted_names(store: _VersionedKeyStore) -> list[str]:
    """The store's key names, sorted (built from the keys when missing or out of step); call
    with ``_names_lock`` held."""
    names: list[str] | None = store.__dict__.get(_NAMES)
    if names is None or len(names) != len(store):
        names = store.__dict__[_NAMES] = sorted(dict.keys(store))
    return names


def _names_under(store: _VersionedKeyStore, prefix: str) -> list[str]:
    """The names of the store's keys that start with ``prefix``, in order."""
    with _names_lock:
        names = _sorted_names(store)
        start = bisect.bisect_left(names, prefix)
        end = start
        while end < len(names) and names[end].startswith(prefix):
            end += 1
        return names[start:end]


def _index_key_names() -> None:
    """Keep each bucket's key names sorted as moto writes (``[]=``, ``setlist``) and deletes
    (``pop``) keys; a store changed some other way is re-sorted when next listed."""
    original_set = _VersionedKeyStore.__setitem__
    original_setlist = _VersionedKeyStore.setlist
    original_pop = _VersionedKeyStore.pop

    def added(store: _VersionedKeyStore, key: str) -> None:
        with _names_lock:
            names: list[str] | None = store.__dict__.get(_NAMES)
            if names is not None:
                at = bisect.bisect_left(names, key)
                if at == len(names) or names[at] != key:
                    names.insert(at, key)

    def set_item(store: _VersionedKeyStore, key: str, value: Any) -> Any:
        result = original_set(store, key, value)
        added(store, key)
        return result

    def set_list(store: _VersionedKeyStore, key: Any, list_: Any) -> Any:
        result = original_setlist(store, key, list_)
        added(store, key)
        return result

    def pop(store: _VersionedKeyStore, key: str) -> None:
        original_pop(store, key)
        with _names_lock:
            names: list[str] | None = store.__dict__.get(_NAMES)
            if names is not None:
                at = bisect.bisect_left(names, key)
                if at < len(names) and names[at] == key:
                    del names[at]

    _replace(_VersionedKeyStore, "__setitem__", set_item)
    _replace(_VersionedKeyStore, "setlist", set_list)
    _replace(_VersionedKeyStore, "pop", pop)


def _speed_up_requests() -> None:
    """Per-request work of moto's that cannot change while the sandbox serves, done once."""
    # moto lists a response class's functions (inspect.getmembers) on every request to find
    # the action's method; the sandbox's own handlers are in place before the first request.
    original_names = getattr(moto_responses, "method_names_from_class")  # noqa: B009
    names_of: dict[type, list[str]] = {}

    def method_names(clazz: type) -> list[str]:
        names = names_of.get(clazz)
        if names is None:
            names = names_of[clazz] = original_names(clazz)
        return names

    _replace(moto_responses, "method_names_from_class", method_names)
    # A table given by ARN is found by scanning every table; its name is in the ARN.
    original_get = DynamoDBBackend.get_table

    def get_table(backend: DynamoDBBackend, table_name: str) -> Table:
        table = backend.tables.get(_name_in_arn(table_name))
        if table is not None and table.table_arn == table_name:
            return table
        return original_get(backend, table_name)

    _replace(DynamoDBBackend, "get_table", get_table)
    original_tags = DynamoDBBackend.list_tags_of_resource

    def list_tags_of_resource(backend: DynamoDBBackend, table_arn: str) -> list[dict[str, str]]:
        table = backend.tables.get(_name_in_arn(table_arn))
        if table is not None and table.table_arn == table_arn:
            return table.tags
        return original_tags(backend, table_arn)

    _replace(DynamoDBBackend, "list_tags_of_resource", list_tags_of_resource)


def _name_in_arn(arn: str) -> str:
    """``arn:aws:dynamodb:…:table/NAME`` → ``NAME`` (anything else: itself)."""
    return arn.rsplit(":table/", 1)[-1]


def _cache_json_paths() -> None:
    # jsonpath_ng builds a PLY parser on every parse (most of a state's time); its expressions
    # are immutable once parsed (find and update_or_create only read them), so one per path.
    _replace(json_path, "parse", functools.lru_cache(maxsize=4096)(json_path.parse))  # type: ignore[attr-defined]
    _replace(result_path, "parse", functools.lru_cache(maxsize=4096)(result_path.parse))  # type: ignore[attr-defined]


def _cache_boto_clients() -> None:
    """One boto3 client per region, service and endpoint (clients are thread-safe). moto makes
    each with the same fixed keys whatever credentials the state names, so nothing else counts."""
    original = moto_boto_client.boto_client_for
    clients: dict[tuple[str, str, bool, str], Any] = {}
    lock = threading.Lock()

    def cached(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service, bool(botocore_stubber.enabled), str(moto_server_port()))
        with lock:
            client = clients.get(key)
            if client is None:
                client = clients[key] = original(region=region, service=service)
        return client

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        ours = name.startswith("moto.stepfunctions.parser") or name == __name__
        if ours and getattr(module, "boto_client_for", None) is original:
            _replace(module, "boto_client_for", cached)


def uninstall() -> None:
    """Restore moto exactly as it was."""
    global _active  # noqa: PLW0603
    for (owner, name), original in _originals.items():
        if original is None:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    _originals.clear()
    _active = None
