"""Weekly digests: each employee's report and each manager's team report, e-mailed once per run.

``send_weekly_digests`` (a cron job, Mondays after the weekly run) plans the digests of the latest completed
weekly run: it records one :class:`DigestDelivery` per recipient and kind that has none yet, and enqueues one
``send_digest`` job per message, so a failure retries only that message. A delivery that was sent is never
sent again; the content is built when the message goes, by the same functions as the web pages.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import jobs
from core.db import transaction
from core.mail import send_mail
from core.models import Employee, Team, managed_teams, utcnow
from core.plugins import get_plugins

from .models import AppraisalResult, AppraisalRun, DigestDelivery
from .report import (
    completed_run,
    employee_report,
    latest_completed_run,
    show,
    team_report,
)

log = logging.getLogger(__name__)

#: Mondays at 07:00 on the organisation's clock, five hours after the weekly run is requested, and each hour until
#: noon, so a run that finished late still goes out that morning; what was planned once is not planned again.
CRON = "0 7-12 * * 1"


@dataclass(frozen=True)
class Recipient:
    employee_id: int
    name: str
    email: str
    kind: str  # employee | team


def recipients(session: Session, run: AppraisalRun) -> list[Recipient]:
    """Who gets a digest of ``run``: active employees with an e-mail and a result, their own report; the
    active leads (with an e-mail) of teams with results, directly or below them, the team report. Two queries.
    """
    people = session.execute(
        select(Employee.id, Employee.name, Employee.email)
        .join(AppraisalResult, AppraisalResult.employee_id == Employee.id)
        .where(AppraisalResult.run_id == run.id, Employee.active, Employee.email.is_not(None))
        .order_by(Employee.name, Employee.id)).all()
    # Every lead with every team at or below the teams they lead, in one recursive query.
    tree = (select(Team.manager_id.label("lead"), Team.id.label("team"))
            .where(Team.manager_id.is_not(None)).cte("led", recursive=True))
    tree = tree.union(select(tree.c.lead, Team.id).where(Team.parent_id == tree.c.team))
    leads = session.execute(
        select(Employee.id, Employee.name, Employee.email)
        .where(Employee.id.in_(select(tree.c.lead).join(AppraisalResult, AppraisalResult.team_id == tree.c.team)
                               .where(AppraisalResult.run_id == run.id)),
               Employee.active, Employee.email.is_not(None))
        .order_by(Employee.name, Employee.id)).all()
    return ([Recipient(r.id, r.name, r.email, "employee") for r in people]
            + [Recipient(r.id, r.name, r.email, "team") for r in leads])


def plan_digests(session: Session, run: AppraisalRun) -> list[DigestDelivery]:
    """Record a delivery for every recipient of ``run`` without one, and enqueue its message; return them."""
    planned = set(session.execute(select(DigestDelivery.recipient_id, DigestDelivery.kind)
                                  .where(DigestDelivery.run_id == run.id)).all())
    new = [r for r in recipients(session, run) if (r.employee_id, r.kind) not in planned]
    if not new:
        return []
    deliveries = [DigestDelivery(run_id=run.id, recipient_id=r.employee_id, kind=r.kind, email=r.email)
                  for r in new]
    session.add_all(deliveries)
    session.flush()
    for delivery in deliveries:
        jobs.enqueue(session, send_digest, delivery.id)
    return deliveries


def send_weekly_digests(run_id: int | None = None) -> int:
    """Cron job: plan the digests of run ``run_id``, or of the latest completed weekly run; return how many.

    Without ``run_id`` a period is e-mailed once: when a digest of another run of the same period has gone
    already (HR re-ran the week), nothing is planned; ``plaudit digests send --run`` sends a re-run's.
    """
    with jobs.job_app(), transaction() as session:
        run = completed_run(session, run_id) if run_id is not None else latest_completed_run(session)
        if run is None:
            if run_id is not None:
                raise LookupError(f"run {run_id} is not a completed appraisal run")
            log.info("weekly digests: no completed weekly run yet")
            return 0
        if run_id is None and period_sent_from(session, run) is not None:
            log.info("weekly digests: run %s's week was e-mailed from an earlier run; not sending again", run.id)
            return 0
        planned = plan_digests(session, run)
        log.info("weekly digests of run %s: %d message(s) planned", run.id, len(planned))
        return len(planned)


def period_sent_from(session: Session, run: AppraisalRun) -> int | None:
    """The other run of ``run``'s period whose digests were e-mailed (HR re-ran the week), if one was."""
    return session.scalar(
        select(DigestDelivery.run_id).join(AppraisalRun, AppraisalRun.id == DigestDelivery.run_id)
        .where(AppraisalRun.period_kind == run.period_kind, AppraisalRun.period_start == run.period_start,
               AppraisalRun.period_end == run.period_end, AppraisalRun.id != run.id)
        .order_by(DigestDelivery.run_id.desc()).limit(1))


def send_digest(delivery_id: int) -> bool:
    """Job: e-mail one planned digest; True if sent now, False if it went before (or its run is gone).

    The delivery is locked while its message goes, so two copies of the job never both send it.
    """
    with jobs.job_app(), transaction() as session:
        delivery = session.get(DigestDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.sent_at is not None:
            return False
        run = completed_run(session, delivery.run_id)
        message = render_digest(session, run, delivery.kind, delivery.recipient_id)
        if message is None:  # the recipient no longer has anything to read (an employee's result gone)
            log.warning("digest %s: nothing to send to employee %s", delivery.id, delivery.recipient_id)
            return False
        subject, text, html = message
        delivery.message_id = send_mail(delivery.email, subject, text, html)
        delivery.sent_at = utcnow()
        return True


def render_digest(session: Session, run: AppraisalRun, kind: str, recipient_id: int
                  ) -> tuple[str, str, str] | None:
    """The (subject, text, HTML) of one digest, built from the same report content as the web pages."""
    rules = get_plugins().scoring_rules
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    context: dict[str, Any] = {"show": show}
    if kind == "employee":
        report = employee_report(session, run, recipient_id, rules, audience="employee")
        if report is None or not report["appraised"]:
            return None
        context.update(report=report, url=f"{base}/report/{recipient_id}?run={run.id}")
        subject = f"Your report: {report['run']['title']}"
    else:
        report = team_report(session, run, managed_teams(recipient_id), rules, reader=recipient_id)
        if not report["rows"]:
            return None
        context.update(report=report, url=f"{base}/report/team?run={run.id}", base=base)
        subject = f"Team report: {report['run']['title']}"
    return (subject, render_template(f"mail/{kind}_digest.txt", **context),
            render_template(f"mail/{kind}_digest.html", **context))
