"""Review queues: HR's integrity flags, and the disputes and recommendations managers and HR decide.

Every decision goes through :mod:`appraisal.review`, which checks who may decide and audits it; this module
only lists what waits, within the user's scope, and turns the domain's refusals into messages on the page.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from math import ceil

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from appraisal.models import AppraisalRun, Guideline, Recommendation
from appraisal.outdated import changes_since
from appraisal.periods import PERIOD_KINDS, run_made_early
from appraisal.review import (
    DecisionError,
    decide_dispute,
    decide_flag,
    decide_recommendation,
)
from core.auth import roles_required
from core.db import get_session
from core.models import Dispute, Employee, Feedback, Flag, Team, User, still_open
from core.plugins import get_plugins
from web.arguments import is_id, whole_number
from web.pages.budgets import runs_and_budgets
from web.pages.credit_to import credited_employee, pick_labels
from web.scope import visible_employee_ids, visible_employees

bp = Blueprint("review", __name__, url_prefix="/review")

#: Items per page of a queue.
PAGE_SIZE = 50
NOTE_LIMIT = 2000


class FormError(ValueError):
    """A form field is missing or malformed: ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class Refusal:
    """Why a decision on ``item_id`` was not taken, shown beside the item, with the response's status; ``field``
    is the form field at fault, when one is."""

    item_id: int | None
    message: str
    status: int
    field: str | None = None


#: The decision forms' fields as their labels name them, for a refusal that names one.
DECISION_FIELDS = {"decision": "Decision", "outcome": "Outcome", "reassign_to": "Credit it to", "note": "Note"}


def _field_refusal(item_id: int | None, message: str, status: int) -> Refusal:
    """A refusal whose message starts with a decision form's field (``reassign_to: ...``), as one naming it."""
    field, colon, rest = message.partition(": ")
    if colon and field in DECISION_FIELDS:
        return Refusal(item_id, rest, status, field)
    return Refusal(item_id, message, status)


# --- reading forms and query strings --------------------------------------------------------------------


def _form_id(field: str) -> int:
    raw = request.form.get(field, "").strip()
    if not is_id(raw):
        raise FormError(field, "give the number of the item to decide")
    return int(raw)


def _form_choice(field: str, choices: dict[str, bool]) -> bool:
    raw = request.form.get(field, "")
    if raw not in choices:
        raise FormError(field, f"choose {' or '.join(choices)}")
    return choices[raw]


def _form_text(field: str, *, required: bool = False) -> str | None:
    text = request.form.get(field, "").strip()
    if len(text) > NOTE_LIMIT:
        raise FormError(field, f"keep it under {NOTE_LIMIT} characters")
    if required and not text:
        raise FormError(field, "write it: the decision is recorded with it")
    return text or None


def _page_number() -> int:
    return whole_number("page") or 1


@dataclass(frozen=True)
class Pager:
    page: int
    total: int

    @property
    def pages(self) -> int:
        return max(ceil(self.total / PAGE_SIZE), 1)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE


def _pager(total: int) -> Pager:
    """The page asked for, moved back to the last one when decisions have emptied it."""
    pager = Pager(_page_number(), total)
    return pager if pager.page <= pager.pages else Pager(pager.pages, total)


# --- deciding ---------------------------------------------------------------------------------------------


def _decide(item_field: str, act: Callable[[int], str]) -> Refusal | None:
    """Run ``act`` on the item the form names and commit; on a refusal, roll back and say why.

    :param act: takes the item id, calls the domain, returns the message to flash.
    """
    session = get_session()
    item_id = None
    try:
        item_id = _form_id(item_field)
        message = act(item_id)
        session.commit()
    except FormError as exc:
        session.rollback()
        return Refusal(item_id, exc.message, 400, exc.field)
    except PermissionError as exc:
        session.rollback()
        return Refusal(item_id, str(exc), 403)
    except LookupError as exc:
        session.rollback()
        return Refusal(item_id, str(exc), 404)
    except DecisionError as exc:
        session.rollback()
        return _field_refusal(item_id, str(exc), 400)
    flash(message)
    return None


def _after(refusal: Refusal | None, render: Callable[[Refusal | None], str]):
    """Redirect to the same queue after a decision (so a reload decides nothing twice), else show the refusal."""
    if refusal is None:
        return redirect(request.full_path.rstrip("?"), code=303)
    return render(refusal), refusal.status


