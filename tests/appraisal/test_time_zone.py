"""The organisation's time zone (PLAUDIT_TIME_ZONE): its periods begin and end at its own midnight.

Periods were cut at midnight UTC for everyone: an answer given in Los Angeles at 23:30 on a Sunday counted in the
next week, and an Auckland week ran from Monday 13:00 to Monday 12:59 local time.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from unittest.mock import patch

import pytest
from sqlalchemy import select

from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalRun, MetricResult, Target
from appraisal.periods import month_of, period_between, stored_period, week_of
from appraisal.runs import appraise_last_week, request_run
from core import local_time
from core.config import ConfigError
from core.db import transaction
from core.models import Employee, Feedback
from tests.fixtures.appraisal import GUIDELINE

LOS_ANGELES, AUCKLAND = "America/Los_Angeles", "Pacific/Auckland"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def in_zone(make_app):
    """Enter an app of the organisation in ``zone``."""
    contexts = []

    def enter(zone: str):
        context = make_app(TIME_ZONE=zone).app_context()
        context.push()
        contexts.append(context)
        return context.app

    yield enter
    for context in reversed(contexts):
        context.pop()


def test_a_week_runs_from_the_organisations_monday_midnight_to_the_next(in_zone):
    in_zone(AUCKLAND)  # UTC+13 in November
    week = week_of(date(2026, 11, 2))
    assert (week.start, week.end) == (utc(2026, 11, 1, 11), utc(2026, 11, 8, 11))
    assert week.label == "week 2026-11-02 to 2026-11-08"  # its own days, not the UTC dates of its bounds
    assert week.previous() == week_of(date(2026, 10, 26))


def test_trend_labels_name_a_period_by_its_own_first_day(in_zone):
    """East of UTC a week's bound is the day before in UTC: trends labelled the week of 2 November "1 Nov"."""
    from appraisal.periods import short_label

    in_zone(AUCKLAND)
    week, month = week_of(date(2026, 11, 2)), month_of(date(2026, 11, 2))
    assert (short_label("week", week.start), short_label("month", month.start),
            short_label("quarter", month.start)) == ("2 Nov", "Nov 2026", "Q4 2026")


def test_a_week_across_a_change_of_clocks_still_ends_at_midnight(in_zone):
    in_zone(LOS_ANGELES)  # clocks went back on Sunday 1 November 2026: that week had 169 hours
    week = week_of(date(2026, 11, 1))
    assert (week.start, week.end) == (utc(2026, 10, 26, 7), utc(2026, 11, 2, 8))
    after = week_of(date(2026, 11, 2))
    assert after.previous() == week and after.start == utc(2026, 11, 2, 8)
    month = month_of(date(2026, 11, 15))
    assert (month.start, month.end, month.previous().start) == (utc(2026, 11, 1, 7), utc(2026, 12, 1, 8),
                                                               utc(2026, 10, 1, 7))
    custom = period_between(date(2026, 11, 2), date(2026, 11, 4))  # three days, before them three days
    assert custom.previous() == period_between(date(2026, 10, 30), date(2026, 11, 1))
    assert stored_period(week.start, week.end) == week  # recognised as the week it is


def test_periods_stored_at_midnight_utc_before_the_zone_was_set_read_back_as_they_were(in_zone):
    """A run of 2 to 8 November made under UTC kept its bounds; under Los Angeles they are not its midnights.
    They must not read as '1 to 7 November, custom'."""
    in_zone(LOS_ANGELES)
    old = stored_period(utc(2026, 11, 2), utc(2026, 11, 9))
    assert (old.kind, old.first, old.last) == ("week", date(2026, 11, 2), date(2026, 11, 8))


def test_today_is_the_organisations_date():
    """At 20:00 UTC on Sunday it is Monday in Auckland, and still Sunday in Los Angeles."""
    sunday_evening = utc(2026, 11, 8, 20)
    with patch("core.local_time.utcnow", return_value=sunday_evening):
        for zone, expected in ((AUCKLAND, date(2026, 11, 9)), (LOS_ANGELES, date(2026, 11, 8)),
                               ("UTC", date(2026, 11, 8))):
            with patch("core.local_time.zone", return_value=local_time.check_zone(zone)):
                assert local_time.today() == expected, zone


