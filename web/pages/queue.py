"""The unattributed queue (managers and HR): items no identity matched, and the decisions on them.

Credit an item to someone, confirm or reject the employee a channel proposed, or (HR) keep it for the
organisation; core.attribution_queue checks who may decide what and audits it. A manager reads a proposed
person's name only within their teams.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from core.attribution_queue import (
    AttributionError,
    attribute_item,
    awaiting_attribution,
    confirm_proposal,
    keep_for_organisation,
    reject_proposal,
)
from core.auth import roles_required
from core.db import get_session
from core.local_time import shown
from core.models import Employee, Feedback, Ticket
from web.arguments import choice_arg, page_of
from web.pages.credit_to import credited_employee, pick_labels
from web.scope import visible_employee_ids

from .team import PAGE_SIZE, colleagues

bp = Blueprint("queue", __name__)


#: The queue's filters: every waiting item, or those whose channel proposed someone the user may decide about.
QUEUE_SHOWS = ("all", "proposed")


def proposed_for_my_people(user, visible):
    """SQL: the item's proposal names someone ``user`` may confirm or reject (never themselves).

    :param visible: ``visible_employee_ids(user)``, built once per query: its team tree is a named CTE.
    """
    return and_(Feedback.proposed_employee_id.in_(visible),
                Feedback.proposed_employee_id.is_distinct_from(user.employee_id))


def _queue(session, errors=None, status: int = 200):
    show = choice_arg("show", QUEUE_SHOWS, "all")
    visible = visible_employee_ids(current_user)
    where = [awaiting_attribution()]
    if show == "proposed":
        where.append(proposed_for_my_people(current_user, visible))
    total = session.scalar(select(func.count()).select_from(Feedback).where(*where))
    page, pages = page_of(total, PAGE_SIZE)
    proposed = aliased(Employee)
    # A manager reads the name of a proposed employee only within their teams (web/scope.py), or their own.
    in_scope = or_(proposed.id.in_(visible), proposed.id == current_user.employee_id)
    items = session.execute(
        select(Feedback, Ticket.external_id.label("ticket"),
               case((in_scope, proposed.name)).label("proposed_name"),
               proposed.active.label("proposed_active"),
               proposed_for_my_people(current_user, visible).label("may_decide"))
        .outerjoin(Ticket, Ticket.id == Feedback.ticket_id)
        .outerjoin(proposed, proposed.id == Feedback.proposed_employee_id)
        .where(*where).order_by(Feedback.occurred_at.desc(), Feedback.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    people = colleagues(session, current_user, leavers=True)
    # Waiting items belong to no team, so every manager reads them: with the customer's phone number, address or
    # links taken out, except where the item is proposed for one of their people. HR reads them as written.
    return render_template("team/unattributed.html", items=items, page=page, pages=pages, total=total, show=show,
                           people=people, picks=pick_labels(people), errors=errors or {},
                           as_written=current_user.has_role("hr")), status


@bp.get("/unattributed")
@roles_required("manager", "hr")
def unattributed():
    """List the feedback no identity matched, newest first, with the decisions a person can take."""
    return _queue(get_session())


def _decide(feedback_id: int, decision, done) -> object:
    """Take ``decision`` on a queued item and say what was done (``done(item)``); refusals stay on the page."""
    session = get_session()
    try:
        item = decision(session)
    except LookupError:
        session.rollback()
        abort(404, description=f"There is no feedback item {feedback_id}.")
    except PermissionError as exc:
        session.rollback()
        abort(403, description=str(exc))
    except AttributionError as exc:
        session.rollback()
        return _queue(session, {feedback_id: f"{exc.field}: {exc.message}"},
                      409 if exc.field == "feedback" else 400)
    session.commit()
    # Named as the queue shows it (its kind and time): the source's id and channel key told a manager nothing.
    flash(f"The {item.kind.replace('_', ' ')} item of {shown(item.occurred_at)}{done(item)}")
    return redirect(url_for(".unattributed", page=request.args.get("page") or None,
                            show=request.args.get("show") or None), 303)


@bp.post("/unattributed/<int:feedback_id>/attribute")
@roles_required("manager", "hr")
def attribute(feedback_id: int):
    """Credit a queued item to an employee the user may choose."""
    raw = request.form.get("employee", "").strip()
    if not raw:
        return _queue(get_session(), {feedback_id: "employee: choose an employee to credit"}, 400)
    try:  # chosen from the list (an id), picked from the long list (name and team), or typed in full
        employee_id = credited_employee(raw, current_user)
    except LookupError as exc:
        return _queue(get_session(), {feedback_id: f"employee: {exc}"}, 400)
    return _decide(feedback_id, lambda session: attribute_item(session, feedback_id, current_user, employee_id),
                   lambda item: f" now counts for {item.employee.name}, from the next run of its period.")


@bp.post("/unattributed/<int:feedback_id>/confirm")
@roles_required("manager", "hr")
def confirm(feedback_id: int):
    """Confirm the channel's proposal: the item is credited to the proposed employee."""
    return _decide(feedback_id, lambda session: confirm_proposal(session, feedback_id, current_user),
                   lambda item: f": you confirmed it is about {item.employee.name}; it counts for them from the "
                                "next run of its period.")


@bp.post("/unattributed/<int:feedback_id>/reject")
@roles_required("manager", "hr")
def reject(feedback_id: int):
    """Reject the channel's proposal: the item counts for the organisation only."""
    return _decide(feedback_id, lambda session: reject_proposal(session, feedback_id, current_user),
                   lambda item: f": you rejected the proposal of {item.proposed_employee.name}; it counts for "
                                "the organisation only, from the next run of its period.")


@bp.post("/unattributed/<int:feedback_id>/organisation")
@roles_required("hr")
def keep_for_org(feedback_id: int):
    """Keep a queued item for the organisation only: it leaves the queue and counts for nobody in particular."""
    return _decide(feedback_id, lambda session: keep_for_organisation(session, feedback_id, current_user),
                   lambda item: " counts for the organisation only.")
