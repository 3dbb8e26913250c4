"""A helpdesk webhook delivered three times and out of order leaves one ticket, in its latest state.

Zendesk retries a delivery it thinks failed, and several deliveries for one ticket may overtake each other.
The shape is the real ticket of ../shared/data/payloads/zendesk/zenpy_spec_ticket.json, in three states.
"""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from core.models import Feedback, Ticket
from tests.channels.post_ticket_survey.helpdesk_webhooks import deliver, integration  # noqa: F401 (fixtures)


def _states(shared_data) -> list[dict]:
    """The ticket as it was first (new, with Xavier), then (open, with Yuki), then last (solved, Yuki)."""
    ticket = json.loads((shared_data / "payloads" / "zendesk" / "zenpy_spec_ticket.json").read_text())
    states = []
    for updated_at, status, assignee in (("2015-07-25T02:23:13Z", "new", 1001), ("2015-07-25T03:00:00Z", "open", 1002),
                                         ("2015-07-25T04:30:00Z", "solved", 1002)):
        state = copy.deepcopy(ticket)
        state.update(updated_at=updated_at, status=status, assignee_id=assignee)
        states.append(state)
    return states


def test_three_deliveries_out_of_order_leave_one_ticket_in_its_latest_state(deliver, session, shared_data,  # noqa: F811
                                                                            create_employee):
    xavier = create_employee("Xavier", identities=[("zendesk", "1001")])
    yuki = create_employee("Yuki", identities=[("zendesk", "1002")])
    first, middle, last = _states(shared_data)
    for state in (last, first, middle):  # the newest arrives first, the oldest overtakes the middle one
        assert deliver("zendesk", state).status_code == 200

    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Ticket)) == 1
    ticket = session.scalar(select(Ticket))
    assert (ticket.status, ticket.assignee_id) == ("solved", yuki.id)
    assert ticket.resolved_at == datetime(2015, 7, 25, 4, 30, tzinfo=UTC)
    assert ticket.opened_at == datetime(2015, 7, 25, 2, 21, 13, tzinfo=UTC)
    # The history keeps time order: Xavier had it first, Yuki from 03:00 on.
    history = sorted(ticket.assignments, key=lambda a: a.assigned_at)
    assert history[0].employee_id == xavier.id
    assert {a.employee_id for a in history[1:]} == {yuki.id} and history[1].assigned_at.hour == 3


def _ratings(shared_data) -> list[dict]:
    """The real rating (good), then the customer's change of mind an hour later (bad, with a comment)."""
    rating = json.loads((shared_data / "payloads" / "zendesk" / "zenpy_spec_satisfaction_rating.json").read_text())
    changed = {**rating, "score": "bad", "comment": "Still broken after all.", "updated_at": "2011-07-20T23:55:29Z"}
    return [rating, changed]


def test_a_rating_delivered_three_times_is_one_item(deliver, session, shared_data, create_employee):  # noqa: F811
    rater = create_employee("Rita", identities=[("zendesk", "135")])
    rating, _changed = _ratings(shared_data)
    for _ in range(3):
        assert deliver("zendesk", rating).status_code == 200
    session.expire_all()
    [item] = session.scalars(select(Feedback).where(Feedback.channel == "post_ticket_survey")).all()
    assert (item.external_id, item.value, item.employee_id) == ("zendesk:rating:35436", 1.0, rater.id)


def test_a_changed_rating_delivered_out_of_order_ends_in_its_latest_state(deliver, session, shared_data,  # noqa: F811
                                                                          create_employee):
    create_employee("Rita", identities=[("zendesk", "135")])
    first, changed = _ratings(shared_data)
    for state in (first, changed, first):  # the first state is delivered again, last
        assert deliver("zendesk", state).status_code == 200
    session.expire_all()
    [item] = session.scalars(select(Feedback).where(Feedback.channel == "post_ticket_survey")).all()
    assert (item.value, item.comment) == (0.0, "Still broken after all.")
