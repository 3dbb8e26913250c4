"""The social sources' pages, for HR and admins, and the push endpoint platforms deliver posts to.

Under ``/channels/social_monitoring``, beside the channel's other URLs. Changes go through
:mod:`channels.social_monitoring.sources`, which checks who may act and audits it; the views read forms and
turn refusals into messages at the fields. A push secret is shown once, in the answer to the form that made
it, kept out of every cache, and never logged.
"""
from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from channels.social_monitoring.addresses import public_url
from channels.social_monitoring.clients import kind_titles
from channels.social_monitoring.demo import (
    DEMO_STEP_LABEL,
    demo_steps,
    store_demo_posts,
)
from channels.social_monitoring.models import SocialSource
from channels.social_monitoring.push import (
    BodyError,
    TooMany,
    Unauthorised,
    receive_push,
)
from channels.social_monitoring.sources import (
    SourceError,
    rotate_push_secret,
    save_source,
    set_source_active,
    stored_count,
)
from core.auth import csrf, public, roles_required
from core.db import get_session
from core.demo import DEMO_STEPS_KEY
from core.plugins import get_plugins
from web import JSON_ERROR_PATHS_KEY

log = logging.getLogger(__name__)

bp = Blueprint("social", __name__, url_prefix="/channels/social_monitoring")

CHANNEL = "social_monitoring"
SETTERS = ("hr", "admin")


@bp.record_once
def _add_demo_step(state) -> None:
    """Let ``plaudit demo`` post its social mentions through store_posts, so they are threaded too.

    Registered here because pages register before the appraisal module: the posts are stored before the
    demo's appraisal step counts them.
    """
    if get_plugins(state.app).pm.get_plugin(CHANNEL) is not None:
        state.app.extensions.setdefault(DEMO_STEPS_KEY, []).append((DEMO_STEP_LABEL, demo_steps, store_demo_posts))


@bp.record_once
def _push_errors_as_json(state) -> None:
    """A platform reads the push endpoint's refusals (413, 405, 404...) as JSON, as it reads the API's."""
    state.app.extensions.setdefault(JSON_ERROR_PATHS_KEY, []).append(f"{bp.url_prefix}/push/")


@bp.before_request
def _channel_loaded():
    # The pages live in web/pages, so they are registered whatever the plugins: without the channel, none.
    if CHANNEL not in get_plugins().channels:
        abort(404)


def _form_values(source: SocialSource | None = None) -> dict:
    """The form's fields: what was sent, else the source's values, else a new source's defaults."""
    if request.method == "POST":
        form = request.form
        return {"name": form.get("name", ""), "kind": form.get("kind", ""), "url": form.get("url", ""),
                "keywords": form.get("keywords", ""), "handles": form.get("handles", ""),
                "active": form.get("active") == "1"}
    if source is None:
        return {"name": "", "kind": "rss", "url": "", "keywords": "", "handles": "", "active": True}
    return {"name": source.name, "kind": source.kind, "url": source.url or "",
            "keywords": ", ".join(source.keywords or ()), "handles": ", ".join(source.handles or ()),
            "active": source.active}


def _words(text: str) -> list[str]:
    # One per line or separated by commas: keywords may hold spaces ("late delivery").
    return [word.strip() for line in text.splitlines() for word in line.split(",") if word.strip()]


def _save(session, values: dict, source_id: int | None = None) -> tuple[SocialSource | None, dict]:
    """Save the form's source; the source, or None and the error at its field."""
    try:
        source = save_source(session, current_user, name=values["name"], kind=values["kind"], url=values["url"],
                             keywords=_words(values["keywords"]), handles=_words(values["handles"]),
                             active=values["active"], source_id=source_id)
    except SourceError as exc:
        session.rollback()
        return None, {exc.field: exc.message}
    except IntegrityError:  # the name was taken a moment ago, by someone else's form
        session.rollback()
        return None, {"name": f"a source named {values['name'].strip().lower()!r} exists already"}
    return source, {}


def _secret_page(source: SocialSource, why: str):
    """The push secret and how to sign with it, shown this once and cached nowhere.

    :param why: ``created`` (a new push source), ``became_push`` (an edit made it one) or ``replaced``.
    """
    response = make_response(render_template(
        "social/secret.html", source=source, secret=source.push_secret, why=why,
        push_url=url_for(".push", name=source.name, _external=True)))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/sources", methods=["GET", "POST"])
