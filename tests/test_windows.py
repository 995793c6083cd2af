"""Planning chained incremental exports: windows, catch-up, retries, PITR gaps. Pure."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddbexport.catalog.cursor import GAP, OVERLAP, cursor_of
from ddbexport.catalog.records import CatalogRecord
from ddbexport.core.models import PitrWindow
from ddbexport.errors import ConfigError, PitrUnavailable
from ddbexport.planning.windows import (
    FullExport,
    IncrementalSettings,
    IncrementalWindow,
    PitrGapError,
    TableHistory,
    TablePlan,
    ceil_to_grid,
    floor_to_grid,
    full_client_token,
    plan_table,
    window_client_token,
)

ARN = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders"
OTHER_ARN = "arn:aws:dynamodb:eu-west-1:111122223333:table/users"
T0 = datetime(2026, 11, 1, tzinfo=UTC)  # on every grid used here
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
#: No scheduled full exports, so that a test sees only the windows it is about.
SETTINGS = IncrementalSettings(full_every=None)
#: Every second is on the grid and nothing lags: boundaries fall exactly where the test puts them.
EXACT = IncrementalSettings(full_every=None, grid=timedelta(seconds=1), lag=timedelta(0))

_ids = itertools.count()


def _full(at: datetime, *, status: str = "COMPLETED", ok: bool | None = None) -> CatalogRecord:
    return CatalogRecord(
        table="orders",
        table_arn=ARN,
        export_arn=f"{ARN}/export/{next(_ids):014d}-full",
        export_type="FULL_EXPORT",
        status=status,
        s3_bucket="b",
        s3_prefix=None,
        export_folder="AWSDynamoDB/x",
        export_time=at,
        verification=None if ok is None else {"ok": ok},
    )


def _inc(
    start: datetime, end: datetime, *, status: str = "COMPLETED", ok: bool | None = None
) -> CatalogRecord:
    return CatalogRecord(
        table="orders",
        table_arn=ARN,
        export_arn=f"{ARN}/export/{next(_ids):014d}-inc",
        export_type="INCREMENTAL_EXPORT",
        status=status,
        s3_bucket="b",
        s3_prefix=None,
        export_folder="AWSDynamoDB/x",
        from_time=start,
        to_time=end,
        verification=None if ok is None else {"ok": ok},
    )


def _pitr(
    now: datetime, *, earliest: datetime = T0 - 35 * DAY, behind: timedelta = 5 * MIN
) -> PitrWindow:
    """PITR as DescribeContinuousBackups reports it: latest ``behind`` now."""
    return PitrWindow(enabled=True, earliest=earliest, latest=now - behind)


def _plan(
    records: list[CatalogRecord],
    now: datetime,
    options: IncrementalSettings = SETTINGS,
    **kwargs: object,
) -> TablePlan:
    pitr = kwargs.pop("pitr", None)
    assert pitr is None or isinstance(pitr, PitrWindow)
    return plan_table(
        TableHistory.of(records, ARN),
        pitr or _pitr(now, behind=timedelta(0) if options is EXACT else 5 * MIN),
        options,
        now,
        **kwargs,  # type: ignore[arg-type]
    )


def _windows(plan: TablePlan) -> list[IncrementalWindow]:
    assert all(isinstance(action, IncrementalWindow) for action in plan.actions)
    return [action for action in plan.actions if isinstance(action, IncrementalWindow)]


def _spans(plan: TablePlan) -> list[tuple[datetime, datetime]]:
    return [(window.from_time, window.to_time) for window in _windows(plan)]


def _apply(records: list[CatalogRecord], plan: TablePlan, *, fail_at: int | None = None) -> None:
    """Run the plan's exports in order; the one at ``fail_at`` fails and stops the rest."""
    for index, action in enumerate(plan.actions):
        status = "FAILED" if index == fail_at else "COMPLETED"
        if isinstance(action, FullExport):
            records.append(_full(action.export_time, status=status))
        else:
            records.append(_inc(action.from_time, action.to_time, status=status))
        if status == "FAILED":
            return


# ---------------------------------------------------------------- first run and steady state


