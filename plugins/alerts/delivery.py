"""The alert job: compose the e-mail to the manager (or HR) and send it, once per item."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select

from appraisal.comments import redact
from core import jobs, local_time
from core.db import transaction
from core.mail import send_mail
from core.models import AuditEntry, Employee, Feedback, record_audit
from core.plugins import get_plugins

from .triggers import (
    NEGATIVE_MENTION,
    Recipients,
    Trigger,
    recipients,
    thresholds,
    trigger,
)

SENT = "alert.sent"

_templates = Environment(loader=PackageLoader("plugins.alerts"), autoescape=select_autoescape(["html"]),
                         undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str
    html: str


def _public_url(endpoint: str, **values) -> str:
    # Built from the app's own routes (outside any request), so a moved page cannot leave a dead link.
    path = current_app.url_map.bind("").build(endpoint, values)
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}{path}"


def responses_url(employee_id: int) -> str:
    """Where the manager reads the employee's responses, with this one among them."""
    return _public_url("team.responses", employee=employee_id)


def queue_url() -> str:
    """Where HR credits a queued item to an employee, or keeps it for the organisation."""
    return _public_url("queue.unattributed")


def _one_line(text: str) -> str:
    return " ".join(text.split())  # no line breaks into a header


def compose(item: Feedback, why: Trigger, employee: Employee | None, to: Recipients) -> Alert:
    """The e-mail about ``item``: who, the score, the comment without the customer's details, a link."""
    if why.reason == NEGATIVE_MENTION.reason:
        return compose_mention(item, employee, to)
    channel = get_plugins().channels.get(item.channel)
    scale = f"{item.scale_min:g} to {item.scale_max:g}" if item.scale_min is not None else None
    name = _one_line(employee.name)
    context = {
        "why": why, "employee": name, "manager": to.people[0].name, "kind": item.kind.upper(),
        "score": f"{item.value:g}", "scale": scale, "occurred_at": local_time.shown(item.occurred_at),
        "channel": channel.title if channel is not None else item.channel, "ticket": item.ticket_ref,
        "comment": _comment(item),
        "url": responses_url(employee.id),
    }
    subject = f"{name}: {item.kind.upper()} {context['score']}" + (f" of {item.scale_max:g}" if scale else "")
    return Alert(subject=f"Plaudit alert, {why.label}: {subject}",
                 text=_templates.get_template("alert.txt").render(context),
                 html=_templates.get_template("alert.html").render(context))


def compose_mention(item: Feedback, employee: Employee | None, to: Recipients) -> Alert:
    """The e-mail about a negative public post: whom it names, its sentiment, source, text and link.

    The text is redacted like a survey comment; the link leads to the public post itself, so whoever
    answers for the brand can read it whole and reply where the customer wrote.
    """
    payload = item.payload or {}
    name = _one_line(employee.name) if employee is not None else None
    context = {
        "why": NEGATIVE_MENTION, "employee": name, "role": to.role, "score": f"{item.value:+.2f}",
        "sentiment": payload.get("sentiment") or "negative", "source": payload.get("source") or item.channel,
        "occurred_at": local_time.shown(item.occurred_at), "ticket": item.ticket_ref,
        "text": _comment(item), "post_url": payload.get("url"),
        "url": responses_url(employee.id) if employee is not None else queue_url(),
    }
    about = name or "credited to nobody yet"
    return Alert(subject=f"Plaudit alert, {NEGATIVE_MENTION.label}: {about}: sentiment {context['score']}",
                 text=_templates.get_template("mention.txt").render(context),
                 html=_templates.get_template("mention.html").render(context))


def _comment(item: Feedback) -> str | None:
    return redact(item.comment).strip() if item.comment and item.comment.strip() else None


def send_alert(feedback_id: int) -> str | None:
    """Job: e-mail the manager (or HR) about one item, unless it no longer deserves an alert or had one.

    The check, the sending and the audit entry that records it share one transaction, which holds the
    item's row, so two copies of the job cannot both send. A failed send rolls back and is retried.

    :return: the message's Message-ID, or None when nothing was sent.
    """
    with jobs.job_app() as app, transaction() as session:
        item = session.scalar(select(Feedback).where(Feedback.id == feedback_id).with_for_update())
        if item is None or already_sent(session, feedback_id):
            return None
        why = trigger(item, thresholds(app.config))
        to = recipients(session, item, why) if why is not None else None
        if to is None:  # reassigned, quarantined or its team's lead gone since it was announced
            return None
        employee = session.get(Employee, item.employee_id) if item.employee_id is not None else None
        alert = compose(item, why, employee, to)
        # One message to everyone it concerns: a retry after a failed send repeats it for nobody.
        message_id = send_mail(to.addresses, alert.subject, alert.text, alert.html)
        sent_to = {"manager_id": to.people[0].id} if to.role == "manager" else {"hr_user_ids": [
            person.id for person in to.people]}
        record_audit(session, SENT, item, after={"reason": why.reason, **sent_to, "message_id": message_id})
        return message_id


def already_sent(session, feedback_id: int) -> bool:
    return session.scalar(select(AuditEntry.id).where(
        AuditEntry.action == SENT, AuditEntry.entity_type == Feedback.__tablename__,
        AuditEntry.entity_id == str(feedback_id)).limit(1)) is not None
