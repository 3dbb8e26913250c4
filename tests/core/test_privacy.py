"""Data protection: erasing a customer's personal data keeps every number; old payloads keep only what is read."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalResult, AppraisalRun, MetricResult
from channels.post_ticket_survey.models import Invitation, SurveyTemplate
from channels.social_monitoring.store import store_posts
from core.config import ConfigError
from core.db import transaction
from core.ingestion import ingest, respondent_ref
from core.jobs import RETENTION_CRON, cron_entries
from core.models import (
    AuditEntry,
    Dispute,
    Feedback,
    Ticket,
    User,
    record_audit,
    utcnow,
)
from core.privacy import ERASED, erase_customer
from core.retention import (
    KEPT_PAYLOAD_KEYS,
    purge_expired_payloads,
    purge_expired_payloads_job,
)
from tests.fixtures.app import counted_statements, row_counts
from tests.fixtures.appraisal import GUIDELINE, WEEK
from tests.fixtures.payloads import survey

JANE = "Jane.Doe@Example.com"
#: What the customer's items hold beside what aggregation reads.
PERSONAL = {"comment": "Jane Doe here, order 5551234", "author": "@janedoe", "text": "@ann_acme was lovely",
            "url": "https://social.example/janedoe/1", "answered_via": {"user_agent": "Firefox/140"},
            "handles": ["janedoe"], "phone": "+44 20 7946 0000"}
# What the numbers read: a mystery section, a reply's thread and label, a flag that is false.
KEPT = {"section": "greeting", "source": "acme", "in_reply_to": None, "brand_reply": False, "sentiment": "positive",
        "agent": {"provider": "email", "id": "ann@example.com"}, "scale": [1, 5]}
# What may differ between two runs of the same thing: their ids and when they were made.
VOLATILE = {"id", "run_id", "decided_at", "created_at"}


def _snapshot(run_id: int) -> tuple[list, list]:
    """Every metric (value and n included) and every result of a completed run."""
    def plain(row):
        return {k: v for k, v in vars(row).items() if k not in VOLATILE and not k.startswith("_")}

    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        assert run.status == "completed", run.error
        metrics = [plain(m) for m in session.scalars(select(MetricResult).where(MetricResult.run_id == run_id)
                                                     .order_by(MetricResult.employee_id, MetricResult.metric))]
        results = [plain(r) for r in session.scalars(select(AppraisalResult).where(
            AppraisalResult.run_id == run_id).order_by(AppraisalResult.employee_id))]
    assert metrics and any(m["n"] for m in metrics)
    return metrics, results


@pytest.fixture
def customer(app, worked_example):
    """Jane's answers among the worked example's (Ann's CSAT, Bob's NPS), one more customer's, Jane's
    invitation and ticket, and mystery sections the guideline scores by their payload's section."""
    salt = app.config["RESPONDENT_SALT"]
    with transaction() as session:
        ticket = Ticket(provider="zendesk", external_id="4711", subject="Refund for Jane Doe", category="Refunds")
        session.add(ticket)
        session.flush()
        items = session.scalars(select(Feedback).where(Feedback.occurred_at >= WEEK.start)
                                .order_by(Feedback.id)).all()
        janes = [i for i in items if (i.employee_id, i.kind) in {(worked_example.ids["ann"], "csat"),
                                                                (worked_example.ids["bob"], "nps")}]
        for number, item in enumerate(janes):
            # The survey knew her address; the social source, her handle as a feed writes it.
            item.respondent_ref = respondent_ref(JANE if number % 2 else "@janedoe", salt)
            item.comment = PERSONAL["comment"]
            item.payload = PERSONAL | KEPT
        janes[0].ticket_id = ticket.id
        other = next(i for i in items if i.employee_id == worked_example.ids["dan"])
        other.respondent_ref, other.comment = respondent_ref("sam@example.com", salt), "Sam says thanks"
        other.payload = {"comment": "Sam says thanks"}
        for number, (who, section, value) in enumerate([("ann", "greeting", 90.0), ("ann", "greeting", 70.0),
                                                        ("bob", "greeting", 40.0), ("bob", "speed", 100.0)]):
            session.add(Feedback(channel="mystery_shopper", kind="mystery_section", external_id=f"r{number}",
                                 value=value, scale_min=0, scale_max=100, employee_id=worked_example.ids[who],
                                 occurred_at=WEEK.start + timedelta(days=number, hours=9),
                                 payload={"section": section, "report_id": number, "shopper": "Pat Shopper"}))
        template = SurveyTemplate(slug="csat", version=1, title="How did we do?", questions=[])
        session.add(template)
        session.flush()
        invitation = Invitation(token_nonce="n", token_hash="h" * 64, ticket_id=ticket.id, template_id=template.id,
                                solved_at=WEEK.start, recipient_email="jane.doe@example.com",
                                respondent_ref=respondent_ref(JANE, salt), delivery="email",
                                expires_at=WEEK.end)
        session.add(invitation)
        metrics = [{"rule": "csat_percent", "weight": 50}, {"rule": "nps", "weight": 30},
                   {"rule": "mystery_section", "weight": 20, "params": {"section": "greeting"}, "min_n": 1}]
        publish_guideline(session, dict(GUIDELINE, metrics=metrics), actor=None, note="with mystery")
        return [i.id for i in janes], other.id