def test_an_answer_on_sunday_evening_counts_in_its_own_week(in_zone):
    """In Los Angeles, 23:30 on Sunday 8 November is 07:30 UTC on Monday 9th: it counted in the week after."""
    in_zone(LOS_ANGELES)
    with transaction() as session:
        ann = Employee(name="Ann", email="ann@example.com")
        session.add(ann)
        session.flush()
        for n, moment in enumerate([utc(2026, 11, 2, 9), utc(2026, 11, 5, 18), utc(2026, 11, 9, 7, 30),  # Sun 23:30
                                    utc(2026, 11, 9, 8, 30)]):  # Monday 00:30: the next week's
            session.add(Feedback(channel="test", kind="csat", external_id=f"f{n}", value=5.0, scale_min=1.0,
                                 scale_max=5.0, employee_id=ann.id, occurred_at=moment))
        publish_guideline(session, GUIDELINE)
        ann_id = ann.id
    with transaction() as session:
        run = request_run(session, week_of(date(2026, 11, 2)))
    with transaction() as session:
        n = session.scalar(select(MetricResult.n).where(MetricResult.run_id == run.id,
                                                        MetricResult.employee_id == ann_id,
                                                        MetricResult.metric == "csat_percent"))
    assert n == 3


def test_the_weekly_schedule_asks_for_the_organisations_last_week(in_zone):
    in_zone(AUCKLAND)
    with transaction() as session:
        publish_guideline(session, GUIDELINE)
    # 20:00 UTC on Sunday 15 November: 09:00 on Monday 16th in Auckland, whose week of 9 to 15 has ended
    with patch("core.local_time.utcnow", return_value=utc(2026, 11, 15, 20)):
        on_its_clock = appraise_last_week()
    with transaction() as session:
        run = session.get(AppraisalRun, on_its_clock)
        assert (run.period_start, run.period_end) == (utc(2026, 11, 8, 11), utc(2026, 11, 15, 11))
    run_id = appraise_last_week(today="2026-11-09")  # Monday in Auckland
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        assert (run.period_start, run.period_end) == (utc(2026, 11, 1, 11), utc(2026, 11, 8, 11))


def test_a_time_zone_that_does_not_exist_is_refused_by_name(make_app):
    with pytest.raises(ConfigError, match=r"PLAUDIT_TIME_ZONE: 'Europe/Springfield' is not a time zone: give an IANA "
                                          r"name such as Europe/London"):
        make_app(TIME_ZONE="Europe/Springfield")


def test_periods_of_another_zone_are_moved_before_anything_new_is_stored(worked_example, in_zone):
    """With the zone changed after runs were made, the same week had other bounds: a re-run found neither what
    the week had paid nor its targets, so it paid the week's bonuses again, and targets stopped applying."""
    from appraisal.engine import Person
    from appraisal.period_zone import MisalignedPeriods
    from appraisal.targets import TargetError, set_target, targets_in_force
    from core.models import User

    first = worked_example.run()  # under UTC, as every run before the setting
    app = in_zone(LOS_ANGELES)
    with transaction() as session, pytest.raises(MisalignedPeriods, match=r"periods made under another time zone "
                                                 r"are stored \(1 run, 3 targets\).*move-periods --from ZONE"):
        request_run(session, week_of(date(2026, 11, 2)))
    with transaction() as session, pytest.raises(TargetError, match="move-periods"):
        set_target(session, session.get(User, worked_example.hr), metric="csat_percent",
                   period=month_of(date(2026, 11, 1)), value=70, employee=session.get(Employee, worked_example.ids["bob"]))

    with transaction() as session:
        changed = dict(session.execute(select(Target.id, Target.updated_at)).all())
    cli = app.test_cli_runner()
    wrong = cli.invoke(args=["appraisal", "move-periods", "--from", "Asia/Tokyo"])
    assert wrong.exit_code == 1 and "is no midnight in Asia/Tokyo" in wrong.output and "4 left" in wrong.output
    assert "moved" not in wrong.output  # nothing fits Tokyo's midnights: every row stays for the right zone
    moved = cli.invoke(args=["appraisal", "move-periods", "--from", "UTC"])
    assert moved.exit_code == 0 and "1 run, 3 targets moved to the same days in America/Los_Angeles" in moved.output
    week = week_of(date(2026, 11, 2))
    with transaction() as session:
        run = session.get(AppraisalRun, first)
        assert (run.period_start, run.period_end) == (week.start, week.end) == (utc(2026, 11, 2, 8), utc(2026, 11, 9, 8))
        ann = worked_example.ids["ann"]
        assert targets_in_force(session, ["csat_percent"], week, [Person(ann, None)])[ann]["csat_percent"][1] == 80
        # when each target was last changed stays: among equal targets the one changed last applies
        assert dict(session.execute(select(Target.id, Target.updated_at)).all()) == changed
        second = request_run(session, week)  # the same week as the first: it finds what the first decided
        assert (second.period_start, second.period_end) == (run.period_start, run.period_end)
    assert "nothing to move" in cli.invoke(args=["appraisal", "move-periods", "--from", "UTC"]).output


