"""Inviting customers to rate a solved ticket: who is asked (census, a share, or a quota per agent), how
(an e-mail, or a link handed back to the helpdesk), and what their answers become.
"""
from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import jobs, local_time
from core.channel import IdentityRef
from core.db import transaction
from core.ingestion import ingest, respondent_ref, revise_feedback
from core.mail import send_mail
from core.models import Feedback, Ticket, utcnow
from core.tickets import note_surveys

from .models import Invitation, hash_survey_token
from .opt_outs import opted_out
from .schemas import SurveySettingsSchema
from .survey_templates import current, intro, survey_size

CHANNEL = "post_ticket_survey"
#: How a survey page's answers' ids begin: ``pts-invitation-<invitation>-<question>``.
INVITATION_IDS = "pts-invitation-"
log = logging.getLogger(__name__)


class SurveyClosed(Exception):
    """The link has expired, or the answer can no longer be changed."""


@dataclass(frozen=True)
class Solve:
    """A ticket solved at ``ticket.resolved_at``, and the customer to ask (if the helpdesk said)."""

    ticket: Ticket
    requester_email: str | None = None


@dataclass(frozen=True)
class NotInvited:
    """A solve no invitation was made for, and why (said in the webhook's answer and the log)."""

    ticket: Ticket
    reason: str


#: How far ahead of this server's clock a helpdesk's solve time may be and still count (clocks differ).
FUTURE_SLACK = timedelta(hours=1)


def screen_solves(solves: list[Solve], settings: dict, solved_now, now: datetime | None = None,
                  not_invited: list[NotInvited] | None = None) -> list[Solve]:
    """The solves still worth a survey: the ticket is solved now, and was solved recently.

    :param solved_now: the helpdesk's reading of a ticket's status (``Helpdesk.solved_now``): a ticket solved
        once and reopened since keeps its solve time, but is not asked about.
    :param not_invited: where to note the solves left out, and why.
    """
    if not settings["enabled"]:
        return []
    now = now or utcnow()
    oldest = now - timedelta(days=settings["max_age_days"])
    kept = []
    for solve in solves:
        ticket = solve.ticket
        if ticket.resolved_at is None:
            continue
        if not solved_now(ticket.status):
            reason = f"the ticket is {ticket.status!r} now, not solved"
        elif ticket.resolved_at < oldest:
            reason = (f"solved {ticket.resolved_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC, more than "
                      f"{settings['max_age_days']} days ago")
        elif ticket.resolved_at > now + FUTURE_SLACK:  # a helpdesk's clock, or a test system's: not a real solve
            reason = f"solved {ticket.resolved_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC, which has not come yet"
        else:
            kept.append(solve)
            continue
        _skip(not_invited, ticket, reason)
    return kept


def _skip(not_invited: list[NotInvited] | None, ticket: Ticket, reason: str) -> None:
    # Per ticket at debug: a ticket list holds thousands; the webhook logs one line of counts at info.
    log.debug("no survey invitation for ticket %s:%s: %s", ticket.provider, ticket.external_id, reason)
    if not_invited is not None:
        not_invited.append(NotInvited(ticket, reason))


def survey_settings(integration) -> dict:
    """The integration's survey settings, validated (defaults: census, e-mail, the default template)."""
    return SurveySettingsSchema().load(((integration.settings or {}) if integration else {}).get("survey", {}))


def sampled(ticket: Ticket, percent: float) -> bool:
    """Whether this solve falls in a ``percent`` sample: decided by a hash, so it is the same on every replay."""
    key = f"{ticket.provider}:{ticket.external_id}:{ticket.resolved_at.isoformat()}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2 ** 64 * 100 < percent


