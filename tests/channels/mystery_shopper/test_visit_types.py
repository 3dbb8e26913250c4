"""An assignment's visit type: an enquiry visit is neither asked, checked nor scored on transaction-only questions.

The questions of another visit type are N/A exactly as skip logic makes them: not shown, not validated, dropped
from the stored answers and left out of the score.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter

import pytest
from sqlalchemy import select

from channels.mystery_shopper.assignments import AssignmentError, create_assignment
from channels.mystery_shopper.importers import read_template
from channels.mystery_shopper.models import Assignment, QuestionResult
from channels.mystery_shopper.reports import ReportError, approve_report, submit_report
from channels.mystery_shopper.scoring import score_report
from channels.mystery_shopper.template import (
    publish_template,
    questions_for_visit,
    validate_template,
    visible_questions,
    visit_types_of,
)
from core.db import transaction
from core.models import ApiToken, AuditEntry, User
from tests.channels.mystery_shopper.visits import (
    DUE,
    VISIT_FROM,
    VISIT_UNTIL,
    YES_NO,
    proof,
    send_shoppers,
)
from tests.fixtures.app import row_counts
from tests.fixtures.org import csrf_token, sign_in

BASE = "/channels/mystery_shopper"
#: Service (60%): greeted (every visit), courtesy 1-5 (both types), the transaction done right (transaction only),
#: and, only after a transaction went wrong, what went wrong (text, unscored).
#: Product (40%): told the fees (enquiry only), offered more (every visit).
TEMPLATE = {
    "sections": [{"key": "service", "title": "Service", "weight": 0.6},
                 {"key": "product", "title": "Product", "weight": 0.4}],
    "questions": [
        {"key": "Q1", "section": "service", "text": "Were you greeted?", "type": "yes_no", "choices": YES_NO},
        {"key": "Q2", "section": "service", "text": "How courteous?", "type": "scale", "scale": {"min": 1, "max": 5},
         "visit_types": ["enquiry", "transaction"]},
        {"key": "T1", "section": "service", "text": "Was the payment done right?", "type": "yes_no",
         "choices": YES_NO, "visit_types": ["transaction"]},
        {"key": "D1", "section": "service", "text": "What went wrong?", "type": "text", "required": False,
         "show_if": {"question": "T1", "answers": ["0"]}},
        {"key": "E1", "section": "product", "text": "Were you told the fees?", "type": "yes_no", "choices": YES_NO,
         "visit_types": ["enquiry"]},
        {"key": "P1", "section": "product", "text": "Were you offered more?", "type": "yes_no", "choices": YES_NO},
    ],
}
ANSWERS = {"Q1": "1", "Q2": 4, "T1": "0", "D1": "The card was charged twice.", "E1": "1", "P1": "0"}
#: Enquiry: service Q1 1/1 + Q2 3/4 = 4/5, product E1 1/1 + P1 0/1 = 1/2 -> 0.6 x 0.8 + 0.4 x 0.5.
ENQUIRY_SCORE = 0.6 * 4 / 5 + 0.4 * 1 / 2
#: Transaction: service Q1 1 + Q2 3 + T1 0 = 4/6, product P1 0/1 -> 0.6 x 4/6 + 0.4 x 0.
TRANSACTION_SCORE = 0.6 * 4 / 6 + 0.4 * 0
#: No visit type: every question, service 4/6, product (E1 1 + P1 0) 1/2.
ANY_SCORE = 0.6 * 4 / 6 + 0.4 * 1 / 2
R3XIMOUS = "mystery_shopping/r3ximous_mystery_shopper_questions.csv"


def test_the_visit_type_hides_and_unscores_the_other_types_questions_as_skip_logic_does():
    document = validate_template(TEMPLATE)
    assert visit_types_of(document) == ["enquiry", "transaction"]
    keys = lambda questions: [q["key"] for q in questions]
    assert keys(visible_questions(document, ANSWERS, visit_type="enquiry")) == ["Q1", "Q2", "E1", "P1"]
    assert keys(visible_questions(document, ANSWERS, visit_type="transaction")) == ["Q1", "Q2", "T1", "D1", "P1"]
    assert keys(visible_questions(document, ANSWERS)) == ["Q1", "Q2", "T1", "D1", "E1", "P1"]
    # D1 names no visit type, but hangs on T1: an enquiry can never be asked it.
    assert keys(questions_for_visit(document, "enquiry")) == ["Q1", "Q2", "E1", "P1"]

    enquiry = score_report(document, ANSWERS, visit_type="enquiry")
    transaction_ = score_report(document, ANSWERS, visit_type="transaction")
    assert enquiry.score == pytest.approx(ENQUIRY_SCORE) == pytest.approx(0.68)
    assert transaction_.score == pytest.approx(TRANSACTION_SCORE) == pytest.approx(0.4)
    assert score_report(document, ANSWERS).score == pytest.approx(ANY_SCORE) == pytest.approx(0.6)
    by_key = {q.key: q for q in enquiry.questions}
    assert not by_key["T1"].applicable and by_key["T1"].points is None and by_key["E1"].applicable
    assert [(s.key, s.points, s.max_points) for s in enquiry.sections] == [("service", 4, 5), ("product", 1, 2)]


@pytest.fixture
def visits(worked_example):
    found = send_shoppers(worked_example)
    found.branch_visit = found.template_id  # a template whose questions name no visit type
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        found.template_id = publish_template(session, "typed_visit", "Typed visit", TEMPLATE, actor=hr).id
    return found


def _assign(example, visits, visit_type, employee="ann"):
    with transaction() as session:
        hr = session.get(User, example.hr)
        return create_assignment(
            session, hr, template_id=visits.template_id, shopper_id=visits.shoppers["sam"],
            employee_id=example.ids[employee], scenario="Ask about fees, then pay a bill.", due_at=DUE,
            visit_from=VISIT_FROM, visit_until=VISIT_UNTIL, visit_type=visit_type).id


def test_an_enquiry_report_is_neither_asked_checked_nor_scored_on_a_transaction_question(worked_example, visits):
    enquiry = _assign(worked_example, visits, "enquiry")
    payment = _assign(worked_example, visits, "transaction", employee="bob")
    with transaction() as session:
        sam = session.get(User, visits.shoppers["sam"])
        # A transaction visit must answer T1, and has E1 checked by kind only if asked (it is not).
        with pytest.raises(ReportError) as refused:
            submit_report(session, payment, sam, {**ANSWERS, "T1": "", "E1": "maybe"}, proof())
        assert refused.value.problems == {"T1": "choose an answer"}
    with transaction() as session:
        sam = session.get(User, visits.shoppers["sam"])
        # The enquiry leaves T1 unanswered and says nonsense to it: neither is a problem; it is not kept.
        report = submit_report(session, enquiry, sam, {**ANSWERS, "T1": "maybe"}, proof())
        assert report.answers == {"Q1": "1", "Q2": 4, "E1": "1", "P1": "0"}
        report_id = report.id
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        assert approve_report(session, report_id, hr).score == pytest.approx(ENQUIRY_SCORE)
        results = dict(session.execute(select(QuestionResult.question, QuestionResult.applicable)
                                       .where(QuestionResult.report_id == report_id)).all())
        assert results == {"Q1": True, "Q2": True, "T1": False, "D1": False, "E1": True, "P1": True}
    with transaction() as session:
        sam = session.get(User, visits.shoppers["sam"])
        report = submit_report(session, payment, sam, dict(ANSWERS), proof())
        assert "E1" not in report.answers and report.answers["T1"] == "0"
        report_id = report.id
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        assert approve_report(session, report_id, hr).score == pytest.approx(TRANSACTION_SCORE)


def test_a_visit_type_the_template_does_not_name_is_refused_naming_the_field(worked_example, visits):
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        fields = {"shopper_id": visits.shoppers["sam"], "employee_id": worked_example.ids["ann"],
                  "scenario": "Ask.", "due_at": DUE, "visit_from": VISIT_FROM, "visit_until": VISIT_UNTIL}
        with pytest.raises(AssignmentError) as wrong:
            create_assignment(session, hr, template_id=visits.template_id, visit_type="walk-in", **fields)
        assert wrong.value.field == "visit_type"
        assert wrong.value.message == "choose one of the template's visit types: enquiry, transaction"
        # The branch-visit template names no visit types: none may be given.
        with pytest.raises(AssignmentError) as untyped:
            create_assignment(session, hr, template_id=visits.branch_visit, visit_type="enquiry", **fields)
        assert untyped.value.field == "visit_type" and "leave it empty" in untyped.value.message
        assigned = create_assignment(session, hr, template_id=visits.template_id, visit_type=" enquiry ", **fields)
        assert assigned.visit_type == "enquiry"
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "mystery_assignment.created",
                                                        AuditEntry.entity_id == str(assigned.id)))
        assert audit.after["visit_type"] == "enquiry"


def _client(app, email):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


@pytest.mark.usefixtures("session_per_request")
def test_the_pages_offer_the_visit_type_refuse_a_wrong_one_and_ask_only_its_questions(app, worked_example, visits):
    hr = _client(app, "hr@example.com")
    new = f"{BASE}/assignments/new"
    page = hr.get(new).get_data(as_text=True)
    assert re.findall(r'<option value="([a-z]+)"', page.split('id="visit_type"')[1].split("</select>")[0]) == [
        "enquiry", "transaction"]
    form = {"template_id": visits.template_id, "shopper_id": visits.shoppers["sam"],
            "employee_id": worked_example.ids["bob"], "scenario": "Ask about the fees.",
            "visit_from": "2026-11-03T09:00", "visit_until": "2026-11-06T18:00", "due_at": "2026-11-09T12:00",
            "csrf_token": csrf_token(page)}
    before = row_counts(app)
    wrong = hr.post(new, data={**form, "visit_type": "walk-in"})
    assert wrong.status_code == 400 and row_counts(app) == before
    assert ('id="error-visit_type">choose one of the template&#39;s visit types: enquiry, transaction'
            in wrong.get_data(as_text=True))
    assert hr.post(new, data={**form, "visit_type": "enquiry"}).status_code == 302
    with app.app_context(), transaction() as session:
        assignment = session.scalar(select(Assignment).order_by(Assignment.id.desc()).limit(1))
        assignment_id, visit_type = assignment.id, assignment.visit_type
    assert visit_type == "enquiry"

    sam = _client(app, "shopper@example.com")
    html = sam.get(f"{BASE}/assignments/{assignment_id}").get_data(as_text=True)
    asked = re.findall(r'data-question="([A-Z0-9]+)"', html)
    assert asked == ["Q1", "Q2", "E1", "P1"]
    fields = {"visited_at": "2026-11-04T14:30", "receipt_number": "R-7", "q-Q1": "1", "q-Q2": "4", "q-E1": "1",
              "q-P1": "0", "integrity-identity_revealed": "no", "integrity-knows_employee": "no",
              "integrity-followed_scenario": "yes", "action": "submit", "csrf_token": csrf_token(html)}
    submitted = sam.post(f"{BASE}/assignments/{assignment_id}", data=fields, content_type="multipart/form-data")
    assert submitted.status_code == 302, submitted.get_data(as_text=True)


@pytest.mark.usefixtures("session_per_request")
def test_the_api_takes_the_visit_type_refuses_a_wrong_one_and_lists_only_its_questions(app, worked_example, visits):
    with transaction() as session:
        owner = session.get(User, worked_example.hr)
        row, plain = ApiToken.issue(owner, "agency", ["mystery:assign", "mystery:read"])
        session.add(row)
    client, headers = app.test_client(), {"Authorization": f"Bearer {plain}"}
    body = {"template": "typed_visit", "shopper": "shopper@example.com", "employee": worked_example.ids["ann"],
            "scenario": "Pay a bill.", "visit_from": VISIT_FROM.isoformat(), "visit_until": VISIT_UNTIL.isoformat(),
            "due_at": DUE.isoformat()}
    before = row_counts(app)
    wrong = client.post("/api/v1/mystery/assignments/", json={**body, "visit_type": "walk-in"}, headers=headers)
    assert wrong.status_code == 422 and wrong.get_json()["errors"]["json"] == {
        "visit_type": ["choose one of the template's visit types: enquiry, transaction"]}
    too_long = client.post("/api/v1/mystery/assignments/", json={**body, "visit_type": "x" * 31}, headers=headers)
    assert too_long.status_code == 422 and "visit_type" in too_long.get_json()["errors"]["json"]
    assert row_counts(app) == before
    created = client.post("/api/v1/mystery/assignments/", json={**body, "visit_type": "transaction"},
                          headers=headers)
    assert created.status_code == 201, created.get_json()
    item = created.get_json()
    assert item["visit_type"] == "transaction"
    assert [q["key"] for q in item["questions"]["questions"]] == ["Q1", "Q2", "T1", "D1", "P1"]
    untyped = client.post("/api/v1/mystery/assignments/", json=body, headers=headers).get_json()
    assert untyped["visit_type"] is None and len(untyped["questions"]["questions"]) == 6
    listed = client.get("/api/v1/mystery/assignments/", headers=headers).get_json()
    assert {i["id"]: i["visit_type"] for i in listed}[item["id"]] == "transaction"


def test_the_r3ximous_import_splits_its_questions_by_the_files_type_of_visit(shared_data):
    path = shared_data / R3XIMOUS
    document = validate_template(read_template(path, "r3ximous"))
    rows = [row for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
            if row["Changes made"].strip() != "to be deleted"]
    # The file writes the column loosely ("Enquiry/ Transaction", "Transaction/ Enquiry ", "Enquiry\n").
    written = Counter(tuple(sorted(p.strip().lower() for p in row["Type of visit"].split("/") if p.strip()))
                      for row in rows)
    assert written == {("enquiry", "transaction"): 70, ("transaction",): 13, ("enquiry",): 9}
    assert Counter(tuple(q["visit_types"]) for q in document["questions"]) == written
    assert visit_types_of(document) == ["enquiry", "transaction"]
    assert len(questions_for_visit(document, "enquiry")) == 70 + 9
    assert len(questions_for_visit(document, "transaction")) == 70 + 13
    assert len(questions_for_visit(document, None)) == 92
