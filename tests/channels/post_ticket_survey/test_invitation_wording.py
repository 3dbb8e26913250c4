"""What the invitation says: the e-mail and the survey page, for any number of questions."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from channels.post_ticket_survey.invitations import Solve, invite_solved
from channels.post_ticket_survey.schemas import SurveySettingsSchema
from core.models import utcnow
from core.tickets import TicketUpdate, upsert_tickets

from .deliveries import (
    generic_integration,
    post,
    solved_ticket_delivery,
)


@pytest.fixture
def outbox(monkeypatch):
    """The invitation e-mails sent, as (to, subject, text, html); no SMTP server involved."""
    sent = []
    monkeypatch.setattr("channels.post_ticket_survey.invitations.send_mail",
                        lambda to, subject, text, html=None, headers=None: sent.append((to, subject, text, html)))
    return sent


def _mailing_app(make_app):
    return make_app(MAIL_SERVER="mail.example.invalid", MAIL_FROM="cs@example.com",
                    PUBLIC_URL="http://surveys.example.com")


def _page_text(client, html: str) -> str:
    path = re.search(r"http://surveys\.example\.com(/channels/post_ticket_survey/s/[^\"\s]+)", html).group(1)
    return client.get(path).get_data(as_text=True)


def test_the_default_invitation_says_it_once_and_counts_its_questions_right(make_app, session, outbox):
    app = _mailing_app(make_app)
    client = app.test_client()
    integration = generic_integration(session)
    assert post(client, integration, solved_ticket_delivery()).get_json()["invitations"] == [{"ticket": "T-1",
                                                                                   "delivery": "email"}]
    [(to, subject, text, html)] = outbox
    assert (to, subject) == ("customer@example.com", "How did we do?")
    for body in (text, html.replace("&ldquo;", '"').replace("&rdquo;", '"')):
        assert body.count("contacted") == 1, body  # once, not twice
        assert 'You recently contacted us about "Printer on fire". Would you tell us how we did?' in body
        assert "Your answer helps us improve our support." in body
        assert "One question, and room for a comment:" in body
        assert "How satisfied are you with the help you received?" in body
        assert "Two" not in body and "two" not in body
    page = _page_text(client, html)
    assert "Your answer helps us improve our support." in page and "Two quick questions" not in page


def test_an_invitation_counts_the_questions_of_its_template(make_app, session, outbox):
    from channels.post_ticket_survey.survey_templates import save_version

    app = _mailing_app(make_app)
    client = app.test_client()
    save_version(session, {"slug": "after-call", "title": "Your call with us", "intro": None,
                           "questions": [{"key": "csat", "kind": "csat", "wording": "How satisfied are you?"},
                                         {"key": "effort", "kind": "ces", "wording": "How easy was it?"},
                                         {"key": "nps", "kind": "nps", "wording": "Would you recommend us?"}]})
    session.commit()
    post(client, generic_integration(session, template="after-call"), solved_ticket_delivery())
    [(_to, subject, text, html)] = outbox
    assert subject == "Your call with us"
    assert "Would you tell us how we did?\n\nThree questions:\n\nHow satisfied are you?\nHow easy was it?\n" \
           "Would you recommend us?\n" in text
    assert "<p>Three questions:</p>" in html and "None" not in text + html


def test_a_stored_default_with_the_first_wording_is_replaced(make_app, session, outbox):
    """Installations that used the default before keep it stored, as version 1: it gets the right wording."""
    from channels.post_ticket_survey.models import SurveyTemplate
    from channels.post_ticket_survey.survey_templates import current, save_version

    first = {"slug": "default", "title": "How did we do?",
             "intro": "You recently contacted our support team. Two quick questions:",
             "questions": [{"key": "csat", "kind": "csat", "scale": [1, 5],
                            "wording": "How satisfied are you with the help you received?",
                            "low_label": "Very unsatisfied", "high_label": "Very satisfied"}],
             "comment_prompt": "Anything you would like to tell us? (optional)"}
    from core.db import transaction

    app = _mailing_app(make_app)
    client = app.test_client()
    with app.app_context(), transaction() as setup:
        old = save_version(setup, first)
        ticket = upsert_tickets(setup, [TicketUpdate(provider="ourdesk", external_id="T-0", subject="Old one",
                                                     resolved_at=utcnow())])[("ourdesk", "T-0")]
        [(made_before, _token)] = invite_solved(setup, [Solve(ticket, "early@example.com")],
                                                SurveySettingsSchema().load({}))
        made_before.template = old  # as an invitation made before the upgrade
    [(_to, _subject, text, html)] = outbox  # mailed after the upgrade: without the old intro
    assert "Two quick questions" not in text and "contacted" in text and text.count("contacted") == 1
    assert "Two quick questions" not in _page_text(client, html)

    session.expire_all()
    latest = current(session, "default")
    assert latest.version == 2 and latest.intro == "Your answer helps us improve our support."
    edited = save_version(session, {**first, "intro": "Thanks for calling. Two quick questions:",
                                    "questions": first["questions"] + [{"key": "nps", "kind": "nps",
                                                                        "wording": "Recommend us?"}]})
    assert current(session, "default").id == edited.id  # an edited default is HR's own: kept as it is
    assert session.scalar(select(func.count()).select_from(SurveyTemplate)) == 3
