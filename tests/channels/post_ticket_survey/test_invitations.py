"""From a solved ticket to a recorded answer: invitation e-mail, a link that GET never records, answers
that can be changed within the window, a page that refuses once closed; and sampling."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from appraisal.metrics import metric
from channels.post_ticket_survey.invitations import Solve, invite_solved
from channels.post_ticket_survey.models import Invitation
from channels.post_ticket_survey.schemas import SurveySettingsSchema
from core.models import AuditEntry, Feedback, Integration, Ticket, utcnow
from core.tickets import TicketUpdate, upsert_tickets

from .deliveries import (
    SECRET,
    SOLVED,
    at,
    post,
    solved_ticket_delivery,
)


def _csat(app, session, employee_id):
    session.expire_all()
    rule = app.extensions["plaudit.plugins"].scoring_rules["csat_percent"]
    result = metric(session, rule, {}).get(employee_id)
    session.rollback()  # end the read: on SQLite the test's session would otherwise hold the write lock
    return result


def test_solved_ticket_to_invitation_email_to_answer_and_changed_answer(make_app, smtp_server, session):
    inbox, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SECURITY="none", MAIL_FROM="cs@example.com",
                   PUBLIC_URL="http://surveys.example.com", TIME_ZONE="Pacific/Auckland")
    client = app.test_client()
    with app.app_context():
        from core.db import transaction
        from core.models import Employee, EmployeeIdentity

        with transaction() as s:
            ann = Employee(name="Ann", identities=[EmployeeIdentity(provider="email", external_id="ann@example.com")])
            s.add(ann)
            integration = Integration(provider="generic", name="Our desk", webhook_secret=SECRET,
                                      settings={"survey": {"change_window_hours": 48}, "namespace": "ourdesk"})
            s.add(integration)

    response = post(client, integration, solved_ticket_delivery())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["invitations"] == [{"ticket": "T-1", "delivery": "email"}]

    [message] = inbox.messages  # sent through the real SMTP server
    assert message["To"] == "customer@example.com" and message["From"] == "cs@example.com"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
             if not part.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    url = re.search(r"http://surveys\.example\.com(/channels/post_ticket_survey/s/\S+)", parts["text/plain"]).group(1)
    assert url in parts["text/html"]
    # when the link stops working, on the organisation's clock and naming it (it gave a bare UTC date)
    expires = session.scalar(select(Invitation.expires_at)).astimezone(ZoneInfo("Pacific/Auckland"))
    until = f"The link works until {expires:%-d %B %Y at %H:%M} (Pacific/Auckland)."
    assert until in parts["text/plain"] and until in parts["text/html"]

    page = client.get(url)  # what a mail scanner does: nothing may be recorded
    assert page.status_code == 200 and "How satisfied are you" in page.get_data(as_text=True)
    assert "<script" not in page.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Feedback).where(
        Feedback.channel == "post_ticket_survey")) == 0
    session.rollback()
    # The customer reads the mail minutes after it was sent (an answer within seconds is a link scanner's).
    session.execute(update(Invitation).values(sent_at=utcnow() - timedelta(minutes=5)))
    session.commit()

    missing = client.post(url, data={})
    assert missing.status_code == 422 and "Please choose an answer." in missing.get_data(as_text=True)

    sent = client.post(url, data={"csat": "5", "comment": "Fire is out, thanks"})
    assert sent.status_code == 303 and sent.location.endswith("?sent=recorded")  # reloading sends nothing again
    thanks = client.get(sent.location).get_data(as_text=True)
    assert "Your answer has been recorded." in thanks
    session.rollback()
    window = session.scalar(select(Invitation.answer_window_ends_at)).astimezone(ZoneInfo("Pacific/Auckland"))
    assert f"You can change it with the same link until {window:%-d %B %Y at %H:%M} (Pacific/Auckland)." in thanks
    assert (_csat(app, session, ann.id).value, _csat(app, session, ann.id).n) == (100.0, 1)

    changed = client.post(url, data={"csat": "2"}, follow_redirects=True)  # second thoughts, within the window
    assert changed.status_code == 200 and "updated" in changed.get_data(as_text=True)
    assert (_csat(app, session, ann.id).value, _csat(app, session, ann.id).n) == (0.0, 1)  # replaced, not added
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "feedback.revised")) == 1
    session.rollback()

    session.execute(update(Invitation).values(answer_window_ends_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    late_change = client.post(url, data={"csat": "5"})
    assert late_change.status_code == 410 and "can no longer be changed" in late_change.get_data(as_text=True)

    session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    expired = client.get(url)  # past the expiry too: still refused, clearly
    assert expired.status_code == 410 and "can no longer be changed" in expired.get_data(as_text=True)
    assert _csat(app, session, ann.id).value == 0.0  # nothing changed after closing

    again = post(client, integration, solved_ticket_delivery())  # the same solve, delivered again
    assert again.get_json()["invitations"] == [] and len(inbox.messages) == 1  # one invitation per solve


def test_without_an_email_the_link_goes_back_to_the_helpdesk(client, session):
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [invited] = post(client, integration, solved_ticket_delivery(requester=None)).get_json()["invitations"]
    assert invited["delivery"] == "link" and "/channels/post_ticket_survey/s/" in invited["url"]
    assert client.get(invited["url"].split("127.0.0.1:5000")[1]).status_code == 200


def test_unknown_token_and_stored_token_hashes(client, session):
    unknown = client.get("/channels/post_ticket_survey/s/not-a-token")
    assert unknown.status_code == 404 and "<h1>Link not recognised</h1>" in unknown.get_data(as_text=True)
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [invited] = post(client, integration, solved_ticket_delivery(requester=None)).get_json()["invitations"]
    token = invited["url"].rsplit("/", 1)[1]
    stored = session.scalar(select(Invitation))
    assert token not in (stored.token_hash, stored.token_nonce)


def _solves(session, agents: int, per_agent: int, week_start=datetime(2026, 11, 16, 9, tzinfo=UTC)):
    from core.models import Employee, EmployeeIdentity

    people = []
    for a in range(agents):
        employee = Employee(name=f"Agent {a}", identities=[EmployeeIdentity(provider="desk", external_id=str(a))])
        session.add(employee)
        people.append(employee)
    session.flush()
    updates = [TicketUpdate(provider="desk", external_id=f"{a}-{n}", opened_at=week_start,
                            resolved_at=week_start + timedelta(minutes=n), assignee=_ref(a),
                            assigned_at=week_start)
               for a in range(agents) for n in range(per_agent)]
    tickets = upsert_tickets(session, updates)
    return people, [Solve(ticket) for ticket in tickets.values()]


def _ref(agent):
    from core.channel import IdentityRef

    return IdentityRef("desk", str(agent))


def test_thirty_percent_sample_of_ten_thousand_solves(app_context, session):
    _, solves = _solves(session, agents=10, per_agent=1000)
    settings = SurveySettingsSchema().load({"sampling": "percent", "percent": 30, "delivery": "link"})
    invited = invite_solved(session, solves, settings)
    session.commit()
    share = len(invited) / len(solves)
    # a fair 30% sample of 10,000 has a standard error of 0.46 points; allow 1.5 (over 3 standard errors)
    assert abs(share - 0.30) <= 0.015, share
    again = invite_solved(session, solves, settings)  # the same solves again: decided the same way, once
    assert again == []


def test_per_agent_quota_holds_exactly(app_context, session):
    people, solves = _solves(session, agents=3, per_agent=50)
    settings = SurveySettingsSchema().load({"sampling": "quota", "quota_per_week": 7, "delivery": "link"})
    invite_solved(session, solves[:60], settings)  # delivered in two parts, as webhooks would
    invite_solved(session, solves[60:], settings)
    session.commit()
    counts = dict(session.execute(select(Invitation.employee_id, func.count()).group_by(Invitation.employee_id)).all())
    assert counts == {person.id: 7 for person in people}


def test_the_quota_counts_the_organisations_weeks(make_app):
    """In Los Angeles, tickets solved on Sunday evening (Monday in UTC) took the next week's quota."""
    from core.db import transaction

    with make_app(TIME_ZONE="America/Los_Angeles").app_context(), transaction() as session:
        sunday_evening = datetime(2026, 11, 16, 5, tzinfo=UTC)  # Sunday 15 November, 21:00 in Los Angeles
        _, solves = _solves(session, agents=1, per_agent=4, week_start=sunday_evening)
        settings = SurveySettingsSchema().load({"sampling": "quota", "quota_per_week": 2, "delivery": "link"})
        assert len(invite_solved(session, solves, settings)) == 2
        monday = Solve(upsert_tickets(session, [TicketUpdate(
            provider="desk", external_id="0-monday", opened_at=sunday_evening, assignee=_ref(0),
            assigned_at=sunday_evening, resolved_at=datetime(2026, 11, 16, 9, tzinfo=UTC))])[("desk", "0-monday")])
        assert len(invite_solved(session, [monday], settings)) == 1  # Monday 01:00 there: a new week's quota


