"""HR's guideline pages: the version in force, its history and diffs, an editor that publishes, and a preview.

The editor has a field for what HR changes most (a weight per scoring rule, the minimum sample, shrinkage,
comment visibility, attainment, the budget, approvals) and takes the rest of the document as JSON. The
server checks the draft whole with the guideline schema and shows each error at the field it names.
"""
from __future__ import annotations

import copy
import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import func, select, text
from werkzeug.datastructures import MultiDict

from appraisal.guideline_schema import (
    ALLOCATIONS,
    COMMENT_POLICIES,
    RECOMMENDATION_KINDS,
    WEIGHT_TOTAL,
    validate_guideline,
)
from appraisal.guidelines import (
    DEFAULT_GUIDELINE,
    current_guideline,
    guideline_diff,
    publish_guideline,
    refused_now,
)
from appraisal.models import Guideline
from appraisal.preview import preview_guideline
from core.auth import roles_required
from core.db import get_db, get_session
from core.messages import field_messages
from core.models import User
from core.plugins import get_plugins
from web.arguments import decimal_mark, finite_number, plain, whole_number

bp = Blueprint("guidelines", __name__)

#: Document paths with a field of their own in the editor, and that field's name.
FIELDS = {
    "min_sample": "min_sample",
    "shrinkage_strength": "shrinkage_strength",
    "comment_visibility": "comment_visibility",
    "attainment.far_below": "far_below",
    "attainment.exceeded": "exceeded",
    "incentives.budget.cap": "budget_cap",
    "incentives.budget.allocation": "budget_allocation",
    "incentives.budget.currency": "budget_currency",
    "approval_required": "approval_required",
}
#: Top-level keys the editor's own fields set; the advanced JSON holds the rest of the document.
OWN_KEYS = ("metrics", "min_sample", "shrinkage_strength", "comment_visibility", "attainment", "approval_required")
COMMENT_POLICY_TEXT = {
    "all": "every comment, as written",
    "positive_only": "comments on positive answers only, with customer details taken out",
    "redacted": "every comment, with customer details taken out",
    "none": "no comments",
}
NOTE_LENGTH = 1000


# --- reading ------------------------------------------------------------------------------------------------


@bp.get("/guidelines")
@roles_required("hr")
def index():
    """Show the guideline in force, readably, and every version with who published it, when and why."""
    session = get_session()
    history = session.execute(
        select(Guideline.version, Guideline.note, Guideline.created_at, User.name, User.email)
        .outerjoin(User, User.id == Guideline.created_by).order_by(Guideline.version.desc())).all()
    current = current_guideline(session)
    return render_template("guidelines/index.html", history=history, current=current,
                           rules=get_plugins().scoring_rules, policies=COMMENT_POLICY_TEXT,
                           refused=refused_now(current.document) if current else [])


@bp.get("/guidelines/<int:version>")
@roles_required("hr")
def show(version: int):
    """Show one version: its document, readably and as JSON, and who published it."""
    session = get_session()
    found = session.execute(select(Guideline, User.name).outerjoin(User, User.id == Guideline.created_by)
                            .where(Guideline.version == version)).first()
    if found is None:
        abort(404, description=f"There is no guideline version {version}.")
    latest = session.scalar(select(func.max(Guideline.version)))
    guideline, author = found
    return render_template("guidelines/show.html", guideline=guideline, author=author, latest=latest,
                           refused=refused_now(guideline.document),
                           rules=get_plugins().scoring_rules, policies=COMMENT_POLICY_TEXT,
                           document_json=json.dumps(plain(guideline.document), indent=2))