def invite_solved(session: Session, solves: list[Solve], settings: dict, integration_id: int | None = None,
                  not_invited: list[NotInvited] | None = None) -> list[tuple[Invitation, str]]:
    """Create the invitations these solves call for; return each with its token.

    One invitation per ticket, and none for a ticket that already has a survey answer (the customer rated it
    in the helpdesk, or answered another survey about it); customers surveyed within ``resurvey_days`` are not
    asked again, and customers who opted out (:mod:`.opt_outs`) never are. Whether the ticket is solved now,
    and recently, is :func:`screen_solves`'s part.
    A constant number of queries, however many solves.

    :param not_invited: where to note the solves left out, and why.
    """
    if not settings["enabled"]:
        return []
    solves = [s for s in solves if s.ticket.resolved_at is not None]
    if not solves:
        return []
    # One invitation per ticket: its solve time is the first one seen, so a later close, a replay or an exact
    # time replacing an estimate is the same solve.
    ticket_ids = {s.ticket.id for s in solves}
    done = set(session.scalars(select(Invitation.ticket_id).where(Invitation.ticket_id.in_(ticket_ids))))
    # A survey answer about the ticket, stored earlier or by this very delivery, marks it surveyed
    # (core.tickets.note_surveys): asking again would survey the customer twice.
    answered = set(session.scalars(select(Ticket.id).where(Ticket.id.in_(ticket_ids),
                                                           Ticket.survey_seen_at.is_not(None)))) - done
    salt = current_app.config["RESPONDENT_SALT"]
    refs = {s.ticket.id: respondent_ref(s.requester_email, salt) for s in solves}
    declined = opted_out(session, refs.values())
    recent = set()
    if settings["resurvey_days"] and any(refs.values()):
        since = min(s.ticket.resolved_at for s in solves) - timedelta(days=settings["resurvey_days"])
        recent = set(session.scalars(select(Invitation.respondent_ref).where(
            Invitation.respondent_ref.in_({r for r in refs.values() if r}), Invitation.created_at >= since)))
    quota_used = _quota_used(session, solves) if settings["sampling"] == "quota" else Counter()
    try:
        template = current(session, settings["template"])
    except LookupError:  # a deleted or mistyped template must not stop tickets being stored
        log.warning("survey template %r does not exist; using the default", settings["template"])
        template = current(session, "default")
    can_mail = bool(current_app.config["MAIL_SERVER"])
    created = []
    for solve in sorted(solves, key=lambda s: (s.ticket.resolved_at, s.ticket.id)):
        ticket = solve.ticket
        if ticket.id in done:
            _skip(not_invited, ticket, "an invitation was made for it already")
            continue
        if ticket.id in answered:
            _skip(not_invited, ticket, "it was surveyed already")
            continue
        ref = refs[ticket.id]
        if ref in declined:
            _skip(not_invited, ticket, "the customer asked not to be surveyed")
            continue
        if ref and ref in recent:
            _skip(not_invited, ticket, f"the customer was invited in the last {settings['resurvey_days']} days")
            continue
        agent = _assignee_at(ticket, ticket.resolved_at)
        week = _week(ticket.resolved_at)
        if settings["sampling"] == "percent" and not sampled(ticket, settings["percent"]):
            _skip(not_invited, ticket, f"not in the {settings['percent']:g}% sample")
            continue
        if settings["sampling"] == "quota":  # per agent as the helpdesk names them: mapped or not
            key = (agent.external_assignee_id if agent else None, week)
            if quota_used[key] >= settings["quota_per_week"]:
                _skip(not_invited, ticket, f"{key[0] or 'unassigned tickets'} had {settings['quota_per_week']} "
                                           f"invitations in week {week[1]} of {week[0]} already")
                continue
            quota_used[key] += 1
        # Without an address, or without SMTP configured, the link goes back to the helpdesk instead.
        delivery = settings["delivery"] if solve.requester_email and can_mail else "link"
        invitation = Invitation(ticket=ticket, template=template, integration_id=integration_id,
                                employee_id=agent.employee_id if agent else None,
                                agent_identity=agent.external_assignee_id if agent else None,
                                solved_at=ticket.resolved_at, recipient_email=solve.requester_email,
                                respondent_ref=ref, delivery=delivery,
                                expires_at=utcnow() + timedelta(days=settings["expiry_days"]))
        token = invitation.issue_token(current_app.config["SECRET_KEY"])
        session.add(invitation)
        created.append((invitation, token))
        done.add(ticket.id)
        if ref and settings["resurvey_days"]:
            recent.add(ref)
    session.flush()
    note_surveys(session, {invitation.ticket_id: invitation.solved_at for invitation, _token in created})
    for invitation, _token in created:
        if invitation.delivery == "email":
            jobs.enqueue(session, send_invitation, invitation.id)
    return created


