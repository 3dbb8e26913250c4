"""HR's report-template pages: every template's versions, one version readably, importing a CSV, editing.

A published version never changes: importing and editing both publish the next version through
:func:`.template.publish_template`, which validates the document and audits it, so a report is always read
against the version its shopper saw. The editor has a field per section weight (they must sum to 1) and takes
the rest of the document as JSON; each error is shown at the field it names, and nothing is published then.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from itertools import groupby
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core.auth import roles_required
from core.db import get_session
from core.messages import field_messages
from core.models import User
from web.arguments import finite_number, plain

from .blueprint import bp
from .importers import FORMATS, TemplateImportError, read_template
from .models import Assignment, ReportTemplate
from .template import KEY, publish_template, validate_template

FORMAT_TEXT = {
    "r3ximous": "r3ximous questionnaire: answers with their points, like 1.Yes (1), English and Arabic columns",
    "2dii": "2DII feedback form: section, question_no, question, answer_type, choices, applicable_profiles",
}
#: What the section weights of a template published on the web must sum to, give or take rounding.
WEIGHT_TOTAL, WEIGHT_TOLERANCE = 1.0, 1e-6
TITLE_LENGTH, NOTE_LENGTH = 200, 1000
TYPE_TEXT = {"yes_no": "yes / no", "scale": "scale", "single_choice": "one choice", "multiple_choice":
             "several choices", "number": "number", "datetime": "date and time", "text": "text", "photo": "photo"}


# --- reading ------------------------------------------------------------------------------------------------


@bp.get("/templates")
@roles_required("hr")
def templates():
    """Every template with its versions, newest first: who published each, when, why, and how many use it."""
    session = get_session()
    uses = (select(Assignment.template_id, func.count().label("n"))
            .group_by(Assignment.template_id).subquery())
    rows = session.execute(
        select(ReportTemplate.id, ReportTemplate.slug, ReportTemplate.version, ReportTemplate.title,
               ReportTemplate.note, ReportTemplate.created_at, User.name,
               func.coalesce(uses.c.n, 0).label("assignments"))
        .outerjoin(User, User.id == ReportTemplate.created_by)
        .outerjoin(uses, uses.c.template_id == ReportTemplate.id)
        .order_by(ReportTemplate.slug, ReportTemplate.version.desc())).all()
    grouped = [(slug, list(versions)) for slug, versions in groupby(rows, key=lambda row: row.slug)]
    return render_template("mystery_shopper/templates.html", templates=grouped)


@bp.get("/templates/<int:template_id>")
@roles_required("hr")
def template(template_id: int):
    """One version readably: sections with weights, every question with its choices, points and skip logic."""
    version, author, uses, latest = _version_or_404(template_id)
    return render_template("mystery_shopper/template.html", template=version, author=author, uses=uses,
                           latest=latest, sections=readable(version.document), types=TYPE_TEXT)


def _version_or_404(template_id: int) -> tuple[ReportTemplate, str | None, int, int]:
    """The version, who published it, how many assignments use it, and the latest version of its template."""
    session = get_session()
    other = aliased(ReportTemplate)
    uses = select(func.count()).where(Assignment.template_id == ReportTemplate.id).scalar_subquery()
    latest = select(func.max(other.version)).where(other.slug == ReportTemplate.slug).scalar_subquery()
    found = session.execute(select(ReportTemplate, User.name, uses, latest)
                            .outerjoin(User, User.id == ReportTemplate.created_by)
                            .where(ReportTemplate.id == template_id)).first()
    if found is None:
        abort(404, description=f"There is no report template version with id {template_id}.")
    return tuple(found)


def readable(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The document as the show page lays it out: sections in order, each with its questions and skip logic
    in words (``shown when Q18 is Yes or No``)."""
    questions = {q["key"]: q for q in document["questions"]}
    total = sum(s["weight"] for s in document["sections"]) or 1
    sections = {s["key"]: {**s, "share": s["weight"] / total, "questions": []} for s in document["sections"]}
    for question in document["questions"]:
        sections[question["section"]]["questions"].append({**question, "skip": _skip_text(question, questions)})
    return list(sections.values())


def _skip_text(question: Mapping[str, Any], questions: Mapping[str, Mapping[str, Any]]) -> str | None:
    rule = question.get("show_if")
    if rule is None:
        return None
    target = questions.get(rule["question"], {"choices": []})
    labels = {c["key"]: c["label"] for c in target.get("choices") or []}
    answers = " or ".join(f"{labels[a]} ({a})" if a in labels else a for a in rule["answers"])
    return f"shown only when {rule['question']} is answered {answers}"


# --- importing ----------------------------------------------------------------------------------------------


