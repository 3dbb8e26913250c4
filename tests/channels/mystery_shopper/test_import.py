"""Importing the r3ximous questionnaire and the 2DII form into templates, from the files and the command line."""
from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from channels.mystery_shopper.importers import (
    TemplateImportError,
    parse_answers,
    read_template,
)
from channels.mystery_shopper.models import ReportTemplate
from channels.mystery_shopper.template import template_in_force, validate_template
from core.models import AuditEntry

R3XIMOUS = "mystery_shopping/r3ximous_mystery_shopper_questions.csv"
TWODII = "mystery_shopping/2dii_mystery_shopping_eei_2023_feedback_form.csv"


@pytest.fixture(scope="module")
def r3ximous(shared_data):
    return validate_template(read_template(shared_data / R3XIMOUS, "r3ximous"))


@pytest.fixture(scope="module")
def source_rows(shared_data):
    return list(csv.DictReader((shared_data / R3XIMOUS).open(encoding="utf-8-sig")))


def _choices(question):
    return [(c["key"], c["label"], c["points"], c["not_applicable"]) for c in question["choices"]]


def test_every_live_row_becomes_a_question_in_its_section(r3ximous, source_rows):
    # 94 rows, of which rows 78 (the first Q72) and 85 (Q75) say "to be deleted" under "Changes made".
    deleted = [(n, row["Quet.Nr"]) for n, row in enumerate(source_rows, start=2)
               if row["Changes made"].strip() == "to be deleted"]
    assert len(source_rows) == 94 and deleted == [(78, "Q72"), (85, "Q75")]
    live = [row for n, row in enumerate(source_rows, start=2) if n not in (78, 85)]
    assert len(r3ximous["questions"]) == len(live) == 92
    # every live row, in file order but for the four shown after a later answer, which follow that answer
    assert sorted(q["text"] for q in r3ximous["questions"]) == sorted(row["Question"].strip() for row in live)
    keys = [q["key"] for q in r3ximous["questions"]]
    assert [k for k in keys if k not in ("Q21.0", "Q21.1", "Q27.9", "Q29")] == [
        row["Quet.Nr"].strip() for row in live if row["Quet.Nr"].strip() not in ("Q21.0", "Q21.1", "Q27.9", "Q29")]
    position = {key: index for index, key in enumerate(keys)}
    assert all(position[q["show_if"]["question"]] < position[q["key"]]
               for q in r3ximous["questions"] if q["show_if"]), "a question shown before what it depends on"
    titles = {row["Criteria"].strip() for row in live}
    assert {s["title"] for s in r3ximous["sections"]} == titles
    assert sum(s["weight"] for s in r3ximous["sections"]) == pytest.approx(1.0)
    keys = [q["key"] for q in r3ximous["questions"]]
    assert len(set(keys)) == 92 and "Q75" not in keys
    # Q72 is used twice; the earlier row is withdrawn, so the later one (the one the skip rules mean) is Q72.
    assert keys.count("Q72") == 1 and not any(key.startswith("Q72-row") for key in keys)
    by_key = {q["key"]: q for q in r3ximous["questions"]}
    assert by_key["Q72"]["text"].startswith("Was the 04 platform")


def test_the_import_says_what_it_skipped_and_left_unscored(shared_data):
    notes = []
    read_template(shared_data / R3XIMOUS, "r3ximous", notes)
    assert notes == ["skipped 2 row(s) marked to be deleted under 'Changes made': row 78 (Q72), row 85 (Q75)",
                     ("row 95, Q87: only one possible answer, so it cannot tell visits apart; imported unscored "
                      "(no points)"),
                     ("4 question(s) moved to follow the answer they depend on, so a shopper meets them in order: "
                      "Q21.0, Q21.1, Q27.9, Q29")]


def test_types_and_points_spot_checked(r3ximous):
    q = {question["key"]: question for question in r3ximous["questions"]}
    assert q["Q0"]["type"] == "yes_no" and _choices(q["Q0"]) == [("1", "Yes", 1, False), ("2", "No", 0, False)]
    # Reverse-scored: "Yes (0) / No (1)".
    assert q["Q12"]["type"] == "yes_no" and _choices(q["Q12"]) == [("1", "Yes", 0, False), ("2", "No", 1, False)]
    assert _choices(q["Q27.6"])[2] == ("3", "Not Applicable", None, True)
    assert _choices(q["Q26.0"])[2] == ("3", "I did not use the machine", None, True)
    assert q["Q65"]["type"] == "single_choice" and [c["points"] for c in q["Q65"]["choices"]] == [3, 1, 0]
    assert [c["points"] for c in q["Q66"]["choices"]] == [3, 2, 1, 0]
    assert q["Q3"]["type"] == "single_choice" and _choices(q["Q3"])[2] == ("3", "There was a valet", 1, False)
    assert [c["not_applicable"] for c in q["Q34"]["choices"]] == [False, False, True, True]
    assert q["Q74"]["type"] == "text" and q["Q74"]["choices"] == [] and not q["Q74"]["required"]
    # "Low effort ... (3)" is Q87's only answer: every visit would earn it, so it is asked but scores nothing.
    assert [c["points"] for c in q["Q87"]["choices"]] == [None] and not q["Q87"]["choices"][0]["not_applicable"]
    assert q["Q66.1"]["visit_types"] == ["transaction"] and q["Q0"]["visit_types"] == ["enquiry", "transaction"]


