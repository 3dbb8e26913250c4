"""Threads of posts: reply times, proposals from signed replies, and posts credited through their ticket.

Posts arrive in any order: a reply may come in a batch before the post it answers, or from another call of
the same source. So each batch is threaded both ways, in the transaction that stored it: the posts stored
now are matched with the posts they answer, and with the stored posts that answer them. A reply answers
``<source>:<in_reply_to>``, the stored id of a post of its own source.

Every brand reply measures the minutes from the customer post it answers (not only the first reply to a
post): each reply is an agent answering a customer, and a thread's later replies are answers the customer
waited for too. A brand reply to a brand reply (the "2/2" of a split answer) measures nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from core.models import Employee, Feedback, TicketAssignment, utcnow
from core.policy import ingestion_policy

from .channel import MENTION, REPLY

CHANNEL = "social_monitoring"
#: The basis of a post credited to its ticket's assignee: whoever held the ticket when the post was written.
TICKET_BASIS = "assignee_at_rating"

_COLUMNS = (Feedback.id, Feedback.external_id, Feedback.kind, Feedback.occurred_at, Feedback.payload,
            Feedback.employee_id, Feedback.attribution_policy, Feedback.proposed_employee_id,
            Feedback.ticket_id, Feedback.value, Feedback.changed_at)


log = logging.getLogger(__name__)
#: How far a reply may seem to come before its post, clocks disagreeing, and still be timed (as 0).
CLOCK_SKEW_MINUTES = 1.0


def parent_ref(payload: dict[str, Any]) -> str | None:
    """The stored external id of the post this one answers, or None."""
    answered = payload.get("in_reply_to")
    return f"{payload['source']}:{answered}" if answered else None


def _awaiting(row: dict[str, Any]) -> bool:
    return row["employee_id"] is None and row["attribution_policy"] is None


def thread_posts(session: Session, feedback_ids: Sequence[int]) -> None:
    """Thread the posts just stored with those stored before, in the same few statements for any batch.

    * a post naming a ticket, still unattributed, goes to the ticket's assignee at the post's time;
    * a ``social_reply`` gets its value: minutes from the customer post it answers;
    * a customer's post answering a reply credited to an employee (signed, or credited by a person), while
      it waits in the queue, gets that employee as ``proposed_employee_id``, for a manager to confirm or
      reject (it counts for no one yet).
    """
    if not feedback_ids:
        return
    batch = {row.id: row._asdict() for row in session.execute(
        select(*_COLUMNS).where(Feedback.channel == CHANNEL, Feedback.id.in_(sorted(feedback_ids))))}
    if not batch:
        return
    _credit_ticket_assignees(session, [row for row in batch.values() if row["ticket_id"] and _awaiting(row)])

    wanted = sorted({ref for row in batch.values() if (ref := parent_ref(row["payload"]))})
    parents = {row.external_id: row._asdict() for row in session.execute(
        select(*_COLUMNS).where(Feedback.channel == CHANNEL, Feedback.external_id.in_(wanted)))} if wanted else {}
    # Stored posts answering the posts stored now; only those something may still be set on.
    answered = Feedback.payload["source"].as_string() + ":" + Feedback.payload["in_reply_to"].as_string()
    children = [row._asdict() for row in session.execute(
        select(*_COLUMNS).where(
            Feedback.channel == CHANNEL, Feedback.id.not_in(list(batch)),
            answered.in_(sorted(row["external_id"] for row in batch.values())),
            or_(and_(Feedback.kind == REPLY, Feedback.value.is_(None)),
                and_(Feedback.kind == MENTION, Feedback.employee_id.is_(None),
                     Feedback.attribution_policy.is_(None), Feedback.proposed_employee_id.is_(None)))))]
    by_ref = {row["external_id"]: row for row in batch.values()}
    pairs = [(row, parents[ref]) for row in batch.values()
             if (ref := parent_ref(row["payload"])) and ref in parents]
    pairs += [(child, by_ref[parent_ref(child["payload"])]) for child in children]

    minutes, proposals = [], []
    for post, answered_post in pairs:
        if post["kind"] == REPLY and answered_post["kind"] == MENTION and post["value"] is None:
            waited = (post["occurred_at"] - answered_post["occurred_at"]).total_seconds() / 60
            if waited < -CLOCK_SKEW_MINUTES:
                # A reply a minute or more before the post it answers is a wrong time or a wrong thread, not a
                # reply in no time: counted as 0 minutes it would flatter its agent. It stays unmeasured.
                log.warning("social reply %s is dated %.1f minutes before the post it answers, %s: its reply "
                            "time is not counted", post["external_id"], -waited, answered_post["external_id"])
                continue
            # Clocks of one source may disagree by a second or so; within that, no time.
            # A stored reply measured only now has changed (appraisal/outdated.py); one of this batch has just
            # arrived, and keeps the mark it arrived with.
            minutes.append({"id": post["id"], "value": max(waited, 0.0),
                            "changed_at": post["changed_at"] if post["id"] in batch else utcnow()})
        elif (post["kind"] == MENTION and answered_post["kind"] == REPLY and _awaiting(post)
              and post["proposed_employee_id"] is None and answered_post["employee_id"] is not None):
            # Credited by its sign-off, or by a person from the queue: either way that agent answered.
            proposals.append({"id": post["id"], "proposed_employee_id": answered_post["employee_id"]})
    for values in (minutes, proposals):
        if values:  # one executemany UPDATE by primary key
            session.execute(update(Feedback), sorted(values, key=lambda v: v["id"]))


def _credit_ticket_assignees(session: Session, rows: list[dict[str, Any]]) -> None:
    """Credit waiting posts that name a known ticket to whoever held the ticket when they were posted.

    The assignment in force is the latest one at or before the post; a post written before anyone held the
    ticket, or while someone not mapped to an employee held it, keeps waiting.
    """
    if not rows or TICKET_BASIS not in ingestion_policy(session).attribution:
        return
    later = aliased(TicketAssignment)
    held = session.execute(
        select(Feedback.id, TicketAssignment.employee_id, Employee.team_id, TicketAssignment.external_assignee_id)
        .join(TicketAssignment, and_(TicketAssignment.ticket_id == Feedback.ticket_id,
                                     TicketAssignment.assigned_at <= Feedback.occurred_at))
        .join(Employee, Employee.id == TicketAssignment.employee_id)
        .where(Feedback.id.in_(sorted(row["id"] for row in rows)),
               ~exists().where(later.ticket_id == TicketAssignment.ticket_id,
                               later.assigned_at <= Feedback.occurred_at,
                               or_(later.assigned_at > TicketAssignment.assigned_at,
                                   and_(later.assigned_at == TicketAssignment.assigned_at,
                                        later.id > TicketAssignment.id))))).all()
    if not held:
        return
    now = utcnow()
    session.execute(update(Feedback), [
        {"id": feedback_id, "employee_id": employee_id, "team_id": team_id, "attribution_policy": TICKET_BASIS,
         "attributed_identity": assignee, "changed_at": now}
        for feedback_id, employee_id, team_id, assignee in sorted(held)])
    credited = {feedback_id: employee_id for feedback_id, employee_id, _, _ in held}
    for row in rows:
        if row["id"] in credited:
            row["employee_id"], row["attribution_policy"] = credited[row["id"]], TICKET_BASIS