@bp.get("/guidelines/diff")
@roles_required("hr")
def diff():
    """Show what changed between two versions (``?from=N&to=M``; neither: the latest change), one per value."""
    session = get_session()
    if "from" in request.args or "to" in request.args:
        numbers = {name: _version_parameter(name) for name in ("from", "to")}
    else:
        latest = session.scalar(select(func.max(Guideline.version)))
        if latest is None:
            abort(404, description="No guideline is published yet, so there is nothing to compare.")
        numbers = {"from": max(latest - 1, 1), "to": latest}
    found = {g.version: g for g in session.scalars(select(Guideline).where(Guideline.version.in_(
        set(numbers.values()))))}
    for name, number in numbers.items():
        if number not in found:
            abort(404, description=f"Parameter '{name}': there is no guideline version {number}.")
    old, new = found[numbers["from"]], found[numbers["to"]]
    changes = [(path, _shown(before), _shown(after)) for path, before, after in
               guideline_diff(old.document, new.document)]
    versions = session.scalars(select(Guideline.version).order_by(Guideline.version)).all()
    return render_template("guidelines/diff.html", old=old, new=new, changes=changes, versions=versions)


def _version_parameter(name: str) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        abort(400, description=f"Parameter '{name}' is missing: give two version numbers, as in "
                               f"?from=1&to=2.")
    return whole_number(name)


# --- editing ------------------------------------------------------------------------------------------------


@bp.route("/guidelines/edit", methods=["GET", "POST"])
@roles_required("hr")
def edit():
    """Show the editor, prefilled from the version in force (or ``?from=N``); publish a valid draft on POST.

    ``action=revise`` (from the preview page) shows the draft again without publishing it.
    """
    session, plugins = get_session(), get_plugins()
    current = current_guideline(session)
    if request.method == "GET":
        start = current
        if request.args.get("from"):
            start = session.scalar(select(Guideline).where(Guideline.version == _version_parameter("from")))
            if start is None:
                abort(404, description=f"Parameter 'from': there is no guideline version {request.args['from']}.")
        values = form_values(start.document if start else _default_draft(plugins), plugins)
        values["base_version"] = current.version if current else None
        return _editor(values, {}, [], plugins, started_from=start.version if start else None)

    values, document, errors = read_form(request.form, plugins)
    if request.form.get("action") == "revise":
        return _editor(values, errors, _summary(errors), plugins)
    overwrites = None
    if not errors and current is not None and request.form.get("base_version", type=int) != current.version:
        # Someone published meanwhile: let HR see what they changed, and what the draft would undo, first.
        errors["form"] = [(f"Version {current.version} was published since you opened the editor. Check what "
                           f"it changed, then publish again: your draft replaces it as a whole.")]
        overwrites = [(path, _shown(before), _shown(after))
                      for path, before, after in guideline_diff(current.document, document)]
        values["base_version"] = current.version
    elif not errors and current is not None and plain(document) == plain(current.document):
        errors["form"] = [f"Nothing changed: the draft is the same as version {current.version}."]
    if errors:
        return _editor(values, errors, _summary(errors), plugins, overwrites=overwrites), 400
    try:
        guideline = publish_guideline(session, document, actor=current_user, note=values["note"] or None,
                                      plugins=plugins)
    except ValidationError as exc:  # publishing checks the draft again: should it ever disagree, say where
        session.rollback()
        errors = _field_errors(exc.messages, values)
        return _editor(values, errors, _summary(errors), plugins), 400
    session.commit()
    flash(f"Published guideline version {guideline.version}.")
    return redirect(url_for(".show", version=guideline.version))


@bp.post("/guidelines/preview")
@roles_required("hr")
def preview():
    """Show what the draft would change in the last completed run's period; nothing is stored."""
    plugins = get_plugins()
    values, document, errors = read_form(request.form, plugins)
    if errors:
        return _editor(values, errors, _summary(errors), plugins, refused="The draft cannot be previewed"), 400
    # Loading the user began the request's session, which on SQLite holds the write lock: let it go, since
    # the preview only reads, in a session of its own.
    get_session().rollback()
    session = get_db().read_sessionmaker()
    try:
        if session.get_bind().dialect.name == "postgresql":
            # The database itself then refuses any write the preview might attempt.
            session.execute(text("SET TRANSACTION READ ONLY"))
        result = preview_guideline(session, document, plugins)
        draft = [(name, value) for name, value in request.form.items(multi=True)
                 if name not in ("csrf_token", "action")]
        return render_template("guidelines/preview.html", preview=result, draft=draft,
                               summary=result.summary() if result else None)
    finally:
        session.close()


