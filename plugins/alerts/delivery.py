"""The alert job: compose the e-mail to the manager and send it, once per item."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select

from appraisal.comments import redact
from core import jobs
from core.db import transaction
from core.mail import send_mail
from core.models import AuditEntry, Employee, Feedback, record_audit
from core.plugins import get_plugins

from .triggers import Trigger, recipient, thresholds, trigger

SENT = "alert.sent"

_templates = Environment(loader=PackageLoader("plugins.alerts"), autoescape=select_autoescape(["html"]),
                         undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str
    html: str


def responses_url(employee_id: int) -> str:
    """Where the manager reads the employee's responses, with this one among them."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/team/responses?employee={employee_id}"


def compose(item: Feedback, why: Trigger, employee: Employee, manager: Employee) -> Alert:
    """The e-mail about ``item``: who, the score, the comment without the customer's details, a link."""
    channel = get_plugins().channels.get(item.channel)
    scale = f"{item.scale_min:g} to {item.scale_max:g}" if item.scale_min is not None else None
    name = " ".join(employee.name.split())  # no line breaks into a header
    context = {
        "why": why, "employee": name, "manager": manager.name, "kind": item.kind.upper(),
        "score": f"{item.value:g}", "scale": scale, "occurred_at": item.occurred_at.strftime("%Y-%m-%d %H:%M UTC"),
        "channel": channel.title if channel is not None else item.channel, "ticket": item.ticket_ref,
        "comment": redact(item.comment).strip() if item.comment and item.comment.strip() else None,
        "url": responses_url(employee.id),
    }
    subject = f"{name}: {item.kind.upper()} {context['score']}" + (f" of {item.scale_max:g}" if scale else "")
    return Alert(subject=f"Plaudit alert, {why.label}: {subject}",
                 text=_templates.get_template("alert.txt").render(context),
                 html=_templates.get_template("alert.html").render(context))


def send_alert(feedback_id: int) -> str | None:
    """Job: e-mail the manager about one item, unless it no longer deserves an alert or already had one.

    The check, the sending and the audit entry that records it share one transaction, which holds the
    item's row, so two copies of the job cannot both send. A failed send rolls back and is retried.

    :return: the message's Message-ID, or None when nothing was sent.
    """
    with jobs.job_app() as app, transaction() as session:
        item = session.scalar(select(Feedback).where(Feedback.id == feedback_id).with_for_update())
        if item is None or already_sent(session, feedback_id):
            return None
        why = trigger(item, thresholds(app.config))
        manager = recipient(session, item) if why is not None else None
        if manager is None:  # reassigned, quarantined or its team's lead gone since it was announced
            return None
        alert = compose(item, why, session.get(Employee, item.employee_id), manager)
        message_id = send_mail(manager.email, alert.subject, alert.text, alert.html)
        record_audit(session, SENT, item, after={"reason": why.reason, "manager_id": manager.id,
                                                 "message_id": message_id})
        return message_id


def already_sent(session, feedback_id: int) -> bool:
    return session.scalar(select(AuditEntry.id).where(
        AuditEntry.action == SENT, AuditEntry.entity_type == Feedback.__tablename__,
        AuditEntry.entity_id == str(feedback_id)).limit(1)) is not None
