"""From a solved ticket to a recorded answer: invitation e-mail, a link that GET never records, answers
that can be changed within the window, a page that refuses once closed; and sampling."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from appraisal.metrics import metric
from channels.post_ticket_survey.invitations import Solve, invite_solved
from channels.post_ticket_survey.models import Invitation
from channels.post_ticket_survey.schemas import SurveySettingsSchema
from core.models import AuditEntry, Feedback, Integration, Ticket, utcnow
from core.tickets import TicketUpdate, upsert_tickets

SECRET = "whsec-test-0123456789"


#: When the tickets below were solved: recently, as invitations are made only for recent solves.
SOLVED = (utcnow() - timedelta(days=2)).replace(hour=11, minute=0, second=0, microsecond=0)


def _at(hours: float) -> str:
    """A time ``hours`` after the solve, as a helpdesk writes it."""
    return (SOLVED + timedelta(hours=hours)).isoformat()


def _solved_ticket_delivery(ticket_id="T-1", requester="customer@example.com"):
    return {"provider": "ourdesk", "ticket": {
        "id": ticket_id, "subject": "Printer on fire", "status": "solved", "opened_at": _at(-2),
        "first_response_at": _at(-110 / 60), "resolved_at": _at(0),
        "assignee": {"provider": "email", "id": "ann@example.com"}, "requester_email": requester}}


def _solved_on(ticket_id: str, solved) -> dict:
    """A delivery of ticket ``ticket_id`` solved at ``solved`` (opened an hour before, no reply timed)."""
    delivery = _solved_ticket_delivery(ticket_id)
    delivery["ticket"].update(opened_at=(solved - timedelta(hours=1)).isoformat(), first_response_at=None,
                              resolved_at=solved.isoformat())
    return delivery


def _post(client, integration, body):
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(f"/channels/post_ticket_survey/webhooks/{integration.id}", data=raw,
                       headers={"X-Plaudit-Signature": signature, "Content-Type": "application/json"})


def _csat(app, session, employee_id):
    session.expire_all()
    rule = app.extensions["plaudit.plugins"].scoring_rules["csat_percent"]
    result = metric(session, rule, {}).get(employee_id)
    session.rollback()  # end the read: on SQLite the test's session would otherwise hold the write lock
    return result


def test_solved_ticket_to_invitation_email_to_answer_and_changed_answer(make_app, smtp_server, session):
    inbox, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SECURITY="none", MAIL_FROM="cs@example.com",
                   PUBLIC_URL="http://surveys.example.com")
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

    response = _post(client, integration, _solved_ticket_delivery())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["invitations"] == [{"ticket": "T-1", "delivery": "email"}]

    [message] = inbox.messages  # sent through the real SMTP server
    assert message["To"] == "customer@example.com" and message["From"] == "cs@example.com"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
             if not part.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    url = re.search(r"http://surveys\.example\.com(/channels/post_ticket_survey/s/\S+)", parts["text/plain"]).group(1)
    assert url in parts["text/html"]

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

    assert client.post(url, data={"csat": "5", "comment": "Fire is out, thanks"}).status_code == 200
    assert (_csat(app, session, ann.id).value, _csat(app, session, ann.id).n) == (100.0, 1)

    changed = client.post(url, data={"csat": "2"})  # second thoughts, within the window
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

    again = _post(client, integration, _solved_ticket_delivery())  # the same solve, delivered again
    assert again.get_json()["invitations"] == [] and len(inbox.messages) == 1  # one invitation per solve


def test_without_an_email_the_link_goes_back_to_the_helpdesk(client, session):
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [invited] = _post(client, integration, _solved_ticket_delivery(requester=None)).get_json()["invitations"]
    assert invited["delivery"] == "link" and "/channels/post_ticket_survey/s/" in invited["url"]
    assert client.get(invited["url"].split("127.0.0.1:5000")[1]).status_code == 200


def test_unknown_token_and_stored_token_hashes(client, session):
    assert client.get("/channels/post_ticket_survey/s/not-a-token").status_code == 404
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [invited] = _post(client, integration, _solved_ticket_delivery(requester=None)).get_json()["invitations"]
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
    [invited] = _post(client, integration, _solved_ticket_delivery(requester=None)).get_json()["invitations"]
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
    assert bad.exit_code == 2 and "--percent: Must be greater than or equal to 0 and less than or equal to 100." \
        in bad.output
    ok = runner.invoke(args=["integrations", "configure", integration_id, "--sampling", "quota",
                             "--quota", "5"])
    assert "sampling: quota" in ok.output and "quota_per_week: 5" in ok.output


def test_survey_page_styles_come_from_the_app_not_inline(client, session):
    """The Content-Security-Policy allows only same-origin styles: an inline <style> would be ignored."""
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [invited] = _post(client, integration, _solved_ticket_delivery(requester=None)).get_json()["invitations"]
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
    [invited] = _post(client, integration, _solved_ticket_delivery()).get_json()["invitations"]
    assert invited["delivery"] == "link"


def test_an_answer_keeps_its_change_window_even_past_the_link_expiry(client, session):
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [invited] = _post(client, integration, _solved_ticket_delivery(requester=None)).get_json()["invitations"]
    url = invited["url"].split("127.0.0.1:5000")[1]
    assert client.post(url, data={"csat": "3"}).status_code == 200
    session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert client.post(url, data={"csat": "4"}).status_code == 200  # still inside the promised window

    [unanswered] = _post(client, integration, _solved_ticket_delivery("T-2", requester=None)).get_json()["invitations"]
    session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    page = client.get(unanswered["url"].split("127.0.0.1:5000")[1])
    assert page.status_code == 410 and "link has expired" in page.get_data(as_text=True)


def test_a_solve_closed_later_is_not_surveyed_again(client, session):
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    first = _post(client, integration, _solved_ticket_delivery(requester=None)).get_json()["invitations"]
    closed = _solved_ticket_delivery(requester=None)
    closed["ticket"].update(status="closed", resolved_at=_at(24))  # closed a day on
    assert len(first) == 1 and _post(client, integration, closed).get_json()["invitations"] == []


def test_one_token_opens_only_its_own_survey(client, session):
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET, settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    [first] = _post(client, integration, _solved_ticket_delivery("T-1", requester=None)).get_json()["invitations"]
    [second] = _post(client, integration, _solved_ticket_delivery("T-2", requester=None)).get_json()["invitations"]
    first_url, second_url = (i["url"].split("127.0.0.1:5000")[1] for i in (first, second))
    assert client.post(first_url, data={"csat": "5"}).status_code == 200
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
    body = _solved_ticket_delivery(requester=None)
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
    estimate = _solved_ticket_delivery(requester=None)  # solved at 11:00 (an estimate)
    assert len(_post(client, integration, estimate).get_json()["invitations"]) == 1
    exact = _solved_ticket_delivery(requester=None)
    exact["ticket"]["resolved_at"] = _at(-0.25)  # the exact, earlier time arrives later
    assert _post(client, integration, exact).get_json()["invitations"] == []
    session.expire_all()
    assert session.scalar(select(Ticket.resolved_at)) == SOLVED - timedelta(minutes=15)


# --- which solves are worth a survey ----------------------------------------------------------------------


def _integration(session, **survey) -> Integration:
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET,
                              settings={"namespace": "ourdesk", "survey": survey})
    session.add(integration)
    session.commit()
    return integration


def test_a_ticket_rated_in_the_delivery_that_solves_it_is_not_surveyed_again(client, session):
    """The helpdesk collected the customer's rating itself: a Plaudit invitation would ask them twice."""
    integration = _integration(session)
    body = _solved_ticket_delivery("T-A1")
    body["ratings"] = [{"response_id": "ourdesk:rating:A1", "kind": "csat", "rating": 5, "answered_at": _at(1),
                        "ticket_id": "ourdesk:T-A1"}]
    answer = _post(client, integration, body).get_json()
    assert answer["ratings"]["created"] == 1
    assert answer["invitations"] == []
    assert answer["not_invited"] == [{"ticket": "T-A1", "reason": "it was surveyed already"}]
    assert session.scalar(select(func.count()).select_from(Invitation)) == 0

    # A rating that came first, in a delivery of its own, counts the same.
    rating = {"provider": "ourdesk", "ratings": [{"response_id": "ourdesk:rating:A2", "kind": "csat",
                                                 "rating": 2, "answered_at": _at(1), "ticket_id": "ourdesk:T-A2"}]}
    assert _post(client, integration, rating).get_json()["invitations"] == []
    assert _post(client, integration, _solved_ticket_delivery("T-A2")).get_json()["invitations"] == []
    # A ticket nobody rated is still surveyed.
    assert len(_post(client, integration, _solved_ticket_delivery("T-A3")).get_json()["invitations"]) == 1


