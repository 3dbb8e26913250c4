"""The mystery-shopping pages: a shopper's own assignments only, the form's refusals, review, photos, queries."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from channels.mystery_shopper.assignments import create_assignment
from channels.mystery_shopper.models import Assignment, ProofPhoto, Report
from core.db import transaction
from core.models import User
from tests.channels.mystery_shopper.visits import (
    DUE,
    VISIT_FROM,
    VISIT_UNTIL,
    send_shoppers,
)
from tests.fixtures.app import row_counts, statements_of_page
from tests.fixtures.org import csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")

BASE = "/channels/mystery_shopper"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FORM = {"visited_at": "2026-11-04T14:30", "receipt_number": "R-1042", "q-Q1": "1", "q-Q2": "4", "q-Q3": "3",
        "q-Q4": "fair", "q-Q6": "1", "integrity-identity_revealed": "no", "integrity-knows_employee": "no",
        "integrity-followed_scenario": "yes"}


@pytest.fixture
def visits(worked_example):
    return send_shoppers(worked_example)


def _client(app, email):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _post(client, url, form, **files):
    token = csrf_token(client.get(f"{BASE}/assignments").get_data(as_text=True))
    data = {**form, "csrf_token": token, **{name: (io.BytesIO(body), filename) for name, (body, filename)
                                           in files.items()}}
    return client.post(url, data=data, content_type="multipart/form-data")


def _report(app, assignment_id):
    with app.app_context(), transaction() as session:
        return session.scalar(select(Report).where(Report.assignment_id == assignment_id))


def test_a_shopper_sees_only_their_assignments_and_is_refused_anothers(app, visits):
    sam = _client(app, "shopper@example.com")
    html = sam.get(f"{BASE}/assignments").get_data(as_text=True)
    assert re.findall(r'data-assignment="(\d+)"', html) == [str(visits.assignments["sam"])]
    assert "Dan" not in html
    olgas = f"{BASE}/assignments/{visits.assignments['olga']}"
    response = sam.get(olgas)
    assert response.status_code == 403 and "Dan" not in response.get_data(as_text=True)
    before = row_counts(app)
    assert _post(sam, olgas, {**FORM, "action": "submit"}).status_code == 403
    assert _post(sam, olgas, {**FORM, "action": "draft"}).status_code == 403
    assert row_counts(app) == before


def test_a_visit_outside_the_window_is_refused_with_the_window_named(app, visits):
    sam = _client(app, "shopper@example.com")
    url = f"{BASE}/assignments/{visits.assignments['sam']}"
    before = row_counts(app)
    response = _post(sam, url, {**FORM, "visited_at": "2026-11-07T10:00", "action": "submit"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert ("the visit must be between 2026-11-03 09:00 UTC and 2026-11-06 18:00 UTC, the assignment&#39;s visit "
            "window") in html
    assert 'id="error-visited_at"' in html and "Nothing was saved." in html
    assert '<a href="#question-visited_at">Visit time: the visit must be' in html  # named as the form names it
    assert row_counts(app) == before


def test_a_date_python_cannot_hold_in_utc_is_refused_naming_the_field(app, worked_example, visits):
    form = {"template_id": visits.template_id, "shopper_id": visits.shoppers["sam"],
            "employee_id": worked_example.ids["bob"], "scenario": "Ask about a refund.",
            "visit_from": "0001-01-01T00:00+05:00", "visit_until": "2026-11-12T18:00", "due_at": "2026-11-13T12:00"}
    hr = _client(app, "hr@example.com")
    new = f"{BASE}/assignments/new"
    token = csrf_token(hr.get(new).get_data(as_text=True))
    before = row_counts(app)
    for field, moment in (("visit_from", "0001-01-01T00:00+05:00"), ("due_at", "9999-12-31T23:59-05:00")):
        response = hr.post(new, data={**form, field: moment, "csrf_token": token})
        assert response.status_code == 400 and "as a date and time" in response.get_data(True), field
    assert row_counts(app) == before
    sam = _client(app, "shopper@example.com")
    response = _post(sam, f"{BASE}/assignments/{visits.assignments['sam']}",
                     {**FORM, "visited_at": "0001-01-01T00:00+05:00", "action": "draft"})
    assert response.status_code == 400 and 'id="error-visited_at"' in response.get_data(True)


def test_the_form_names_each_missing_answer_and_keeps_a_draft_without_them(app, visits):
    sam = _client(app, "shopper@example.com")
    url = f"{BASE}/assignments/{visits.assignments['sam']}"
    response = _post(sam, url, {"q-Q2": "4", "q-Q3": "ten", "action": "draft"})
    assert response.status_code == 400 and 'id="error-Q3"' in response.get_data(as_text=True)
    assert _post(sam, url, {"q-Q2": "4", "action": "draft"}).status_code == 302
    assert _report(app, visits.assignments["sam"]).answers == {"Q2": 4}

    html = _post(sam, url, {"q-Q2": "4", "action": "submit"}).get_data(as_text=True)
    missing = set(re.findall(r'id="error-([\w.]+)"', html))
    assert missing == {"Q1", "Q3", "Q4", "Q6", "visited_at", "receipt_number", "integrity.identity_revealed",
                       "integrity.knows_employee", "integrity.followed_scenario"}
    assert _report(app, visits.assignments["sam"]).status == "draft"


def test_skipped_questions_are_not_applicable_without_any_script(app, visits):
    sam = _client(app, "shopper@example.com")
    url = f"{BASE}/assignments/{visits.assignments['sam']}"
    # Q5 is asked only when Q4 is "poor"; the form says so in the answer's words, as the shopper reads them
    form = sam.get(url).get_data(as_text=True)
    assert "Only if your answer to Q4 is “Poorly”. Otherwise it is not applicable." in form  # not "one of: poor"
    # A browser without the script sends what was typed anyway.
    assert _post(sam, url, {**FORM, "q-Q5": "the fees", "action": "submit"}).status_code == 302
    report = _report(app, visits.assignments["sam"])
    assert report.status == "submitted" and "Q5" not in report.answers
    assert _post(sam, url, {**FORM, "action": "draft"}).status_code == 400  # submitted: no longer the shopper's


def test_a_photo_is_checked_kept_in_the_database_and_shown_to_reviewers_only(app, visits):
    sam = _client(app, "shopper@example.com")
    url = f"{BASE}/assignments/{visits.assignments['sam']}"
    refused = _post(sam, url, {**FORM, "action": "draft"}, photo=(b"GIF89a" + b"\x00" * 20, "receipt.png"))
    assert refused.status_code == 400 and "send the photo as a JPEG, PNG or WebP image" in refused.get_data(True)
    too_big = _post(sam, url, {**FORM, "action": "draft"}, photo=(PNG + b"\x00" * 1_500_000, "big.png"))
    assert too_big.status_code == 400 and "larger than 1.5 MB" in too_big.get_data(True)
    # A phone camera's 6 MB picture, past the app's 2 MB request limit: it answered 413 and the report was lost.
    camera = _post(sam, url, {**FORM, "action": "draft"}, photo=(PNG + b"\x00" * 6_300_000, "IMG_0042.png"))
    assert camera.status_code == 400 and "larger than 1.5 MB" in camera.get_data(True)
    assert 'value="R-1042"' in camera.get_data(True)  # the answers are still in the form
    # Refused for another answer, a good photo cannot be given back to the browser: the form says so.
    future = _post(sam, url, {**FORM, "visited_at": "2099-01-01T10:00", "action": "draft"}, photo=(PNG, "ok.png"))
    assert future.status_code == 400
    assert "Your photo was not kept with the rest: choose it again." in future.get_data(True)
    assert _post(sam, url, {**FORM, "action": "submit"}, photo=(PNG, "receipt.png")).status_code == 302
    report = _report(app, visits.assignments["sam"])
    # In the database, so every web process serves it and a backup holds it: in the instance folder it was
    # one host's, and another host answered 404.
    assert report.photo_path.startswith("photo:") and report.photo_type == "image/png"
    assert not (Path(app.instance_path) / "mystery_photos").exists()
    with app.app_context(), transaction() as session:
        assert session.get(ProofPhoto, report.photo_path.removeprefix("photo:")).data == PNG

    photo = f"{BASE}/reviews/{report.id}/photo"
    review = _client(app, "mia@example.com").get(f"{BASE}/reviews/{report.id}").get_data(as_text=True)
    assert f'<img class="ms-photo" src="{photo}"' in review  # shown where the reviewer checks the visit
    response = _client(app, "mia@example.com").get(photo)
    assert response.status_code == 200 and response.data == PNG and response.mimetype == "image/png"
    assert "no-store" in response.headers["Cache-Control"]
    assert sam.get(photo).status_code == 403
    assert _client(app, "ann@example.com").get(photo).status_code == 403  # not even the employee
    assert app.test_client().get(photo).status_code == 302  # sign in first
    # ?question= names only a photo question: an answer that is not one never opens a file
    for question in ("Q3", "nonexistent"):  # Q3 is the number of minutes waited
        assert _client(app, "mia@example.com").get(f"{photo}?question={question}").status_code == 404


def test_a_reviewer_returns_a_report_with_a_comment_and_approves_it_once_fixed(app, visits):
    sam = _client(app, "shopper@example.com")
    url = f"{BASE}/assignments/{visits.assignments['sam']}"
    assert _post(sam, url, {**FORM, "receipt_number": "?", "action": "submit"}).status_code == 302
    report_id = _report(app, visits.assignments["sam"]).id
    mia = _client(app, "mia@example.com")
    review = f"{BASE}/reviews/{report_id}"
    token = csrf_token(mia.get(review).get_data(as_text=True))
    no_comment = mia.post(review, data={"decision": "return", "comment": " ", "csrf_token": token})
    assert no_comment.status_code == 400 and "tell the shopper what to fix" in no_comment.get_data(True)
    page = no_comment.get_data(True)  # said before the long report too, where the reviewer is after the reload
    assert page.index("Nothing was decided: comment:") < page.index("Proof of visit")
    returned = mia.post(review, data={"decision": "return", "comment": "Send the receipt's number.",
                                      "csrf_token": token})
    assert returned.status_code == 302
    assert "Send the receipt&#39;s number." in sam.get(url).get_data(as_text=True)

    assert _post(sam, url, {**FORM, "action": "submit"}).status_code == 302
    assert mia.post(review, data={"decision": "approve", "csrf_token": token}).status_code == 302
    report = _report(app, visits.assignments["sam"])
    assert report.status == "approved" and report.score == pytest.approx(0.6 * 4 / 5 + 0.4 * 2 / 3)
    assert mia.post(review, data={"decision": "approve", "csrf_token": token}).status_code == 400  # once


def test_a_manager_reviews_only_reports_about_their_teams(app, visits):
    olga = _client(app, "olga@example.com")
    assert _post(olga, f"{BASE}/assignments/{visits.assignments['olga']}",
                 {**FORM, "action": "submit"}).status_code == 302
    dans = _report(app, visits.assignments["olga"]).id
    mia = _client(app, "mia@example.com")
    assert "Dan" not in mia.get(f"{BASE}/reviews").get_data(as_text=True)
    assert mia.get(f"{BASE}/reviews/{dans}").status_code == 403
    token = csrf_token(mia.get(f"{BASE}/reviews").get_data(as_text=True))
    before = row_counts(app)
    assert mia.post(f"{BASE}/reviews/{dans}", data={"decision": "approve", "csrf_token": token}).status_code == 403
    assert row_counts(app) == before
    hr = _client(app, "hr@example.com")
    assert f'data-report="{dans}"' in hr.get(f"{BASE}/reviews").get_data(as_text=True)


def test_hr_and_managers_assign_within_their_scope_with_errors_at_the_field(app, worked_example, visits):
    ids = worked_example.ids
    form = {"template_id": visits.template_id, "shopper_id": visits.shoppers["sam"], "employee_id": ids["bob"],
            "scenario": "Ask about a refund.", "visit_from": "2026-11-10T09:00", "visit_until": "2026-11-12T18:00",
            "due_at": "2026-11-13T12:00"}
    mia = _client(app, "mia@example.com")
    new = f"{BASE}/assignments/new"
    token = csrf_token(mia.get(new).get_data(as_text=True))
    wrong = mia.post(new, data={**form, "due_at": "2026-11-11T12:00", "csrf_token": token})
    assert wrong.status_code == 400
    assert "the report cannot be due before the visit window ends" in wrong.get_data(as_text=True)
    # An empty form is named whole, in one round, by the fields' labels (it was five rounds, "visit_from: ...")
    empty = mia.post(new, data={"csrf_token": token}).get_data(as_text=True)
    summary = re.search(r'<div class="errors error-summary".*?</div>', empty, re.DOTALL).group(0)
    assert re.findall(r'<a href="#(\w+)">([^:<]+):', summary) == [
        ("template_id", "Report template"), ("shopper_id", "Shopper"), ("visit_from", "Visit window opens"),
        ("visit_until", "Visit window closes"), ("due_at", "Report due"), ("scenario", "Scenario")]
    before = row_counts(app)
    assert mia.post(new, data={**form, "employee_id": ids["dan"], "csrf_token": token}).status_code == 403
    assert row_counts(app) == before
    assert mia.post(new, data={**form, "csrf_token": token}).status_code == 302
    with app.app_context(), transaction() as session:
        assignment = session.scalar(select(Assignment).order_by(Assignment.id.desc()).limit(1))
        assert (assignment.employee_id, assignment.created_by) == (ids["bob"], worked_example.manager)
    hr = _client(app, "hr@example.com")
    token = csrf_token(hr.get(new).get_data(as_text=True))
    located = hr.post(new, data={**form, "employee_id": "", "location": "Riverside branch", "csrf_token": token})
    assert located.status_code == 302


def test_lists_issue_the_same_queries_however_many_assignments(app, worked_example, visits):
    def queries(client, url) -> int:
        return statements_of_page(app, client, url)

    sam, hr = _client(app, "shopper@example.com"), _client(app, "hr@example.com")
    assert _post(sam, f"{BASE}/assignments/{visits.assignments['sam']}",
                 {**FORM, "action": "submit"}).status_code == 302
    few = {url: queries(client, url) for client, url in ((sam, f"{BASE}/assignments"), (hr, f"{BASE}/assignments"),
                                                         (hr, f"{BASE}/reviews"))}
    with app.app_context(), transaction() as session:
        first = session.scalar(select(func.max(Assignment.id)))
        session.execute(insert(Assignment), [
            {"template_id": visits.template_id, "shopper_id": visits.shoppers["sam"],
             "employee_id": worked_example.ids["bob"], "scenario": f"Visit {n}", "due_at": DUE,
             "visit_from": VISIT_FROM, "visit_until": VISIT_UNTIL + timedelta(minutes=n)} for n in range(60)])
        session.execute(insert(Report), [
            {"assignment_id": first + n, "template_id": visits.template_id, "answers": {}, "integrity": {},
             "status": "submitted", "visited_at": VISIT_FROM} for n in range(1, 61)])
    for client, url in ((sam, f"{BASE}/assignments"), (hr, f"{BASE}/assignments"), (hr, f"{BASE}/reviews")):
        assert queries(client, url) == few[url], url
    assert len(re.findall(r"data-report=", hr.get(f"{BASE}/reviews").get_data(as_text=True))) == 61


def test_at_a_location_the_shopper_names_who_served_them_without_a_staff_list(app, worked_example, visits):
    with app.app_context(), transaction() as session:
        hr = session.get(User, worked_example.hr)
        located = create_assignment(session, hr, template_id=visits.template_id, shopper_id=visits.shoppers["sam"],
                                    location="Riverside branch", scenario="Pay a bill.", due_at=DUE,
                                    visit_from=VISIT_FROM, visit_until=VISIT_UNTIL).id
    sam = _client(app, "shopper@example.com")
    url = f"{BASE}/assignments/{located}"
    html = sam.get(url).get_data(as_text=True)
    assert not re.search(r"\b(Ann|Bob|Cat|Dan)\b", html)  # no list of the staff to pick from
    unknown = _post(sam, url, {**FORM, "served_by": "Zed", "action": "submit"})
    assert unknown.status_code == 400 and "nobody of that name could be matched at this visit" in unknown.get_data(True)
    assert _post(sam, url, {**FORM, "served_by": "ann", "action": "submit"}).status_code == 302
    assert _report(app, located).served_by == worked_example.ids["ann"]
