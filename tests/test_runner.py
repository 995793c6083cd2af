"""The runner on the in-memory fake: hours of simulated exports in milliseconds."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from ddbexport.config.model import Config, validate_config
from ddbexport.core.models import ExportDescription, ExportPlan, ExportRequest
from ddbexport.errors import AccessDenied, InvalidExportTime, RetryableAwsError
from ddbexport.planning.planner import make_plan
from ddbexport.running.aftercare import Aftercare
from ddbexport.running.journal import RunJournal
from ddbexport.running.report import RunReport
from ddbexport.running.runner import MAX_PITR_WAITS, RunEvent, Runner
from ddbexport.testing import FakeExportApi, FakeTable, SimClock

from .helpers import fake_api


def _config(tables: list[dict[str, object]] | None = None, **run: object) -> Config:
    return validate_config(
        {
            "defaults": {"bucket": "exports"},
            "tables": tables or [{"match": "*"}],
            "run": {"poll_min": "15s", **run},
        },
        source="test",
    )


def _run(
    api: FakeExportApi,
    clock: SimClock,
    config: Config,
    *,
    state_dir: Path | None = None,
    run_id: str | None = None,
    enable_pitr: bool = False,
    events: list[RunEvent] | None = None,
) -> tuple[RunReport, Runner, ExportPlan]:
    plan = make_plan(config, api, now=clock.now(), run_id=run_id)
    journal = RunJournal(state_dir, plan.run_id) if state_dir else None
    runner = Runner(
        api,
        config.run,
        journal=journal,
        enable_pitr=enable_pitr,
        on_event=events.append if events is not None else None,
        clock=clock.monotonic,
        sleep=clock.sleep,
        now=clock.now,
    )
    return runner.run(plan), runner, plan


def _statuses(report: RunReport) -> dict[str, str]:
    return {result.table: result.status for result in report.tables}


def test_all_tables_complete_with_full_report(clock: SimClock) -> None:
    """Every table completes; the report carries ARNs, counts, times and describe calls."""
    api = fake_api(clock, FakeTable("aaa", item_count=7), FakeTable("bbb"), FakeTable("ccc"))
    report, _, plan = _run(api, clock, _config())
    assert _statuses(report) == {"aaa": "COMPLETED", "bbb": "COMPLETED", "ccc": "COMPLETED"}
    assert report.exit_code == 0
    assert report.summary == {
        "COMPLETED": 3,
        "FAILED": 0,
        "TIMED_OUT": 0,
        "INTERRUPTED": 0,
        "WAITING": 0,
        "total": 3,
        "not_sound": 0,
    }
    aaa = report.tables[0]
    assert aaa.item_count == 7
    assert aaa.export_arn is not None
    assert aaa.export_arn.startswith(api.table_arn("aaa") + "/export/")
    assert aaa.start_time is not None
    assert aaa.end_time is not None
    assert aaa.end_time - aaa.start_time == timedelta(minutes=10)
    assert aaa.describe_calls >= 1
    assert {r.export_time for r in api.started} == {plan.export_time}


def test_concurrency_cap_is_never_exceeded(clock: SimClock) -> None:
    """30 tables with a cap of 3: the service never sees more than 3 exports in progress."""
    tables = [FakeTable(f"table-{i:02d}", export_duration_s=300 + 60 * i) for i in range(30)]
    api = fake_api(clock, *tables)
    report, runner, _ = _run(api, clock, _config(max_concurrency=3))
    assert set(_statuses(report).values()) == {"COMPLETED"}
    assert api.peak_in_progress == 3
    assert runner.peak_in_flight == 3


def test_limit_exceeded_means_wait_and_retry_never_failure(clock: SimClock) -> None:
    """An account quota of 2 below a cap of 10: LimitExceeded is absorbed, all complete."""
    api = fake_api(clock, *[FakeTable(f"table-{i}") for i in range(8)], quota=2)
    events: list[RunEvent] = []
    report, _, _ = _run(api, clock, _config(max_concurrency=10), events=events)
    assert set(_statuses(report).values()) == {"COMPLETED"}
    assert api.peak_in_progress == 2
    assert any(e.kind == "waiting" and "quota" in e.message for e in events)
    assert len(api.started) == 8


def test_one_bad_table_does_not_stop_the_others(clock: SimClock) -> None:
    """Missing bucket, PITR off and access denied each fail only their own table."""
    api = fake_api(clock, FakeTable("good"), FakeTable("nopitr", pitr=False), FakeTable("denied"))
    api.fail_next("export_table")  # nothing queued: keeps the order independent
    config = _config(
        [
            {"name": "good"},
            {"name": "nopitr"},
            {"name": "denied"},
            {"name": "lost", "bucket": "no-such-bucket"},
        ]
    )
    api.tables["lost"] = FakeTable("lost")
    original = api.export_table

    def export_table(request):  # type: ignore[no-untyped-def]
        if request.table == "denied":
            raise AccessDenied("not authorized", code="AccessDeniedException")
        return original(request)

    api.export_table = export_table  # type: ignore[method-assign]
    report, _, _ = _run(api, clock, config)
    assert _statuses(report) == {
        "denied": "FAILED",
        "good": "COMPLETED",
        "lost": "FAILED",
        "nopitr": "FAILED",
    }
    errors = {r.table: r.error for r in report.tables if r.error}
    assert errors["lost"].code == "S3NoSuchBucket"
    assert errors["nopitr"].code == "PointInTimeRecoveryUnavailableException"
    assert "--enable-pitr" in errors["nopitr"].message
    assert "update-continuous-backups --table-name nopitr" in errors["nopitr"].message
    assert errors["denied"].code == "AccessDeniedException"
    assert report.exit_code == 1


def test_enable_pitr_turns_it_on_and_exports(clock: SimClock) -> None:
    """--enable-pitr: UpdateContinuousBackups, then the export goes ahead."""
    api = fake_api(clock, FakeTable("nopitr", pitr=False))
    events: list[RunEvent] = []
    report, _, _ = _run(api, clock, _config(), enable_pitr=True, events=events)
    assert _statuses(report) == {"nopitr": "COMPLETED"}
    assert api.calls["enable_pitr"] == 1
    assert any(e.kind == "pitr_enabled" for e in events)


def test_enable_pitr_moves_only_the_tables_it_enabled(clock: SimClock) -> None:
    """A table whose PITR the run enabled exports at its window's start; others keep the time."""
    as_of = clock.now() - timedelta(hours=1)
    api = fake_api(
        clock,
        FakeTable("off", pitr=False, pitr_warmup_attempts=2),
        FakeTable("recent", pitr_since=clock.now() - timedelta(minutes=30)),
        FakeTable("old"),
    )
    config = _config()
    plan = make_plan(config, api, now=clock.now(), as_of=as_of)
    events: list[RunEvent] = []
    runner = Runner(
        api,
        config.run,
        enable_pitr=True,
        on_event=events.append,
        clock=clock.monotonic,
        sleep=clock.sleep,
        now=clock.now,
    )
    report = runner.run(plan)
    results = {r.table: r for r in report.tables}
    assert results["old"].status == "COMPLETED"
    assert results["old"].export_time == as_of
    # Enabled by this run: PITR took two more tries to come on, then the window's first second.
    assert results["off"].status == "COMPLETED"
    assert results["off"].export_time == api.tables["off"].pitr_since
    assert [e.kind for e in events if e.table == "off"][:4] == [
        "pitr_enabled",
        "waiting",
        "waiting",
        "started",
    ]
    # PITR was already on, just not long enough: not this run's to move; a precise failure.
    assert results["recent"].status == "FAILED"
    assert results["recent"].export_time == as_of
    message = results["recent"].error.message  # type: ignore[union-attr]
    assert "before the earliest restorable time" in message
    assert api.calls["enable_pitr"] == 1


