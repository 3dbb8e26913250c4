"""The shopper's web form read back into answers and proof, and the questions laid out by section.

Values are kept as typed when they cannot be read (a letter in a number), so that
:func:`channels.mystery_shopper.answers.answer_problems` names the question and the page shows what was typed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .proof import INTEGRITY_QUESTIONS


@dataclass
class SectionView:
    key: str
    title: str
    title_ar: str | None
    questions: list[dict] = field(default_factory=list)


def sections_of(document: dict) -> list[SectionView]:
    """The template's sections in order, each with its questions in order.

    A question that depends on the answer to a question laid out after it (a real questionnaire asks in
    Premises Interior what depends on an answer about staff) is laid out right after that question instead,
    saying which section it belongs to: above, it would appear where the shopper had already been, unseen,
    and block the submission. Its section, and so the scores, stay as they are.
    """
    sections = {s["key"]: SectionView(s["key"], s["title"], s.get("title_ar")) for s in document["sections"]}
    order = {section: index for index, section in enumerate(sections)}
    position = {q["key"]: (order[q["section"]], index) for index, q in enumerate(document["questions"])}
    later: dict[str, list[dict]] = {}
    for question in document["questions"]:
        parent = (question.get("show_if") or {}).get("question")
        if parent in position and position[parent] > position[question["key"]]:
            later.setdefault(parent, []).append(
                {**question, "asked_after": parent, "belongs_to": sections[question["section"]].title})
        else:
            sections[question["section"]].questions.append(question)
    for section in sections.values():
        laid = []
        for question in section.questions:
            laid.append(question)
            laid.extend(_dependants(question["key"], later))
        section.questions = laid
    return [section for section in sections.values() if section.questions]


def _dependants(key: str, later: dict[str, list[dict]]) -> list[dict]:
    """The questions moved to follow ``key``, each followed in turn by those moved to follow it."""
    found = []
    for question in later.pop(key, ()):
        found.append(question)
        found.extend(_dependants(question["key"], later))
    return found


#: The largest report request read: room for a phone camera's full-size photos (refused at their field when
#: over PHOTO_MAX_BYTES, the answers kept) where the app's 2 MB limit answered 413 and the report was lost.
REPORT_REQUEST_LIMIT = 48_000_000


def answers_from(form, files, document: dict, kept: dict) -> tuple[dict, dict]:
    """Read the answers (``q-<key>`` fields) and the uploads for photo questions (``photo-<key>``).

    :param kept: the answers saved before, so a photo attached to an earlier draft stays attached.
    :return: (answers, {question key: upload}).
    """
    answers, uploads = {}, {}
    for question in document["questions"]:
        name, kind = f"q-{question['key']}", question["type"]
        if kind == "multiple_choice":
            value = [v for v in form.getlist(name) if v]
        elif kind == "photo":
            upload = files.get(f"photo-{question['key']}")
            if upload is not None and upload.filename:
                uploads[question["key"]] = upload
            value = kept.get(question["key"])
        else:
            value = form.get(name, "").strip()
            if kind in ("scale", "number") and value:
                value = _number(value)
        answers[question["key"]] = value
    return answers, uploads


def proof_from(form, files, uploads: dict) -> dict:
    """The proof of visit as :func:`channels.mystery_shopper.reports.submit_report` takes it."""
    return {
        "visited_at": form.get("visited_at", "").strip() or None,
        "receipt_number": form.get("receipt_number", ""),
        "photo": files.get("photo"),
        "integrity": {key: {"yes": True, "no": False}.get(form.get(f"integrity-{key}"))
                      for key in INTEGRITY_QUESTIONS},
        "served_by": form.get("served_by", "").strip()[:200] or None,  # a name, as on the badge
        "question_photos": uploads,
    }


def _number(raw: str) -> float | int | str:
    try:
        number = float(raw.replace(",", "."))
    except ValueError:
        return raw
    return int(number) if number.is_integer() else number
