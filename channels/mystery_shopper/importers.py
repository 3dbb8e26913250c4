"""Turning questionnaires kept as spreadsheets into template documents.

Two shapes are read: r3ximous's service-centre questionnaire (answers with their points, ``1.Yes (1)``, skip
rules in words, English and Arabic columns) and the 2DII feedback form (section, answer type, choices, the
profiles a question applies to). Sections get equal weights; HR sets the real ones in the next version.
Problems name the row and column, so the spreadsheet can be fixed and imported again.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

FORMATS = ("r3ximous", "2dii")

_NUMBERED = re.compile(r"^\s*(\d+)\s*[.)]\s*(.*)$", re.DOTALL)
_POINTS = re.compile(r"\(\s*(\d+(?:\.\d+)?)\s*\)\s*$")
_NON_SCORING = re.compile(r"\(\s*(?:non[- ]?scoring|n\s*/\s*a)\s*\)\s*$", re.IGNORECASE)
_SKIP = re.compile(r"^(show|hide)\s+if\s+(\S+)\s+is\s+(.+?)\s*$", re.IGNORECASE)
_CONDITION = re.compile(r"^\s*if\s+'([^']+)'", re.IGNORECASE)
#: The r3ximous "Changes made" note of a row withdrawn from the questionnaire ("to be deleted").
_DELETED = re.compile(r"\b(?:to\s+be\s+deleted|deleted|removed)\b", re.IGNORECASE)


class TemplateImportError(ValueError):
    """The file cannot be read as a questionnaire; the message names the row and column."""


def slug(title: str) -> str:
    """A section key from its title: ``"Premises Interior "`` -> ``premises_interior``."""
    return re.sub(r"[^a-z0-9]+", "_", title.strip().lower()).strip("_")[:50] or "section"


def read_rows(source: str | Path, required: Sequence[str]) -> list[dict[str, str]]:
    """Read a CSV file (or its text), UTF-8 with or without a BOM, checking the columns it must have."""
    text = Path(source).read_text(encoding="utf-8-sig") if isinstance(source, Path) else source.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in required if name not in (reader.fieldnames or [])]
    if missing:
        raise TemplateImportError(f"missing column(s): {', '.join(missing)}; found: "
                                  f"{', '.join(reader.fieldnames or []) or 'none'}")
    return [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]


def _sections(titles: Mapping[str, str | None]) -> list[dict[str, Any]]:
    weight = 1 / len(titles) if titles else 0
    return [{"key": slug(title), "title": title, "title_ar": arabic or None, "weight": weight,
             "critical_scope": "report"} for title, arabic in titles.items()]


# --- r3ximous ---------------------------------------------------------------------------------------------

R3XIMOUS_COLUMNS = ("Criteria", "Quet.Nr", "Question", "Elaboration on Question", "Possible Answers",
                    "Type of visit", "Skips & Triggers", "الإجابات الممكنة", "السؤال", "معيار")


def parse_answers(text: str) -> list[dict[str, Any]]:
    """Read ``1.Yes (1)\\n2.No (0)\\n3.Not Applicable (non-scoring)`` into choices.

    A line without a number continues the choice before it. A choice marked ``(non-scoring)`` or ``(N/A)``,
    or given no points at all, makes the question not applicable.
    """
    parts: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        numbered = _NUMBERED.match(line)
        if numbered:
            parts.append([numbered.group(1), numbered.group(2).strip()])
        elif parts:
            parts[-1][1] = f"{parts[-1][1]} {line.strip()}"
        else:
            parts.append([str(len(parts) + 1), line.strip()])
    choices = []
    for key, label in parts:
        points = _POINTS.search(label)
        non_scoring = _NON_SCORING.search(label)
        marker = points or non_scoring
        clean = (label[:marker.start()] if marker else label).strip()
        choices.append({"key": key, "label": clean or label, "label_ar": None,
                        "points": float(points.group(1)) if points else None,
                        "not_applicable": points is None})
    return choices


def _is_yes_no(choices: Sequence[Mapping[str, Any]]) -> bool:
    scoring = [c["label"].strip().lower() for c in choices if not c["not_applicable"]]
    return sorted(scoring) == ["no", "yes"]


def _visit_types(text: str) -> list[str]:
    return sorted({part.strip().lower() for part in text.split("/") if part.strip()})


def _skip_rule(text: str, where: str, questions: Mapping[str, Mapping[str, Any]]) -> dict | None:
    """Read ``show if Q18 is 1 or 2`` / ``hide if Q72 is no`` into a show_if rule over choice keys."""
    if not text.strip():
        return None
    found = _SKIP.match(" ".join(text.split()))
    if not found:
        raise TemplateImportError(f"{where}, Skips & Triggers: cannot read {text!r}; "
                                  "write 'show if Q18 is 1 or 2' or 'hide if Q72 is no'")
    verb, target = found.group(1).lower(), found.group(2)
    values = re.split(r"\s+or\s+", found.group(3), flags=re.IGNORECASE)
    question = questions.get(target)
    if question is None or not question["choices"]:
        raise TemplateImportError(f"{where}, Skips & Triggers: {target} is not a question with answers")
    keys = []
    for value in values:
        value = value.strip().lower()
        match = [c["key"] for c in question["choices"]
                 if c["key"] == value or c["label"].strip().lower() == value]
        if not match:
            raise TemplateImportError(f"{where}, Skips & Triggers: {target} has no answer {value!r}")
        keys.extend(match)
    if verb == "hide":
        keys = [c["key"] for c in question["choices"] if c["key"] not in keys]
    return {"question": target, "answers": keys}


def read_r3ximous(source: str | Path, notes: list[str] | None = None) -> dict[str, Any]:
    """Read an r3ximous questionnaire (see ``r3ximous_mystery_shopper_questions.csv``) into a template document.

    Every live row becomes a question: a row whose "Changes made" says it is to be deleted is skipped. A
    question number used twice keeps its number on its last row (the later revision, which skip rules refer
    to); earlier live rows become ``Q72-row77`` after their spreadsheet row. A choice question with a single
    possible answer cannot tell a good visit from a bad one: it is kept, asked, but scores nothing.

    :param notes: when given, what the import changed from the file is appended to it, one line each.
    """
    notes = [] if notes is None else notes
    rows = read_rows(source, R3XIMOUS_COLUMNS)
    numbered = list(enumerate(rows, start=2))  # with the spreadsheet row of each, for messages
    deleted = [(line, row) for line, row in numbered if _DELETED.search(row.get("Changes made") or "")]
    if deleted:
        notes.append(f"skipped {len(deleted)} row(s) marked to be deleted under 'Changes made': " + ", ".join(
            f"row {line} ({row['Quet.Nr'].strip()})" for line, row in deleted))
    gone = {line for line, _ in deleted}
    live = [(line, row) for line, row in numbered if line not in gone]
    lines, rows = [line for line, _ in live], [row for _, row in live]
    if not rows:
        raise TemplateImportError("the file has no questions")
    numbers = [row["Quet.Nr"].strip() for row in rows]
    titles: dict[str, str | None] = {}
    questions: dict[str, dict[str, Any]] = {}
    skips: list[tuple[str, str, str]] = []
    for index, row in enumerate(rows):
        where = f"row {lines[index]}"
        number, title = numbers[index], row["Criteria"].strip()
        if not number:
            raise TemplateImportError(f"{where}, Quet.Nr: empty")
        if not title:
            raise TemplateImportError(f"{where}, Criteria: empty")
        if not row["Question"].strip():
            raise TemplateImportError(f"{where}, Question: empty")
        key = number if number not in numbers[index + 1:] else f"{number}-row{lines[index]}"
        titles.setdefault(title, row["معيار"].strip() or None)
        choices = parse_answers(row["Possible Answers"])
        arabic = {c["key"]: c["label"] for c in parse_answers(row["الإجابات الممكنة"])}
        for choice in choices:
            choice["label_ar"] = arabic.get(choice["key"])
        kind = ("yes_no" if _is_yes_no(choices) else "single_choice") if choices else "text"
        if sum(1 for choice in choices if not choice["not_applicable"]) == 1:
            for choice in choices:
                choice["points"] = None
            notes.append(f"{where}, {number}: only one possible answer, so it cannot tell visits apart; "
                         "imported unscored (no points)")
        questions[key] = {
            "key": key, "section": slug(title), "text": row["Question"].strip(),
            "text_ar": row["السؤال"].strip() or None, "help": row["Elaboration on Question"].strip() or None,
            "type": kind, "choices": choices, "scale": None, "critical": False, "bonus": False,
            "required": kind != "text", "show_if": None, "visit_types": _visit_types(row["Type of visit"]),
        }
        skips.append((key, row["Skips & Triggers"], where))
    for key, text, where in skips:
        questions[key]["show_if"] = _skip_rule(text, where, questions)
    in_file = list(questions)
    ordered = after_their_conditions(list(questions.values()))
    if notes is not None:
        moved = [q["key"] for q in questions.values() if (q["show_if"] or {}).get("question") in questions
                 and in_file.index(q["show_if"]["question"]) > in_file.index(q["key"])]
        if moved:
            notes.append(f"{len(moved)} question(s) moved to follow the answer they depend on, so a shopper "
                         f"meets them in order: {', '.join(moved)}")
    return {"sections": _sections(titles), "questions": ordered}


def after_their_conditions(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The questions in file order, except that one shown only after a later answer moves to follow it.

    The r3ximous file asks Q21.0 only when Q34 is answered; on a long form a shopper would otherwise find it
    appear far above where they are. A question that depends on a moved one follows it in turn.
    """
    ordered: list[dict[str, Any]] = []
    waiting: dict[str, list[dict[str, Any]]] = {}
    placed: set[str] = set()

    def place(question):
        ordered.append(question)
        placed.add(question["key"])
        for dependent in waiting.pop(question["key"], []):
            place(dependent)

    keys = {q["key"] for q in questions}
    for question in questions:
        condition = (question.get("show_if") or {}).get("question")
        if condition in keys and condition not in placed:
            waiting.setdefault(condition, []).append(question)
        else:
            place(question)
    for dependents in waiting.values():  # conditions that never get placed (a cycle): keep them, in file order
        for question in dependents:
            if question["key"] not in placed:
                place(question)
    return ordered