# --- integrity flags --------------------------------------------------------------------------------------


@bp.route("/flags", methods=["GET", "POST"])
@roles_required("hr")
def flags():
    """The integrity queue: open flags, oldest first, with the item and the check's reason; HR decides them."""
    refusal = None
    if request.method == "POST":
        def act(flag_id: int) -> str:
            uphold = _form_choice("decision", {"uphold": True, "dismiss": False})
            decide_flag(get_session(), flag_id, current_user, uphold=uphold, note=_form_text("note"))
            return (f"Flag {flag_id} upheld: the item stays out of the numbers." if uphold
                    else f"Flag {flag_id} dismissed: the item counts again unless another flag holds it.")
        refusal = _decide("flag_id", act)
        return _after(refusal, _flags_page)
    return _flags_page(None)


def _flags_page(refusal: Refusal | None) -> str:
    session = get_session()
    checks = get_plugins().integrity_checks
    open_by_check = dict(session.execute(select(Flag.check, func.count()).where(Flag.decision.is_(None))
                                         .group_by(Flag.check)).all())
    check = request.args.get("check") or None
    if check is not None and check not in checks and check not in open_by_check:
        abort(400, description=f"check: no integrity check is called {check!r}; choose one from the list")
    total = open_by_check.get(check, 0) if check else sum(open_by_check.values())
    pager = _pager(total)
    subject = func.coalesce(Feedback.employee_id, Flag.employee_id)
    query = (select(Flag.id, Flag.check, Flag.reason, Flag.created_at, Flag.period_start, Flag.period_end,
                    Flag.feedback_id, Feedback.channel, Feedback.kind, Feedback.value, Feedback.scale_min,
                    Feedback.scale_max, Feedback.occurred_at, Feedback.comment, Feedback.status, still_open().label("still_open"),
                    subject.label("employee_id"),
                    Employee.name.label("employee"), Team.name.label("team"))
             .outerjoin(Feedback, Feedback.id == Flag.feedback_id)
             .outerjoin(Employee, Employee.id == subject)
             .outerjoin(Team, Team.id == Employee.team_id)
             .where(Flag.decision.is_(None), *((Flag.check == check,) if check else ()))
             .order_by(Flag.created_at, Flag.id).offset(pager.offset).limit(PAGE_SIZE))
    rows = session.execute(query).all()
    options = sorted(set(checks) | set(open_by_check))
    return render_template("review/flags.html", rows=rows, pager=pager, check=check, checks=checks,
                           options=options, open_by_check=open_by_check, refusal=refusal, decision_fields=DECISION_FIELDS,
                           channels=get_plugins().channels)


# --- disputes ---------------------------------------------------------------------------------------------


@bp.route("/disputes", methods=["GET", "POST"])
@roles_required("manager", "hr")
def disputes():
    """Open disputes about the people in the user's scope, with the item and the employee's reason."""
    if request.method == "POST":
        def act(dispute_id: int) -> str:
            uphold = _form_choice("decision", {"uphold": True, "reject": False})
            outcome = _form_text("outcome", required=True)
            reassign_to = _reassignment(uphold)
            decide_dispute(get_session(), dispute_id, current_user, uphold=uphold, outcome=outcome,
                           reassign_to=reassign_to)
            if not uphold:
                return f"Dispute {dispute_id} rejected: the item stands."
            # Runs already made keep their numbers (appraisal/outdated.py): said, so nobody looks for it there.
            later = " in the next run of its period, which HR makes: reports made before keep their numbers"
            if reassign_to is None:
                return f"Dispute {dispute_id} upheld: the item no longer counts{later}."
            return (f"Dispute {dispute_id} upheld: the item now counts for "
                    f"{get_session().get(Employee, reassign_to).name}{later}.")
        return _after(_decide("dispute_id", act), _disputes_page)
    return _disputes_page(None)


def _reassignment(uphold: bool) -> int | None:
    raw = request.form.get("reassign_to", "").strip()
    if not raw:
        return None
    if not uphold:
        raise FormError("reassign_to", "only an upheld dispute moves the item; leave it empty to reject")
    try:
        return credited_employee(raw, current_user)
    except LookupError as exc:
        raise FormError("reassign_to", str(exc)) from None