def test_census_invites_every_solve_but_not_the_same_customer_within_the_resurvey_period(app_context, session):
    _, solves = _solves(session, agents=1, per_agent=3)
    same_customer = [Solve(s.ticket, "repeat@example.com") for s in solves]
    settings = SurveySettingsSchema().load({"delivery": "link", "resurvey_days": 30})
    assert len(invite_solved(session, same_customer, settings)) == 1
    settings = SurveySettingsSchema().load({"delivery": "link", "resurvey_days": 0})
    assert len(invite_solved(session, same_customer, settings)) == 2  # the other two, now allowed


def test_bad_survey_settings_name_the_field():
    from marshmallow import ValidationError

    with pytest.raises(ValidationError) as error:
        SurveySettingsSchema().load({"sampling": "lottery", "percent": 130})
    assert set(error.value.messages) == {"sampling", "percent"}


def test_ticket_model_gets_feedback_linked(client, session):
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [invited] = post(client, integration, solved_ticket_delivery(requester=None)).get_json()["invitations"]
    client.post(invited["url"].split("127.0.0.1:5000")[1], data={"csat": "4"})
    session.expire_all()
    item = session.scalar(select(Feedback).where(Feedback.channel == "post_ticket_survey"))
    assert item.ticket_id == session.scalar(select(Ticket.id)) and item.attribution_policy is None