def test_erasure_leaves_nothing_of_the_customer_and_every_number_of_a_rerun(app, worked_example, customer):
    janes, other = customer
    before = _snapshot(worked_example.run(version=2))
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        report = erase_customer(session, [JANE, "janedoe"], actor=hr, note="DSR-12")
    assert report.as_dict() == {"items": len(janes), "by_kind": {"test csat": 4, "test nps": 4}, "comments": 8,
                                "replies": 0, "invitations": 1, "tickets": 1, "audit_entries": 0, "mentions": 0}

    assert _snapshot(worked_example.run(version=2)) == before
    with transaction() as session:
        for item in session.scalars(select(Feedback).where(Feedback.id.in_(janes))):
            assert (item.comment, item.respondent_ref) == (ERASED, None)
            assert item.payload == KEPT  # the false flag and the null stay as they were
            assert item.value is not None and item.employee_id is not None
        kept = session.get(Feedback, other)
        assert kept.comment == "Sam says thanks" and kept.respondent_ref and kept.payload
        invitation = session.scalar(select(Invitation))
        assert (invitation.recipient_email, invitation.respondent_ref) == (None, None)
        assert invitation.expires_at <= utcnow()  # its link closed: it would show the answer and take another
        ticket = session.scalar(select(Ticket).where(Ticket.provider == "zendesk"))
        assert ticket.subject is None and ticket.category == "Refunds"
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.erased"))
        assert (audit.actor_id, audit.entity_id, audit.note) == (worked_example.hr, report.request_ref, "DSR-12")
        assert audit.after["items"] == len(janes)
        written = json.dumps([audit.entity_id, audit.after, audit.note]).lower()
        assert "jane" not in written and respondent_ref(JANE, app.config["RESPONDENT_SALT"]) not in written