def disputes_waiting(user) -> tuple:
    """WHERE clauses (on ``Dispute``, ``Feedback`` and ``Employee``): the open disputes ``user`` decides.

    Not the user's own: someone else decides them, and the item's comment shows verbatim here, whatever the
    comment policy lets them read of their own feedback on their report.
    """
    return (Dispute.status == "open", visible_employees(user), Feedback.employee_id.is_distinct_from(user.employee_id))


def recommendations_waiting(user) -> tuple:
    """WHERE clauses (on ``Recommendation`` and ``Employee``): the proposals ``user`` decides; not their own,
    which someone else decides (a queue opening on them is a dead end)."""
    return (Recommendation.status == "proposed", visible_employees(user),
            Recommendation.employee_id.is_distinct_from(user.employee_id))


def _disputes_page(refusal: Refusal | None) -> str:
    session = get_session()
    raiser = aliased(User)
    scoped = disputes_waiting(current_user)
    total = session.scalar(select(func.count()).select_from(Dispute)
                           .join(Feedback, Feedback.id == Dispute.feedback_id)
                           .join(Employee, Employee.id == Feedback.employee_id).where(*scoped))
    pager = _pager(total)
    rows = session.execute(
        select(Dispute.id, Dispute.reason, Dispute.created_at, raiser.name.label("raised_by"),
               Feedback.id.label("feedback_id"), Feedback.channel, Feedback.kind, Feedback.value,
               Feedback.scale_min, Feedback.scale_max, Feedback.occurred_at, Feedback.comment, Feedback.status,
               still_open().label("still_open"), Employee.id.label("employee_id"), Employee.name.label("employee"), Team.name.label("team"),
               Employee.active.label("employee_active"))
        .join(Feedback, Feedback.id == Dispute.feedback_id)
        .join(Employee, Employee.id == Feedback.employee_id)
        .outerjoin(Team, Team.id == Employee.team_id)
        .outerjoin(raiser, raiser.id == Dispute.raised_by)
        .where(*scoped).order_by(Dispute.created_at, Dispute.id).offset(pager.offset).limit(PAGE_SIZE)).all()
    # One list for every form on the page: whom an upheld dispute may credit the item to instead.
    candidates = session.execute(
        select(Employee.id, Employee.name, Team.name.label("team"), Employee.left_on, Employee.started_on)
        .outerjoin(Team, Team.id == Employee.team_id)
        .where(visible_employees(current_user), Employee.creditable,
               *((Employee.id != current_user.employee_id,) if current_user.employee_id else ()))
        .order_by(Employee.name, Employee.id)).all()
    return render_template("review/disputes.html", rows=rows, pager=pager, candidates=candidates,
                           picks=pick_labels(candidates),
                           refusal=refusal, decision_fields=DECISION_FIELDS, channels=get_plugins().channels)


@bp.get("/disputes/decided")
@roles_required("manager", "hr")
def decided_disputes():
    """Disputes decided about the people in the user's scope, newest decision first: what was decided, by whom,
    and the outcome the employee read. Scoped by who raised them, since an upheld one may have moved the item."""
    session = get_session()
    raiser, decider = aliased(User), aliased(User)
    disputer, credited = aliased(Employee), aliased(Employee)
    scoped = (Dispute.status != "open", raiser.employee_id.in_(select(Employee.id).where(
        visible_employees(current_user))), raiser.employee_id.is_distinct_from(current_user.employee_id))
    joined = (select(func.count()).select_from(Dispute).join(raiser, raiser.id == Dispute.raised_by))
    pager = _pager(session.scalar(joined.where(*scoped)))
    rows = session.execute(
        select(Dispute.id, Dispute.reason, Dispute.created_at, Dispute.status.label("decision"), Dispute.outcome,
               Dispute.decided_at, decider.name.label("decided_by"), raiser.name.label("raised_by"),
               credited.name.label("credited_to"), Feedback.id.label("feedback_id"), Feedback.channel,
               Feedback.kind, Feedback.value, Feedback.scale_min, Feedback.scale_max, Feedback.occurred_at,
               Feedback.comment, Feedback.status, still_open().label("still_open"), disputer.name.label("employee"),
               Team.name.label("team"))
        .join(raiser, raiser.id == Dispute.raised_by)
        .join(disputer, disputer.id == raiser.employee_id)
        .join(Feedback, Feedback.id == Dispute.feedback_id)
        .outerjoin(Team, Team.id == disputer.team_id)
        .outerjoin(decider, decider.id == Dispute.decided_by)
        .outerjoin(credited, credited.id == Dispute.reassigned_to)
        .where(*scoped).order_by(Dispute.decided_at.desc(), Dispute.id.desc())
        .offset(pager.offset).limit(PAGE_SIZE)).all()
    return render_template("review/disputes_decided.html", rows=rows, pager=pager, channels=get_plugins().channels)


