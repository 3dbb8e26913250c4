"""A rating given after the ticket was reassigned away from the employee it is credited to.

Under "assignee at solve" a rating is credited to whoever solved the ticket; if the ticket was then
reopened and handed to a colleague, the customer may well be rating the colleague's work.
"""
from __future__ import annotations

from marshmallow import Schema
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from core.integrity import IntegrityCheck
from core.models import SURVEY_KINDS, Employee, Feedback, Ticket, TicketAssignment

from .reasons import moment, span


class RatingAfterReassignmentParams(Schema):
    """No parameters: an unknown one is refused rather than ignored."""


class RatingAfterReassignment(IntegrityCheck):
    """The latest assignment of the ticket at the time of the rating names another employee, although the
    credited employee held the ticket before.

    An assignment to nobody, or to an agent not mapped to an employee, is not evidence either way.
    """

    name = "rating_after_reassignment"
    title = "Rating after reassignment"
    params_schema = RatingAfterReassignmentParams

    def inspect(self, session, feedback, params):
        rated = [item for item in feedback if item.kind in SURVEY_KINDS and item.employee_id is not None
                 and (item.ticket_id is not None or item.ticket_ref)]
        if not rated:
            return []
        by_id = {item.id: item for item in rated}
        findings = []
        for feedback_id, moved_at, moved_to in session.execute(_reassigned_before_rating(rated)):
            item = by_id[feedback_id]
            gap = span((item.occurred_at - moved_at).total_seconds())
            reason = (f"The ticket was reassigned to {moved_to} on {moment(moved_at)}, {gap} before this "
                      f"{item.kind} rating, away from the employee the rating is credited to: the customer may "
                      f"be rating {moved_to}'s work.")
            findings.append((feedback_id, reason))
        return findings


def _reassigned_before_rating(rated):
    """One statement: each rated item whose ticket was reassigned away from the credited employee before the
    rating, with when that happened and to whom."""
    in_force_now = aliased(TicketAssignment)
    latest = aliased(TicketAssignment)
    earlier = aliased(TicketAssignment)
    # The assignment in force when the rating was given: the latest one at or before it.
    in_force = (select(latest.id)
                .where(latest.ticket_id == Ticket.id, latest.assigned_at <= Feedback.occurred_at)
                .order_by(latest.assigned_at.desc(), latest.id.desc())
                .limit(1).correlate(Ticket, Feedback).scalar_subquery())
    # Feedback.ticket_id is set for survey-page answers; a helpdesk rating names its ticket as "provider:id".
    # The IN lists let the unique (provider, external_id) index find those tickets.
    refs = {item.ticket_ref for item in rated if item.ticket_id is None and item.ticket_ref}
    on_ticket = Ticket.id == Feedback.ticket_id
    if refs:
        on_ticket = or_(on_ticket, and_(
            Feedback.ticket_id.is_(None), Feedback.ticket_ref == Ticket.provider + ":" + Ticket.external_id,
            Ticket.provider.in_(sorted({ref.partition(":")[0] for ref in refs})),
            Ticket.external_id.in_(sorted({ref.partition(":")[2] for ref in refs}))))
    return (select(Feedback.id, in_force_now.assigned_at, Employee.name)
            .select_from(Feedback)
            .join(Ticket, on_ticket)
            .join(in_force_now, in_force_now.id == in_force)
            .join(Employee, Employee.id == in_force_now.employee_id)
            .where(Feedback.id.in_(sorted(item.id for item in rated)),
                   in_force_now.employee_id != Feedback.employee_id,
                   exists().where(earlier.ticket_id == Ticket.id, earlier.employee_id == Feedback.employee_id,
                                  earlier.assigned_at <= in_force_now.assigned_at))
            .order_by(Feedback.id))