def test_pitr_that_never_comes_on_fails_without_the_enable_hint(clock: SimClock) -> None:
    """After enabling PITR the runner retries a bounded number of times, then says so."""
    api = fake_api(clock, FakeTable("stuck", pitr=False, pitr_warmup_attempts=1_000))
    report, _, _ = _run(api, clock, _config(), enable_pitr=True)
    error = report.tables[0].error
    assert report.tables[0].status == "FAILED"
    assert error is not None
    assert "enabled for table 'stuck' by this run" in error.message
    assert "--enable-pitr" not in error.message
    assert api.calls["export_table"] == 2 + MAX_PITR_WAITS  # before, just after, retries


def test_transient_errors_while_polling_are_retried(clock: SimClock) -> None:
    """Throttling and 5xx on DescribeExport delay the next check; the export still completes."""
    api = fake_api(clock, FakeTable("aaa"))
    api.fail_next(
        "describe_export",
        RetryableAwsError("throttled", code="ThrottlingException"),
        RetryableAwsError("oops", code="InternalServerError"),
        RetryableAwsError("throttled", code="ThrottlingException"),
    )
    report, _, _ = _run(api, clock, _config())
    assert _statuses(report) == {"aaa": "COMPLETED"}
    assert report.tables[0].describe_calls >= 4