def test_templates_are_versioned_and_validated_from_the_command_line(app, session, tmp_path):
    runner = app.test_cli_runner()
    document = {"slug": "after-call", "title": "Your call with us", "comment_prompt": "Tell us more",
                "questions": [{"key": "csat", "kind": "csat", "scale": [1, 7], "wording": "How satisfied?"},
                              {"key": "effort", "kind": "ces", "wording": "How easy was it?"},
                              {"key": "nps", "kind": "nps", "wording": "Would you recommend us?"}]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(document))
    assert "saved after-call version 1" in runner.invoke(args=["surveys", "save-template", str(path)]).output
    path.write_text(json.dumps({**document, "title": "Your call"}))
    assert "saved after-call version 2" in runner.invoke(args=["surveys", "save-template", str(path)]).output
    listing = runner.invoke(args=["surveys", "templates"]).output
    assert "after-call v2: Your call — csat (csat 1-7), effort (ces 1-7), nps (nps 0-10)" in listing
    path.write_text(json.dumps({**document, "questions": [{"key": "csat", "kind": "csat", "scale": [1, 4],
                                                          "wording": "?"}]}))
    bad = runner.invoke(args=["surveys", "save-template", str(path)])
    assert bad.exit_code == 2 and "questions.0.scale: csat takes the scales [1, 5], [1, 7], [1, 10]" in bad.output


def test_integration_survey_settings_from_the_command_line(app, session):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["integrations", "create", "zendesk", "ZD", "--sampling", "percent",
                                  "--percent", "30"])
    assert created.exit_code == 0, created.output
    integration = session.scalar(select(Integration))
    assert integration.settings["survey"]["sampling"] == "percent"
    integration_id = str(integration.id)
    session.rollback()  # end the read before the next command writes (SQLite's lock)
    bad = runner.invoke(args=["integrations", "configure", integration_id, "--percent", "130"])
    assert bad.exit_code == 2 and "--percent: give a share (%) from 0 to 100" in bad.output
    ok = runner.invoke(args=["integrations", "configure", integration_id, "--sampling", "quota",
                             "--quota", "5"])
    assert "sampling: quota" in ok.output and "quota_per_week: 5" in ok.output


def test_survey_page_styles_come_from_the_app_not_inline(client, session):
    """The Content-Security-Policy allows only same-origin styles: an inline <style> would be ignored."""
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [invited] = post(client, integration, solved_ticket_delivery(requester=None)).get_json()["invitations"]
    page = client.get(invited["url"].split("127.0.0.1:5000")[1])
    html = page.get_data(as_text=True)
    assert "<style" not in html and 'href="/static/survey.css"' in html
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/static/survey.css").status_code == 200


def test_unknown_template_is_refused_when_configuring(app):
    result = app.test_cli_runner().invoke(args=["integrations", "create", "zendesk", "ZD", "--template", "nope"])
    assert result.exit_code == 2 and "no survey template 'nope'" in result.output


def test_without_smtp_configured_the_link_goes_back_instead_of_mail_that_cannot_leave(client, session):
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [invited] = post(client, integration, solved_ticket_delivery()).get_json()["invitations"]
    assert invited["delivery"] == "link"


