"""Scoring a mystery report: the questionnaire author's worked example, N/A, skip logic, critical and bonus."""
from __future__ import annotations

import csv
from fractions import Fraction

import pytest
from marshmallow import ValidationError

from channels.mystery_shopper.scoring import entity_score, score_report
from channels.mystery_shopper.template import validate_template, visible_questions

EXAMPLE = "mystery_shopping/r3ximous_mystery_shopper_overall_scores_example.csv"


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


@pytest.fixture(scope="module")
def example(shared_data):
    """The worked example's stacked blocks, read from the file: questions, two section tables, the entity."""
    rows = list(csv.reader((shared_data / EXAMPLE).open(encoding="utf-8-sig")))
    starts = [i for i, row in enumerate(rows) if row and row[0] == "Section"]
    surveys = next(i for i, row in enumerate(rows) if row and row[0].strip() == "Surveys")

    def table(start):
        sections = []
        for row in rows[start + 1:]:
            if row[0].startswith("Overall Score"):
                return sections, float(next(cell for cell in reversed(row) if cell.strip()))
            sections.append((row[0], float(row[1]), _number(row[2])))
        raise AssertionError("no overall score after a section table")

    questions = [(int(row[2]), int(row[3]), float(row[4])) for row in rows[2:6]]  # max, earned, question score
    section_total = tuple(float(cell) for cell in rows[6][2:5])
    reports = []
    for row in rows[surveys + 1:]:
        if not row[0].strip().isdigit():
            break
        reports.append((int(row[1]), int(row[2]), float(row[3])))
    entity = float(rows[surveys + 1 + len(reports)][3])
    return {"questions": questions, "section_total": section_total, "all": table(starts[0]),
            "privacy_na": table(starts[1]), "reports": reports, "entity": entity}


def _yes_no(key, section, **extra):
    return {"key": key, "section": section, "text": f"{key}?", "type": "yes_no",
            "choices": [{"key": "1", "label": "Yes", "points": 1}, {"key": "2", "label": "No", "points": 0},
                        {"key": "3", "label": "Not applicable", "not_applicable": True}], **extra}


def _report(sections):
    """A template with these (title, weight, score) sections, and answers earning exactly those scores.

    A score of n/d is d yes/no questions, n of them answered yes; a section without a score is answered N/A.
    """
    document = {"sections": [], "questions": []}
    answers = {}
    for number, (title, weight, score) in enumerate(sections):
        key = f"s{number}"
        document["sections"].append({"key": key, "title": title, "weight": weight})
        fraction = Fraction(str(score)).limit_denominator(1000) if score is not None else Fraction(0, 1)
        for index in range(max(fraction.denominator, 1)):
            question = f"{key}q{index}"
            document["questions"].append(_yes_no(question, key))
            answers[question] = "3" if score is None else ("1" if index < fraction.numerator else "2")
    return validate_template(document), answers


def test_question_score_is_points_over_max_and_a_section_pools_its_points(example):
    choices = lambda most: [{"key": str(p), "label": f"{p} points", "points": p} for p in range(most + 1)]
    document = validate_template({
        "sections": [{"key": "a", "title": "A", "weight": 1}],
        "questions": [{"key": f"Q{n}", "section": "a", "text": "?", "type": "single_choice",
                       "choices": choices(most)} for n, (most, _, _) in enumerate(example["questions"], 1)]})
    answers = {f"Q{n}": str(earned) for n, (_, earned, _) in enumerate(example["questions"], 1)}
    result = score_report(document, answers)
    assert [q.points / q.max_points for q in result.questions] == pytest.approx(
        [score for _, _, score in example["questions"]])
    most, earned, score = example["section_total"]
    section = result.sections[0]
    assert (section.max_points, section.points, section.score) == (most, earned, score) == (8, 4, 0.5)


def test_worked_example_all_sections_applicable(example):
    sections, overall = example["all"]
    result = score_report(*_report(sections))
    assert [s.score for s in result.sections] == pytest.approx([score for _, _, score in sections])
    assert result.score == pytest.approx(overall, abs=1e-12)
    assert round(result.score, 3) == 0.841


