"""The workflow's domain functions: assigning, answering, submitting and reviewing, with who may do each."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from channels.mystery_shopper.answers import NUMBER_LIMIT, answer_problems
from channels.mystery_shopper.assignments import (
    AssignmentError,
    assignments_for,
    create_assignment,
)
from channels.mystery_shopper.models import Assignment, ProofPhoto
from channels.mystery_shopper.proof import stored_photo
from channels.mystery_shopper.reports import (
    UNMATCHED,
    ReportError,
    approve_report,
    parse_moment,
    return_report,
    save_draft,
    submit_report,
)
from core.models import AuditEntry, Employee, Feedback, User, utcnow
from tests.channels.mystery_shopper.visits import (
    DUE,
    GOOD_ANSWERS,
    GOOD_SCORE,
    TEMPLATE,
    VISIT_FROM,
    VISIT_UNTIL,
    proof,
    send_shoppers,
)


@pytest.fixture
def visits(worked_example):
    return send_shoppers(worked_example)


def _assign(session, actor, visits, **changes):
    fields = {"template_id": visits.template_id, "shopper_id": visits.shoppers["sam"], "scenario": "Ask.",
              "due_at": DUE, "visit_from": VISIT_FROM, "visit_until": VISIT_UNTIL} | changes
    return create_assignment(session, actor, **fields)


def test_answers_are_checked_by_kind_for_drafts_and_for_completeness_on_submission():
    wrong = {"Q1": "maybe", "Q2": 7, "Q3": "ten", "Q4": ["fair"], "Q9": "1"}
    assert answer_problems(TEMPLATE, wrong, final=False) == {
        "Q9": "this is not a question of the report's template", "Q1": "choose one of: Yes, No",
        "Q2": "choose a whole number from 1 to 5", "Q3": "give a number",
        "Q4": "choose one of: Well, Fairly, Poorly, Did not come up"}
    assert answer_problems(TEMPLATE, {"Q2": 3}, final=False) == {}
    assert answer_problems(TEMPLATE, {"Q2": 3}, final=True) == {
        "Q1": "choose an answer", "Q3": "answer this question", "Q4": "choose an answer", "Q6": "choose an answer"}
    # Q5 is asked only after a poor answer to Q4, and then it must be answered
    assert "Q5" not in answer_problems(TEMPLATE, GOOD_ANSWERS, final=True)
    assert answer_problems(TEMPLATE, GOOD_ANSWERS | {"Q4": "poor"}, final=True) == {"Q5": "answer this question"}


def test_assignments_name_the_wrong_field_and_keep_managers_to_their_teams(session, worked_example, visits):
    hr, mia = session.get(User, worked_example.hr), session.get(User, worked_example.manager)
    ids = worked_example.ids
    for changes, field in [({"template_id": 999}, "template_id"), ({"shopper_id": worked_example.hr}, "shopper_id"),
                           ({}, "employee_id"), ({"employee_id": ids["ann"], "scenario": " "}, "scenario"),
                           ({"employee_id": ids["ann"], "visit_until": VISIT_FROM}, "visit_until"),
                           ({"employee_id": ids["ann"], "due_at": VISIT_UNTIL - timedelta(hours=1)}, "due_at")]:
        with pytest.raises(AssignmentError) as refused:
            _assign(session, hr, visits, **changes)
        assert refused.value.field == field, changes
    with pytest.raises(PermissionError):
        _assign(session, mia, visits, employee_id=ids["dan"])  # Billing is not Mia's
    with pytest.raises(PermissionError):
        _assign(session, mia, visits, location="Riverside branch")  # anyone there may serve: HR's call
    with pytest.raises(AssignmentError) as both:  # a field at fault, not a refusal of Mia
        _assign(session, mia, visits, employee_id=ids["bob"], location="Riverside branch")
    assert both.value.field == "location"
    with pytest.raises(AssignmentError) as several:  # every field at fault at once
        _assign(session, hr, visits, template_id=999, scenario=" ", visit_until=VISIT_FROM)
    assert set(several.value.problems) == {"template_id", "employee_id", "scenario", "visit_until"}
    assignment = _assign(session, mia, visits, employee_id=ids["bob"])
    session.commit()
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "mystery_assignment.created",
                                                    AuditEntry.entity_id == str(assignment.id)))
    assert audit.actor_id == mia.id and audit.after["employee_id"] == ids["bob"]

    sam, olga = (session.get(User, visits.shoppers[name]) for name in ("sam", "olga"))
    seen = lambda user: sorted(session.scalars(assignments_for(session, user).with_only_columns(Assignment.id)))
    assert seen(sam) == sorted([visits.assignments["sam"], assignment.id])
    assert seen(olga) == [visits.assignments["olga"]]
    assert seen(mia) == sorted([visits.assignments["sam"], assignment.id])  # Ann and Bob, not Dan
    assert len(seen(hr)) == 3
    assert seen(session.get(User, worked_example.users["ann"])) == []


def test_a_report_is_the_shoppers_own_inside_the_window_and_counts_once_approved(session, worked_example, visits):
    sam, olga = (session.get(User, visits.shoppers[name]) for name in ("sam", "olga"))
    mia, hr = session.get(User, worked_example.manager), session.get(User, worked_example.hr)
    assignment = visits.assignments["sam"]
    with pytest.raises(PermissionError):
        submit_report(session, assignment, olga, GOOD_ANSWERS, proof())
    session.rollback()
    with pytest.raises(ReportError) as late:
        submit_report(session, assignment, sam, GOOD_ANSWERS, proof(visited_at=VISIT_UNTIL + timedelta(minutes=1)))
    assert late.value.problems == {"visited_at": "the visit must be between 2026-11-03 09:00 UTC and 2026-11-06 "
                                                 "18:00 UTC, the assignment's visit window"}
    session.rollback()
    save_draft(session, assignment, sam, {"Q2": 4}, {"visited_at": None})
    session.commit()
    report = submit_report(session, assignment, sam, GOOD_ANSWERS, proof())
    session.commit()
    assert report.status == "submitted" and report.score is None

    with pytest.raises(ReportError) as no_comment:
        return_report(session, report.id, mia, "")
    assert set(no_comment.value.problems) == {"comment"}
    with pytest.raises(PermissionError, match="only HR or the manager"):
        approve_report(session, report.id, session.get(User, worked_example.users["ann"]))  # no reviewer
    session.rollback()
    approve_report(session, report.id, mia)
    session.commit()
    assert report.status == "approved" and report.score == pytest.approx(GOOD_SCORE)
    items = session.scalars(select(Feedback).where(Feedback.channel == "mystery_shopper",
                                                   Feedback.kind == "mystery_report")).all()
    assert [(i.employee_id, i.value) for i in items] == [(worked_example.ids["ann"], pytest.approx(GOOD_SCORE * 100))]
    with pytest.raises(ReportError):
        approve_report(session, report.id, hr)  # decided already
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "ms_reports")
                              .order_by(AuditEntry.id)).all()
    assert actions == ["mystery_report.draft_saved", "mystery_report.submitted", "mystery_report.approved"]


def test_a_manager_never_approves_a_report_about_themselves(session, worked_example, visits):
    hr, mia = session.get(User, worked_example.hr), session.get(User, worked_example.manager)
    sam = session.get(User, visits.shoppers["sam"])
    session.get(Employee, mia.employee_id).team_id = session.get(Employee, worked_example.ids["ann"]).team_id
    about_mia = _assign(session, hr, visits, employee_id=mia.employee_id)  # in the team she leads
    report = submit_report(session, about_mia.id, sam, GOOD_ANSWERS, proof())
    session.commit()
    with pytest.raises(PermissionError, match="nobody reviews a report about themselves"):
        approve_report(session, report.id, mia)
    session.rollback()
    assert approve_report(session, report.id, hr).status == "approved"


def test_huge_and_non_finite_numbers_are_refused_naming_the_question():
    for value in (10**400, -(10**400), float("inf"), float("nan"), NUMBER_LIMIT + 1):
        assert answer_problems(TEMPLATE, {"Q3": value}, final=False) == {"Q3": "give a number"}, value
    assert answer_problems(TEMPLATE, {"Q3": NUMBER_LIMIT}, final=False) == {}


def test_dates_python_cannot_hold_in_utc_are_unreadable():
    assert parse_moment("0001-01-01T00:00+05:00") is None  # 31 December of year 0 in UTC
    assert parse_moment("9999-12-31T23:00-05:00") is None
    assert parse_moment("1899-12-31T23:00") is None
    assert parse_moment("2026-11-03 14:30") == datetime(2026, 11, 3, 14, 30, tzinfo=UTC)


def test_a_visit_in_the_future_is_refused(session, worked_example, visits):
    hr, sam = session.get(User, worked_example.hr), session.get(User, visits.shoppers["sam"])
    now = utcnow()
    soon = _assign(session, hr, visits, employee_id=worked_example.ids["ann"], visit_from=now - timedelta(days=1),
                   visit_until=now + timedelta(days=2), due_at=now + timedelta(days=3))
    session.commit()
    with pytest.raises(ReportError) as future:
        submit_report(session, soon.id, sam, GOOD_ANSWERS, proof(visited_at=now + timedelta(hours=1)))
    assert future.value.problems == {"visited_at": "the visit cannot be in the future: give when it took place"}
    session.rollback()
    # a phone a few minutes fast is not the future
    assert submit_report(session, soon.id, sam, GOOD_ANSWERS, proof(visited_at=utcnow() + timedelta(minutes=3)))


def test_at_a_location_every_name_that_matches_no_one_person_gets_one_message(session, worked_example, visits):
    hr, sam = session.get(User, worked_example.hr), session.get(User, visits.shoppers["sam"])
    located = _assign(session, hr, visits, location="Riverside branch")
    session.add(Employee(name="Ann", email="ann.two@example.com"))  # two Anns
    sam.employee_id = worked_example.ids["cat"]  # a shopper who also works here cannot name themselves
    session.commit()
    for served_by in ("Zed", "ann", "Cat", worked_example.ids["bob"], str(worked_example.ids["bob"]), ["Bob"]):
        with pytest.raises(ReportError) as refused:
            submit_report(session, located.id, sam, GOOD_ANSWERS, proof(served_by=served_by))
        assert refused.value.problems == {"served_by": UNMATCHED}, served_by
        session.rollback()
    assert submit_report(session, located.id, sam, GOOD_ANSWERS, proof(served_by=" bob ")).served_by == (
        worked_example.ids["bob"])


def _photo(body: bytes) -> FileStorage:
    return FileStorage(io.BytesIO(b"\x89PNG\r\n\x1a\n" + body), filename="receipt.png")


def _photos(session) -> dict[str, bytes]:
    session.expire_all()
    return {f"photo:{photo.name}": photo.data for photo in session.scalars(select(ProofPhoto))}


def test_a_replaced_photo_is_deleted_with_the_replacement(app, session, visits):
    sam = session.get(User, visits.shoppers["sam"])
    assignment = visits.assignments["sam"]
    first = save_draft(session, assignment, sam, {}, proof(photo=_photo(b"first"))).photo_path
    session.commit()
    assert list(_photos(session)) == [first]
    save_draft(session, assignment, sam, {}, proof(photo=_photo(b"kept")))
    session.rollback()  # the replacement failed: the report still names the first photo, which is kept
    assert list(_photos(session)) == [first]
    second = save_draft(session, assignment, sam, {}, proof(photo=_photo(b"second")))
    session.commit()
    photos = _photos(session)
    assert list(photos) == [second.photo_path] and photos[second.photo_path].endswith(b"second")
    assert second.photo_path != first


def test_photos_an_earlier_version_kept_on_disk_are_served_then_moved_in(app, session, visits):
    """Before photos went into the database each host kept its own; `plaudit mystery move-photos` moves them."""
    sam = session.get(User, visits.shoppers["sam"])
    report = save_draft(session, visits.assignments["sam"], sam, {}, proof())
    folder = Path(app.instance_path) / "mystery_photos"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "feed.png").write_bytes(b"\x89PNG\r\n\x1a\ntext answer's")
    report.photo_path, report.photo_type = "mystery_photos/0a1b.png", "image/png"
    # A text answer that names a photo file is no photo: only a photo question's answer is one.
    report.answers = {**(report.answers or {}), "Q3": "mystery_photos/feed.png"}
    session.commit()
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["mystery", "move-photos"])  # taken on another host: not here yet
    assert "moved 0 photo(s) into the database; 1 not found in this host's instance folder" in missing.output

    (folder / "0a1b.png").write_bytes(b"\x89PNG\r\n\x1a\nold")
    with app.app_context():
        assert stored_photo(session, "mystery_photos/0a1b.png") == (folder / "0a1b.png", "image/png")
    session.rollback()
    result = runner.invoke(args=["mystery", "move-photos"])
    assert result.exit_code == 0 and "moved 1 photo(s) into the database\n" in result.output, result.output
    session.expire_all()
    moved = session.get(type(report), report.id)
    assert moved.photo_path.startswith("photo:") and _photos(session)[moved.photo_path].endswith(b"old")
    assert not (folder / "0a1b.png").exists()
    assert moved.answers["Q3"] == "mystery_photos/feed.png" and (folder / "feed.png").exists()
    session.rollback()
    assert "moved 0 photo(s)" in runner.invoke(args=["mystery", "move-photos"]).output