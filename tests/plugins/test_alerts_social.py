"""Alerts on negative social mentions: the manager of the employee a post names hears of it, once, by real
SMTP; a mention credited to nobody goes to HR; brand replies, kind posts and old archives never alert."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from channels.social_monitoring.store import store_posts
from core.config import ConfigError
from core.db import transaction
from core.models import (
    AuditEntry,
    Employee,
    EmployeeIdentity,
    Feedback,
    PendingJob,
    Team,
    User,
)

RUDE = "@AcmeCare @ann_at_acme was rude and useless, worst support ever. Mail me at jo@example.org"
MILD = "@AcmeCare @ann_at_acme a little disappointed with the wait"  # vader: -0.42
KIND = "@AcmeCare thanks @ann_at_acme, brilliant help!"
PLAIN = "@AcmeCare @ann_at_acme my parcel arrived today"  # vader: 0.0


def _org(app) -> int:
    """Lea leads Support, where Ann (@ann_at_acme, signing ^AA) works; Hana and Hugo are HR. Return Ann's id."""
    with app.app_context(), transaction() as session:
        support = Team(name="Support", slug="support")
        lea = Employee(name="Lea Lead", email="lea@example.com", team=support)
        ann = Employee(name="Ann Agent", email="ann@example.com", team=support,
                       identities=[EmployeeIdentity(provider="social_handle", external_id="ann_at_acme"),
                                   EmployeeIdentity(provider="social_signoff", external_id="AcmeCare/AA")])
        session.add_all([support, lea, ann])
        for email, name, roles in [("hana@example.com", "Hana HR", ["hr"]), ("hugo@example.com", "Hugo HR", ["hr"]),
                                   ("old@example.com", "Gone HR", ["hr"]), ("max@example.com", "Max", ["manager"])]:
            user = User(email=email, name=name, password_hash="!", active=email != "old@example.com")
            user.roles = roles
            session.add(user)
        session.flush()
        support.manager_id = lea.id
        return ann.id


def _post(external_id: str, text: str, *, age=timedelta(minutes=5), **extra) -> dict:
    posted = datetime.now(UTC) - age
    return {"source": "twitter", "external_id": external_id, "posted_at": posted.isoformat(), "text": text,
            "author": "jo_customer", "url": f"https://twitter.example/jo_customer/status/{external_id}",
            "handles": ["AcmeCare", "ann_at_acme"] if "@ann_at_acme" in text else ["AcmeCare"]} | extra


def _store(app, *posts) -> list[int]:
    """Store posts as every social entry point does; the handle a post names credits it to its employee."""
    with app.app_context(), transaction() as session:
        return [stored.feedback_id for stored in store_posts(session, list(posts)).created]


def _parts(message) -> tuple[str, str]:
    parts = {part.get_content_type(): part.get_payload(decode=True).decode(part.get_content_charset())
             for part in message.walk() if not part.is_multipart()}
    return parts["text/plain"], parts["text/html"]


def _subject(message) -> str:
    return " ".join(message["Subject"].split())  # a long subject is folded onto two lines


def _pending(app) -> list[PendingJob]:
    with app.app_context(), transaction() as session:
        return list(session.scalars(select(PendingJob)))


