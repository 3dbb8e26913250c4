"""The public survey page: a GET shows the questions and records nothing (mail scanners open links); a POST
records the answer, and may change it within the window. No sign-in, no JavaScript.
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlalchemy import select

from core.db import get_session
from core.models import Feedback, Integration
from core.privacy import ERASED

from .invitations import (
    CHANNEL,
    SurveyClosed,
    check_open,
    find_invitation,
    record_answers,
    survey_settings,
)
from .opt_outs import opt_in, opt_out, opted_out
from .schemas import USER_AGENT_LIMIT
from .survey_templates import intro

COMMENT_LIMIT = 2000


def _page(name: str, status: int = 200, **context):
    if context.get("invitation") is not None:
        context["intro"] = intro(context["invitation"].template)
    return render_template(f"post_ticket_survey/{name}.html", **context), status


def _answers_so_far(session, invitation) -> dict:
    ids = {f"pts-invitation-{invitation.id}-{q['key']}": q["key"] for q in invitation.template.questions}
    rows = session.execute(select(Feedback.external_id, Feedback.value, Feedback.comment).where(
        Feedback.channel == CHANNEL, Feedback.external_id.in_(ids))).all()
    answers = {ids[ext]: int(value) for ext, value, _ in rows if value is not None}
    comment = next((c for _, _, c in rows if c and c != ERASED), "")  # an erased one is no text to edit
    return {"answers": answers, "comment": comment}


#: What an answer did, as the thanks page it is redirected to says it.
SENT = ("recorded", "changed")


def _not_recognised():
    return _page("closed", 404, heading="Link not recognised",
                 message="This survey link is not valid: check that it was copied whole, or open it again "
                         "from where you found it.")


def show(token: str):
    """Show the survey; nothing is recorded."""
    session = get_session()
    invitation = find_invitation(session, token)
    if invitation is None:
        return _not_recognised()
    sent = request.args.get("sent")
    if sent in SENT and invitation.answer_window_ends_at is not None:  # where an answer is redirected to
        return _page("thanks", invitation=invitation, changed=sent == "changed")
    if invitation.answered_at is None and opted_out(session, [invitation.respondent_ref]):
        return _page("opted_out", 410, state="already")
    try:
        check_open(invitation)
    except SurveyClosed as exc:
        return _page("closed", 410, message=str(exc))
    return _page("survey", invitation=invitation, errors={}, **_answers_so_far(session, invitation))


def answer(token: str):
    """Record (or change) the answers; each question gets its own message when something is wrong."""
    session = get_session()
    invitation = find_invitation(session, token)
    if invitation is None:
        return _not_recognised()
    answers, errors = {}, {}
    for question in invitation.template.questions:
        low, high = question["scale"]
        raw = request.form.get(question["key"], "").strip()
        if not raw:
            errors[question["key"]] = "Please choose an answer."
        elif not raw.isdigit() or not low <= int(raw) <= high:
            errors[question["key"]] = f"Please choose a number from {low} to {high}."
        else:
            answers[question["key"]] = int(raw)
    comment = request.form.get("comment", "").strip()
    if len(comment) > COMMENT_LIMIT:
        errors["comment"] = f"Please keep your comment under {COMMENT_LIMIT} characters."
    if errors:
        return _page("survey", 422, invitation=invitation, errors=errors, answers=answers, comment=comment)
    integration = session.get(Integration, invitation.integration_id) if invitation.integration_id else None
    # The User-Agent tells a mail link scanner from the customer's browser; the IP address is not kept.
    client = {"user_agent": request.headers.get("User-Agent", "")[:USER_AGENT_LIMIT] or None}
    try:
        outcome = record_answers(session, invitation, answers, comment or None, survey_settings(integration),
                                 client=client)
    except SurveyClosed as exc:
        session.rollback()
        return _page("closed", 410, message=str(exc))
    except ValueError:  # the stored question no longer fits the answer (a broken template): say so, keep nothing
        session.rollback()
        return _page("survey", 422, invitation=invitation, answers=answers, comment=comment,
                     errors={q["key"]: "This answer could not be recorded." for q in invitation.template.questions})
    session.commit()
    # Redirected, so that reloading the thanks sends nothing again (it recorded the same answer as a change).
    return redirect(url_for(request.endpoint, token=token, sent=outcome), 303)


def _respondent_of(session, token: str):
    """The respondent reference the link was sent to, or the page saying why there is none to act on."""
    invitation = find_invitation(session, token)
    if invitation is None:
        return None, _not_recognised()
    if invitation.respondent_ref is None:  # the helpdesk handed the link on: no address of theirs is held
        return None, _page("opted_out", state="no_address")
    return invitation.respondent_ref, None


def opt_out_page(token: str):
    """GET asks whether to stop surveys (a mail scanner's GET records nothing); POST stops them.

    A mail client's unsubscribe button POSTs here too (RFC 8058), with no session: the token is the credential.
    """
    session = get_session()
    ref, refusal = _respondent_of(session, token)
    if refusal is not None:
        return refusal
    if request.method != "POST":  # GET, and HEAD, which link checkers send: they ask, and record nothing
        return _page("opted_out", state="already" if opted_out(session, [ref]) else "ask")
    opt_out(session, ref, "customer")
    session.commit()
    return _page("opted_out", state="already")


def opt_in_page(token: str):
    """Undo an opt-out: the customer may be surveyed again."""
    session = get_session()
    ref, refusal = _respondent_of(session, token)
    if refusal is not None:
        return refusal
    opt_in(session, ref)
    session.commit()
    return _page("opted_out", state="undone")