def test_only_recent_solves_are_surveyed_and_the_age_is_a_setting(client, session):
    integration = _integration(session)
    solved = utcnow() - timedelta(days=20)
    old = _solved_on("T-OLD", solved)
    answer = _post(client, integration, old).get_json()
    assert answer["invitations"] == []
    assert answer["not_invited"] == [{"ticket": "T-OLD",
                                      "reason": f"solved {solved:%Y-%m-%d %H:%M} UTC, more than 14 days ago"}]

    integration.settings = {**integration.settings, "survey": {"max_age_days": 30}}
    session.commit()
    assert [i["ticket"] for i in _post(client, integration, old).get_json()["invitations"]] == ["T-OLD"]


def test_a_solve_time_in_the_future_is_no_solve_to_survey(client, session):
    """A helpdesk clock a day ahead (or a test system's dates) passed the age check: only the past was bounded."""
    integration = _integration(session)
    solved = utcnow() + timedelta(days=1)
    ahead = _solved_on("T-AHEAD", solved)
    answer = _post(client, integration, ahead).get_json()
    assert answer["invitations"] == []
    assert answer["not_invited"] == [{"ticket": "T-AHEAD",
                                      "reason": f"solved {solved:%Y-%m-%d %H:%M} UTC, which has not come yet"}]