def test_without_a_baseline_the_first_run_takes_a_full_export_on_the_grid() -> None:
    """No baseline: one full export, at latest - lag floored to the grid."""
    now = T0 + 7 * HOUR + 23 * MIN + 41 * timedelta(seconds=1)
    plan = _plan([], now)
    assert plan.cursor is None
    assert plan.baseline is None
    assert plan.waiting_reason is None
    (action,) = plan.actions
    assert isinstance(action, FullExport)
    # latest is now - 5m, lag 5m: 07:13:41, floored to 15 minutes.
    assert action.export_time == T0 + 7 * HOUR
    assert action.client_token == full_client_token(ARN, T0 + 7 * HOUR)
    assert "no baseline" in action.reason


def test_runs_every_seven_minutes_for_three_days_chain_exactly() -> None:
    """Each run's windows start where the previous run's ended: no gap, no overlap."""
    records = [_full(T0)]
    exported: list[tuple[datetime, datetime]] = []
    cursor = T0
    now = T0
    while now < T0 + 3 * DAY:
        now += 7 * MIN
        plan = _plan(records, now)
        assert plan.cursor == cursor
        spans = _spans(plan)
        if spans:
            assert plan.waiting_reason is None
            assert spans[0][0] == cursor
            cursor = spans[-1][1]
        else:
            assert plan.waiting_reason is not None
            assert plan.waiting_reason.startswith("next window ends at ")
        exported += spans
        _apply(records, plan)
    assert len(exported) > 250
    assert exported[0][0] == T0
    for (_, end), (start, _) in itertools.pairwise(exported):
        assert start == end
    for start, end in exported:
        assert 15 * MIN <= end - start <= DAY
        assert end == floor_to_grid(end, 15 * MIN)
    final = cursor_of(records, ARN)
    assert final.end == exported[-1][1] == cursor
    assert [(r.from_time, r.to_time) for r in final.links] == exported
    assert final.ignored == ()


def test_a_caught_up_table_waits_and_says_for_what() -> None:
    """The next window is not ready: no action, and the reason names its end."""
    records = [_full(T0)]
    plan = _plan(records, T0 + 20 * MIN)  # horizon 00:10, before 00:15
    assert plan.actions == ()
    assert plan.cursor == T0
    assert plan.waiting_reason is not None
    assert plan.waiting_reason.startswith("next window ends at 2026-11-01T00:15:00Z")
    assert "reaches 2026-11-01T00:20:00Z" in plan.waiting_reason


# ---------------------------------------------------------------- window-length boundaries


@pytest.mark.parametrize(
    ("backlog", "expected"),
    [
        (15 * MIN - timedelta(seconds=1), None),
        (15 * MIN, 15 * MIN),
        (15 * MIN + timedelta(seconds=1), 15 * MIN + timedelta(seconds=1)),
        (DAY - timedelta(seconds=1), DAY - timedelta(seconds=1)),
        (DAY, DAY),
    ],
    ids=["just-under-15m", "exactly-15m", "just-over-15m", "just-under-24h", "exactly-24h"],
)
def test_one_window_between_15_minutes_and_24_hours(
    backlog: timedelta, expected: timedelta | None
) -> None:
    """Windows shorter than 15 minutes wait; up to 24 hours go in one window."""
    plan = _plan([_full(T0)], T0 + backlog, EXACT)
    if expected is None:
        assert plan.actions == ()
        assert plan.waiting_reason is not None
        assert plan.waiting_reason.startswith("next window ends at 2026-11-01T00:15:00Z")
        assert plan.behind == backlog
    else:
        assert _spans(plan) == [(T0, T0 + expected)]
        assert plan.behind == timedelta(0)


def test_just_over_24_hours_leaves_the_remainder_waiting() -> None:
    """24 h + 1 s: one 24-hour window; the second left over waits for a later run."""
    plan = _plan([_full(T0)], T0 + DAY + timedelta(seconds=1), EXACT)
    assert _spans(plan) == [(T0, T0 + DAY)]
    assert plan.behind == timedelta(seconds=1)
    assert plan.waiting_reason is None


def test_an_off_grid_baseline_waits_for_a_full_window() -> None:
    """A baseline one second past the grid: the span to the next grid point is 14m59s."""
    baseline = T0 + timedelta(seconds=1)
    plan = _plan([_full(baseline)], T0 + 25 * MIN)  # horizon 00:15
    assert plan.actions == ()
    assert plan.waiting_reason is not None
    assert plan.waiting_reason.startswith("next window ends at 2026-11-01T00:30:00Z")
    later = _plan([_full(baseline)], T0 + 40 * MIN)  # horizon 00:30
    assert _spans(later) == [(baseline, T0 + 30 * MIN)]