def _quota_used(session: Session, solves: list[Solve]) -> Counter:
    """Invitations already made per (agent, ISO week of the organisation's), over the weeks these solves fall in."""
    start = min(s.ticket.resolved_at for s in solves) - timedelta(days=7)
    used = Counter()
    for agent, solved_at in session.execute(select(Invitation.agent_identity, Invitation.solved_at)
                                            .where(Invitation.solved_at >= start)):
        used[(agent, _week(solved_at))] += 1
    return used


def _week(moment: datetime) -> tuple[int, int]:
    """(year, ISO week) of ``moment`` on the organisation's calendar, the weeks it is appraised by."""
    return tuple(local_time.day_of(moment).isocalendar()[:2])


def _assignee_at(ticket: Ticket, moment: datetime):
    held = [a for a in ticket.assignments if a.assigned_at <= moment] or list(ticket.assignments)
    return max(held, key=lambda a: a.assigned_at) if held else None


def survey_url(invitation: Invitation) -> str:
    token = invitation.token(current_app.config["SECRET_KEY"])
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/channels/{CHANNEL}/s/{token}"


def send_invitation(invitation_id: int) -> bool:
    """Job: e-mail one invitation (plain text and HTML); True if sent now, False if sent before."""
    with jobs.job_app(), transaction() as session:
        invitation = session.get(Invitation, invitation_id, with_for_update=True)
        if invitation is None or invitation.sent_at is not None:
            return False
        if opted_out(session, [invitation.respondent_ref]):  # they opted out after it was made
            log.info("survey invitation %s not sent: the customer opted out", invitation.id)
            return False
        if invitation.expires_at <= utcnow():  # closed meanwhile (an opt-out undone since, an erasure): a dead link
            log.info("survey invitation %s not sent: its link has closed", invitation.id)
            return False
        if hash_survey_token(invitation.token(current_app.config["SECRET_KEY"])) != invitation.token_hash:
            # The secret key changed since the invitation was made: its link could never open. Say so.
            raise RuntimeError(f"invitation {invitation.id}: the link cannot be rebuilt with this secret key; "
                               f"PLAUDIT_SECRET_KEY must be the one the invitation was made under")
        url = survey_url(invitation)
        context = {"invitation": invitation, "template": invitation.template, "url": url,
                   "opt_out_url": f"{url}/opt-out" if invitation.respondent_ref else None,
                   "ticket": invitation.ticket, "intro": intro(invitation.template),
                   "size": survey_size(invitation.template)}
        send_mail(invitation.recipient_email, invitation.template.title,
                  render_template("post_ticket_survey/invitation.txt", **context),
                  render_template("post_ticket_survey/invitation.html", **context),
                  headers=_unsubscribe_headers(context["opt_out_url"]))
        invitation.sent_at = utcnow()
        return True