@bp.route("/templates/import", methods=["GET", "POST"])
@roles_required("hr")
def import_template():
    """Read a questionnaire CSV (r3ximous or 2DII) and publish it as the next version of a template."""
    values = {name: request.form.get(name, "").strip() for name in ("format", "slug", "title", "note")}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        notes: list[str] = []
        document = _uploaded_document(values["format"], errors, notes)
        _check_heading(values, errors)
        if not errors:
            upload = request.files["file"].filename
            try:
                published = publish_template(get_session(), values["slug"], values["title"], document,
                                             actor=current_user,
                                             note=values["note"] or f"imported from {upload} ({values['format']})")
            except ValidationError as exc:
                get_session().rollback()
                for path, message in field_messages(exc.messages, root="document"):
                    field = path if path in ("slug", "title") else "file"
                    errors.setdefault(field, []).append(message if field != "file" else f"{path}: {message}")
            else:
                get_session().commit()
                data = published.document
                flash(f"Published {published.slug} v{published.version}: {len(data['sections'])} sections, "
                      f"{len(data['questions'])} questions. Sections have equal weights: start a new version to "
                      f"set the real ones.")
                for note in notes:  # rows the import skipped or left unscored, as the command reports them
                    flash(f"Note: {note}")
                return redirect(url_for(".template", template_id=published.id))
    return render_template("mystery_shopper/template_import.html", values=values, errors=errors,
                           formats=FORMAT_TEXT), 400 if errors else 200


def _uploaded_document(file_format: str, errors: dict[str, list[str]], notes: list[str]) -> dict | None:
    """The uploaded file read in ``file_format``; None, with the problem at its field, when it cannot be."""
    if file_format not in FORMATS:
        errors["format"] = [f"choose the file's format: {' or '.join(FORMATS)}"]
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors["file"] = ["choose the CSV file to import"]
        return None
    if "format" in errors:
        return None
    try:
        text = upload.read().decode("utf-8-sig")
        return read_template(text, file_format, notes)
    except UnicodeDecodeError:
        errors["file"] = [f"{upload.filename} is not UTF-8 text: save the spreadsheet as 'CSV UTF-8' and import it"]
    except (TemplateImportError, csv.Error) as exc:
        errors["file"] = [f"{upload.filename}: {exc}"]
    return None


def _check_heading(values: dict[str, str], errors: dict[str, list[str]]) -> None:
    """The slug, title and note, checked here so that all are named at once with the file's problem."""
    try:
        KEY(values["slug"])
    except ValidationError as exc:
        errors["slug"] = ["give the template's key: " + " ".join(exc.messages)]
    if not values["title"] or len(values["title"]) > TITLE_LENGTH:
        errors["title"] = [f"give a title of 1 to {TITLE_LENGTH} characters"]
    if len(values["note"]) > NOTE_LENGTH:
        errors["note"] = [f"at most {NOTE_LENGTH} characters; this is {len(values['note'])}"]


# --- editing ------------------------------------------------------------------------------------------------


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@roles_required("hr")
def edit_template(template_id: int):
    """Start the next version from this one: the section weights as fields, the rest as JSON; publish it.

    The version it starts from is never changed, whether or not assignments use it.
    """
    session = get_session()
    start, _, uses, latest = _version_or_404(template_id)
    if request.method == "GET":
        return _editor(start, uses, form_values(start, latest), {})
    values, document, errors = read_form(request.form)
    if not errors and values["base_version"] != latest:
        # Someone published meanwhile; this draft would replace their version as a whole.
        errors["form"] = [(f"Version {latest} of {start.slug} was published since you opened the editor. "
                           "Check what it changed, then publish again.")]
        values["base_version"] = latest
    if not errors:
        newest = session.scalar(select(ReportTemplate).where(ReportTemplate.slug == start.slug,
                                                              ReportTemplate.version == latest))
        if newest.title == values["title"] and plain(newest.document) == plain(document):
            errors["form"] = [f"Nothing changed: the draft is the same as version {latest}."]
    if errors:
        return _editor(start, uses, values, errors), 400
    try:
        published = publish_template(session, start.slug, values["title"], document, actor=current_user,
                                     note=values["note"] or f"edited from v{start.version}")
    except ValidationError as exc:  # publishing checks again: should it ever disagree, say where
        session.rollback()
        _field_errors(exc.messages, values, errors)
        return _editor(start, uses, values, errors), 400
    session.commit()
    flash(f"Published {published.slug} v{published.version}. Version {start.version} stays as it was.")
    return redirect(url_for(".template", template_id=published.id))


def _editor(start: ReportTemplate, uses: int, values: dict[str, Any], errors: dict[str, list[str]]):
    numbers = [finite_number(row["weight"]) for row in values["weights"]]
    total = sum(n for n in numbers if n is not None)
    return render_template(
        "mystery_shopper/template_edit.html", start=start, uses=uses, values=values, errors=errors,
        summary=[(field, message) for field, messages in errors.items() for message in messages],
        total=total, total_ok=None not in numbers and abs(total - WEIGHT_TOTAL) <= WEIGHT_TOLERANCE)


