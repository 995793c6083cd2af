"""A Distributed Map's ResultWriter in moto's Step Functions interpreter, as AWS writes it.

moto 5.x parses ``ResultWriter`` but writes only a ``manifest.json`` whose ``ResultFiles`` lists
are empty ("TODO: generate result files"), and it keeps no record of how each child execution
ended. :func:`install` records every child's outcome as moto's worker finishes it, and writes
the results the way AWS does under ``<Prefix>/<map run id>/``: ``SUCCEEDED_0.json`` and
``FAILED_0.json`` (JSON arrays of one object per child: ``ExecutionArn``, ``Input``, ``Name``,
``Status``, start and stop dates, and ``Output`` or ``Error`` and ``Cause``), then
``manifest.json`` listing them (``DestinationBucket``, ``MapRunArn``, ``ResultFiles`` with
``FAILED``, ``PENDING`` and ``SUCCEEDED`` lists of ``{"Key", "Size"}``). The Map's output is
``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`` (the manifest), as on AWS.

A child's ``Input`` is its item as read (AWS gives it after ItemSelector); its start and stop
dates are on the sandbox clock, like every other time. A Map without a ResultWriter keeps no
outcomes once it has ended. Like the JSONata support, this only adds what moto lacks, so it stays
installed.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (  # noqa: E501
    DistributedItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (  # noqa: E501
    ResourceEvalS3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
from moto.stepfunctions.parser.asl.eval.program_state import (
    ProgramEnded,
    ProgramError,
    ProgramStopped,
)

_lock = threading.Lock()
#: The outcomes of each Map Run's children, by Map Run ARN, until its results are written.
_outcomes: dict[str, list[dict[str, Any]]] = defaultdict(list)
#: The sandbox clock's ``now``, under "now" (set by :func:`install`).
_clock: dict[str, Callable[[], datetime]] = {"now": lambda: datetime.now(UTC)}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _outcome(worker: Any, env: Any, job: Any, started: datetime) -> dict[str, Any]:
    """What AWS's result files say of one child execution."""
    record = worker._map_run_record
    name = uuid.uuid4().hex
    map_machine = record.map_state_machine_arn
    outcome: dict[str, Any] = {
        "ExecutionArn": map_machine.replace(":stateMachine:", ":execution:") + ":" + name,
        "Input": json.dumps(job.job_input, separators=(",", ":")),
        "InputDetails": {"Included": True},
        "Name": name,
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "StartDate": _stamp(started),
        "StateMachineArn": map_machine,
        "StopDate": _stamp(_clock["now"]()),
    }
    state = env.program_state()
    if isinstance(state, ProgramEnded) and job.job_output is not None:
        outcome["Status"] = "SUCCEEDED"
        outcome["Output"] = json.dumps(job.job_output, separators=(",", ":"))
        outcome["OutputDetails"] = {"Included": True}
    elif isinstance(state, ProgramStopped):
        outcome["Status"] = "ABORTED"
    else:
        # An uncaught error, or one raised before the child's first state (its ItemSelector).
        details = (state.error if isinstance(state, ProgramError) else None) or {}
        outcome["Status"] = "FAILED"
        outcome["Error"] = details.get("error", "States.Runtime")
        outcome["Cause"] = details.get("cause", "the child execution could not start")
    return outcome


def _eval_job(worker: Any, env: Any, job: Any) -> None:
    started = _clock["now"]()
    _originals["eval_job"](worker, env, job)
    outcome = _outcome(worker, env, job, started)
    with _lock:
        _outcomes[worker._map_run_record.map_run_arn].append(outcome)


def _put_results(env: Any, runtime: Any, credentials: Any) -> None:
    """ResultWriter's ``s3:putObject``: the result files, then the manifest that lists them."""
    parameters = env.stack.pop()
    env.stack.pop()  # the children's outputs: the files below hold them
    s3 = ResourceEvalS3._get_s3_client(resource_runtime_part=runtime, state_credentials=credentials)
    record = env.map_run_record_pool_manager.get_all()[-1]
    with _lock:
        outcomes = _outcomes.pop(record.map_run_arn, [])
    bucket = parameters["Bucket"]
    prefix = str(parameters.get("Prefix") or "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    folder = prefix + record.map_run_arn.split(":")[-1] + "/"
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status in ("SUCCEEDED", "FAILED"):
        chosen = [o for o in outcomes if (o["Status"] == "SUCCEEDED") == (status == "SUCCEEDED")]
        if not chosen:
            continue
        key = f"{folder}{status}_0.json"
        body = json.dumps(chosen).encode()
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        files[status].append({"Key": key, "Size": len(body)})
    manifest = {"DestinationBucket": bucket, "MapRunArn": record.map_run_arn, "ResultFiles": files}
    key = folder + "manifest.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest, indent=2).encode())
    env.stack.append(
        {"MapRunArn": record.map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": key}}
    )


def _eval_map(state: Any, env: Any) -> None:
    """A Map state; then the outcomes of its Map Runs that no ResultWriter took are dropped."""
    pool = env.map_run_record_pool_manager
    before = {record.map_run_arn for record in pool.get_all()}
    try:
        _originals["eval_map"](state, env)
    finally:
        with _lock:
            for record in pool.get_all():
                if record.map_run_arn not in before:
                    _outcomes.pop(record.map_run_arn, None)


_originals: dict[str, Any] = {}


def install(now: Callable[[], datetime]) -> None:
    """Make moto's Distributed Map write its results as AWS does, dated by ``now`` (the
    sandbox clock; patching is done once, the clock is the latest sandbox's)."""
    _clock["now"] = now
    if _originals:
        return
    _originals["eval_map"] = StateMap._eval_execution
    StateMap._eval_execution = _eval_map  # type: ignore[method-assign,assignment]
    _originals["eval_job"] = DistributedItemProcessorWorker._eval_job
    DistributedItemProcessorWorker._eval_job = _eval_job  # type: ignore[method-assign,assignment]
    ResourceEvalS3._handle_put_object = staticmethod(_put_results)  # type: ignore[method-assign,assignment]