def test_a_negative_mention_of_an_employee_reaches_their_manager(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app()
    ann = _org(app)
    [feedback_id] = _store(app, _post("1001", RUDE))

    [message] = inbox.messages  # inline: sent as soon as the ingesting transaction committed
    assert message["To"] == "lea@example.com"
    assert _subject(message) == "Plaudit alert, a negative social mention: Ann Agent: sentiment -0.80"
    text, html = _parts(message)
    for part in (text, html):
        assert "naming Ann Agent" in part.replace("<strong>", "").replace("</strong>", "")
        assert "-0.80" in part and "negative" in part and "twitter" in part
        assert "was rude and useless, worst support ever" in part
        assert "[handle]" in part and "[e-mail]" in part and "jo@example.org" not in part  # redacted as comments are
        assert "https://twitter.example/jo_customer/status/1001" in part  # the public post itself
        assert f"https://plaudit.example.com/team/responses?employee={ann}" in part
    with app.app_context(), transaction() as session:
        item = session.get(Feedback, feedback_id)
        assert (item.employee_id, item.attribution_policy) == (ann, "subject")  # by the handle it names
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.sent")).all()
        assert (entry.entity_id, entry.after["reason"]) == (str(feedback_id), "negative_mention")
    assert _pending(app) == []


def test_neutral_and_kind_mentions_and_brand_replies_never_alert(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app()
    ann = _org(app)
    stored = _store(app, _post("2001", KIND), _post("2002", PLAIN), _post("2003", MILD),
                    _post("2004", "@jo_customer So sorry, this is terrible and awful. ^AA", author="AcmeCare",
                          brand_reply=True, in_reply_to="1001", handles=["jo_customer"]))
    with app.app_context(), transaction() as session:
        credited = session.execute(select(Feedback.kind, Feedback.employee_id).where(Feedback.id.in_(stored))
                                   .order_by(Feedback.id)).all()
    assert credited == [("social_mention", ann)] * 3 + [("social_reply", ann)]  # all Ann's, none alerting
    assert inbox.messages == []
    assert _pending(app) == []  # not even a job waiting


def test_the_same_post_stored_again_sends_nothing_more(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app()
    _org(app)
    assert _store(app, _post("3001", RUDE))
    assert len(inbox.messages) == 1
    assert _store(app, _post("3001", RUDE)) == []  # a second poll or import finds it stored
    assert len(inbox.messages) == 1
    assert _pending(app) == []


def test_an_old_post_imported_from_an_archive_does_not_alert(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app()
    _org(app)
    assert _store(app, _post("4001", RUDE, age=timedelta(days=30)))
    assert inbox.messages == []


def test_a_negative_mention_credited_to_nobody_goes_to_hr(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app()
    _org(app)
    _store(app, _post("5001", "@AcmeCare the app is broken again, terrible"))

    [message] = inbox.messages  # one message to every active HR user, so a retry repeats it for nobody
    assert message["To"] == "hana@example.com, hugo@example.com"
    assert _subject(message) == "Plaudit alert, a negative social mention: credited to nobody yet: sentiment -0.74"
    text, _html = _parts(message)
    assert "the app is broken again" in text and "https://plaudit.example.com/unattributed" in text
    # the link opens the queue itself
    assert app.url_map.bind("plaudit.example.com").match("/unattributed")[0] == "queue.unattributed"
    with app.app_context(), transaction() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.sent")).all()
        hr = session.scalars(select(User.id).where(User.email.in_(["hana@example.com", "hugo@example.com"]))
                             .order_by(User.id)).all()
        assert entry.after["hr_user_ids"] == hr


def test_the_threshold_comes_from_the_configuration(mail_app, smtp_server):
    inbox, _port = smtp_server
    app = mail_app(ALERT_SOCIAL_BELOW=-0.3)
    _org(app)
    _store(app, _post("6001", MILD), _post("6002", PLAIN))
    assert [_subject(message) for message in inbox.messages] == [
        "Plaudit alert, a negative social mention: Ann Agent: sentiment -0.42"]

    silent = mail_app(ALERT_SOCIAL_BELOW=None)  # null: no social alerts at all
    _store(silent, _post("6003", RUDE))
    assert len(inbox.messages) == 1


@pytest.mark.parametrize("value", [0.5, -1.5, "very negative"])
def test_a_bad_threshold_is_refused_naming_the_setting(make_app, value):
    with pytest.raises(ConfigError, match="PLAUDIT_ALERT_SOCIAL_BELOW"):
        make_app(ALERT_SOCIAL_BELOW=value)