def test_skip_logic(r3ximous):
    q = {question["key"]: question for question in r3ximous["questions"]}
    assert q["Q19"]["show_if"] == {"question": "Q18", "answers": ["1", "2"]}
    assert q["Q52"]["show_if"] == {"question": "Q51", "answers": ["1"]}          # "show if Q51 is yes"
    assert q["Q42.1"]["show_if"] == {"question": "Q42", "answers": ["2"]}        # "show if Q42 is no"
    assert q["Q72.1"]["show_if"] == {"question": "Q72", "answers": ["1"]}        # "hide if Q72 is no"
    assert q["Q21.0"]["show_if"] == {"question": "Q34", "answers": ["1", "2", "3"]}
    assert sum(1 for question in r3ximous["questions"] if question["show_if"]) == 32


def test_arabic_text_is_intact(r3ximous, source_rows):
    q = {question["key"]: question for question in r3ximous["questions"]}
    assert q["Q0"]["text_ar"] == source_rows[0]["السؤال"].strip()
    assert q["Q0"]["text_ar"].startswith("هل كان من السهل تحديد موقع تقديم الخدمة")
    assert [c["label_ar"] for c in q["Q0"]["choices"]] == ["نعم", "لا"]
    assert q["Q65"]["choices"][0]["label_ar"] == "حتى 3 دقائق"
    section = next(s for s in r3ximous["sections"] if s["title"] == "Speed of Service")
    assert section["title_ar"] == "سرعة الخدمة"
    with_arabic = [question for question in r3ximous["questions"] if question["text_ar"]]
    live = [row for row in source_rows if row["Changes made"].strip() != "to be deleted"]
    assert len(with_arabic) == sum(1 for row in live if row["السؤال"].strip()) == 91  # of the 92 live rows


def test_the_2dii_form_imports_with_types_from_its_answer_type(shared_data):
    document = validate_template(read_template(shared_data / TWODII, "2dii"))
    q = {question["key"]: question for question in document["questions"]}
    assert len(q) == 50 and len(document["sections"]) == 6
    assert q["1"]["type"] == "single_choice" and [c["label"] for c in q["1"]["choices"]] == ["Profile 1", "Profile 2"]
    assert q["2"]["type"] == "datetime" and q["3"]["type"] == "text"
    assert q["8"]["type"] == "yes_no" and [c["label"] for c in q["8"]["choices"]] == ["Yes", "No"]
    assert q["10"]["type"] == "multiple_choice" and q["16"]["type"] == "text" and q["44"]["type"] == "text"
    assert q["7"]["type"] == "single_choice" and q["7"]["choices"][1]["label"].startswith("No, I had to ask")
    assert q["12"]["choices"][-1]["label"] == "Other"
    assert q["13"]["show_if"] == {"question": "12", "answers": [q["12"]["choices"][-1]["key"]]}
    assert q["32"]["show_if"] == {"question": "31", "answers": ["2"]}
    assert q["A1"]["show_if"] == {"question": "1", "answers": ["1"]}
    assert q["B3"]["show_if"] == {"question": "1", "answers": ["2"]}
    assert q["38"]["choices"][-1]["not_applicable"]
    assert all(c["points"] is None for question in q.values() for c in question["choices"])
    from channels.mystery_shopper.scoring import score_report
    result = score_report(document, {"1": "1", "8": "1", "12": ["5"], "13": "why not"})
    assert result.score is None and all(s.score is None for s in result.sections)


HEADER = ("Criteria,Quet.Nr,Question,Elaboration on Question,Possible Answers,Type of visit,Skips & Triggers,"
          "الإجابات الممكنة,السؤال,معيار\n")


@pytest.mark.parametrize("text, problem", [
    ("Criteria,Quet.Nr\nA,Q1\n", "missing column"),
    (HEADER + "A,Q1,Ok?,,1.Yes (1),Enquiry,show when sunny,,,\n", "row 2, Skips & Triggers"),
    (HEADER + "A,Q1,Ok?,,1.Yes (1),Enquiry,show if Q0 is 1,,,\n", "Q0 is not a question"),
    (HEADER + "A,,Ok?,,1.Yes (1),Enquiry,,,,\n", "row 2, Quet.Nr: empty"),
])
def test_unreadable_rows_are_named(text, problem):
    with pytest.raises(TemplateImportError, match=problem):
        read_template(text, "r3ximous")