def form_values(start: ReportTemplate, latest: int) -> dict[str, Any]:
    """The editor's fields for version ``start``: a weight per section, the rest of the document as JSON."""
    document = plain(start.document)
    rest = {**document, "sections": [{k: v for k, v in s.items() if k != "weight"} for s in document["sections"]]}
    return {"title": start.title, "note": "", "base_version": latest,
            "weights": [{"key": s["key"], "title": s["title"], "weight": json.dumps(s["weight"])}
                        for s in document["sections"]],
            "advanced": json.dumps(rest, indent=2, ensure_ascii=False)}


def read_form(form) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, list[str]]]:
    """HR's input as typed, the validated document it makes (None if anything is wrong), errors by field.

    Fields: ``title``, ``note``, ``weight-<section key>`` for each section, ``advanced`` (the document without
    the weights) and ``base_version`` (the latest version when the editor was opened).
    """
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {name: form.get(name, "").strip() for name in ("title", "note")}
    values.update(advanced=form.get("advanced", ""), base_version=form.get("base_version", type=int))
    if not values["title"] or len(values["title"]) > TITLE_LENGTH:
        errors["title"] = [f"give a title of 1 to {TITLE_LENGTH} characters"]
    if len(values["note"]) > NOTE_LENGTH:
        errors["note"] = [f"at most {NOTE_LENGTH} characters; this is {len(values['note'])}"]
    rest = _json_object(values["advanced"], errors)
    sections = rest.get("sections") if rest is not None else None
    if isinstance(sections, list) and all(isinstance(s, dict) and isinstance(s.get("key"), str) for s in sections):
        # The weight rows follow the JSON's sections, so a section added there gets a field of its own.
        keys = [s["key"] for s in sections]
        titles = {s["key"]: s.get("title") or s["key"] for s in sections}
    else:
        keys = form.getlist("section")
        titles = dict(zip(keys, form.getlist("section_title"), strict=False))
    values["weights"] = [{"key": key, "title": titles.get(key) or key, "weight": form.get(f"weight-{key}", "").strip()}
                         for key in dict.fromkeys(keys)]
    weights = {}
    for row in values["weights"]:
        field = f"weight-{row['key']}"
        if row["weight"] == "":
            errors[field] = ["give the section a weight, as 0.25"]
        elif (number := finite_number(row["weight"])) is None:
            errors[field] = [f"{row['weight'][:40]!r} is not a number: write it as 0.25"]
        else:
            weights[row["key"]] = number
    if len(weights) == len(values["weights"]) and weights:
        total = sum(weights.values())
        if abs(total - WEIGHT_TOTAL) > WEIGHT_TOLERANCE:
            errors["weights"] = [f"the section weights sum to {total:.6g}; they must sum to 1"]
    if rest is None:
        return values, None, errors
    if isinstance(sections, list):
        for index, section in enumerate(sections):
            if isinstance(section, dict) and "weight" in section:
                errors.setdefault("advanced", []).append(
                    f"sections.{index}.weight: the weight has a field of its own above; remove it here")
        sections = [{**s, "weight": weights.get(s["key"])} if isinstance(s, dict) and s.get("key") in weights
                    else s for s in sections]
    document = {**rest, "sections": sections} if "sections" in rest else rest
    try:
        document = validate_template(document)
    except ValidationError as exc:
        _field_errors(exc.messages, values, errors)
    return values, (None if errors else document), errors


def _field_errors(messages: Any, values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """Put marshmallow's messages at the fields they name: a section's weight at its field, the rest at JSON."""
    keys = [row["key"] for row in values["weights"]]
    for path, message in field_messages(messages, root="document"):
        parts = path.split(".")
        if parts[0] == "sections" and parts[2:] == ["weight"] and parts[1].isdigit() and int(parts[1]) < len(keys):
            field = f"weight-{keys[int(parts[1])]}"
            if field in errors:  # already says what is wrong with what was typed
                continue
            errors.setdefault(field, []).append(message)
        elif path in ("title", "slug"):
            errors.setdefault("title" if path == "title" else "form", []).append(message)
        else:
            errors.setdefault("advanced", []).append(f"{path}: {message}")


def _json_object(raw: str, errors: dict[str, list[str]]) -> dict | None:
    if not raw.strip():
        errors.setdefault("advanced", []).append("give the template's sections and questions as JSON")
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        errors.setdefault("advanced", []).append(f"not valid JSON: {exc}")
        return None
    if not isinstance(value, dict):
        errors.setdefault("advanced", []).append('must be a JSON object, as {"sections": [...], "questions": [...]}')
        return None
    return value