def test_start_gives_up_after_repeated_server_errors(clock: SimClock) -> None:
    """A table whose start keeps failing with 5xx ends FAILED after bounded attempts."""
    api = fake_api(clock, FakeTable("aaa"), FakeTable("bbb"))
    api.fail_next(
        "export_table", *[RetryableAwsError("boom", code="InternalServerError") for _ in range(8)]
    )
    report, _, _ = _run(api, clock, _config(max_concurrency=1))
    statuses = _statuses(report)
    assert statuses["aaa"] == "FAILED"
    assert statuses["bbb"] == "COMPLETED"
    assert "gave up after 8 attempts" in report.tables[0].error.message  # type: ignore[union-attr]


def test_export_time_just_now_waits_for_pitr_to_catch_up(clock: SimClock) -> None:
    """InvalidExportTime for a too-recent time is retried once the PITR window has moved on."""
    api = fake_api(clock, FakeTable("aaa"))
    api.fail_next(
        "export_table", InvalidExportTime("outside window", code="InvalidExportTimeException")
    )
    report, _, _ = _run(api, clock, _config())
    assert _statuses(report) == {"aaa": "COMPLETED"}
    assert api.calls["describe_pitr"] == 1


def test_export_time_wait_is_bounded_by_the_run_timeout(clock: SimClock) -> None:
    """While the PITR window trails the export time the runner keeps waiting, until the timeout."""
    api = fake_api(clock, FakeTable("aaa", pitr_lag_s=10 * 3600))
    api.fail_next(
        "export_table",
        *[InvalidExportTime("outside window", code="InvalidExportTimeException")] * 500,
    )
    report, _, _ = _run(api, clock, _config(timeout="2h", retry_max="5m"))
    result = report.tables[0]
    assert result.status == "TIMED_OUT"
    assert result.error is not None
    assert "not started within the run's timeout" in result.error.message
    assert 20 < api.calls["export_table"] <= 2 * 3600 / 300 + 2


def test_timeout_marks_running_and_waiting_tables(clock: SimClock) -> None:
    """A 1-hour timeout with 3-hour exports: TIMED_OUT, export ARN kept, nothing else lost."""
    api = fake_api(clock, *[FakeTable(f"table-{i}", export_duration_s=3 * 3600) for i in range(3)])
    report, _, _ = _run(api, clock, _config(max_concurrency=2, timeout="1h"))
    results = {r.table: r for r in report.tables}
    assert {r.status for r in results.values()} == {"TIMED_OUT"}
    assert results["table-0"].export_arn is not None
    assert results["table-2"].export_arn is None
    assert "--run-id" in results["table-0"].error.message  # type: ignore[union-attr]
    assert report.exit_code == 1