def test_a_dry_run_writes_nothing_and_a_second_erasure_finds_nothing(app, worked_example, customer, caplog):
    janes, _ = customer
    runner = app.test_cli_runner()
    with transaction() as session:
        stored = {i.id: (i.comment, i.respondent_ref, i.payload) for i in session.scalars(select(Feedback))}
    counts = row_counts(app)

    dry = runner.invoke(args=["privacy", "erase", JANE, "@JaneDoe", "--by", "hr@example.com", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("would erase 8 feedback item(s) (test csat 4, test nps 4), 8 comment(s), "
                                 "0 brand reply(ies) to them, 1 survey invitation(s), 1 ticket subject(s)")
    assert row_counts(app) == counts
    with transaction() as session:
        assert {i.id: (i.comment, i.respondent_ref, i.payload) for i in session.scalars(select(Feedback))} == stored

    first = runner.invoke(args=["privacy", "erase", JANE, "@JaneDoe", "--by", "HR@example.com"])
    assert first.exit_code == 0 and first.output.startswith("erased 8 feedback item(s)"), first.output
    again = runner.invoke(args=["privacy", "erase", JANE, "@JaneDoe", "--by", "hr@example.com"])
    assert again.exit_code == 0 and again.output.startswith(
        "erased 0 feedback item(s), 0 comment(s), 0 brand reply(ies) to them, 0 survey invitation(s), "
        "0 ticket subject(s)"), again.output
    with transaction() as session:
        assert session.scalar(select(Feedback).where(Feedback.id == janes[0])).comment == ERASED
        assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.erased")).all()) == 2
    assert "jane" not in (first.output + again.output + caplog.text).lower()


def test_a_changed_answer_s_words_go_from_the_audit_log_and_people_s_mentions_are_listed(app, worked_example,
                                                                                       customer):
    """Jane changed her answer: the audit log kept both her comments after the erasure. An employee's dispute
    naming her is their words, kept, but the person answering the request is told where it is."""
    janes, other = customer
    with transaction() as session:
        item = session.get(Feedback, janes[1])
        record_audit(session, "feedback.revised", item, before={"value": 3.0, "comment": "Call Jane on 07700 900123",
                                                                "occurred_at": "2026-11-03T10:00:00+00:00"},
                     after={"value": 2.0, "comment": PERSONAL["comment"], "occurred_at": "2026-11-03T11:00:00+00:00"})
        session.add(Dispute(feedback_id=janes[0], reason="Not mine: this was Jane Doe (@JaneDoe) again",
                            raised_by=worked_example.users["ann"]))
        session.add(Dispute(feedback_id=other, reason="janedoes.com is a shop, not a person"))  # no whole word
        # In capitals, with a letter SQLite's lower() does not fold: found on both databases
        session.add(Dispute(feedback_id=janes[2], reason="THE CUSTOMER WAS @JOSÉ_P AGAIN",
                            raised_by=worked_example.users["bob"]))
    result = app.test_cli_runner().invoke(args=["privacy", "erase", JANE, "janedoe", "@josé_p", "--by",
                                                "hr@example.com"])
    assert result.exit_code == 0, result.output
    with transaction() as session:
        revised = session.scalar(select(AuditEntry).where(AuditEntry.action == "feedback.revised"))
        assert (revised.before["comment"], revised.after["comment"]) == (ERASED, ERASED)
        assert (revised.before["value"], revised.after["value"]) == (3.0, 2.0)  # that it changed, and how, stay
        dispute = session.scalar(select(Dispute).where(Dispute.feedback_id == janes[0]))
        assert dispute.reason == "Not mine: this was Jane Doe (@JaneDoe) again"  # Ann's words, left to a person
        capitals = session.scalar(select(Dispute.id).where(Dispute.reason.like("THE CUSTOMER%")))
    assert "1 changed answer(s) in the audit log" in result.output
    assert (f"named in what people wrote, left as written for you to review: dispute {dispute.id} reason, "
            f"dispute {capitals} reason\n" in result.output)  # the shop's dispute does not name her


def test_erase_names_who_may_ask_and_refuses_an_empty_identifier(app, worked_example):
    runner = app.test_cli_runner()
    nobody = runner.invoke(args=["privacy", "erase", JANE, "--by", "nobody@example.com"])
    assert nobody.exit_code == 2 and "--by" in nobody.output and "no account" in nobody.output
    employee = runner.invoke(args=["privacy", "erase", JANE, "--by", "ann@example.com"])
    assert employee.exit_code == 2 and "--by" in employee.output and "HR or an admin" in employee.output
    empty = runner.invoke(args=["privacy", "erase", " ", "--by", "admin@example.com"])
    assert empty.exit_code == 2 and "IDENTIFIERS" in empty.output
    with transaction() as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.erased")) is None


def test_an_ingested_answer_is_found_by_the_address_it_came_with(app, session, create_employee, create_user):
    create_employee("Ann Agent", identities=[("helpdesk", "101")])
    hr = create_user("hr@example.com", roles=["hr"])
    ingest(session, "post_ticket_survey", [survey(comment="Call me on 0161 496 0000")])
    session.commit()
    report = erase_customer(session, ["customer@example.com"], actor=hr)
    session.commit()
    item = session.scalar(select(Feedback))
    assert report.as_dict()["items"] == 1 and item.comment == ERASED and item.respondent_ref is None
    assert set(item.payload) <= KEPT_PAYLOAD_KEYS and item.payload["response_id"] == "r-1"


def _post(external_id: str, text: str, author: str, **extra) -> dict:
    return {"source": "acme", "external_id": external_id, "posted_at": "2026-11-02T10:15:00+00:00",
            "text": text, "author": author, **extra}


def test_a_brand_reply_to_the_customer_keeps_its_words_and_value_less_the_customer(app, session):
    store_posts(session, [
        _post("1", "@AcmeCare my parcel is lost again, order 5551234", "@JaneDoe"),
        _post("2", "@JaneDoe so sorry, Jane! We have sent a new one ^AH", "@AcmeCare", brand_reply=True,
              in_reply_to="1", posted_at="2026-11-02T10:45:00+00:00"),
        _post("3", "@janedoes twin here, all fine", "@janedoes"),
        _post("4", "@janedoes glad to hear it ^AH", "@AcmeCare", brand_reply=True, in_reply_to="3"),
    ])
    session.commit()
    report = erase_customer(session, ["janedoe"])
    session.commit()
    assert (report.as_dict()["items"], report.replies) == (1, 1)
    items = {i.external_id: i for i in session.scalars(select(Feedback))}
    post, reply = items["acme:1"], items["acme:2"]
    assert (post.comment, post.respondent_ref) == (ERASED, None) and "author" not in post.payload
    assert reply.comment == f"{ERASED} so sorry, Jane! We have sent a new one ^AH"
    assert reply.value == 30 and reply.payload["in_reply_to"] == "1" and "text" not in reply.payload
    assert items["acme:3"].comment == "@janedoes twin here, all fine"  # another customer, another thread
    assert items["acme:4"].comment == "@janedoes glad to hear it ^AH" and "text" in items["acme:4"].payload


def test_retention_strips_old_payloads_keeps_new_ones_and_every_number(app, worked_example, customer):
    janes, _ = customer
    before = _snapshot(worked_example.run(version=2))
    cutoff = WEEK.start + timedelta(days=2)  # mid-week: some of the appraised items on either side
    with transaction() as session:
        old = {i.id for i in session.scalars(select(Feedback).where(Feedback.occurred_at < cutoff))}
        payloads = {i.id: i.payload for i in session.scalars(select(Feedback))}
    assert old and set(payloads) - old

    stripped = purge_expired_payloads(cutoff, batch_size=3)
    assert stripped == len([i for i in old if set(payloads[i]) - KEPT_PAYLOAD_KEYS])
    with transaction() as session:
        for item in session.scalars(select(Feedback)):
            wanted = ({k: v for k, v in payloads[item.id].items() if k in KEPT_PAYLOAD_KEYS}
                      if item.id in old else payloads[item.id])
            assert item.payload == wanted, item.id
        assert session.scalar(select(AuditEntry.after).where(AuditEntry.action == "privacy.payloads_purged"))[
            "items"] == stripped
    assert any(payloads[i] == PERSONAL | KEPT for i in old & set(janes))  # her old answers were stripped
    assert _snapshot(worked_example.run(version=2)) == before
    assert purge_expired_payloads(cutoff, batch_size=3) == 0  # idempotent: nothing left to strip


def _items(session, count: int, at: datetime) -> None:
    for number in range(count):
        session.add(Feedback(channel="test", kind="csat", external_id=f"{at:%j}-{number}", value=4.0,
                             occurred_at=at, payload={"comment": "personal", "scale": [1, 5]}))
    session.commit()


def test_retention_takes_the_same_statements_per_batch_however_many_items(app, session):
    old = utcnow() - timedelta(days=400)
    _items(session, 10, old)
    with counted_statements(app) as small:
        assert purge_expired_payloads(utcnow(), batch_size=5) == 10
    _items(session, 20, old - timedelta(days=1))
    with counted_statements(app) as large:
        assert purge_expired_payloads(utcnow(), batch_size=10) == 20
    assert len(small) == len(large)  # two batches each: twice the items, no more statements


def test_the_daily_job_follows_the_setting(make_app):
    app = make_app(PAYLOAD_RETENTION_DAYS=30)
    assert any(e.func == "core.retention.purge_expired_payloads_job" and e.cron == RETENTION_CRON == "30 3 * * *"
               for e in cron_entries(app))
    with app.app_context(), transaction() as session:
        _items(session, 2, utcnow() - timedelta(days=31))
        _items(session, 3, utcnow() - timedelta(days=29))
    with app.app_context():
        assert purge_expired_payloads_job() == 2
        assert purge_expired_payloads_job() == 0
    keep = make_app(PAYLOAD_RETENTION_DAYS=None)
    with keep.app_context():
        assert purge_expired_payloads(utcnow() + timedelta(days=1)) == 3  # by hand, the newer ones too
    with keep.app_context(), transaction() as session:
        _items(session, 1, datetime(2000, 1, 1, tzinfo=UTC))
    with keep.app_context():
        assert purge_expired_payloads_job() == 0  # null keeps payloads whole


@pytest.mark.parametrize("days", [0, -5, "a year", 1.5, 40_000])
def test_a_wrong_retention_setting_stops_start_up_naming_it(make_app, days):
    with pytest.raises(ConfigError, match="PLAUDIT_PAYLOAD_RETENTION_DAYS"):
        make_app(PAYLOAD_RETENTION_DAYS=days)


def test_purge_payloads_reports_its_progress(app, session):
    _items(session, 4, utcnow() - timedelta(days=400))
    _items(session, 2, utcnow() - timedelta(days=10))
    result = app.test_cli_runner().invoke(args=["privacy", "purge-payloads", "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert "stripping payloads older than 365 days" in result.output
    assert "stripped 4 payload(s)" in result.output
    assert app.test_cli_runner().invoke(args=["privacy", "purge-payloads"]).output.startswith(
        "stripping payloads older than 365 days")
    kept = app.test_cli_runner().invoke(args=["privacy", "purge-payloads", "--older-than-days", "5"])
    assert "stripped 2 payload(s)" in kept.output
