"""Which days a change of someone's joining or leaving day alters: the runs of the periods holding them are
appraised by the old days until they are made again."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from appraisal.tenure_runs import days_changed
from core.models import AuditEntry

AT = datetime(2026, 11, 27, 10, tzinfo=UTC)
WEEK = (date(2026, 11, 2), date(2026, 11, 8))


def _change(action, before, after, started_on=None):
    return days_changed(AuditEntry(action=action, entity_type="employees", entity_id="1", before=before,
                                   after=after, at=AT), started_on)


@pytest.mark.parametrize("before, after, touched", [
    ({"started_on": None}, {"started_on": "2026-11-05"}, True),  # Thursday: four of the week's days
    ({"started_on": None}, {"started_on": "2026-11-02"}, False),  # Monday: the whole week, as before
    ({"started_on": "2026-11-02"}, {"started_on": "2026-11-09"}, True),  # now after the week: left out of it
    ({"started_on": "2026-11-09"}, {"started_on": "2026-11-12"}, False),
    ({"started_on": "2026-11-05"}, {"started_on": None}, True),  # not known: the whole week is theirs now
    ({"started_on": "2026-11-09"}, {"started_on": "2026-11-09"}, None),  # no change at all
])
def test_a_joining_day_alters_the_days_between_the_old_and_the_new(before, after, touched):
    change = _change("employee.updated", before, after)
    assert (change.touches(*WEEK) if change else None) == touched


@pytest.mark.parametrize("action, before, after, touched", [
    ("employee.deactivated", {"active": True, "left_on": None}, {"active": False, "left_on": "2026-11-04"}, True),
    ("employee.deactivated", {"active": True, "left_on": None}, {"active": False, "left_on": "2026-11-08"}, False),
    ("employee.deactivated", {"active": False, "left_on": "2026-11-10"}, {"active": False, "left_on": "2026-11-01"},
     True),
    ("employee.deactivated", {"active": True, "left_on": None}, {"active": False, "left_on": None}, True),
    ("employee.activated", {"active": False, "left_on": "2026-11-04"}, {"active": True, "left_on": None}, True),
    ("employee.activated", {"active": False, "left_on": "2026-11-20"}, {"active": True, "left_on": None}, False),
    # Deactivated before leaving days were kept (out of every period), then given one: in every period up to it.
    ("employee.deactivated", {"active": False, "left_on": None}, {"active": False, "left_on": "2026-11-20"}, True),
    ("employee.deactivated", {"active": False, "left_on": None}, {"active": False, "left_on": "2026-10-20"}, False),
])
def test_a_leaving_day_alters_the_days_after_the_earlier_up_to_the_later(action, before, after, touched):
    assert _change(action, before, after).touches(*WEEK) == touched


def test_a_hire_who_never_started_alters_no_day_before_they_were_to_join():
    never = ("employee.deactivated", {"active": True, "left_on": None}, {"active": False, "left_on": None})
    assert not _change(*never, started_on=date(2026, 12, 1)).touches(*WEEK)
    assert _change(*never, started_on=date(2026, 11, 5)).touches(*WEEK)
    assert _change(*never).touches(*WEEK)  # no joining day: every period had them


def test_other_changes_of_a_person_alter_no_day():
    assert _change("employee.updated", {"team": "Support"}, {"team": "Billing"}) is None

