"""Receiving helpdesk webhooks: verify, parse, then store tickets, agent accounts and ratings in one go.

A delivery is all or nothing: if any part is refused, nothing of it is stored and the answer names the field.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select, tuple_
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from core import jobs
from core.ingestion import announce_feedback, ingest, revise_feedback
from core.late_attribution import credit_mapped_identities
from core.models import (
    Employee,
    EmployeeIdentity,
    Feedback,
    Integration,
    Ticket,
    record_audit,
    utcnow,
)
from core.storable_text import mended
from core.ticket_categories import category_spellings
from core.tickets import note_surveys, ticket_problems, upsert_tickets

from .channel import PostTicketSurvey
from .helpdesks import HELPDESKS, Delivery, PayloadError
from .invitations import (
    Solve,
    invite_solved,
    offered_agents,
    screen_solves,
    survey_settings,
    survey_url,
)
from .models import Invitation
from .ticket_metrics import record_timings

log = logging.getLogger(__name__)
#: How many of a delivery's solved tickets left without an invitation its answer names (the rest are counted).
NOT_INVITED_SHOWN = 100


class Unauthorised(Exception):
    """The delivery's signature or token does not match the integration's secret."""


@dataclass
class WebhookResult:
    tickets: int = 0
    ratings_created: int = 0
    ratings_duplicate: int = 0
    #: Of the duplicates, ratings the customer changed since: replaced by the newer answer.
    ratings_changed: int = 0
    agents_mapped: int = 0
    invitations: list[dict] = field(default_factory=list)
    #: Solved tickets no invitation was made for, and why: ``{"ticket": ..., "reason": ...}``; the first
    #: ``NOT_INVITED_SHOWN`` of them, and how many more there were.
    not_invited: list[dict] = field(default_factory=list)
    not_invited_more: int = 0
    ignored: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"tickets": self.tickets, "ratings": {"created": self.ratings_created,
                                                     "duplicates": self.ratings_duplicate,
                                                     "changed": self.ratings_changed},
                "agents_mapped": self.agents_mapped, "invitations": self.invitations,
                "not_invited": self.not_invited,
                **({"not_invited_more": self.not_invited_more} if self.not_invited_more else {}),
                "ignored": self.ignored}


def receive(session: Session, integration: Integration, headers, query, body: bytes) -> WebhookResult:
    """Verify and store one delivery in ``session`` (the caller commits).

    :raises Unauthorised: on a bad signature, before the body is even parsed.
    :raises PayloadError: naming the field, when the body is malformed or contradicts itself.
    """
    helpdesk = HELPDESKS[integration.provider]
    if not helpdesk.verify(headers, query, body, integration.webhook_secret):
        raise Unauthorised(helpdesk.refusal(headers, query))
    try:
        # Mended, not refused: a helpdesk that cut an emoji in half would otherwise retry, and lose, the
        # delivery for ever (core.storable_text).
        data = mended(json.loads(body))
    except RecursionError:
        raise PayloadError("body", "not JSON that can be read: it is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError("body", f"not JSON: {exc}") from None
    delivery = helpdesk.parse(data, utcnow())
    if integration.provider == "generic":
        confine(delivery, generic_namespace(integration))
    return store(session, delivery, integration)


def generic_namespace(integration: Integration) -> str:
    """The one provider name a generic integration writes tickets and ratings under."""
    return (integration.settings or {}).get("namespace") or f"generic_{integration.id}"


def confine(delivery: Delivery, namespace: str) -> None:
    """Keep a generic delivery inside its namespace: it may not touch another helpdesk's tickets, answer a
    Plaudit survey, or claim the ``subject`` basis. Raises PayloadError naming the field."""
    for update in delivery.tickets:
        if update.provider not in ("", namespace):
            raise PayloadError("provider", f"this integration writes only as {namespace!r}")
        update.provider = namespace
    for index, rating in enumerate(delivery.ratings):
        for name in ("response_id", "ticket_id"):
            value = rating.get(name)
            if value is not None and not str(value).startswith(f"{namespace}:"):
                raise PayloadError(f"ratings.{index}.{name}", f"must start with {namespace}:")
        bases = {rating.get("agent_basis"), *(rating.get("agents") or {})}
        if "subject" in bases:
            raise PayloadError(f"ratings.{index}.agent_basis", "a helpdesk rating cannot name its subject")


def store(session: Session, delivery: Delivery, integration: Integration | None = None) -> WebhookResult:
    """Store what a delivery says; raise PayloadError before writing if any part is refused."""
    for update in delivery.tickets:
        problems = ticket_problems(update)
        if problems:
            name, messages = next(iter(problems.items()))
            # An id that cannot be stored cannot name its ticket either.
            where = "ticket" if "external_id" in problems else f"ticket {update.external_id}"
            raise PayloadError(f"{where}: {name}", messages[0])
    schema = PostTicketSurvey.schema()
    for rating in delivery.ratings:
        errors = schema.validate(rating)
        if errors:
            name, messages = next(iter(errors.items()))
            raise PayloadError(f"rating {rating.get('response_id')}: {name}", _said(messages))

    result = WebhookResult(ignored=list(delivery.ignored))
    # The delivery's categories first, before mapping agents locks waiting items: a concurrent delivery that
    # stored one of them, and recategorises a ticket those items are about, would otherwise wait on this one.
    category_spellings(session, [update.category for update in delivery.tickets if update.category is not None])
    result.agents_mapped = _map_agents(session, delivery)
    tickets = upsert_tickets(session, delivery.tickets) if delivery.tickets else {}
    result.tickets = len(tickets)
    solved = [t for t in tickets.values() if t.resolved_at is not None]
    if solved:
        _refuse_rejected(record_timings(session, solved), "timing")
    if delivery.ratings:
        _offer_ticket_people(session, delivery.ratings, tickets)
        report = _refuse_rejected(ingest(session, PostTicketSurvey.name, delivery.ratings), "rating")
        result.ratings_created, result.ratings_duplicate = len(report.created), len(report.duplicates)
        result.ratings_changed = _apply_changes(session, delivery.ratings, report.duplicates)
        _close_invitations(session, select(Feedback.ticket_id).where(
            Feedback.id.in_([stored.feedback_id for stored in report.created]), Feedback.ticket_id.is_not(None)))
    if delivery.surveyed:
        _close_invitations(session, _note_helpdesk_surveys(session, delivery, tickets))
    if integration is not None:  # after the ratings: one in this delivery means the customer has answered
        _invite(session, delivery, tickets, integration, result)
    return result


def _note_helpdesk_surveys(session: Session, delivery: Delivery, tickets: dict) -> list[int]:
    """Mark the tickets the helpdesk surveyed itself as surveyed (core.tickets.note_surveys): the invitation
    step then leaves them be, and the suppressed-surveys check counts them as surveyed. Return their ids."""
    known = {key: ticket.id for key, ticket in tickets.items()}
    stored: dict[str, list[str]] = {}  # offers delivered on their own, about tickets stored before: by provider
    for provider, external_id in delivery.surveyed.keys() - known.keys():
        stored.setdefault(provider, []).append(external_id)
    for provider, external_ids in stored.items():  # one query per helpdesk (a delivery names one)
        known |= {(provider, external_id): ticket_id for external_id, ticket_id in session.execute(
            select(Ticket.external_id, Ticket.id).where(Ticket.provider == provider,
                                                        Ticket.external_id.in_(external_ids)))}
    seen = {known[key]: when for key, when in delivery.surveyed.items() if key in known}
    note_surveys(session, seen)
    return sorted(seen)


def _close_invitations(session: Session, ticket_ids) -> None:
    """Close Plaudit's unanswered invitations about tickets the customer rated in the helpdesk, or that the
    helpdesk surveyed itself, since: the invitation went first, and its link would take a second answer."""
    closed = session.execute(
        update_rows(Invitation).where(Invitation.ticket_id.in_(ticket_ids), Invitation.answer_window_ends_at.is_(None),
                                 Invitation.expires_at > utcnow())
        .values(expires_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if closed:
        log.info("closed %d survey invitation(s): their customers answered the helpdesk's own survey", closed)


def _invite(session: Session, delivery: Delivery, tickets: dict, integration: Integration,
            result: WebhookResult) -> None:
    """Invite the customers of the tickets this delivery shows solved now, and recently; say why not the others."""
    solves: dict[int, Solve] = {}
    for update in delivery.tickets:  # a ticket twice in a delivery (two snapshots) is one solve
        ticket = tickets[(update.provider, update.external_id)]
        if ticket.resolved_at is not None and (ticket.id not in solves or update.requester_email):
            solves[ticket.id] = Solve(ticket, update.requester_email)
    if not solves:
        return
    settings, not_invited = survey_settings(integration), []
    solves = screen_solves(list(solves.values()), settings, HELPDESKS[integration.provider].solved_now,
                           not_invited=not_invited)
    for invitation, _token in invite_solved(session, solves, settings, integration.id, not_invited) if solves else ():
        result.invitations.append({"ticket": invitation.ticket.external_id, "delivery": invitation.delivery,
                                   **({"url": survey_url(invitation)} if invitation.delivery == "link" else {})})
    # A ticket list or a backfill of old tickets holds thousands: the answer names the first ones and counts.
    result.not_invited = [{"ticket": item.ticket.external_id, "reason": item.reason}
                          for item in not_invited[:NOT_INVITED_SHOWN]]
    result.not_invited_more = max(len(not_invited) - NOT_INVITED_SHOWN, 0)
    if not_invited:
        reasons = Counter(item.reason.split(", ", 1)[-1] if item.reason.startswith("solved ") else item.reason
                          for item in not_invited)
        log.info("integration %s: %d solved ticket(s) not invited: %s", integration.id, len(not_invited),
                 "; ".join(f"{count} {reason}" for reason, count in reasons.most_common()))


def _apply_changes(session: Session, ratings: list[dict], duplicates) -> int:
    """Replace stored ratings the customer changed since: a delivery of one already stored whose answer is
    newer and different. An older or identical one (a retry, or a delivery overtaken) changes nothing."""
    if not duplicates:
        return 0
    stored = {item.external_id: item for item in session.scalars(
        select(Feedback).where(Feedback.channel == PostTicketSurvey.name,
                               Feedback.external_id.in_(sorted({d.external_id for d in duplicates}))))}
    channel, schema = PostTicketSurvey(), PostTicketSurvey.schema()
    newest: dict[str, object] = {}
    for duplicate in duplicates:
        for draft in channel.to_feedback(schema.load(ratings[duplicate.index])):
            item = stored.get(draft.external_id)
            if item is None or draft.occurred_at <= item.occurred_at:
                continue
            if (draft.value, draft.comment) == (item.value, item.comment):
                continue
            if draft.external_id not in newest or draft.occurred_at > newest[draft.external_id].occurred_at:
                newest[draft.external_id] = draft
    revised = [revise_feedback(session, PostTicketSurvey.name, external_id, value=draft.value,
                               comment=draft.comment, occurred_at=draft.occurred_at)
               for external_id, draft in sorted(newest.items())]
    for item in revised:  # a good turned bad must reach the manager as the first answer would have
        item.announced_at = None
    if revised:
        jobs.enqueue(session, announce_feedback, sorted(item.id for item in revised))
    return len(revised)


def _offer_ticket_people(session: Session, ratings: list[dict], tickets: dict) -> None:
    """Add who solved the rated ticket and who last replied in public, for the policy to choose from."""
    known = {f"{provider}:{external_id}": t for (provider, external_id), t in tickets.items()}
    missing: dict[str, set[str]] = {}
    for rating in ratings:
        ref = rating.get("ticket_id")
        if ref and ref not in known:
            provider, _, external_id = ref.partition(":")
            missing.setdefault(provider, set()).add(external_id)
    for provider, ids in missing.items():  # tickets stored by earlier deliveries: one query per helpdesk
        known.update({f"{t.provider}:{t.external_id}": t for t in session.scalars(
            select(Ticket).where(Ticket.provider == provider, Ticket.external_id.in_(sorted(ids))))})
    for rating in ratings:
        ticket = known.get(rating.get("ticket_id"))
        if ticket is not None:  # what the helpdesk named with the rating stays as given
            rating["agents"] = {**offered_agents(ticket), **(rating.get("agents") or {})}


def _refuse_rejected(report, what: str):
    """A delivery is all or nothing: one refused item refuses it (the caller rolls back)."""
    if report.rejected:
        name, messages = next(iter(report.rejected[0].errors.items()))
        raise PayloadError(f"{what} {report.rejected[0].index}: {name}", _said(messages))
    return report


def _said(messages) -> str:
    """A field's messages as words: marshmallow gives lists, and dicts for nested fields."""
    if isinstance(messages, dict):
        return "; ".join(f"{name}: {_said(said)}" for name, said in messages.items())
    if isinstance(messages, list | tuple):
        return "; ".join(map(_said, messages))
    return str(messages)