def test_the_grid_and_its_bounds() -> None:
    """Grid points are multiples of the grid since the epoch, in UTC whatever the offset."""
    grid = 15 * MIN
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 1, 1, 7, tzinfo=paris)  # 00:07Z
    assert floor_to_grid(moment, grid) == T0
    assert ceil_to_grid(moment, grid) == T0 + grid
    assert floor_to_grid(T0, grid) == ceil_to_grid(T0, grid) == T0
    assert floor_to_grid(T0, grid).tzinfo is UTC


# ---------------------------------------------------------------- catch-up


def test_a_three_day_backlog_is_three_24_hour_windows() -> None:
    """After an outage the backlog goes in 24-hour windows, in order."""
    plan = _plan([_full(T0)], T0 + 3 * DAY + 10 * MIN)  # horizon exactly 3 days on
    assert _spans(plan) == [(T0, T0 + DAY), (T0 + DAY, T0 + 2 * DAY), (T0 + 2 * DAY, T0 + 3 * DAY)]
    assert plan.behind == timedelta(0)


def test_a_backlog_remainder_of_15_minutes_or_more_is_a_fourth_window() -> None:
    """Three days and 30 minutes: the remainder is long enough to go too."""
    plan = _plan([_full(T0)], T0 + 3 * DAY + 40 * MIN)
    assert _spans(plan)[-1] == (T0 + 3 * DAY, T0 + 3 * DAY + 30 * MIN)
    assert len(plan.actions) == 4


def test_a_short_backlog_remainder_waits() -> None:
    """Three days and 10 minutes (1-minute grid): three windows; 10 minutes wait."""
    options = replace(SETTINGS, grid=MIN)
    plan = _plan([_full(T0)], T0 + 3 * DAY + 20 * MIN, options)
    assert len(plan.actions) == 3
    assert _spans(plan)[-1][1] == T0 + 3 * DAY
    assert plan.behind == 10 * MIN
    assert plan.waiting_reason is None


def test_max_windows_leaves_the_rest_for_later_runs() -> None:
    """A bounded run exports the oldest windows; the next run carries on from there."""
    records = [_full(T0)]
    now = T0 + 3 * DAY + 10 * MIN
    plan = _plan(records, now, max_windows=2)
    assert _spans(plan) == [(T0, T0 + DAY), (T0 + DAY, T0 + 2 * DAY)]
    assert plan.behind == DAY
    _apply(records, plan)
    assert _spans(_plan(records, now, max_windows=2)) == [(T0 + 2 * DAY, T0 + 3 * DAY)]
    with pytest.raises(ConfigError, match="max_windows"):
        _plan(records, now, max_windows=0)


# ---------------------------------------------------------------- failures and retries


def test_a_failed_window_is_planned_again_with_a_retry_token() -> None:
    """FAILED does not advance the cursor; the same window comes back under a new token.

    AWS answers a token it has seen in the last 8 hours with that token's export, the FAILED
    one included, so the retry's token carries the attempt number (deterministically, from the
    catalog, so that concurrent retries still agree).
    """
    records = [_full(T0)]
    now = T0 + HOUR + 10 * MIN
    first = _plan(records, now)
    (window,) = _windows(first)
    assert (window.from_time, window.to_time) == (T0, T0 + HOUR)
    assert window.attempt == 1
    assert window.client_token == window_client_token(ARN, T0, T0 + HOUR)
    _apply(records, first, fail_at=0)

    retry = _plan(records, now + 3 * MIN)
    assert retry.cursor == T0
    (again,) = _windows(retry)
    assert (again.from_time, again.to_time) == (T0, T0 + HOUR)
    assert again.attempt == 2
    assert again.client_token == window_client_token(ARN, T0, T0 + HOUR, attempt=2)
    assert again.client_token != window.client_token
    assert _plan(records, now + 4 * MIN) == retry  # a concurrent retry agrees

    _apply(records, retry)
    assert _plan(records, now).cursor == T0 + HOUR


def test_a_window_that_failed_verification_is_no_link() -> None:
    """COMPLETED but found broken: exported again, as a second attempt."""
    records = [_full(T0), _inc(T0, T0 + HOUR, ok=False)]
    plan = _plan(records, T0 + HOUR + 10 * MIN)
    assert plan.cursor == T0
    (window,) = _windows(plan)
    assert (window.from_time, window.to_time, window.attempt) == (T0, T0 + HOUR, 2)


