"""A customer who would rather not be surveyed says so once, from any invitation, their mail client's
unsubscribe button, or through HR, and is never asked again until they say otherwise."""
from __future__ import annotations

import re
from types import SimpleNamespace

from sqlalchemy import select, update

from channels.post_ticket_survey.invitations import send_invitation
from channels.post_ticket_survey.models import Invitation, OptOut
from core.models import User

from .deliveries import generic_integration, post, solved_ticket_delivery


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _desk(session, **survey):
    """A generic integration, held by its id only: reading an expired row later would begin a transaction in
    the test's session, which on SQLite holds the write lock the webhook waits for."""
    desk = SimpleNamespace(id=generic_integration(session, **survey).id)
    session.rollback()
    return desk


def _invite(client, integration, ticket_id: str, requester="customer@example.com") -> dict:
    return post(client, integration, solved_ticket_delivery(ticket_id, requester=requester)).get_json()


def test_the_invitation_mail_offers_a_one_click_unsubscribe(mail_app, smtp_server, session):
    inbox, _port = smtp_server
    app = mail_app()
    client = app.test_client()
    integration = _desk(session, resurvey_days=0)
    assert _invite(client, integration, "T-1")["invitations"] == [{"ticket": "T-1", "delivery": "email"}]

    [message] = inbox.messages
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
             if not part.is_multipart()}
    opt_out = re.search(r"<(https://plaudit\.example\.com/channels/post_ticket_survey/s/\S+/opt-out)>",
                        message["List-Unsubscribe"]).group(1)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert opt_out in parts["text/plain"] and opt_out in parts["text/html"]

    asked = client.get(_path(opt_out))  # a mail scanner opening the link: nothing may happen
    assert asked.status_code == 200 and "Stop these surveys" in asked.get_data(as_text=True)
    assert client.head(_path(opt_out)).status_code == 200  # a link checker's HEAD, which Flask routes with GET
    assert session.scalars(select(OptOut)).all() == []
    session.rollback()

    # What the mail client's button sends (RFC 8058): a POST with no session and no CSRF token.
    clicked = client.post(_path(opt_out), data={"List-Unsubscribe": "One-Click"})
    assert clicked.status_code == 200 and "won&#39;t be asked again" in clicked.get_data(as_text=True)
    [row] = session.scalars(select(OptOut)).all()
    assert row.source == "customer" and "@" not in row.respondent_ref  # a keyed hash, not the address
    session.rollback()

    survey = client.get(_path(opt_out).removesuffix("/opt-out"))
    assert survey.status_code == 410 and "Survey me again" in survey.get_data(as_text=True)

    later = _invite(client, integration, "T-2")  # the same customer's next request: not asked
    assert later["invitations"] == []
    assert later["not_invited"] == [{"ticket": "T-2", "reason": "the customer asked not to be surveyed"}]
    assert len(inbox.messages) == 1


def test_opting_out_closes_open_links_and_stops_mail_not_sent_yet(client, session):
    integration = _desk(session, resurvey_days=0)
    [first] = _invite(client, integration, "T-1")["invitations"]
    [second] = _invite(client, integration, "T-2", requester="Customer@Example.com")["invitations"]
    other = _invite(client, integration, "T-3", requester="someone.else@example.com")["invitations"][0]

    assert client.post(_path(second["url"]) + "/opt-out").status_code == 200  # from the second link

    closed = client.get(_path(first["url"]))  # the first link, for the same customer, closed too
    assert closed.status_code == 410 and "You won&#39;t be asked again" in closed.get_data(as_text=True)
    assert client.post(_path(first["url"]), data={"csat": "5"}).status_code == 410
    assert client.get(_path(other["url"])).status_code == 200  # someone else's is untouched

    # An invitation made before the opt-out and still waiting for its e-mail is not sent.
    session.execute(update(Invitation).values(delivery="email"))
    session.commit()
    waiting = session.scalar(select(Invitation.id).join(Invitation.ticket).where(Invitation.sent_at.is_(None))
                             .order_by(Invitation.id).limit(1))
    session.rollback()
    assert send_invitation(waiting) is False
    session.expire_all()
    assert session.get(Invitation, waiting).sent_at is None
    # Opted in again, the customer gets no mail for a link their opt-out closed: it would open on "closed".
    client.post(_path(second["url"]) + "/opt-in")
    assert send_invitation(waiting) is False