def _map_agents(session: Session, delivery: Delivery) -> int:
    """Map helpdesk agent accounts to the active employees with the same e-mail, once; never re-map. Ratings
    already waiting for such an account (they arrived before it) are credited now, as when HR maps it."""
    agents = [a for a in delivery.agents if a.email]
    if not agents:
        return 0
    refs = sorted({(a.ref.provider, a.ref.external_id) for a in agents})
    mapped = set(session.execute(select(EmployeeIdentity.provider, EmployeeIdentity.external_id).where(
        tuple_(EmployeeIdentity.provider, EmployeeIdentity.external_id).in_(refs))).all())
    emails = sorted({a.email.lower() for a in agents})
    # Not someone who left: an account mapped to them would credit every later rating to nobody, for good.
    owners = dict(session.execute(select(func.lower(Employee.email), Employee.id)
                                  .where(func.lower(Employee.email).in_(emails), Employee.active)).all())
    owners.update(session.execute(
        select(EmployeeIdentity.external_id, EmployeeIdentity.employee_id)
        .join(Employee, Employee.id == EmployeeIdentity.employee_id)
        .where(EmployeeIdentity.provider == "email", EmployeeIdentity.external_id.in_(emails), Employee.active)).all())
    added = []
    for agent in agents:
        key = (agent.ref.provider, agent.ref.external_id)
        employee_id = owners.get(agent.email.lower())
        if key in mapped or employee_id is None:
            continue
        session.add(EmployeeIdentity(employee_id=employee_id, provider=key[0], external_id=key[1]))
        record_audit(session, "employee.identity_mapped", session.get(Employee, employee_id),
                     after={"identity": f"{key[0]}:{key[1]}", "from": "the helpdesk's agent account, by e-mail"})
        mapped.add(key)
        added.append(key)
    if added:
        session.flush()
        credit_mapped_identities(session, added)
    return len(added)