@pytest.mark.parametrize(("name", "hint"), [("america/los_angeles", "did you mean America/Los_Angeles? "),
                                            ("right/Europe/London", "did you mean Europe/London? "),
                                            ("localtime", ""), ("PST", "")])
def test_only_a_zone_of_the_database_is_taken(name, hint):
    """'localtime' is the server's own zone, and right/ counts leap seconds: midnight came 27 seconds off."""
    with pytest.raises(ValueError, match=re.escape(f"'{name}' is not a time zone: {hint}give an IANA name")):
        local_time.check_zone(name)


def test_periods_of_a_zone_whose_clocks_skip_midnight_are_moved_too(in_zone):
    """Santiago's clocks went from 00:00 to 01:00 on 6 September 2026: that day began at 01:00, which the move
    refused as "no midnight in America/Santiago"."""
    in_zone("America/Santiago")
    with transaction() as session:
        publish_guideline(session, GUIDELINE)
        made = request_run(session, period_between(date(2026, 9, 6), date(2026, 9, 12))).id
    with transaction() as session:
        assert session.get(AppraisalRun, made).period_start == utc(2026, 9, 6, 4)  # 01:00 there
    moved = in_zone("UTC").test_cli_runner().invoke(args=["appraisal", "move-periods", "--from", "America/Santiago"])
    assert moved.exit_code == 0 and "1 run moved" in moved.output, moved.output
    with transaction() as session:
        run = session.get(AppraisalRun, made)
        assert (run.period_start, run.period_end) == (utc(2026, 9, 6), utc(2026, 9, 13))


def test_a_period_flag_raised_twice_for_the_same_days_is_kept_once_the_decided_one(in_zone):
    """Flags for one week raised under UTC and under London's summer time land on the same Tokyo week: the
    move failed with an IntegrityError, or left a flag no command could clear, blocking every run."""
    from core.models import Flag

    in_zone("Asia/Tokyo")
    week = week_of(date(2026, 6, 1))
    with transaction() as session:
        ann = Employee(name="Ann", email="ann@example.com")
        session.add(ann)
        session.flush()
        flags = [Flag(employee_id=ann.id, check="suppressed_surveys", reason=why, period_start=start,
                      period_end=start + timedelta(days=7), decision=decision)
                 for why, start, decision in (("made under UTC", utc(2026, 6, 1), "dismissed"),
                                              ("made under London", utc(2026, 5, 31, 23), None),
                                              ("made under Tokyo", week.start, None))]
        session.add_all(flags)
        session.flush()
        ids = [flag.id for flag in flags]
    moved = in_zone("Asia/Tokyo").test_cli_runner().invoke(args=["appraisal", "move-periods", "--from", "UTC"])
    assert moved.exit_code == 0, moved.output
    assert "2 period flag(s) dropped, each the same finding as another flag of its check, employee and days" \
        in moved.output
    with transaction() as session:
        kept = session.scalars(select(Flag)).all()
        assert [(flag.id, flag.decision, flag.period_start) for flag in kept] == [(ids[0], "dismissed", week.start)]


def test_a_time_typed_without_an_offset_is_read_on_the_organisations_clock(in_zone):
    """Kept in the zone, two times compared by their wall clocks: 01:30 before 01:15 in UTC passed as ordered."""
    from core.local_time import on_clock

    in_zone("Europe/London")
    assert on_clock(datetime(2026, 7, 1, 9, 0)) == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert on_clock(datetime(2026, 7, 1, 9, 0, tzinfo=UTC)).tzinfo is UTC
    with pytest.raises(ValueError, match="2026-03-29 01:30 does not exist in Europe/London"):
        on_clock(datetime(2026, 3, 29, 1, 30))  # the clocks go from 01:00 to 02:00
    assert on_clock(datetime(2026, 10, 25, 1, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 01:30


def test_the_zone_check_reads_the_period_flags_alone(app, session):
    """It read every flag, item flags too, at each run request and runs page: 26 ms at 220,000 flags."""
    from sqlalchemy import text

    from appraisal.period_zone import stored_bounds
    from core.models import Flag

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    query = stored_bounds(Flag).compile(dialect=session.get_bind().dialect)
    session.execute(text("SET LOCAL enable_seqscan = off"))  # the test's few rows would be read whole anyway
    plan = "\n".join(session.scalars(text(f"EXPLAIN {query}")))
    session.rollback()
    assert "ix_flags_period" in plan, plan
