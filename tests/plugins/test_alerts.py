"""Real-time alerts: a detractor or a very low CSAT reaches the employee's manager, once, by real SMTP."""
from __future__ import annotations

from dataclasses import dataclass

from rq import SimpleWorker
from sqlalchemy import select, update

from core import jobs
from core.db import transaction
from core.ingestion import announce_feedback, ingest
from core.models import (
    AuditEntry,
    Employee,
    EmployeeIdentity,
    Feedback,
    PendingJob,
    Team,
)
from plugins.alerts.delivery import send_alert
from tests.fixtures.payloads import survey

COMMENT = "Ann never called back. Reach me at jo.customer@example.org or +44 20 7946 0958 <b>now</b>"


@dataclass
class Org:
    ann: int
    lea: int
    dan: int


def _org(app) -> Org:
    """Lea leads Support (Ann); Dan is in Billing, which nobody leads; Support sits under Operations,
    led by Olga, who hears of Lea's own detractors."""
    with app.app_context(), transaction() as session:
        operations, billing = Team(name="Operations", slug="ops"), Team(name="Billing", slug="billing")
        support = Team(name="Support", slug="support", parent=operations)
        olga = Employee(name="Olga Ops", email="olga@example.com", team=operations)
        lea = Employee(name="Lea Lead", email="lea@example.com", team=support,
                       identities=[EmployeeIdentity(provider="helpdesk", external_id="100")])
        ann = Employee(name="Ann Agent", email="ann@example.com", team=support,
                       identities=[EmployeeIdentity(provider="helpdesk", external_id="101")])
        dan = Employee(name="Dan Desk", email="dan@example.com", team=billing,
                       identities=[EmployeeIdentity(provider="helpdesk", external_id="202")])
        session.add_all([operations, billing, support, olga, lea, ann, dan])
        session.flush()
        operations.manager_id, support.manager_id = olga.id, lea.id
        return Org(ann=ann.id, lea=lea.id, dan=dan.id)


def _ingest(app, *payloads):
    with app.app_context(), transaction() as session:
        report = ingest(session, "post_ticket_survey", list(payloads))
    return [stored.feedback_id for stored in report.created]


def _parts(message) -> tuple[str, str]:
    parts = {part.get_content_type(): part.get_payload(decode=True).decode(part.get_content_charset())
             for part in message.walk() if not part.is_multipart()}
    return parts["text/plain"], parts["text/html"]


def _pending(app) -> list[PendingJob]:
    with app.app_context(), transaction() as session:
        return list(session.scalars(select(PendingJob)))