def test_survey_me_again_undoes_it(client, session):
    integration = _desk(session, resurvey_days=0)
    [invited] = _invite(client, integration, "T-1")["invitations"]
    client.post(_path(invited["url"]) + "/opt-out")
    undone = client.post(_path(invited["url"]) + "/opt-in")
    assert undone.status_code == 200 and "Surveys are back on" in undone.get_data(as_text=True)
    assert session.scalars(select(OptOut)).all() == []
    session.rollback()
    assert len(_invite(client, integration, "T-2")["invitations"]) == 1


def test_a_link_the_helpdesk_handed_on_has_no_address_to_stop(client, session):
    integration = _desk(session, resurvey_days=0)
    [invited] = _invite(client, integration, "T-1", requester=None)["invitations"]
    page = client.get(_path(invited["url"]))
    assert "Rather not be asked" not in page.get_data(as_text=True)
    refused = client.post(_path(invited["url"]) + "/opt-out")
    assert refused.status_code == 200 and "hold no address of yours" in refused.get_data(as_text=True)
    assert session.scalars(select(OptOut)).all() == []


def test_the_survey_page_links_to_the_opt_out(client, session):
    integration = _desk(session, resurvey_days=0)
    [invited] = _invite(client, integration, "T-1")["invitations"]
    html = client.get(_path(invited["url"])).get_data(as_text=True)
    assert f'href="{_path(invited["url"])}/opt-out"' in html
    assert client.get("/channels/post_ticket_survey/s/not-a-token/opt-out").status_code == 404
    assert client.post("/channels/post_ticket_survey/s/not-a-token/opt-in").status_code == 404


def test_hr_records_opt_outs_asked_for_by_phone_or_from_another_list(app, client, session, tmp_path):
    runner = app.test_cli_runner()
    listed = tmp_path / "unsubscribed.txt"
    listed.write_text("# from the old survey tool\nbob@example.com\n\nCarol@Example.com\n", encoding="utf-8")
    result = runner.invoke(args=["surveys", "opt-out", "Customer@example.com", "--file", str(listed)])
    assert result.exit_code == 0 and result.output.strip() == "3 customers opted out"
    again = runner.invoke(args=["surveys", "opt-out", "carol@example.com"])
    assert again.output.strip() == "0 customers opted out; 1 had opted out already"
    assert {row.source for row in session.scalars(select(OptOut))} == {"hr"}
    session.rollback()

    integration = _desk(session, resurvey_days=0)
    assert _invite(client, integration, "T-1")["invitations"] == []  # customer@example.com, as HR wrote it

    bad = runner.invoke(args=["surveys", "opt-out", "not an address"])
    assert bad.exit_code == 2 and "'not an address' is not an e-mail address" in bad.output
    assert runner.invoke(args=["surveys", "opt-out"]).exit_code == 2

    undone = runner.invoke(args=["surveys", "opt-out", "--undo", "customer@example.com", "nobody@example.com"])
    assert undone.output.strip() == "1 customer may be surveyed again; 1 had not opted out"
    assert len(_invite(client, integration, "T-2")["invitations"]) == 1


def test_the_opt_out_outlives_the_customers_erasure(app, client, session):
    integration = _desk(session, resurvey_days=0)
    [invited] = _invite(client, integration, "T-1")["invitations"]
    client.post(_path(invited["url"]) + "/opt-out")
    session.add(User(email="hr@example.com", name="HR", password_hash="!", roles=["hr"]))
    session.commit()
    result = app.test_cli_runner().invoke(args=["privacy", "erase", "customer@example.com", "--by", "hr@example.com"])
    assert result.exit_code == 0 and "1 survey invitation(s)" in result.output, result.output
    assert len(session.scalars(select(OptOut)).all()) == 1  # only the keyed hash, kept so they stay unasked
    session.rollback()
    assert _invite(client, integration, "T-2")["invitations"] == []


def test_a_second_opt_out_at_once_changes_nothing(client, session):
    """Two at once (a double click, the mail client's button racing the page's) failed on the key with a 500."""
    from channels.post_ticket_survey.opt_outs import opt_out, ref_of

    integration = _desk(session, resurvey_days=0)
    [invited] = _invite(client, integration, "T-1")["invitations"]
    assert client.post(_path(invited["url"]) + "/opt-out").status_code == 200
    assert client.post(_path(invited["url"]) + "/opt-out").status_code == 200
    with client.application.app_context():
        assert opt_out(session, ref_of("customer@example.com"), "hr") is False  # on conflict: nothing
    session.rollback()
    assert [row.source for row in session.scalars(select(OptOut))] == ["customer"]