def test_worked_example_with_customer_privacy_not_applicable(example):
    sections, overall = example["privacy_na"]
    assert [title for title, _, score in sections if score is None] == ["Customer privacy"]
    result = score_report(*_report(sections))
    privacy = next(s for s in result.sections if s.title == "Customer privacy")
    assert privacy.score is None and privacy.max_points == 0
    assert result.score == pytest.approx(overall, abs=1e-12)
    assert round(result.score, 4) == 0.8854
    # Without re-normalising the weights the N/A section would pull the score down to about 0.84.
    assert sum(w * s for _, w, s in sections if s is not None) < overall - 0.04


def test_entity_score_is_the_mean_of_report_scores_not_pooled_points(example):
    scores = []
    for most, earned, expected in example["reports"]:
        document = validate_template({
            "sections": [{"key": "all", "title": "All", "weight": 1}],
            "questions": [{"key": "Q", "section": "all", "text": "?", "type": "single_choice",
                           "choices": [{"key": str(p), "label": str(p), "points": p} for p in range(most + 1)]}]})
        result = score_report(document, {"Q": str(earned)})
        assert result.score == pytest.approx(expected)
        scores.append(result)
    assert entity_score(scores) == pytest.approx(example["entity"], abs=1e-12)
    assert round(entity_score(scores), 4) == 0.9237
    pooled = sum(earned for _, earned, _ in example["reports"]) / sum(most for most, _, _ in example["reports"])
    assert abs(entity_score(scores) - pooled) > 5e-4
    assert entity_score([None, 0.5, scores[0]]) == pytest.approx((0.5 + example["reports"][0][2]) / 2)
    assert entity_score([]) is None


def _two_sections(critical_scope="report", **flags):
    return validate_template({
        "sections": [{"key": "a", "title": "A", "weight": 1, "critical_scope": critical_scope},
                     {"key": "b", "title": "B", "weight": 1}],
        "questions": [_yes_no("Q1", "a", **flags), _yes_no("Q2", "a"), _yes_no("Q3", "b")]})


def test_a_critical_question_must_be_required():
    # Optional, a shopper could leave it blank and a visit that failed it would pass.
    with pytest.raises(ValidationError) as refused:
        _two_sections(critical=True, required=False)
    assert refused.value.messages == {"questions": {0: {"required": ["a critical question must be required"]}}}
    assert _two_sections(bonus=True, required=False)["questions"][0]["required"] is False


def test_a_failed_critical_question_zeroes_the_report():
    document = _two_sections(critical=True)
    result = score_report(document, {"Q1": "2", "Q2": "1", "Q3": "1"})
    assert result.score == 0.0 and result.critical_failed
    assert [q.critical_failed for q in result.questions] == [True, False, False]
    assert [s.score for s in result.sections] == [0.5, 1.0]  # the sections keep what they earned
    assert score_report(document, {"Q1": "1", "Q2": "2", "Q3": "1"}).score == pytest.approx(0.75)
    # N/A is no failure.
    assert score_report(document, {"Q1": "3", "Q2": "1", "Q3": "1"}).score == 1.0


def test_a_failed_critical_question_zeroes_only_its_section_when_so_configured():
    result = score_report(_two_sections("section", critical=True), {"Q1": "2", "Q2": "1", "Q3": "1"})
    assert [s.score for s in result.sections] == [0.0, 1.0]
    assert result.score == pytest.approx(0.5) and result.critical_failed


def test_a_bonus_question_adds_earned_points_only():
    document = _two_sections(bonus=True)
    missed = score_report(document, {"Q1": "2", "Q2": "1", "Q3": "1"})
    assert (missed.sections[0].points, missed.sections[0].max_points, missed.sections[0].score) == (1, 1, 1.0)
    earned = score_report(document, {"Q1": "1", "Q2": "2", "Q3": "1"})
    assert (earned.sections[0].points, earned.sections[0].max_points, earned.sections[0].score) == (1, 1, 1.0)
    capped = score_report(document, {"Q1": "1", "Q2": "1", "Q3": "0"})
    assert capped.sections[0].score == 1.0  # never past 1