def test_interrupt_then_rerun_resumes_without_new_exports(clock: SimClock, tmp_path: Path) -> None:
    """Ctrl-C: in-flight tables end INTERRUPTED; the same run id resumes, starting nothing new."""
    api = fake_api(clock, *[FakeTable(f"table-{i}") for i in range(4)])
    config = _config(max_concurrency=2)
    sleeps = 0

    def interrupting_sleep(seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        if sleeps == 2:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    plan = make_plan(config, api, now=clock.now())
    runner = Runner(
        api,
        config.run,
        journal=RunJournal(tmp_path, plan.run_id),
        clock=clock.monotonic,
        sleep=interrupting_sleep,
        now=clock.now,
    )
    first = runner.run(plan)
    assert first.interrupted
    assert first.exit_code == 130
    assert set(_statuses(first).values()) == {"INTERRUPTED"}
    started = [r.table for r in first.tables if r.export_arn]
    assert len(started) == 2
    assert len(api.started) == 2

    clock.advance(3600)
    second, _, _ = _run(api, clock, config, state_dir=tmp_path, run_id=plan.run_id)
    assert set(_statuses(second).values()) == {"COMPLETED"}
    assert len(api.started) == 4  # only the two that had not started
    arns = {r.table: r.export_arn for r in second.tables}
    assert {arns[t] for t in started} == {r.export_arn for r in first.tables if r.export_arn}


def test_rerun_of_finished_run_id_exports_nothing_again(clock: SimClock, tmp_path: Path) -> None:
    """Running a finished run id again reports the same exports and starts none."""
    api = fake_api(clock, FakeTable("aaa"), FakeTable("bbb"))
    first, _, plan = _run(api, clock, _config(), state_dir=tmp_path)
    clock.advance(86400)
    second, _, _ = _run(api, clock, _config(), state_dir=tmp_path, run_id=plan.run_id)
    assert len(api.started) == 2
    assert [r.export_arn for r in second.tables] == [r.export_arn for r in first.tables]
    assert second.export_time == first.export_time


def test_same_run_id_without_journal_attaches_via_client_token(clock: SimClock) -> None:
    """With the journal lost, the deterministic client token still prevents a duplicate export."""
    api = fake_api(clock, FakeTable("aaa"))
    _, _, plan = _run(api, clock, _config())
    report, _, _ = _run(api, clock, _config(), run_id=plan.run_id)
    assert len(api.started) == 1
    assert report.tables[0].status == "COMPLETED"


def test_previous_duration_cuts_detection_lag(clock: SimClock) -> None:
    """With the previous duration known, completion is noticed within a minute, in few checks."""
    api = fake_api(clock, FakeTable("aaa", export_duration_s=2 * 3600))

    def lag_of_run() -> tuple[float, int]:
        seen: list[float] = []

        def on_event(event: RunEvent) -> None:
            if event.kind == "completed":
                seen.append(clock.monotonic())

        plan = make_plan(_config(), api, now=clock.now())
        started = clock.monotonic()
        report = Runner(
            api,
            _config().run,
            on_event=on_event,
            clock=clock.monotonic,
            sleep=clock.sleep,
            now=clock.now,
        ).run(plan)
        return seen[0] - started - 2 * 3600, report.tables[0].describe_calls

    first_lag, _ = lag_of_run()
    clock.advance(86400)
    second_lag, second_calls = lag_of_run()
    assert first_lag > 60
    assert second_lag <= 60
    assert second_calls <= 2 * 0.2 * 2 * 3600 / 60 + 1  # one check a minute while due, at most


def test_fixed_polling_reproduces_the_seed(clock: SimClock) -> None:
    """--poll fixed:15s checks every 15 s: 40 checks for a 10-minute export."""
    api = fake_api(clock, FakeTable("aaa", export_duration_s=600))
    report, _, _ = _run(api, clock, _config(poll="fixed:15s"))
    assert report.tables[0].describe_calls == 40
    assert api.calls["latest_completed_export"] == 0


def test_conflicting_client_token_fails_with_advice(clock: SimClock) -> None:
    """Reusing a run id with other parameters fails that table and says to pick another run id."""
    api = fake_api(clock, FakeTable("aaa"))
    _, _, plan = _run(api, clock, _config())
    other = validate_config(
        {
            "defaults": {"bucket": "exports", "prefix": "elsewhere/{table}"},
            "tables": [{"match": "*"}],
        },
        source="t",
    )
    report, _, _ = _run(api, clock, other, run_id=plan.run_id)
    assert report.tables[0].status == "FAILED"
    assert "use another --run-id" in report.tables[0].error.message  # type: ignore[union-attr]


@pytest.mark.parametrize("count", [1, 40])
def test_every_table_reaches_a_terminal_state(clock: SimClock, count: int) -> None:
    """Whatever the mix, no table is left PENDING or IN_PROGRESS."""
    tables = [
        FakeTable(f"t-{i:03d}", pitr=i % 7 != 0, export_duration_s=60 * (i % 11 + 1))
        for i in range(count)
    ]
    api = fake_api(clock, *tables, quota=5)
    report, _, _ = _run(api, clock, _config(max_concurrency=8))
    assert len(report.tables) == count
    assert {r.status for r in report.tables} <= {"COMPLETED", "FAILED"}


def test_rerun_retries_an_export_that_ended_failed(clock: SimClock, tmp_path: Path) -> None:
    """A failed export is started again by a re-run: same export time, a token of its own."""
    api = fake_api(clock, FakeTable("aaa"), FakeTable("bbb"), buckets=set())
    config = _config()
    first, _, plan = _run(api, clock, config, state_dir=tmp_path)
    assert set(_statuses(first).values()) == {"FAILED"}
    error = first.tables[0].error
    assert error is not None
    assert error.code == "S3NoSuchBucket"
    assert f"run again with --run-id {plan.run_id} to retry it" in error.message

    api.buckets.add("exports")
    clock.advance(600)
    events: list[RunEvent] = []
    second, _, _ = _run(api, clock, config, state_dir=tmp_path, run_id=plan.run_id, events=events)
    assert _statuses(second) == {"aaa": "COMPLETED", "bbb": "COMPLETED"}
    assert len(api.started) == 4
    assert second.export_time == first.export_time
    retried = api.started[2:]
    assert {r.export_time for r in retried} == {first.export_time}
    assert not {r.client_token for r in retried} & {r.client_token for r in api.started[:2]}
    assert sum(e.kind == "retrying" for e in events) == 2

    # A third run of the id finds the retried exports in the journal: nothing new starts.
    third, _, _ = _run(api, clock, config, state_dir=tmp_path, run_id=plan.run_id)
    assert set(_statuses(third).values()) == {"COMPLETED"}
    assert len(api.started) == 4
    assert [r.export_arn for r in third.tables] == [r.export_arn for r in second.tables]


class _OverlapProbe(FakeExportApi):
    """A fake whose DescribeExport and table reads wait until ``parties`` of them are in flight:
    calls made one after another never get past the barrier (it breaks after a while)."""

    def __init__(self, clock: SimClock, parties: int, tables: list[FakeTable]) -> None:
        super().__init__(clock, tables)
        self.describe_barrier = threading.Barrier(parties, timeout=10)
        self.schema_barrier = threading.Barrier(parties, timeout=10)
        self.lock = threading.Lock()
        self.objects: dict[tuple[str, str], bytes] = {}

    def describe_export(self, export_arn: str) -> ExportDescription:
        description = super().describe_export(export_arn)
        if description.status == "COMPLETED":
            self.describe_barrier.wait()
        return description

    def table_schema(self, name: str) -> dict[str, object]:
        self.schema_barrier.wait()
        return {"Table": {"TableName": name}}

    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        kms_key: str | None = None,
        bucket_owner: str | None = None,
    ) -> None:
        with self.lock:
            self.objects[(bucket, key)] = data


