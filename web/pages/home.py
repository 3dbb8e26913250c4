"""The signed-in home page: what has arrived, within what the user may see; a shopper's is their assignments."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.sql.elements import False_

from appraisal.models import Recommendation
from appraisal.outdated import outdated_runs
from appraisal.tenure_runs import people_by_old_days
from core.attribution_queue import awaiting_attribution
from core.auth import signed_in
from core.db import get_session
from core.models import Dispute, Employee, Feedback, Flag, utcnow
from core.plugins import get_plugins
from web.pages.queue import proposed_for_my_people
from web.pages.review import disputes_waiting, recommendations_waiting
from web.pages.runs import pages_holding
from web.scope import visible_employee_ids, visible_feedback

bp = Blueprint("pages", __name__)
OUTDATED_LINKS = 5  # out-of-date periods named on HR's home page; the runs page has the rest


@bp.get("/")
@signed_in
def home():
    """Show the feedback received per channel and kind, and the unattributed queue, in the user's scope."""
    session = get_session()
    scope = visible_feedback(current_user)
    # A shopper whose roles read no feedback has their own work elsewhere: the assignments (if that channel runs).
    if (isinstance(scope, False_) and current_user.has_role("shopper")
            and "mystery_shopper.assignments" in current_app.view_functions):
        return redirect(url_for("mystery_shopper.assignments"))
    # An employee who reads only their own comes for their report, which lists their items; the counts by
    # channel and kind are for those who look after others' feedback.
    if current_user.employee_id is not None and not current_user.has_role("hr", "manager", "admin"):
        return redirect(url_for("report.mine"))
    counts = (select(Feedback.channel, Feedback.kind, Feedback.status, func.count(),
                     func.min(Feedback.occurred_at), func.max(Feedback.occurred_at))
              .group_by(Feedback.channel, Feedback.kind, Feedback.status)
              .order_by(Feedback.channel, Feedback.kind, Feedback.status))
    if scope is not None:
        counts = counts.where(scope)
    rows = session.execute(counts).all()
    unattributed = None
    # Those who decide the queue (HR, and managers, who know their people) see how many items wait in it; a
    # manager, how many of them are proposed for their people, which most of the rest are not theirs to decide.
    if current_user.has_role("hr", "manager"):
        mine = proposed_for_my_people(current_user, visible_employee_ids(current_user))
        unattributed = session.execute(select(func.count(), func.count(case((mine, 1)))).select_from(Feedback)
                                       .where(awaiting_attribution())).one()
    channels = get_plugins().channels
    # HR's, who run periods again: the people whose joining or leaving day changed after runs that count them.
    old_days = people_by_old_days(session) if current_user.has_role("hr") else []
    # And the recent periods whose feedback arrived or changed after their run.
    outdated = outdated_runs(session, utcnow()) if current_user.has_role("hr") else []
    # Each linked on the page of the runs list that shows it: runs made since may have pushed it off the first.
    pages = pages_holding(session, [run.id for run, _ in outdated[:OUTDATED_LINKS]])
    return render_template("home.html", rows=rows, unattributed=unattributed, channels=channels,
                           scoped=scope is not None, waiting=_waiting(session), old_days=old_days,
                           outdated=outdated, outdated_pages=pages, outdated_links=OUTDATED_LINKS)


def _waiting(session) -> list[tuple[str, int, str]]:
    """What waits for the user to decide, besides the queue: (what, how many, the page), one count each.

    A manager or HR landing here saw only counts of feedback, and had to open each page to learn whether
    anything was theirs to do.
    """
    if not current_user.has_role("hr", "manager"):
        return []
    # Counted as the pages themselves count them.
    found = [("Recommendations to approve", session.scalar(
                 select(func.count()).select_from(Recommendation).join(Employee, Employee.id == Recommendation.employee_id)
                 .where(*recommendations_waiting(current_user))), "review.recommendations"),
             ("Disputes to decide", session.scalar(
                 select(func.count()).select_from(Dispute).join(Feedback, Feedback.id == Dispute.feedback_id)
                 .join(Employee, Employee.id == Feedback.employee_id).where(*disputes_waiting(current_user))),
              "review.disputes")]
    if current_user.has_role("hr"):
        found.append(("Integrity flags to decide", session.scalar(
            select(func.count()).select_from(Flag).where(Flag.decision.is_(None))), "review.flags"))
    return [(what, count, page) for what, count, page in found if page in current_app.view_functions]