def test_skip_logic_makes_hidden_questions_not_applicable():
    document = validate_template({
        "sections": [{"key": "a", "title": "A", "weight": 1}],
        "questions": [
            {"key": "Q18", "section": "a", "text": "Restrooms?", "type": "single_choice",
             "choices": [{"key": "1", "label": "Both", "points": 1}, {"key": "2", "label": "One", "points": 0},
                         {"key": "3", "label": "None", "points": 0}]},
            _yes_no("Q19", "a", show_if={"question": "Q18", "answers": ["1", "2"]}),
            _yes_no("Q20", "a", show_if={"question": "Q19", "answers": ["1"]})]})
    assert [q["key"] for q in visible_questions(document, {"Q18": "3", "Q19": "1"})] == ["Q18"]
    assert [q["key"] for q in visible_questions(document, {"Q18": "2", "Q19": "1"})] == ["Q18", "Q19", "Q20"]
    hidden = score_report(document, {"Q18": "3", "Q19": "2", "Q20": "2"})
    assert [q.applicable for q in hidden.questions] == [True, False, False]
    assert hidden.sections[0].max_points == 1 and hidden.score == 0.0
    shown = score_report(document, {"Q18": "2", "Q19": "1", "Q20": "1"})
    assert shown.score == pytest.approx(2 / 3)


def test_every_question_type_scores_or_is_recorded():
    document = validate_template({
        "sections": [{"key": "a", "title": "A", "weight": 0.5}, {"key": "b", "title": "B", "weight": 0.5}],
        "questions": [
            {"key": "scale", "section": "a", "text": "?", "type": "scale", "scale": {"min": 1, "max": 5}},
            {"key": "many", "section": "a", "text": "?", "type": "multiple_choice",
             "choices": [{"key": "x", "label": "X", "points": 2}, {"key": "y", "label": "Y", "points": 1},
                         {"key": "z", "label": "Z", "points": 0}]},
            {"key": "count", "section": "b", "text": "?", "type": "number"},
            {"key": "when", "section": "b", "text": "?", "type": "datetime"},
            {"key": "note", "section": "b", "text": "?", "type": "text"},
            {"key": "photo", "section": "b", "text": "?", "type": "photo"}]})
    result = score_report(document, {"scale": 4, "many": ["x", "z"], "count": 3, "when": "2026-11-02T10:00:00Z",
                                     "note": "fine", "photo": "receipt.jpg"})
    assert [(q.points, q.max_points) for q in result.questions[:2]] == [(3, 4), (2, 3)]
    assert all(q.points is None and q.applicable for q in result.questions[2:])
    assert result.sections[1].score is None  # nothing in B earns points: B is N/A, its weight goes to A
    assert result.score == pytest.approx(5 / 7)
    assert score_report(document, {}).score is None


@pytest.mark.parametrize("change, field", [
    (lambda d: d["sections"][0].update(weight=0), ("sections", 0, "weight")),
    (lambda d: d["questions"][0].update(section="nowhere"), ("questions", 0, "section")),
    (lambda d: d["questions"][1].update(key="Q1"), ("questions", 1, "key")),
    (lambda d: d["questions"][1].update(show_if={"question": "Q9", "answers": ["1"]}),
     ("questions", 1, "show_if", "question")),
    (lambda d: d["questions"][1].update(show_if={"question": "Q1", "answers": ["7"]}),
     ("questions", 1, "show_if", "answers")),
    (lambda d: d["questions"][0].update(type="scale"), ("questions", 0, "choices")),
    (lambda d: d["questions"][0].update(critical=True, bonus=True), ("questions", 0, "bonus")),
    (lambda d: d["questions"][0].update(type="colour"), ("questions", 0, "type")),
])
def test_template_errors_name_the_field(change, field):
    from marshmallow import ValidationError

    document = {"sections": [{"key": "a", "title": "A", "weight": 1}],
                "questions": [_yes_no("Q1", "a"), _yes_no("Q2", "a")]}
    change(document)
    with pytest.raises(ValidationError) as caught:
        validate_template(document)
    node = caught.value.messages
    for part in field:
        assert part in node, (field, caught.value.messages)
        node = node[part]


def test_skip_logic_in_a_circle_is_refused():
    from marshmallow import ValidationError

    with pytest.raises(ValidationError, match="circle"):
        validate_template({"sections": [{"key": "a", "title": "A", "weight": 1}],
                           "questions": [_yes_no("Q1", "a", show_if={"question": "Q2", "answers": ["1"]}),
                                         _yes_no("Q2", "a", show_if={"question": "Q1", "answers": ["1"]})]})