def test_a_failure_in_a_catch_up_stops_there_and_resumes_in_order() -> None:
    """The second of three windows fails: the next run starts with it again."""
    records = [_full(T0)]
    now = T0 + 3 * DAY + 10 * MIN
    _apply(records, _plan(records, now), fail_at=1)
    plan = _plan(records, now)
    assert plan.cursor == T0 + DAY
    assert _spans(plan) == [(T0 + DAY, T0 + 2 * DAY), (T0 + 2 * DAY, T0 + 3 * DAY)]
    assert [w.attempt for w in _windows(plan)] == [2, 1]


def test_a_failed_full_export_is_retried_with_its_own_token() -> None:
    """The first full export fails: the same export time, a second attempt."""
    now = T0 + HOUR
    records: list[CatalogRecord] = []
    first = _plan(records, now)
    _apply(records, first, fail_at=0)
    (retry,) = _plan(records, now).actions
    assert isinstance(retry, FullExport)
    assert retry.export_time == T0 + 45 * MIN
    assert retry.attempt == 2
    assert retry.client_token == full_client_token(ARN, T0 + 45 * MIN, attempt=2)


def test_exports_in_flight_hold_the_table() -> None:
    """An export still running may complete and move the cursor: plan nothing meanwhile."""
    history = TableHistory.of([_full(T0)], ARN, in_flight=[f"{ARN}/export/1-a"])
    now = T0 + 2 * HOUR
    plan = plan_table(history, _pitr(now), SETTINGS, now)
    assert plan.actions == ()
    assert plan.waiting_reason is not None
    assert "still in progress" in plan.waiting_reason
    assert f"{ARN}/export/1-a" in plan.waiting_reason


# ---------------------------------------------------------------- PITR


def test_a_cursor_before_the_pitr_window_stops_the_table() -> None:
    """The writes between the cursor and EarliestRestorableDateTime are lost to exports."""
    records = [_full(T0), _inc(T0, T0 + HOUR)]
    now = T0 + 5 * HOUR
    pitr = _pitr(now, earliest=T0 + 2 * HOUR)
    with pytest.raises(PitrGapError) as caught:
        _plan(records, now, pitr=pitr)
    message = str(caught.value)
    assert "table orders" in message
    assert "2026-11-01T01:00:00Z" in message
    assert "EarliestRestorableDateTime 2026-11-01T02:00:00Z" in message
    assert "--rebaseline" in message
    assert "new full export" in message
    assert isinstance(caught.value, ConfigError)
    assert (caught.value.table, caught.value.cursor, caught.value.earliest) == (
        "orders",
        T0 + HOUR,
        T0 + 2 * HOUR,
    )

    plan = _plan(records, now, pitr=pitr, rebaseline=True)
    (action,) = plan.actions
    assert isinstance(action, FullExport)
    assert action.export_time == T0 + 4 * HOUR + 45 * MIN
    assert "rebaseline" in action.reason


def test_a_cursor_at_the_start_of_the_pitr_window_continues() -> None:
    """ExportFromTime equal to EarliestRestorableDateTime is inside the window."""
    records = [_full(T0), _inc(T0, T0 + HOUR)]
    now = T0 + 2 * HOUR + 10 * MIN
    plan = _plan(records, now, pitr=_pitr(now, earliest=T0 + HOUR))
    assert _spans(plan) == [(T0 + HOUR, T0 + 2 * HOUR)]


def test_an_old_baseline_does_not_matter_while_the_cursor_is_in_the_window() -> None:
    """The window slides past the baseline after 35 days: only the cursor must be inside."""
    now = T0 + 40 * DAY
    records = [_full(T0), _inc(T0, T0 + 40 * DAY - HOUR)]
    plan = _plan(records, now, pitr=_pitr(now, earliest=now - 35 * DAY))
    assert _spans(plan) == [(T0 + 40 * DAY - HOUR, T0 + 40 * DAY - 15 * MIN)]


def test_pitr_off_is_refused() -> None:
    """Exports need point-in-time recovery."""
    now = T0 + HOUR
    with pytest.raises(PitrUnavailable, match="point-in-time recovery is off") as caught:
        _plan([_full(T0)], now, pitr=PitrWindow(enabled=False))
    assert caught.value.code == "PointInTimeRecoveryUnavailableException"


