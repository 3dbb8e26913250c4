"""Surveys suppressed on an employee's tickets: far fewer of the tickets they solved got a survey than the
organisation's tickets did.

An agent who closes unhappy tickets so that no survey goes out (or tags them to be skipped) keeps only the
good ratings. No single item shows it, so this is a finding about the employee's period, for HR to review.
"""
from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, fields, validate
from sqlalchemy import case, func, select

from appraisal.aggregates import counted_for, joined_during
from core.integrity import IntegrityCheck
from core.models import Ticket

from .reasons import share

#: Invitations and answers come after the solve; this much earlier still counts, for helpdesks' clocks.
_CLOCK_GRACE = timedelta(days=1)



class SuppressedSurveysParams(Schema):
    min_tickets = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100_000),
                                 metadata={"description": "employees who solved fewer tickets in the period "
                                                          "are not judged: too few to tell"})
    max_ratio = fields.Float(load_default=0.5, validate=validate.Range(min=0, max=1, min_inclusive=False),
                             metadata={"description": "flag an employee whose survey coverage is below this "
                                                      "share of the organisation's coverage"})


class SuppressedSurveys(IntegrityCheck):
    """Tickets an employee solved in the period got a survey far less often than the organisation's did.

    A ticket got a survey when it has an invitation, or a survey answer (csat, nps or ces) names it. The
    organisation's coverage is over every ticket solved in the period by a known employee. Under quota
    sampling (so many invitations per agent and week) a busy agent's coverage is lower by design: lower
    ``max_ratio`` or turn the check off there.
    """

    name = "suppressed_surveys"
    title = "Suppressed surveys"
    params_schema = SuppressedSurveysParams

    def inspect_period(self, session, start, end, params):
        counts = {employee_id: (solved, surveyed)
                  for employee_id, solved, surveyed in session.execute(_coverage_by_solver(session, start, end))}
        org_solved = sum(solved for solved, _ in counts.values())
        org_surveyed = sum(surveyed for _, surveyed in counts.values())
        if not org_surveyed:  # no surveys at all: nothing to compare with
            return []
        org_coverage = org_surveyed / org_solved
        findings = []
        for employee_id, (solved, surveyed) in sorted((e, c) for e, c in counts.items() if e is not None):
            if solved < params["min_tickets"] or surveyed / solved >= params["max_ratio"] * org_coverage:
                continue
            reason = (f"Only {share(surveyed, solved)} of the tickets this employee solved in the period got a "
                      f"survey, against {share(org_surveyed, org_solved)} across the organisation: less than "
                      f"{params['max_ratio']:.0%} of the organisation's rate. Surveys may have been suppressed "
                      f"on their tickets.")
            findings.append((employee_id, reason))
        return findings


def _coverage_by_solver(session, start, end):
    """One GROUP BY over the tickets solved in [start, end): per solver, how many, and how many got a survey.

    Each ticket keeps who solved it and when it was last surveyed (``Ticket.solver_id``, ``survey_seen_at``,
    kept by core.tickets), so this reads tickets alone. Invitations and answers come after the solve; a
    day's grace allows for helpdesks' clocks. A ticket solved before its solver joined counts for nobody (the
    organisation's rate only), as the run counts feedback.
    """
    surveyed = Ticket.survey_seen_at >= start - _CLOCK_GRACE
    solver = counted_for(Ticket.solver_id, Ticket.resolved_at, joined_during(session, start, end))
    return (select(solver, func.count(), func.count(case((surveyed, 1))))
            .where(Ticket.resolved_at >= start, Ticket.resolved_at < end, Ticket.solver_id.is_not(None))
            .group_by(solver))