def _default_draft(plugins) -> dict[str, Any]:
    """The default guideline as a first draft: its rules that are loaded, re-weighted to 100."""
    document = copy.deepcopy(DEFAULT_GUIDELINE)
    loaded = [m for m in document["metrics"] if m["rule"] in plugins.scoring_rules]
    total = sum(m["weight"] for m in loaded)
    document["metrics"] = [{**m, "weight": m["weight"] * 100 / total} for m in loaded]
    if not loaded:  # nothing to start from but the shape: HR adds the rules
        document["metrics"] = [{"rule": slug, "weight": 100} for slug in sorted(plugins.scoring_rules)[:1]]
    return validate_guideline(document, plugins)


def _editor(values: dict, errors: dict, summary: list, plugins, started_from: int | None = None,
            refused: str = "Nothing was published", overwrites: list | None = None):
    used = [row for row in values["rules"] if row["weight"] != ""]
    total = sum(finite_number(row["weight"]) or 0.0 for row in used)
    return render_template(
        "guidelines/edit.html", values=values, errors=errors, summary=summary, started_from=started_from,
        refused=refused, overwrites=overwrites,
        used=used, unused=[row for row in values["rules"] if row["weight"] == ""], total=total,
        total_ok=abs(total - WEIGHT_TOTAL) <= 1e-6, policies=COMMENT_POLICIES, policy_text=COMMENT_POLICY_TEXT,
        allocations=ALLOCATIONS, kinds=RECOMMENDATION_KINDS)


# --- the form and the document --------------------------------------------------------------------------------


def form_values(document: dict[str, Any], plugins) -> dict[str, Any]:
    """The editor's fields for ``document``: a row per rule in force, then one per other loaded rule."""
    rows = []
    for spec in document["metrics"]:
        settings = {k: v for k, v in spec.items() if k not in ("rule", "weight") and v not in (None, {})}
        rows.append(_rule_row(spec["rule"], plugins, _number_text(spec["weight"]),
                              json.dumps(plain(settings)) if settings else ""))
    in_force = {spec["rule"] for spec in document["metrics"]}
    rows += [_rule_row(slug, plugins, "", "") for slug in sorted(plugins.scoring_rules) if slug not in in_force]
    budget = document["incentives"]["budget"]
    advanced = {k: v for k, v in document.items() if k not in OWN_KEYS}
    advanced["incentives"] = {k: v for k, v in document["incentives"].items() if k != "budget"}
    return {
        "rules": rows,
        "min_sample": _number_text(document["min_sample"]),
        "shrinkage_strength": _number_text(document["shrinkage_strength"]),
        "comment_visibility": document["comment_visibility"],
        "far_below": _number_text(document["attainment"]["far_below"]),
        "exceeded": _number_text(document["attainment"]["exceeded"]),
        "budget_cap": _number_text(budget["cap"]) if budget["cap"] is not None else "",
        "budget_allocation": budget["allocation"],
        "budget_currency": budget["currency"],
        "approval_required": list(document["approval_required"]),
        "advanced": json.dumps(plain(advanced), indent=2),
        "note": "",
        "base_version": None,
    }