def test_a_full_export_waits_for_a_freshly_enabled_pitr_window() -> None:
    """PITR enabled three minutes ago: the first full export's time is not in it yet."""
    now = T0 + HOUR + 2 * MIN
    plan = _plan([], now, pitr=_pitr(now, earliest=T0 + 59 * MIN))
    assert plan.actions == ()
    assert plan.waiting_reason is not None
    assert "PITR window starts at 2026-11-01T00:59:00Z" in plan.waiting_reason
    assert "taken at 2026-11-01T01:00:00Z" in plan.waiting_reason


# ---------------------------------------------------------------- new baselines


def test_full_every_elapsed_takes_a_new_baseline() -> None:
    """Seven days after the baseline (measured to the horizon) a new full export is due."""
    options = replace(SETTINGS, full_every=7 * DAY)
    records = [_full(T0), _inc(T0, T0 + 7 * DAY - HOUR)]
    before = _plan(records, T0 + 7 * DAY - 15 * MIN + 10 * MIN, options)
    assert _spans(before) == [(T0 + 7 * DAY - HOUR, T0 + 7 * DAY - 15 * MIN)]

    due = _plan(records, T0 + 7 * DAY + 10 * MIN, options)
    (action,) = due.actions
    assert isinstance(action, FullExport)
    assert action.export_time == T0 + 7 * DAY
    assert "full_every (7d) has elapsed since the baseline at 2026-11-01T00:00:00Z" in (
        action.reason
    )

    _apply(records, due)
    after = _plan(records, T0 + 7 * DAY + HOUR + 10 * MIN, options)
    assert after.baseline is not None
    assert after.baseline.export_time == T0 + 7 * DAY
    assert _spans(after) == [(T0 + 7 * DAY, T0 + 7 * DAY + HOUR)]
    assert after.ignored == ()  # the old chain is history, not a problem


def test_rebaseline_without_a_gap_takes_a_new_full_export_once() -> None:
    """Asked for, a new baseline is planned; once it exists at the horizon, nothing more."""
    records = [_full(T0), _inc(T0, T0 + HOUR)]
    now = T0 + 2 * HOUR + 10 * MIN
    (action,) = _plan(records, now, rebaseline=True).actions
    assert isinstance(action, FullExport)
    assert action.export_time == T0 + 2 * HOUR
    records.append(_full(action.export_time))
    again = _plan(records, now, rebaseline=True)
    assert again.actions == ()
    assert again.waiting_reason is not None
    assert "already as recent" in again.waiting_reason


# ---------------------------------------------------------------- concurrent runs


def test_two_runs_in_one_grid_cell_plan_the_same_exports() -> None:
    """Slightly different clocks and PITR reads, the same cell: identical windows and tokens."""
    records = [_full(T0), _inc(T0, T0 + HOUR)]
    now_a = T0 + 2 * HOUR + 10 * MIN + 3 * timedelta(seconds=1)
    now_b = T0 + 2 * HOUR + 24 * MIN
    plan_a = _plan(records, now_a, pitr=_pitr(now_a, behind=4 * MIN))
    plan_b = _plan(records, now_b, pitr=_pitr(now_b, behind=6 * MIN))
    assert plan_a == plan_b
    assert _spans(plan_a) == [(T0 + HOUR, T0 + 2 * HOUR)]

    no_baseline_a = _plan([], now_a, pitr=_pitr(now_a, behind=4 * MIN))
    no_baseline_b = _plan([], now_b, pitr=_pitr(now_b, behind=6 * MIN))
    assert no_baseline_a.actions == no_baseline_b.actions


def test_runs_in_neighbouring_cells_share_all_but_the_last_catch_up_window() -> None:
    """Catch-up windows are cut from the cursor, so only the last one depends on the time."""
    records = [_full(T0)]
    early = _plan(records, T0 + 2 * DAY + 5 * HOUR + 10 * MIN)
    late = _plan(records, T0 + 2 * DAY + 5 * HOUR + 25 * MIN)
    assert early.actions[:2] == late.actions[:2]
    assert _spans(early)[-1] != _spans(late)[-1]