# --- recommendations --------------------------------------------------------------------------------------


#: How a refused decision answers: someone else's item, no such item, or one that cannot be decided so.
REFUSAL_STATUS = ((PermissionError, 403), (LookupError, 404), (DecisionError, 400))


@bp.route("/recommendations", methods=["GET", "POST"])
@roles_required("manager", "hr")
def recommendations():
    """Proposed recommendations awaiting approval in the user's scope, one run at a time, beside its budget.

    A POST decides one recommendation (``recommendation_id``, a row's own form) or every ticked one
    (``selected``) with one decision and note, all or none; ``select`` only ticks or clears the whole page,
    so selecting needs no script.
    """
    if request.method == "GET":
        return _recommendations_page()
    if request.form.get("select") in ("all", "none"):
        return _recommendations_page(select_all=request.form["select"] == "all")
    refusals = _decide_recommendations()
    if not refusals:
        return redirect(request.full_path.rstrip("?"), code=303)
    statuses = {refusal.status for refusal in refusals}
    status = next(code for _, code in REFUSAL_STATUS if code in statuses)
    return _recommendations_page(refusals), status


def _form_selection() -> list[int]:
    """The ticked recommendations, each once, at most a page of them."""
    raw = [value.strip() for value in request.form.getlist("selected")]
    if not raw:
        raise FormError("selected", "tick the recommendations to decide, or use a row's own buttons")
    if not all(is_id(value) for value in raw):
        raise FormError("selected", "give the numbers of the recommendations to decide")
    ids = list(dict.fromkeys(int(value) for value in raw))
    if len(ids) > PAGE_SIZE:
        raise FormError("selected", f"decide at most {PAGE_SIZE} at once, a page of them")
    return ids


def _decide_recommendations() -> list[Refusal]:
    """Take the form's decision on each recommendation it names, in one transaction, and flash what was done.

    Each goes through :func:`decide_recommendation`, which checks the user may and audits it. If any one is
    refused, all are rolled back: a batch is decided whole or not at all.

    :return: every refusal, each naming the recommendation; empty when the decisions were committed.
    """
    session = get_session()
    try:
        ids = [_form_id("recommendation_id")] if "recommendation_id" in request.form else _form_selection()
        approve = _form_choice("decision", {"approve": True, "reject": False})
        note = _form_text("note")
    except FormError as exc:
        label = DECISION_FIELDS.get(exc.field)  # named as the page names it; "selected" is the ticking itself
        return [Refusal(None, f"{label}: {exc.message}" if label else exc.message, 400, exc.field)]
    labels = _recommendation_labels(session, ids)
    refusals = []
    for recommendation_id in ids:
        try:
            decide_recommendation(session, recommendation_id, current_user, approve=approve, note=note)
        except (PermissionError, LookupError, DecisionError) as exc:
            status = next(code for kind, code in REFUSAL_STATUS if isinstance(exc, kind))
            refusals.append(Refusal(recommendation_id, f"{labels.get(recommendation_id, 'it')}: {exc}", status))
    if refusals:
        session.rollback()
        return refusals
    session.commit()
    decided = [labels[recommendation_id] for recommendation_id in ids]
    listed = decided[0] if len(decided) == 1 else f"{', '.join(decided[:-1])} and {decided[-1]}"
    flash(f"{'Approved' if approve else 'Rejected'} {listed}.")
    return []