def test_an_answer_keeps_its_change_window_even_past_the_link_expiry(client, session):
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [invited] = post(client, integration, solved_ticket_delivery(requester=None)).get_json()["invitations"]
    url = invited["url"].split("127.0.0.1:5000")[1]
    assert client.post(url, data={"csat": "3"}).status_code == 303
    session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert client.post(url, data={"csat": "4"}).status_code == 303  # still inside the promised window

    [unanswered] = post(client, integration, solved_ticket_delivery("T-2", requester=None)).get_json()["invitations"]
    session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    page = client.get(unanswered["url"].split("127.0.0.1:5000")[1])
    assert page.status_code == 410 and "link has expired" in page.get_data(as_text=True)


def test_a_solve_closed_later_is_not_surveyed_again(client, session):
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    first = post(client, integration, solved_ticket_delivery(requester=None)).get_json()["invitations"]
    closed = solved_ticket_delivery(requester=None)
    closed["ticket"].update(status="closed", resolved_at=at(24))  # closed a day on
    assert len(first) == 1 and post(client, integration, closed).get_json()["invitations"] == []


def test_one_token_opens_only_its_own_survey(client, session):
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [first] = post(client, integration, solved_ticket_delivery("T-1", requester=None)).get_json()["invitations"]
    [second] = post(client, integration, solved_ticket_delivery("T-2", requester=None)).get_json()["invitations"]
    first_url, second_url = (i["url"].split("127.0.0.1:5000")[1] for i in (first, second))
    assert client.post(first_url, data={"csat": "5"}).status_code == 303
    assert client.post(first_url[:-1] + ("A" if first_url[-1] != "A" else "B"), data={"csat": "1"}).status_code == 404
    session.expire_all()
    answers = dict(session.execute(select(Feedback.ticket_ref, Feedback.value).where(
        Feedback.channel == "post_ticket_survey")).all())
    assert answers == {"ourdesk:T-1": 5.0}  # the second ticket's survey is untouched
    assert client.get(second_url).status_code == 200


def test_a_changed_answer_is_announced_again(make_app, recorder):
    from core.db import transaction

    app = make_app(extra_plugins={"recorder": recorder})
    with app.app_context(), transaction() as setup:
        integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET,
                                  settings={"namespace": "ourdesk"})
        setup.add(integration)
        setup.flush()
        integration_id = integration.id
    client = app.test_client()
    body = solved_ticket_delivery(requester=None)
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    [invited] = client.post(f"/channels/post_ticket_survey/webhooks/{integration_id}", data=raw, headers={
        "X-Plaudit-Signature": signature, "Content-Type": "application/json"}).get_json()["invitations"]
    url = invited["url"].split("127.0.0.1:5000")[1]
    client.post(url, data={"csat": "5"})
    client.post(url, data={"csat": "1"})
    answers = [ext for _, ext in recorder.ingested if ext.startswith("pts-invitation")]
    assert len(answers) == 2  # once when answered, once when changed


def test_an_exact_solve_time_after_an_estimate_does_not_invite_again(client, session):
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    estimate = solved_ticket_delivery(requester=None)  # solved at 11:00 (an estimate)
    assert len(post(client, integration, estimate).get_json()["invitations"]) == 1
    exact = solved_ticket_delivery(requester=None)
    exact["ticket"]["resolved_at"] = at(-0.25)  # the exact, earlier time arrives later
    assert post(client, integration, exact).get_json()["invitations"] == []
    session.expire_all()
    assert session.scalar(select(Ticket.resolved_at)) == SOLVED - timedelta(minutes=15)


def test_a_refused_answer_says_so_first_and_leads_to_the_question(client, session):
    """The page refused an answer with a line under the question only: focus went to the page, no alert said
    the answer was not sent, and the radios were not marked as at fault."""
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [invited] = post(client, integration, solved_ticket_delivery(requester=None)).get_json()["invitations"]
    path = invited["url"].split("127.0.0.1:5000")[1]
    page = client.get(path).get_data(as_text=True)
    assert f'<form method="post" action="{path}">' in page  # back to this address, never to one with a #fragment
    refused = client.post(path, data={"comment": "x"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    summary = re.search(r'<div class="error-summary" role="alert" tabindex="-1" autofocus>(.*?)</div>', html, re.DOTALL)
    assert summary and "Your answer was not sent" in summary.group(1)
    targets = re.findall(r'href="#([^"]+)"', summary.group(1))
    assert targets and all(f'id="{target}"' in html for target in targets)
    first = re.search(rf'<input[^>]*id="{targets[0]}"[^>]*>', html, re.DOTALL).group(0)
    assert 'aria-invalid="true"' in first and f'aria-describedby="{targets[0].rsplit("-", 1)[0]}-error"' in first