def read_form(form: MultiDict, plugins) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, list[str]]]:
    """HR's input as typed, the validated document it makes (None if anything is wrong), errors by field."""
    errors: dict[str, list[str]] = {}
    rows, metrics, order = [], [], []
    for slug in dict.fromkeys(form.getlist("rule")):
        row = _rule_row(slug, plugins, form.get(f"weight-{slug}", "").strip(),
                        form.get(f"settings-{slug}", "").strip())
        rows.append(row)
        if row["weight"] == "":  # a rule without a weight is left out
            continue
        # Named by its rule: the summary above the form lists every field's message, and "the rule's" said which
        # of several only through its link.
        settings = _json_object(row["settings"], f"settings-{slug}", errors, f"{slug}: its settings", "are") or {}
        for key in ("rule", "weight"):
            if key in settings:
                errors.setdefault(f"settings-{slug}", []).append(f"set the {key} in its own field, not here")
        metrics.append({**settings, "rule": slug, "weight": decimal_mark(row["weight"])})
        order.append(slug)
    posted = {row["rule"] for row in rows}
    rows += [_rule_row(slug, plugins, "", "") for slug in sorted(plugins.scoring_rules) if slug not in posted]
    values: dict[str, Any] = {name: form.get(name, "").strip() for name in FIELDS.values()}
    values.update(rules=rows, approval_required=form.getlist("approval_required"),
                  advanced=form.get("advanced", ""), note=form.get("note", "").strip(),
                  base_version=form.get("base_version", type=int), order=order)
    if len(values["note"]) > NOTE_LENGTH:
        errors.setdefault("note", []).append(f"at most {NOTE_LENGTH} characters; this is {len(values['note'])}")
    advanced = _json_object(values["advanced"], "advanced", errors, "the rest of the document") or {}
    for key in OWN_KEYS:
        if key in advanced:
            errors.setdefault("advanced", []).append(f"{key!r} has a field of its own above: remove it here")
    incentives = advanced.get("incentives", {})
    if not isinstance(incentives, dict):
        errors.setdefault("advanced", []).append("incentives: must be an object, as {\"tiers\": [...]}")
        incentives = {}
    elif "budget" in incentives:
        errors.setdefault("advanced", []).append("incentives.budget has fields of its own above: remove it here")
    document = {
        **advanced,
        "metrics": metrics,
        "min_sample": values["min_sample"],
        "shrinkage_strength": decimal_mark(values["shrinkage_strength"]),
        "comment_visibility": values["comment_visibility"],
        "attainment": {"far_below": decimal_mark(values["far_below"]), "exceeded": decimal_mark(values["exceeded"])},
        "incentives": {**incentives, "budget": {"cap": decimal_mark(values["budget_cap"]) or None,
                                                "allocation": values["budget_allocation"],
                                                "currency": values["budget_currency"]}},
        "approval_required": values["approval_required"],
    }
    try:
        document = validate_guideline(document, plugins)
    except ValidationError as exc:
        for name, messages in _field_errors(exc.messages, values).items():
            errors.setdefault(name, []).extend(messages)
    return values, (None if errors else document), errors


def _field_errors(messages: Any, values: dict[str, Any]) -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{form field: ["path: message"]}``, at the field each path names."""
    errors: dict[str, list[str]] = {}
    for path, message in field_messages(messages):
        errors.setdefault(_field_of(path, values["order"]), []).append(f"{path}: {message}")
    return errors


def _field_of(path: str, order: list[str]) -> str:
    parts = path.split(".")
    if parts[0] == "metrics":
        if len(parts) == 1 or not parts[1].isdigit() or int(parts[1]) >= len(order):
            return "weights"
        slug = order[int(parts[1])]
        return f"weight-{slug}" if parts[2:] in (["weight"], ["rule"], []) else f"settings-{slug}"
    if path in FIELDS:
        return FIELDS[path]
    if parts[0] == "approval_required":
        return "approval_required"
    return "advanced"


def _summary(errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Every error with the field it belongs to, for the list at the top of the editor."""
    return [(field, message) for field, messages in errors.items() for message in messages]


def _json_object(raw: str, field: str, errors: dict[str, list[str]], what: str, verb: str = "is") -> dict | None:
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        errors.setdefault(field, []).append(f"{what} {verb} not valid JSON: {exc}")
        return None
    if not isinstance(value, dict):
        errors.setdefault(field, []).append(f"{what} must be a JSON object ({{...}})")
        return None
    return value


def _rule_row(slug: str, plugins, weight: str, settings: str) -> dict[str, Any]:
    rule = plugins.scoring_rules.get(slug)
    return {"rule": slug, "title": rule.title if rule else f"{slug} (not loaded)", "loaded": rule is not None,
            "direction": rule.direction if rule else None, "weight": weight, "settings": settings}


def _number_text(value: float) -> str:
    return json.dumps(plain(value))


def _shown(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False)