# --- 2DII -------------------------------------------------------------------------------------------------

TWODII_COLUMNS = ("section", "question_no", "question", "answer_type", "choices", "applicable_profiles")
_TYPES = {"radio button (one choice)": "single_choice", "radio button (multiple choice)": "multiple_choice",
          "yes/no": "yes_no", "date": "datetime", "text": "text", "short text": "text",
          "conditional text field": "text", "": "text"}


def _labels(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and ", " in lines[0]:
        lines = [part.strip() for part in lines[0].split(", ") if part.strip()]
    return lines


def _plain_choices(labels: Sequence[str]) -> list[dict[str, Any]]:
    return [{"key": str(n), "label": label, "label_ar": None, "points": None,
             "not_applicable": label.lower().startswith("not applicable")} for n, label in enumerate(labels, 1)]


def read_2dii(source: str | Path) -> dict[str, Any]:
    """Read the 2DII feedback form (section, question_no, question, answer_type, choices, applicable_profiles).

    Types come from ``answer_type``; an answer type that is itself a list of answers is a single choice.
    Nothing carries points, so these questions are recorded but score nothing. A conditional text field
    (``If 'Other', please specify``) shows when the question before it has that answer, and a question for
    one shopper profile shows when question 1 (the profile) names it.
    """
    rows = read_rows(source, TWODII_COLUMNS)
    if not rows:
        raise TemplateImportError("the file has no questions")
    titles: dict[str, str | None] = {}
    questions: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        where = f"row {index + 2}"
        key, title = row["question_no"].strip(), row["section"].strip()
        for column, value in (("question_no", key), ("section", title), ("question", row["question"].strip())):
            if not value:
                raise TemplateImportError(f"{where}, {column}: empty")
        if any(q["key"] == key for q in questions):
            raise TemplateImportError(f"{where}, question_no: {key} is used by an earlier row")
        written = " ".join(row["answer_type"].lower().split()).replace("( ", "(")
        kind = _TYPES.get(written)
        labels = _labels(row["choices"])
        if kind is None:
            kind, labels = "single_choice", _labels(row["answer_type"])  # the answers are the type
        if kind == "yes_no":
            labels = ["Yes", "No"]
        if kind in ("single_choice", "multiple_choice") and not labels:
            raise TemplateImportError(f"{where}, choices: a {row['answer_type'].strip()!r} question needs choices")
        titles.setdefault(title, None)
        question = {
            "key": key, "section": slug(title), "text": row["question"].strip(), "text_ar": None, "help": None,
            "type": kind, "choices": _plain_choices(labels) if kind in ("single_choice", "multiple_choice",
                                                                        "yes_no") else [],
            "scale": None, "critical": False, "bonus": False, "required": kind != "text",
            "show_if": _profile_rule(row["applicable_profiles"], questions), "visit_types": [],
        }
        if written == "conditional text field":
            question["show_if"] = _condition_rule(row["question"], questions) or question["show_if"]
        questions.append(question)
    return {"sections": _sections(titles), "questions": questions}


def _condition_rule(text: str, earlier: Sequence[Mapping[str, Any]]) -> dict | None:
    """``If 'Other', please specify``: shown when the last question with choices was answered 'Other'."""
    found = _CONDITION.match(text)
    previous = next((q for q in reversed(earlier) if q["choices"]), None)
    if not found or previous is None:
        return None
    wanted = found.group(1).strip().lower()
    keys = [c["key"] for c in previous["choices"] if c["label"].strip().lower() == wanted]
    return {"question": previous["key"], "answers": keys} if keys else None


def _profile_rule(profiles: str, earlier: Sequence[Mapping[str, Any]]) -> dict | None:
    """``Mystery Shopper Profile 1``: shown when the profile question was answered ``Profile 1``."""
    wanted = profiles.strip().lower()
    if not wanted or wanted == "all":
        return None
    for question in earlier:
        keys = [c["key"] for c in question["choices"] if c["label"].strip().lower() and
                wanted.endswith(c["label"].strip().lower())]
        if keys and "profile" in question["text"].lower():
            return {"question": question["key"], "answers": keys}
    return None


READERS = {"r3ximous": read_r3ximous, "2dii": read_2dii}


def read_template(source: str | Path, format: str, notes: list[str] | None = None) -> dict[str, Any]:
    """Read a questionnaire file in one of :data:`FORMATS` into a template document (not yet validated).

    :param notes: when given, gets a line for each thing the import did not take as the file has it
        (rows skipped, questions left unscored), for the import's report.
    """
    try:
        reader = READERS[format]
    except KeyError:
        raise TemplateImportError(f"unknown format {format!r}; known: {', '.join(FORMATS)}") from None
    return reader(source, notes) if format == "r3ximous" else reader(source)