def _recommendation_labels(session, ids: list[int]) -> dict[int, str]:
    """What each recommendation is, for messages: "Ann Agent's bonus of 100.00 EUR"; one query.

    Only those about people in the user's scope are named: a refusal never tells a manager who else is paid.
    """
    rows = session.execute(
        select(Recommendation.id, Recommendation.kind, Recommendation.amount, Employee.name, Guideline.document)
        .join(Employee, Employee.id == Recommendation.employee_id)
        .join(AppraisalRun, AppraisalRun.id == Recommendation.run_id)
        .join(Guideline, Guideline.id == AppraisalRun.guideline_id)
        .where(Recommendation.id.in_(ids), visible_employees(current_user))).all()
    labels = {}
    for row in rows:
        what = f"{row.name}'s {row.kind}"
        if row.amount is not None:
            currency = row.document.get("incentives", {}).get("budget", {}).get("currency", "EUR")
            what += f" of {row.amount:.2f} {currency}"
        labels[row.id] = what
    return {recommendation_id: labels.get(recommendation_id, f"recommendation {recommendation_id}")
            for recommendation_id in ids}


def _recommendations_page(refusals: list[Refusal] = (), *, select_all: bool = False) -> str:
    """The queue of one run, the latest with proposals unless ``?run=`` names another, with every run's count.

    :param refusals: why a POSTed decision was not taken; the ticked rows stay ticked.
    :param select_all: tick every row on the page (True) or none (False) when the form asked to.
    """
    session = get_session()
    kind = request.args.get("kind") or None
    if kind is not None and kind not in PERIOD_KINDS:
        abort(400, description=f"kind: choose a period kind, one of {', '.join(PERIOD_KINDS)}, not {kind[:40]!r}")
    asked = whole_number("run")
    scoped = recommendations_waiting(current_user)
    # One row per run with something waiting for this user: the chooser, the counts and the default, at once.
    waiting = session.execute(
        select(AppraisalRun.id, AppraisalRun.period_kind, AppraisalRun.period_start, AppraisalRun.period_end,
               func.count().label("count"))
        .select_from(Recommendation)
        .join(Employee, Employee.id == Recommendation.employee_id)
        .join(AppraisalRun, AppraisalRun.id == Recommendation.run_id)
        .where(*scoped)
        .group_by(AppraisalRun.id, AppraisalRun.period_kind, AppraisalRun.period_start, AppraisalRun.period_end)
        .order_by(AppraisalRun.period_start.desc(), AppraisalRun.id.desc())).all()
    by_kind = Counter()
    for run in waiting:
        by_kind[run.period_kind] += run.count
    listed = [run for run in waiting if kind is None or run.period_kind == kind]
    chosen = next((run for run in listed if run.id == asked), None)
    # A run decided to the last one (or of another kind) gives way to the latest still waiting.
    passed_over = asked if asked is not None and chosen is None else None
    chosen = chosen or (listed[0] if listed else None)
    run_id = chosen.id if chosen else None
    pager = _pager(chosen.count if chosen else 0)
    rows = session.execute(
        select(Recommendation.id, Recommendation.run_id, Recommendation.kind, Recommendation.source,
               Recommendation.amount, Recommendation.requested_amount, Recommendation.reason,
               Employee.id.label("employee_id"), Employee.name.label("employee"), Team.name.label("team"),
               Employee.active.label("employee_active"), Employee.left_on)
        .join(Employee, Employee.id == Recommendation.employee_id)
        .outerjoin(Team, Team.id == Employee.team_id)
        .where(*scoped, Recommendation.run_id == run_id)
        .order_by(Recommendation.kind, Employee.name, Recommendation.id)
        .offset(pager.offset).limit(PAGE_SIZE)).all()
    runs, budgets = runs_and_budgets(session, {run_id} if run_id else set())
    if select_all:
        selection = {row.id for row in rows}
    elif refusals:
        selection = {int(value) for value in request.form.getlist("selected") if is_id(value.strip())}
    else:
        selection = set()
    run = runs.get(run_id)
    # Approving on a run of a period not over (or not over when it was made) is for good: said where it is done.
    early = run and run_made_early(run)
    # And on a run whose period's feedback moved on since: its proposals may not be what a new run proposes.
    # Counted over the people this user decides for: a manager is not told of other teams' items.
    outdated = changes_since(session, [run_id], None if current_user.has_role("hr") else
                             visible_employee_ids(current_user)).get(run_id) if run else None
    return render_template("review/recommendations.html", rows=rows, run=run, early=early, outdated=outdated,
                           budget=budgets.get(run_id), run_id=run_id, listed=listed, waiting=waiting,
                           by_kind=by_kind, kinds=PERIOD_KINDS, kind=kind, passed_over=passed_over,
                           pager=pager, refusals=refusals, refused={r.item_id: r for r in refusals},
                           selection=selection)