def _unsubscribe_headers(opt_out_url: str | None) -> dict[str, str]:
    """The headers mail clients show as an unsubscribe button, which POSTs to the opt-out link (RFC 8058):
    bulk senders to Gmail and Yahoo must offer it."""
    if opt_out_url is None:
        return {}
    return {"List-Unsubscribe": f"<{opt_out_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def find_invitation(session: Session, token: str) -> Invitation | None:
    from .models import hash_survey_token

    return session.scalar(select(Invitation).options(selectinload(Invitation.template))
                          .where(Invitation.token_hash == hash_survey_token(token)))


def check_open(invitation: Invitation, now: datetime | None = None) -> None:
    """Raise SurveyClosed when the link may no longer record or change an answer."""
    now = now or utcnow()
    if invitation.answer_window_ends_at is not None:  # answered: the promised change window governs
        if now >= invitation.answer_window_ends_at:
            raise SurveyClosed("Thank you: your answer has been recorded, and can no longer be changed.")
    elif now >= invitation.expires_at:
        raise SurveyClosed("This survey has closed: its link has expired.")


def record_answers(session: Session, invitation: Invitation, answers: dict[str, int], comment: str | None,
                   settings: dict, client: dict | None = None) -> str:
    """Store the customer's answers as feedback; a later answer inside the window replaces the earlier one.

    :param client: what the answering request said of itself (``user_agent``), kept with the answer with the
        time the invitation was sent, so a mail link scanner answering in the customer's name can be told.
    :return: ``recorded`` or ``changed``.
    :raises SurveyClosed: past the expiry or the change window.
    :raises ValueError: naming the question, for an answer off its scale.
    """
    # Two first answers at once: the second waits here, then finds the first and changes it.
    session.refresh(invitation, with_for_update=True)
    now = utcnow()
    check_open(invitation, now)
    ticket = invitation.ticket
    payloads = []
    for index, question in enumerate(invitation.template.questions):
        payload = {"response_id": f"{INVITATION_IDS}{invitation.id}-{question['key']}", "kind": question["kind"],
                   "rating": answers[question["key"]], "scale": question["scale"], "answered_at": now.isoformat(),
                   "ticket_id": f"{ticket.provider}:{ticket.external_id}", "agent_basis": "assignee_at_solve"}
        if invitation.recipient_email:
            payload["respondent"] = invitation.recipient_email
        if invitation.agent_identity:
            provider, _, external_id = invitation.agent_identity.partition(":")
            payload["agent"] = {"provider": provider, "id": IdentityRef(provider, external_id).external_id}
        payload["agents"] = offered_agents(ticket, at_rating=True)
        payload["answered_via"] = {"user_agent": (client or {}).get("user_agent"),
                                   "invited_at": invitation.sent_at.isoformat() if invitation.sent_at else None}
        if comment and index == 0:
            payload["comment"] = comment
        payloads.append(payload)
    if invitation.answered_at is None:
        report = ingest(session, CHANNEL, payloads)
        if report.rejected:
            raise ValueError(report.rejected[0].errors)
        if report.duplicates:  # stored by an earlier answer after all: take the change path below
            invitation.answered_at = now
            return _change(session, invitation, payloads, now)
        invitation.answered_at = now
        invitation.answer_window_ends_at = now + timedelta(hours=settings["change_window_hours"])
        session.execute(Feedback.__table__.update().where(
            Feedback.external_id.in_([p["response_id"] for p in payloads]), Feedback.channel == CHANNEL)
            .values(ticket_id=ticket.id, ticket_category=ticket.category))
        note_surveys(session, {ticket.id: now})
        return "recorded"
    return _change(session, invitation, payloads, now)


def _change(session: Session, invitation: Invitation, payloads: list[dict], now: datetime) -> str:
    """Replace the stored answers (audited) and announce them again: a 5 turned 1 must reach the manager."""
    from core.ingestion import announce_feedback

    revised = [revise_feedback(session, CHANNEL, p["response_id"], value=float(p["rating"]),
                               comment=p.get("comment"), occurred_at=now) for p in payloads]
    for item in revised:
        item.announced_at = None
    jobs.enqueue(session, announce_feedback, sorted(item.id for item in revised))
    return "changed"


def offered_agents(ticket: Ticket, at_rating: bool = False) -> dict:
    """Everyone a rating of ``ticket`` could be credited to, by basis; the attribution policy chooses."""
    offered = {}
    solved_by = _assignee_at(ticket, ticket.resolved_at) if ticket.resolved_at else None
    if solved_by is not None and solved_by.external_assignee_id:
        offered["assignee_at_solve"] = solved_by.external_assignee_id
    if at_rating and ticket.assignments:
        offered["assignee_at_rating"] = max(ticket.assignments, key=lambda a: a.assigned_at).external_assignee_id
    if ticket.last_public_replier:
        offered["last_public_replier"] = ticket.last_public_replier
    return {basis: {"provider": ref.partition(":")[0], "id": ref.partition(":")[2]}
            for basis, ref in offered.items() if ref}

