"""HR's and admins' erasure page: what is stored about a customer, checked first, then erased on request."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.auth import roles_required
from core.db import get_session
from core.plugins import get_plugins
from core.privacy import erase_customer

bp = Blueprint("privacy", __name__)
#: The most identifiers one request names, and the longest note (the request's reference).
MOST_IDENTIFIERS, NOTE_LIMIT = 20, 500


@bp.route("/privacy", methods=["GET", "POST"])
@roles_required("hr", "admin")
def erase():
    """GET the form; POST ``check`` says what would be erased (nothing is written), POST ``erase`` erases it.

    The identifiers are never put in a URL, a flash, a log or the audit trail: the page answered holds them,
    and the audit keeps the request's hash (core/privacy.py).
    """
    session = get_session()
    form, errors, report = request.form, {}, None
    identifiers = [line.strip() for line in form.get("identifiers", "").splitlines() if line.strip()]
    note = form.get("note", "").strip()
    if request.method == "POST":
        if not identifiers:
            errors["identifiers"] = "give the customer's e-mail address, social handle or helpdesk requester id"
        elif len(identifiers) > MOST_IDENTIFIERS:
            errors["identifiers"] = f"at most {MOST_IDENTIFIERS} identifiers, one customer's ({len(identifiers)} given)"
        if len(note) > NOTE_LIMIT:
            errors["note"] = f"at most {NOTE_LIMIT} characters ({len(note)} given)"
        if not errors:
            # Always checked first, whatever was pressed: the page shows what these identifiers hold.
            report = erase_customer(session, identifiers, actor=current_user, dry_run=True)
            if form.get("action") == "erase":
                # Erased only as checked: identifiers edited after the check (its request_ref is the page's,
                # a hash of the salted identifiers, never one of them) are checked again, not erased.
                if form.get("checked_ref") != report.request_ref:
                    errors["identifiers"] = ("they changed since the check: see what these would erase below, "
                                             "then confirm again")
                elif not form.get("confirmed"):
                    errors["confirmed"] = ("tick it once you have checked what will be erased: nothing can bring "
                                           "it back")
        if report is not None and not errors and form.get("action") == "erase":
            erased = erase_customer(session, identifiers, actor=current_user, note=note or None).as_dict()
            session.commit()
            flash(f"Erased {erased['items']} feedback item(s), {erased['comments']} comment(s), "
                  f"{erased['replies']} brand reply(ies), {erased['invitations']} survey invitation(s) and "
                  f"{erased['tickets']} ticket subject(s); audited as request {report.request_ref[:12]}. "
                  f"Appraisals keep their numbers.")
            return redirect(url_for(".erase"), 303)
        session.rollback()  # a check reads only
    titles = {slug: channel.title for slug, channel in get_plugins().channels.items()}
    return render_template("privacy/erase.html", identifiers="\n".join(identifiers), note=note, errors=errors,
                           channel_titles=titles,
                           report=report and report.as_dict(), checked_ref=report and report.request_ref,
                           mentions=report.mentions if report else [], note_limit=NOTE_LIMIT), (400 if errors else 200)