def test_window_tokens_are_deterministic_digests() -> None:
    """64 hex digits, the same for the same instant in any offset, different otherwise."""
    token = window_client_token(ARN, T0, T0 + HOUR)
    assert len(token) == 64
    assert int(token, 16) >= 0
    paris = timezone(timedelta(hours=1))
    assert window_client_token(ARN, T0.astimezone(paris), (T0 + HOUR).astimezone(paris)) == token
    others = {
        window_client_token(OTHER_ARN, T0, T0 + HOUR),
        window_client_token(ARN, T0 + MIN, T0 + HOUR),
        window_client_token(ARN, T0, T0 + 2 * HOUR),
        window_client_token(ARN, T0, T0 + HOUR, attempt=2),
        full_client_token(ARN, T0),
    }
    assert token not in others
    assert len(others) == 5
    with pytest.raises(ConfigError, match="attempt"):
        window_client_token(ARN, T0, T0 + HOUR, attempt=0)


def test_a_window_gives_its_export_specification() -> None:
    """The IncrementalExportSpecification the export call takes."""
    (window,) = _windows(
        _plan([_full(T0)], T0 + HOUR + 10 * MIN, replace(SETTINGS, view="NEW_IMAGE"))
    )
    assert window.export_specification() == {
        "ExportFromTime": T0,
        "ExportToTime": T0 + HOUR,
        "ExportViewType": "NEW_IMAGE",
    }
    assert window.length == HOUR


# ---------------------------------------------------------------- the cursor


def test_the_cursor_follows_exact_links_and_reports_the_rest() -> None:
    """Links start exactly where the chain ends; overlaps and gaps are reported, not used."""
    old = [_full(T0 - DAY), _inc(T0 - DAY, T0)]  # an older chain: neither used nor reported
    overlap = _inc(T0 + 30 * MIN, T0 + 90 * MIN)
    straddle = _inc(T0 - HOUR, T0 + HOUR)
    island = _inc(T0 + 3 * HOUR, T0 + 4 * HOUR)
    links = [_inc(T0, T0 + HOUR), _inc(T0 + HOUR, T0 + 2 * HOUR)]
    records = [*old, _full(T0), overlap, straddle, island, *links]
    cursor = cursor_of(records, ARN)
    assert cursor.baseline is not None
    assert cursor.baseline.export_time == T0
    assert cursor.links == tuple(links)
    assert cursor.end == T0 + 2 * HOUR
    kinds = {item.record.export_arn: item.kind for item in cursor.ignored}
    assert kinds == {
        overlap.export_arn: OVERLAP,
        straddle.export_arn: OVERLAP,
        island.export_arn: GAP,
    }
    (gap,) = (item for item in cursor.ignored if item.kind == GAP)
    assert "starts after the chain's end 2026-11-01T02:00:00Z" in gap.reason
    plan = _plan(records, T0 + 3 * HOUR + 10 * MIN)
    assert plan.ignored == cursor.ignored
    assert _spans(plan) == [(T0 + 2 * HOUR, T0 + 3 * HOUR)]


def test_the_cursor_takes_the_branch_that_reaches_furthest() -> None:
    """Two runs in neighbouring cells both exported from one start: the chain goes furthest."""
    short = _inc(T0, T0 + HOUR)
    longer = _inc(T0, T0 + HOUR + 15 * MIN)
    after_short = _inc(T0 + HOUR, T0 + 3 * HOUR)
    cursor = cursor_of([_full(T0), longer, short, after_short], ARN)
    assert cursor.links == (short, after_short)
    assert cursor.end == T0 + 3 * HOUR
    assert [item.record for item in cursor.ignored] == [longer]
    assert cursor.ignored[0].kind == OVERLAP


def test_a_baseline_that_failed_verification_is_skipped() -> None:
    """The newest full export is broken: the chain runs from the one before."""
    records = [_full(T0), _inc(T0, T0 + HOUR), _full(T0 + HOUR, ok=False)]
    cursor = cursor_of(records, ARN)
    assert cursor.baseline is not None
    assert cursor.baseline.export_time == T0
    assert cursor.end == T0 + HOUR
    assert cursor_of([_full(T0, ok=False), _full(T0, status="FAILED")], ARN).baseline is None


def test_the_history_keeps_to_its_table() -> None:
    """Other tables' records are left out, or refused when passed directly."""
    foreign = replace(_full(T0), table="users", table_arn=OTHER_ARN)
    history = TableHistory.of([foreign, _full(T0)], ARN)
    assert len(history.records) == 1
    assert history.table == "orders"
    assert cursor_of([foreign], ARN).baseline is None
    with pytest.raises(ConfigError, match="other tables"):
        TableHistory(ARN, (foreign,))


# ---------------------------------------------------------------- inputs


