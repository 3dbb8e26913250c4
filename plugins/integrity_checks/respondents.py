"""Checks on who answered: an employee rating their own work, and one customer answering again and again.

Both compare ``Feedback.respondent_ref``, the salted hash of the respondent's e-mail address; the address
itself is never stored, so an employee's addresses are hashed the same way to be compared.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from flask import current_app
from marshmallow import Schema, fields, validate
from sqlalchemy import Interval, and_, func, literal, select
from sqlalchemy.orm import aliased

from core.db import ids_among
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
        candidates = _candidates(session, rated, window)
        overtaken = _overtaken(candidates, rated, window)
        findings = []
        for item in rated:
            earlier = _earlier_answers(candidates.get(item.id, ()), item, window)
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
        # An earlier answer arriving after a later one (a webhook retried, an import of last week) makes the
        # stored later one the duplicate: it counted as first until now.
        for answer, first in overtaken:
            gap = span((answer.occurred_at - first.occurred_at).total_seconds())
            reason = (f"The same customer gave a {first.kind} answer about the same employee {gap} before this "
                      f"one ({moment(first.occurred_at)}, feedback {first.id}), which arrived after it; within "
                      f"{params['window_hours']:g} hours only their first answer counts.")
            findings.append((answer.id, reason))
        return findings


_ITEM, _ANSWER = aliased(Feedback, name="item"), aliased(Feedback, name="answer")


def _candidates(session, rated, window: timedelta) -> dict[int, list]:
    """Each item's neighbours, from one query: the same respondent's answers of the same kind about the same
    employee in the window before it or after it, matched item by item in SQL.

    Only these rows are read, so the cost follows the answers that are duplicates, not the table nor the span of
    time the batch covers. The window's start is taken a second early (SQLite's date arithmetic drops fractions
    of a second); :func:`_earlier_answers` applies the exact bounds.
    """
    item, answer = _ITEM, _ANSWER
    rows = session.execute(
        select(item.id.label("item_id"), answer.id, answer.channel, answer.ticket_ref, answer.occurred_at)
        .join(answer, and_(answer.respondent_ref == item.respondent_ref, answer.employee_id == item.employee_id,
                           answer.kind == item.kind, answer.id != item.id, answer.status != "excluded",
                           answer.occurred_at <= _window_start(session, item.occurred_at, -window),
                           answer.occurred_at >= _window_start(session, item.occurred_at, window)))
        .where(ids_among(session, item.id, sorted({i.id for i in rated}))))
    candidates: dict[int, list] = defaultdict(list)
    for row in rows:
        candidates[row.item_id].append(row)
    return candidates


def _overtaken(candidates: dict[int, list], rated, window: timedelta) -> list:
    """Stored answers (outside the batch) that an item of the batch comes before, within the window, each with
    the earliest such item: ``[(answer row, first item)]``."""
    batch = {item.id: item for item in rated}
    firsts: dict[int, tuple] = {}
    for item_id, rows in candidates.items():
        first = batch[item_id]
        for row in rows:
            if (row.id in batch or row.occurred_at - first.occurred_at > window
                    or (row.occurred_at, row.id) < (first.occurred_at, first.id) or _same_response(row, first)):
                continue
            held = firsts.get(row.id)
            if held is None or (first.occurred_at, first.id) < (held[1].occurred_at, held[1].id):
                firsts[row.id] = (row, first)
    return sorted(firsts.values(), key=lambda pair: pair[0].id)


def _window_start(session, occurred_at, window: timedelta):
    """``occurred_at`` less the window and a second, in SQL (times are stored as naive UTC on both databases);
    a negative window gives its end, a second late."""
    seconds = window.total_seconds() + (1 if window >= timedelta(0) else -1)
    if session.get_bind().dialect.name == "postgresql":
        return occurred_at - literal(timedelta(seconds=seconds), Interval())
    # SQLite keeps times as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which datetime() shifts and compares as text.
    return func.datetime(occurred_at, f"{-seconds:+.0f} seconds")


def _earlier_answers(candidates, item, window: timedelta) -> list:
    """The answers before ``item`` (by time, then by id for equal times) within the window, oldest first."""
    earliest = item.occurred_at - window
    return sorted((row for row in candidates
                   if earliest <= row.occurred_at and (row.occurred_at, row.id) < (item.occurred_at, item.id)
                   and not _same_response(row, item)), key=lambda row: (row.occurred_at, row.id))


def _same_response(row, item) -> bool:
    return (row.channel == item.channel and row.ticket_ref is not None and row.ticket_ref == item.ticket_ref
            and row.occurred_at == item.occurred_at)