def test_a_generic_ticket_is_solved_when_its_status_says_so_or_says_nothing(client, session):
    integration = _integration(session)
    reasons = {}
    for ticket_id, status in (("T-OPEN", "open"), ("T-PENDING", "Pending"), ("T-SOLVED", "Solved"),
                              ("T-CLOSED", "closed"), ("T-RESOLVED", "resolved"), ("T-NONE", None)):
        body = _solved_ticket_delivery(ticket_id, requester=None)
        body["ticket"]["status"] = status
        answer = _post(client, integration, body).get_json()
        reasons[ticket_id] = [i["reason"] for i in answer["not_invited"]] or len(answer["invitations"])
    assert reasons == {"T-OPEN": ["the ticket is 'open' now, not solved"],
                       "T-PENDING": ["the ticket is 'Pending' now, not solved"],
                       "T-SOLVED": 1, "T-CLOSED": 1, "T-RESOLVED": 1, "T-NONE": 1}


def test_the_maximum_age_is_set_from_the_command_line(app, session):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["integrations", "create", "zendesk", "ZD", "--max-age-days", "7"])
    assert created.exit_code == 0, created.output
    integration_id = str(session.scalar(select(Integration.id)))
    assert session.scalar(select(Integration)).settings["survey"]["max_age_days"] == 7
    session.rollback()
    bad = runner.invoke(args=["integrations", "configure", integration_id, "--max-age-days", "0"])
    assert bad.exit_code == 2 and "--max-age-days: Must be greater than or equal to 1" in bad.output
    assert "max_age_days: 3" in runner.invoke(args=["integrations", "configure", integration_id,
                                                    "--max-age-days", "3"]).output
    assert SurveySettingsSchema().load({})["max_age_days"] == 14


# --- what the invitation says -----------------------------------------------------------------------------


@pytest.fixture
def outbox(monkeypatch):
    """The invitation e-mails sent, as (to, subject, text, html); no SMTP server involved."""
    sent = []
    monkeypatch.setattr("channels.post_ticket_survey.invitations.send_mail",
                        lambda to, subject, text, html=None: sent.append((to, subject, text, html)))
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
    integration = _integration(session)
    assert _post(client, integration, _solved_ticket_delivery()).get_json()["invitations"] == [{"ticket": "T-1",
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
    _post(client, _integration(session, template="after-call"), _solved_ticket_delivery())
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


def test_a_backfill_of_old_tickets_is_answered_and_logged_in_counts(client, session, caplog, monkeypatch):
    """A ticket list of thousands of old tickets made an answer, and a log, of the same size: the answer names
    the first NOT_INVITED_SHOWN and counts the rest, and the log has one line of counts."""
    import logging

    from channels.post_ticket_survey import webhooks

    monkeypatch.setattr(webhooks, "NOT_INVITED_SHOWN", 0)
    caplog.set_level(logging.INFO)
    integration = _integration(session)
    old = _solved_on("T-OLD", utcnow() - timedelta(days=40))
    answer = _post(client, integration, old).get_json()
    assert answer["not_invited"] == [] and answer["not_invited_more"] == 1
    assert f"integration {integration.id}: 1 solved ticket(s) not invited: 1 more than 14 days ago" in caplog.text
    assert "no survey invitation for ticket" not in caplog.text  # per ticket at debug only
    assert "not_invited_more" not in _post(client, integration, _solved_ticket_delivery("T-NEW")).get_json()
