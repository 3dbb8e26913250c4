"""Which solved tickets get a survey invitation: solved now, recently, not surveyed already; and what the
webhook answers and logs about the others."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from channels.post_ticket_survey.models import Invitation
from channels.post_ticket_survey.schemas import SurveySettingsSchema
from core.models import Integration, utcnow

from .deliveries import (
    at,
    generic_integration,
    post,
    solved_on,
    solved_ticket_delivery,
)


def test_a_ticket_rated_in_the_delivery_that_solves_it_is_not_surveyed_again(client, session):
    """The helpdesk collected the customer's rating itself: a Plaudit invitation would ask them twice."""
    integration = generic_integration(session)
    body = solved_ticket_delivery("T-A1")
    body["ratings"] = [{"response_id": "ourdesk:rating:A1", "kind": "csat", "rating": 5, "answered_at": at(1),
                        "ticket_id": "ourdesk:T-A1"}]
    answer = post(client, integration, body).get_json()
    assert answer["ratings"]["created"] == 1
    assert answer["invitations"] == []
    assert answer["not_invited"] == [{"ticket": "T-A1", "reason": "it was surveyed already"}]
    assert session.scalar(select(func.count()).select_from(Invitation)) == 0

    # A rating that came first, in a delivery of its own, counts the same.
    rating = {"provider": "ourdesk", "ratings": [{"response_id": "ourdesk:rating:A2", "kind": "csat",
                                                 "rating": 2, "answered_at": at(1), "ticket_id": "ourdesk:T-A2"}]}
    assert post(client, integration, rating).get_json()["invitations"] == []
    assert post(client, integration, solved_ticket_delivery("T-A2")).get_json()["invitations"] == []
    # A ticket nobody rated is still surveyed.
    assert len(post(client, integration, solved_ticket_delivery("T-A3")).get_json()["invitations"]) == 1


def test_only_recent_solves_are_surveyed_and_the_age_is_a_setting(client, session):
    integration = generic_integration(session)
    solved = utcnow() - timedelta(days=20)
    old = solved_on("T-OLD", solved)
    answer = post(client, integration, old).get_json()
    assert answer["invitations"] == []
    assert answer["not_invited"] == [{"ticket": "T-OLD",
                                      "reason": f"solved {solved:%Y-%m-%d %H:%M} UTC, more than 14 days ago"}]

    integration.settings = {**integration.settings, "survey": {"max_age_days": 30}}
    session.commit()
    assert [i["ticket"] for i in post(client, integration, old).get_json()["invitations"]] == ["T-OLD"]


def test_a_solve_time_in_the_future_is_no_solve_to_survey(client, session):
    """A helpdesk clock a day ahead (or a test system's dates) passed the age check: only the past was bounded."""
    integration = generic_integration(session)
    solved = utcnow() + timedelta(days=1)
    ahead = solved_on("T-AHEAD", solved)
    answer = post(client, integration, ahead).get_json()
    assert answer["invitations"] == []
    assert answer["not_invited"] == [{"ticket": "T-AHEAD",
                                      "reason": f"solved {solved:%Y-%m-%d %H:%M} UTC, which has not come yet"}]


def test_a_generic_ticket_is_solved_when_its_status_says_so_or_says_nothing(client, session):
    integration = generic_integration(session)
    reasons = {}
    for ticket_id, status in (("T-OPEN", "open"), ("T-PENDING", "Pending"), ("T-SOLVED", "Solved"),
                              ("T-CLOSED", "closed"), ("T-RESOLVED", "resolved"), ("T-NONE", None)):
        body = solved_ticket_delivery(ticket_id, requester=None)
        body["ticket"]["status"] = status
        answer = post(client, integration, body).get_json()
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
    assert bad.exit_code == 2 and "--max-age-days: give a number of days from 1 to 365" in bad.output
    assert "max_age_days: 3" in runner.invoke(args=["integrations", "configure", integration_id,
                                                    "--max-age-days", "3"]).output
    assert SurveySettingsSchema().load({})["max_age_days"] == 14


def test_a_backfill_of_old_tickets_is_answered_and_logged_in_counts(client, session, caplog, monkeypatch):
    """A ticket list of thousands of old tickets made an answer, and a log, of the same size: the answer names
    the first NOT_INVITED_SHOWN and counts the rest, and the log has one line of counts."""
    import logging

    from channels.post_ticket_survey import webhooks

    monkeypatch.setattr(webhooks, "NOT_INVITED_SHOWN", 0)
    caplog.set_level(logging.INFO)
    integration = generic_integration(session)
    old = solved_on("T-OLD", utcnow() - timedelta(days=40))
    answer = post(client, integration, old).get_json()
    assert answer["not_invited"] == [] and answer["not_invited_more"] == 1
    assert f"integration {integration.id}: 1 solved ticket(s) not invited: 1 more than 14 days ago" in caplog.text
    assert "no survey invitation for ticket" not in caplog.text  # per ticket at debug only
    assert "not_invited_more" not in post(client, integration, solved_ticket_delivery("T-NEW")).get_json()


def test_a_rating_in_the_helpdesk_after_the_invitation_closes_its_link(client, session):
    """Invited first, the customer rated in the helpdesk, and the survey link still took a second answer."""
    integration = generic_integration(session)
    [invited] = post(client, integration, solved_ticket_delivery("T-B1")).get_json()["invitations"]
    other = post(client, integration, solved_ticket_delivery("T-B2", requester="sam@example.com")).get_json()
    rating = {"provider": "ourdesk", "ratings": [{"response_id": "ourdesk:rating:B1", "kind": "csat", "rating": 2,
                                                  "answered_at": at(3), "ticket_id": "ourdesk:T-B1"}]}
    assert post(client, integration, rating).get_json()["ratings"]["created"] == 1
    closed = client.get(invited["url"])
    assert closed.status_code == 410 and "closed" in closed.get_data(as_text=True)
    assert client.get(other["invitations"][0]["url"]).status_code == 200  # another ticket's stays open