def test_answers_with_points_parse():
    assert parse_answers("1.Yes - a working machine(1)\n2. No (0)\n3. NA - none (non-scoring)\n4. Other") == [
        {"key": "1", "label": "Yes - a working machine", "label_ar": None, "points": 1.0, "not_applicable": False},
        {"key": "2", "label": "No", "label_ar": None, "points": 0.0, "not_applicable": False},
        {"key": "3", "label": "NA - none", "label_ar": None, "points": None, "not_applicable": True},
        {"key": "4", "label": "Other", "label_ar": None, "points": None, "not_applicable": True}]


def test_command_publishes_versions_and_lists_them(app, session, create_user, shared_data):
    hr = create_user("hr@example.com", roles=("hr",))
    create_user("ann@example.com", roles=("employee",))
    runner = app.test_cli_runner()
    args = ["mystery", "import-template", str(shared_data / R3XIMOUS), "--format", "r3ximous",
            "--slug", "service-centre", "--title", "Service centre visit"]
    result = runner.invoke(args=[*args, "--by", "hr@example.com"])
    assert result.exit_code == 0, result.output
    assert "published service-centre v1: 16 sections, 92 questions" in result.output
    assert "note: skipped 2 row(s) marked to be deleted" in result.output and "Q87: only one possible answer" in (
        result.output)
    refused = runner.invoke(args=[*args, "--by", "ann@example.com"])
    assert refused.exit_code == 1 and "only HR" in refused.output
    twin = runner.invoke(args=[*args, "--by", "hr@example.com"])  # the same file again: not a twin version
    assert twin.exit_code == 0
    assert "is service-centre v1 already" in twin.output and "published service-centre" not in twin.output
    again = runner.invoke(args=["mystery", "import-template", str(shared_data / TWODII), "--format", "2dii",
                                *args[5:]])
    assert again.exit_code == 0 and "v2: 6 sections, 50 questions" in again.output

    session.expire_all()
    versions = session.scalars(select(ReportTemplate).order_by(ReportTemplate.version)).all()
    assert [(t.slug, t.version) for t in versions] == [("service-centre", 1), ("service-centre", 2)]
    assert versions[0].created_by == hr.id and versions[1].created_by is None
    assert template_in_force(session, "service-centre").version == 2
    q0 = versions[0].document["questions"][0]
    assert q0["text_ar"].startswith("هل كان") and q0["choices"][0]["label_ar"] == "نعم"  # kept through the database
    audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "mystery_template.published")).all()
    assert len(audits) == 2 and audits[0].after["questions"] == 92
    session.commit()  # end the read: on SQLite it holds the lock the command needs

    listing = runner.invoke(args=["mystery", "templates"])
    assert "service-centre" in listing.output and "v2" in listing.output and "50 questions" in listing.output


def test_command_reports_bad_files_and_writes_nothing(app, session, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Criteria,Quet.Nr\nA,Q1\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["mystery", "import-template", str(bad), "--format", "r3ximous",
                                                "--slug", "x", "--title", "X"])
    assert result.exit_code == 1 and "missing column(s): Question" in result.output
    bad_slug = app.test_cli_runner().invoke(args=["mystery", "import-template", str(bad), "--format", "2dii",
                                                  "--slug", "x", "--title", "X"])
    assert bad_slug.exit_code == 1
    assert session.scalar(select(ReportTemplate.id)) is None


def test_the_form_lays_each_question_out_after_the_answer_it_depends_on(r3ximous):
    """Q21.0, Q21.1 and Q27.9 depend on answers given later (Q34, Q51, Q30) but belong to earlier sections:
    laid out by section, they appeared above where the shopper already was, unseen, and blocked the submit."""
    from channels.mystery_shopper.report_form import sections_of

    laid = [q for section in sections_of(r3ximous) for q in section.questions]
    assert sorted(q["key"] for q in laid) == sorted(q["key"] for q in r3ximous["questions"])  # none lost
    position = {q["key"]: index for index, q in enumerate(laid)}
    assert all(position[q["show_if"]["question"]] < position[q["key"]] for q in laid if q["show_if"])
    moved = {q["key"]: (q["asked_after"], q["section"]) for q in laid if q.get("asked_after")}
    assert set(moved) >= {"Q21.0", "Q21.1", "Q27.9"}
    assert all(position[parent] + 1 <= position[key] for key, (parent, _) in moved.items())
    # they still belong, and score, in their own section
    own = {q["key"]: q["section"] for q in r3ximous["questions"]}
    assert all(section == own[key] for key, (_, section) in moved.items())