def test_naive_datetimes_are_refused() -> None:
    """Every instant must carry its timezone; a naive one is ambiguous."""
    naive = datetime(2026, 11, 1, 2)
    with pytest.raises(ConfigError, match=r"now .* has no timezone"):
        _plan([_full(T0)], naive, pitr=_pitr(T0 + HOUR))
    with pytest.raises(ConfigError, match=r"EarliestRestorableDateTime .* has no timezone"):
        _plan([_full(T0)], T0 + HOUR, pitr=PitrWindow(True, naive, T0 + HOUR))
    with pytest.raises(ConfigError, match=r"export_time of .* has no timezone"):
        cursor_of([_full(naive)], ARN)
    with pytest.raises(ConfigError, match="has no timezone"):
        window_client_token(ARN, naive, T0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"view": "NEW_IMAGES"}, "NEW_AND_OLD_IMAGES, NEW_IMAGE"),
        ({"min_window": 10 * MIN}, "15m <= min_window"),
        ({"max_window": 25 * HOUR}, "max_window 1d1h"),
        ({"min_window": 2 * HOUR, "max_window": HOUR}, "min_window 2h"),
        ({"grid": timedelta(milliseconds=1500)}, "whole number of seconds"),
        ({"grid": 2 * DAY}, "at most max_window"),
        ({"lag": -MIN}, "lag"),
        ({"full_every": timedelta(0)}, "full_every"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, object], message: str) -> None:
    """Settings outside AWS's bounds (or nonsense) fail when built, saying what is allowed."""
    with pytest.raises(ConfigError, match=message):
        IncrementalSettings(**changes)  # type: ignore[arg-type]


# ---------------------------------------------------------------- property


_runs = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=40 * 60),  # minutes since the previous run
        st.one_of(st.none(), st.integers(min_value=0, max_value=3)),  # window that fails
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(
    runs=_runs,
    offset_s=st.integers(min_value=0, max_value=3600),
    grid=st.sampled_from([timedelta(seconds=1), MIN, 5 * MIN, 15 * MIN, HOUR]),
    lag_min=st.integers(min_value=0, max_value=10),
    max_windows=st.one_of(st.none(), st.integers(min_value=1, max_value=3)),
)
def test_property_the_completed_chain_is_always_contiguous(
    runs: list[tuple[int, int | None]],
    offset_s: int,
    grid: timedelta,
    lag_min: int,
    max_windows: int | None,
) -> None:
    """Whatever the run times and failures, COMPLETED windows chain exactly from the baseline,
    each is 15 min to 24 h long, none is exported twice, and an unbounded run catches up."""
    options = IncrementalSettings(full_every=None, grid=grid, lag=lag_min * MIN)
    baseline = T0 + timedelta(seconds=offset_s)
    records = [_full(baseline)]
    now = baseline
    cursor = baseline
    for minutes, fail_at in runs:
        now += minutes * MIN
        pitr = _pitr(now)
        plan = _plan(records, now, options, pitr=pitr, max_windows=max_windows)
        assert plan.cursor == cursor
        assert (plan.waiting_reason is None) == bool(plan.actions)
        windows = _windows(plan)
        horizon = min(now, now - 5 * MIN) - options.lag
        assert plan.actions == () or windows[0].from_time == cursor
        for before, after in itertools.pairwise(windows):
            assert after.from_time == before.to_time
        for window in windows:
            assert 15 * MIN <= window.length <= DAY
            assert window.to_time <= horizon
            failed = sum(
                r.status == "FAILED"
                and (r.from_time, r.to_time) == (window.from_time, window.to_time)
                for r in records
            )
            assert window.attempt == failed + 1
            assert window.client_token == window_client_token(
                ARN, window.from_time, window.to_time, window.attempt
            )
        if max_windows is None or len(windows) < max_windows:
            reached = windows[-1].to_time if windows else cursor
            assert horizon - reached < options.min_window + options.grid
        _apply(records, plan, fail_at=fail_at)

        chain = cursor_of(records, ARN)
        assert chain.ignored == ()
        assert chain.end is not None
        assert chain.end >= cursor
        cursor = chain.end
        spans = [(r.from_time, r.to_time) for r in chain.links]
        completed = [
            (r.from_time, r.to_time)
            for r in records
            if r.export_type == "INCREMENTAL_EXPORT" and r.status == "COMPLETED"
        ]
        assert sorted(completed) == spans  # every COMPLETED window is a link, once
        position = baseline
        for start, end in spans:
            assert start == position
            assert end is not None
            position = end
        assert position == cursor