def test_checks_due_together_overlap_and_report_as_if_serial(clock: SimClock) -> None:
    """Exports that end together are described and aftercared on the pool: the probe's
    barriers only open when four calls are in flight at once. The report and the order of the
    events are those of a run that makes every call in turn."""
    tables = [FakeTable(name, export_duration_s=600) for name in ("a", "b", "c", "d")]
    config = _config(poll="fixed:60s")
    probe = _OverlapProbe(clock, 4, tables)
    plan = make_plan(config, probe, now=clock.now(), run_id="overlap")
    events: list[RunEvent] = []
    aftercare = Aftercare(probe, catalog_prefix="_ddbexport", verify=False, now=clock.now)
    runner = Runner(
        probe,
        config.run,
        aftercare=aftercare,
        on_event=events.append,
        clock=clock.monotonic,
        sleep=clock.sleep,
        now=clock.now,
        io_workers=4,
    )
    report = runner.run(plan)
    assert _statuses(report) == dict.fromkeys("abcd", "COMPLETED")
    assert all(result.schema_key for result in report.tables)
    catalogued = sorted(key for _, key in probe.objects if key.startswith("_ddbexport/"))
    assert len(catalogued) == 4
    assert [event.table for event in events if event.kind == "completed"] == list("abcd")

    serial_clock = SimClock(clock.now() - timedelta(seconds=clock.monotonic()))
    serial_api = fake_api(serial_clock, *tables)
    serial = Runner(
        serial_api,
        config.run,
        clock=serial_clock.monotonic,
        sleep=serial_clock.sleep,
        now=serial_clock.now,
        io_workers=1,
    )
    serial_report = serial.run(
        make_plan(config, serial_api, now=serial_clock.now(), run_id="overlap")
    )
    assert [(r.table, r.status, r.describe_calls) for r in report.tables] == [
        (r.table, r.status, r.describe_calls) for r in serial_report.tables
    ]