def test_a_detractor_reaches_the_manager_with_what_they_need(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app()
    org = _org(app)
    [feedback_id] = _ingest(app, survey("r-1", kind="nps", rating=3, comment=COMMENT, ticket_id="zendesk:77"))

    [message] = inbox.messages  # inline: sent as soon as the ingesting transaction committed
    assert message["To"] == "lea@example.com"
    assert message["Subject"] == "Plaudit alert, a detractor score: Ann Agent: NPS 3 of 10"
    text, html = _parts(message)
    for part in (text, html):
        assert "Ann Agent" in part and "NPS 3" in part and "0 to 10" in part and "zendesk:77" in part
        assert "Ann never called back" in part and "[e-mail]" in part and "[number]" in part
        assert "jo.customer@example.org" not in part and "7946" not in part  # the customer's details
        assert f"https://plaudit.example.com/team/responses?employee={org.ann}" in part
    assert "&lt;b&gt;now&lt;/b&gt;" in html and "<b>now</b>" not in html  # the comment cannot inject markup
    assert _pending(app) == []
    with app.app_context(), transaction() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.sent")).all()
        assert (entry.entity_id, entry.after["reason"]) == (str(feedback_id), "detractor")


def test_the_lowest_csat_alerts_on_every_scale_but_nothing_better_does(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app()
    _org(app)
    _ingest(app, survey("low-5", rating=1), survey("two-5", rating=2),
            survey("bad", rating=0, scale=[0, 1]), survey("good", rating=1, scale=[0, 1]),
            survey("low-7", rating=1, scale=[1, 7]), survey("passive", kind="nps", rating=7),
            survey("promoter", kind="nps", rating=10), survey("ces", kind="ces", rating=1, scale=[1, 7]))
    subjects = sorted(message["Subject"] for message in inbox.messages)
    assert subjects == ["Plaudit alert, a very low CSAT: Ann Agent: CSAT 0 of 1",
                        "Plaudit alert, a very low CSAT: Ann Agent: CSAT 1 of 5",
                        "Plaudit alert, a very low CSAT: Ann Agent: CSAT 1 of 7"]


def test_thresholds_come_from_the_configuration(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app(ALERT_NPS_BELOW=8, ALERT_CSAT_LOWEST=0)
    _org(app)
    _ingest(app, survey("passive", kind="nps", rating=7), survey("better", kind="nps", rating=8),
            survey("low", rating=1))
    assert [message["Subject"] for message in inbox.messages] == [
        "Plaudit alert, a detractor score: Ann Agent: NPS 7 of 10"]


def test_nobody_to_tell_means_no_alert(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app()
    _org(app)
    _ingest(app, survey("nobody", kind="nps", rating=0, agent=None),        # unattributed
            survey("billing", kind="nps", rating=0, agent=("helpdesk", "202")))  # a team nobody leads
    assert inbox.messages == []
    assert _pending(app) == []  # not even a job waiting


def test_a_leads_own_detractor_goes_to_the_lead_above(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app()
    _org(app)
    _ingest(app, survey("lea", kind="nps", rating=2, agent=("helpdesk", "100")))
    [message] = inbox.messages
    assert message["To"] == "olga@example.com" and "Lea Lead" in message["Subject"]


def test_no_item_is_alerted_twice(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app()
    _org(app)
    [feedback_id] = _ingest(app, survey("r-1", kind="nps", rating=1))
    assert len(inbox.messages) == 1
    with app.app_context():
        assert announce_feedback([feedback_id]) == 0  # a retried announcement finds it announced
        assert send_alert(feedback_id) is None         # a second copy of the job finds it sent
        with transaction() as session:  # even announced afresh, as after a failed sibling hook
            session.execute(update(Feedback).where(Feedback.id == feedback_id).values(announced_at=None))
        assert announce_feedback([feedback_id]) == 1
    assert len(inbox.messages) == 1
    assert _pending(app) == []


def test_without_smtp_nothing_is_queued(make_app):
    app = make_app()  # no PLAUDIT_MAIL_SERVER
    _org(app)
    assert _ingest(app, survey("r-1", kind="nps", rating=1))
    assert _pending(app) == []


def test_a_failed_send_is_retried_and_then_delivered(make_app, smtp_server):
    inbox, port = smtp_server
    closed = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_SECURITY="none")  # nothing listens there
    _org(closed)
    [feedback_id] = _ingest(closed, survey("r-1", kind="nps", rating=1))
    [waiting] = _pending(closed)
    assert waiting.func == "plugins.alerts.delivery.send_alert" and "Connection" in waiting.last_error

    working = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SECURITY="none")
    with working.app_context():
        assert send_alert(feedback_id)
    assert [message["To"] for message in inbox.messages] == ["lea@example.com"]


def test_a_real_rq_worker_delivers_the_alert(mail_app, smtp_server, redis_url):
    inbox, _port = smtp_server
    app = mail_app(REDIS_URL=redis_url, QUEUE_NAME="test-alerts")
    _org(app)
    _ingest(app, survey("r-1", kind="nps", rating=4, comment="slow"))
    assert inbox.messages == []  # handed to the queue, not sent in the request

    # the announcement, then the alert job it enqueues, both through Redis
    jobs.run_worker(app, burst=True, worker_class=SimpleWorker)

    [message] = inbox.messages
    assert message["To"] == "lea@example.com" and "NPS 4" in message["Subject"]
    assert _pending(app) == []