@roles_required(*SETTERS)
def sources():
    """List the sources with their polling state; a POST adds one (a push source's secret is shown once)."""
    session = get_session()
    values, errors = _form_values(), {}
    if request.method == "POST":
        source, errors = _save(session, values)
        if source is not None:
            session.commit()
            log.info("social source %s (%s) created by user %s", source.id, source.kind, current_user.id)
            if source.kind == "push":
                return _secret_page(source, "created")
            flash(f"Source {source.name} added: it is polled within five minutes.")
            return redirect(url_for(".sources")), 303
    rows = session.execute(select(SocialSource, stored_count())
                           .order_by(SocialSource.active.desc(), SocialSource.name)).all()
    return render_template("social/sources.html", rows=rows, values=values, errors=errors,
                           kinds=kind_titles(), public_url=public_url), 422 if errors else 200


def _source_or_404(session, source_id: int) -> SocialSource:
    source = session.get(SocialSource, source_id)
    if source is None:
        abort(404, description=f"There is no social source {source_id}.")
    return source


@bp.route("/sources/<int:source_id>", methods=["GET", "POST"])
@roles_required(*SETTERS)
def source(source_id: int):
    """Edit a source: its name, kind, address, the keywords and handles it watches, whether it is on."""
    session = get_session()
    found = _source_or_404(session, source_id)
    values, errors = _form_values(found), {}
    if request.method == "POST":
        was_push = found.kind == "push"
        saved, errors = _save(session, values, source_id)
        if saved is not None:
            session.commit()
            if saved.kind == "push" and not was_push:  # its new secret is shown this once, as on creation
                log.info("social source %s made a push source by user %s", saved.id, current_user.id)
                return _secret_page(saved, "became_push")
            flash(f"Source {saved.name} saved.")
            return redirect(url_for(".sources")), 303
        found = _source_or_404(session, source_id)
    return render_template("social/source.html", source=found, values=values, errors=errors,
                           kinds=kind_titles()), 422 if errors else 200


@bp.post("/sources/<int:source_id>/secret")
@roles_required(*SETTERS)
def source_secret(source_id: int):
    """Replace a push source's secret and show the new one once: the old one stops working at once."""
    session = get_session()
    _source_or_404(session, source_id)
    try:
        source = rotate_push_secret(session, current_user, source_id)
    except SourceError as exc:
        session.rollback()
        abort(400, description=f"{exc.field}: {exc.message}")
    session.commit()
    log.info("social source %s: push secret replaced by user %s", source.id, current_user.id)
    return _secret_page(source, "replaced")


@bp.post("/sources/<int:source_id>/active")
@roles_required(*SETTERS)
def source_active(source_id: int):
    """Switch a source off (not polled; its pushes refused with 404) or back on."""
    session = get_session()
    found = _source_or_404(session, source_id)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400, description="active: send 1 to switch the source on or 0 to switch it off.")
    set_source_active(session, current_user, source_id, wanted == "1")
    session.commit()
    flash(f"Source {found.name} switched {'on' if wanted == '1' else 'off'}.")
    return redirect(url_for(".sources")), 303


@bp.post("/push/<name>")
@csrf.exempt
@public  # a platform cannot sign in: each delivery proves itself with the source's secret
def push(name: str):
    """Receive pushed posts: 200 with what became of each, 401 on a bad signature, 400 naming fields."""
    session = get_session()
    source = session.scalar(select(SocialSource).where(SocialSource.name == name))
    if source is None or not source.active or source.kind != "push":
        return jsonify(code=404, message=f"no active push source {name!r}"), 404
    try:
        report = receive_push(session, source, request.headers, request.get_data(cache=False),
                              limit=current_app.config["INGEST_BATCH_LIMIT"])
    except Unauthorised as exc:
        session.rollback()
        return jsonify(code=401, message=str(exc)), 401
    except TooMany as exc:
        session.rollback()
        return jsonify(code=413, message="the delivery was refused; nothing was stored", errors=exc.errors), 413
    except BodyError as exc:
        session.rollback()
        return jsonify(code=400, message="the delivery was refused; nothing was stored", errors=exc.errors), 400
    if not report.accepted:
        session.rollback()
        return jsonify(code=400, message="every post was refused; nothing was stored", **report.as_dict()), 400
    session.commit()
    return jsonify(report.as_dict()), 200