def test_io_workers_must_be_positive(clock: SimClock) -> None:
    """A pool of no threads is refused when the runner is made, not halfway through a run."""
    with pytest.raises(ValueError, match="io_workers must be 1 or more"):
        Runner(fake_api(clock), _config().run, io_workers=0)


class _StartProbe(FakeExportApi):
    """Starts pass a barrier of ``parties``: it only opens when that many are in flight at once."""

    def __init__(self, clock: SimClock, parties: int, tables: list[FakeTable], quota: int) -> None:
        super().__init__(clock, tables, quota=quota)
        self.start_barrier = threading.Barrier(parties, timeout=10)
        self.first_batch = True

    def export_table(self, request: ExportRequest) -> ExportDescription:
        if self.first_batch:
            self.start_barrier.wait()
        return super().export_table(request)


def test_starts_go_out_together_and_refusals_keep_the_queue_order(clock: SimClock) -> None:
    """The first six starts are in flight at once (the probe's barrier needs all six). An
    account quota of two refuses four of them: the starts pause once, for the base pause (not
    doubled by each refusal of the batch), and the four are tried again in their queue order."""
    names = [f"table-{i}" for i in range(6)]
    tables = [FakeTable(name, export_duration_s=600) for name in names]
    probe = _StartProbe(clock, 6, tables, quota=2)
    config = _config(max_concurrency=6, poll="fixed:60s")
    plan = make_plan(config, probe, now=clock.now(), run_id="batch")
    events: list[RunEvent] = []

    def on_event(event: RunEvent) -> None:
        probe.first_batch = False
        events.append(event)

    runner = Runner(
        probe,
        config.run,
        on_event=on_event,
        clock=clock.monotonic,
        sleep=clock.sleep,
        now=clock.now,
        io_workers=6,
    )
    report = runner.run(plan)
    assert set(_statuses(report).values()) == {"COMPLETED"}
    assert probe.peak_in_progress == 2
    waiting = [event for event in events if event.kind == "waiting"]
    refused, again = waiting[:4], waiting[4:8]
    assert {event.message for event in refused} == {
        "export quota full (LimitExceededException); retrying in 15s"
    }
    # Which two the quota let in is the threads' race; the four it refused went back to the
    # head of the queue in queue order, and went out again (still refused) in that order.
    queue_order = [event.table for event in refused]
    assert len(set(queue_order)) == 4
    assert queue_order == sorted(queue_order)
    assert [event.table for event in again] == queue_order
