"""Checks on who answered: an employee rating their own work, and one customer answering again and again.

Both compare ``Feedback.respondent_ref``, the salted hash of the respondent's e-mail address; the address
itself is never stored, so an employee's addresses are hashed the same way to be compared.
"""
from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from marshmallow import Schema, fields, validate
from sqlalchemy import and_, select

from core.ingestion import respondent_ref
from core.integrity import IntegrityCheck
from core.models import Employee, EmployeeIdentity, Feedback

from .reasons import moment, span


class SelfRatingParams(Schema):
    """No parameters: an unknown one is refused rather than ignored."""


class SelfRating(IntegrityCheck):
    """The respondent is the employee the item is credited to: their e-mail, or one of their e-mail identities."""

    name = "self_rating"
    title = "Self-rating"
    params_schema = SelfRatingParams

    def inspect(self, session, feedback, params):
        rated = [item for item in feedback if item.respondent_ref and item.employee_id is not None]
        if not rated:
            return []
        own = _own_respondent_refs(session, {item.employee_id for item in rated})
        findings = []
        for item in rated:
            name, refs = own.get(item.employee_id, ("", set()))
            if item.respondent_ref in refs:
                reason = (f"The {item.kind} answer came from an e-mail address of {name}, the employee it is "
                          f"credited to: an employee rated their own work.")
                findings.append((item.id, reason))
        return findings


def _own_respondent_refs(session, employee_ids: set[int]) -> dict[int, tuple[str, set[str]]]:
    """Each employee's name and the respondent refs of their addresses, from one query.

    Hashed per employee rather than per item: a batch holds many items about few people.
    """
    rows = session.execute(
        select(Employee.id, Employee.name, Employee.email, EmployeeIdentity.external_id)
        .outerjoin(EmployeeIdentity, and_(EmployeeIdentity.employee_id == Employee.id,
                                          EmployeeIdentity.provider == "email"))
        .where(Employee.id.in_(sorted(employee_ids))))
    names: dict[int, str] = {}
    addresses: dict[int, set[str]] = defaultdict(set)
    for employee_id, name, email, identity in rows:
        names[employee_id] = name
        addresses[employee_id].update(address for address in (email, identity) if address)
    salt = current_app.config["RESPONDENT_SALT"]
    return {employee_id: (name, {respondent_ref(address, salt) for address in addresses[employee_id]})
            for employee_id, name in names.items()}


class DuplicateRespondentParams(Schema):
    window_hours = fields.Float(load_default=24.0,
                                validate=validate.Range(min=0, max=24 * 366, min_inclusive=False),
                                metadata={"description": "a second answer of the same kind about the same "
                                                         "employee from the same customer within this many "
                                                         "hours is flagged"})


class DuplicateRespondent(IntegrityCheck):
    """The same customer already answered about the same employee, same kind, within the window.

    Only the later answers are flagged; the first one counts. Items HR excluded are not earlier answers.
    The answers of one survey response (same channel, ticket and time: several questions of one kind) are
    one answer, not duplicates of each other.
    """

    name = "duplicate_respondent"
    title = "Duplicate respondent"
    params_schema = DuplicateRespondentParams

    def inspect(self, session, feedback, params):
        rated = [item for item in feedback if item.respondent_ref and item.employee_id is not None]
        if not rated:
            return []
        window = timedelta(hours=params["window_hours"])
        answers = _answers_by_respondent(session, rated, window)
        findings = []
        for item in rated:
            earlier = _earlier_answers(answers[(item.respondent_ref, item.employee_id, item.kind)], item, window)
            if not earlier:
                continue
            last = earlier[-1]
            gap = span((item.occurred_at - last.occurred_at).total_seconds())
            before = (f"{len(earlier)} earlier {item.kind} answers about the same employee, the latest"
                      if len(earlier) > 1 else f"a {item.kind} answer about the same employee")
            reason = (f"The same customer already gave {before} {gap} before this one "
                      f"({moment(last.occurred_at)}, feedback {last.id}); within {params['window_hours']:g} "
                      f"hours only their first answer counts.")
            findings.append((item.id, reason))
        return findings


def _answers_by_respondent(session, rated, window: timedelta) -> dict[tuple, tuple[list, list]]:
    """Every answer these respondents gave about these employees over the batch's span, from one query:
    by (respondent, employee, kind), their (time, id) keys and rows, in time order."""
    rows = session.execute(
        select(Feedback.id, Feedback.respondent_ref, Feedback.employee_id, Feedback.kind, Feedback.channel,
               Feedback.ticket_ref, Feedback.occurred_at)
        .where(Feedback.respondent_ref.in_(sorted({item.respondent_ref for item in rated})),
               Feedback.employee_id.in_(sorted({item.employee_id for item in rated})),
               Feedback.kind.in_(sorted({item.kind for item in rated})),
               Feedback.status != "excluded",
               Feedback.occurred_at >= min(item.occurred_at for item in rated) - window,
               Feedback.occurred_at <= max(item.occurred_at for item in rated)))
    grouped: dict[tuple, list] = defaultdict(list)
    for row in rows:
        grouped[(row.respondent_ref, row.employee_id, row.kind)].append(row)
    ordered: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
    for group, answers in grouped.items():
        answers.sort(key=lambda row: (row.occurred_at, row.id))
        ordered[group] = ([(row.occurred_at, row.id) for row in answers], answers)
    return ordered


def _earlier_answers(group: tuple[list, list], item, window: timedelta) -> list:
    """The answers before ``item`` (by time, then by id for equal times) within the window, oldest first."""
    keys, answers = group
    earlier = []
    for row in reversed(answers[:bisect_left(keys, (item.occurred_at, item.id))]):
        if row.occurred_at < item.occurred_at - window:
            break
        if not _same_response(row, item):
            earlier.append(row)
    return earlier[::-1]


def _same_response(row, item) -> bool:
    return (row.channel == item.channel and row.ticket_ref is not None and row.ticket_ref == item.ticket_ref
            and row.occurred_at == item.occurred_at)
