"""CSV imports checked against independent computations on the real datasets in ../shared/data."""
from __future__ import annotations

import csv
import re
from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import delete, func, select

from appraisal.metrics import metric
from core.models import Employee, Feedback, Ticket


def _rules(app):
    return app.extensions["plaudit.plugins"].scoring_rules


def test_pwc_call_centre_csat_per_agent_matches_pandas(app, session, shared_data, create_employee):
    path = shared_data / "tickets" / "pwc_call_center_dataset.csv"
    frame = pd.read_csv(path, encoding="utf-8-sig")
    for agent in sorted(frame["Agent"].unique()):
        create_employee(agent, identities=[("name", agent)])

    result = app.test_cli_runner().invoke(args=[
        "import", "surveys", str(path), "--kind", "csat", "--scale", "1-5", "--map", "response_id=Call Id",
        "--map", "agent=Agent", "--map", "answered_at={Date} {Time}", "--map", "rating=Satisfaction rating"])
    assert result.exit_code == 0, result.output
    blank = int(frame["Satisfaction rating"].isna().sum())
    assert f"without a rating {blank}, rejected 0" in result.output  # blank ratings are not responses

    rated = frame.dropna(subset=["Satisfaction rating"])
    expected = rated.groupby("Agent")["Satisfaction rating"].agg(
        csat=lambda r: (r >= 4).mean() * 100, mean="mean", n="count")
    names = dict(session.execute(select(Employee.id, Employee.name)).all())
    percent = metric(session, _rules(app)["csat_percent"], {})
    mean = metric(session, _rules(app)["csat_mean"], {})
    assert {names[k] for k in percent} == set(expected.index)
    for employee_id, value in percent.items():
        row = expected.loc[names[employee_id]]
        assert value.n == row["n"]
        assert value.value == pytest.approx(row["csat"], abs=0.01)
        assert mean[employee_id].value == pytest.approx(row["mean"], abs=0.01)
    session.rollback()  # end the read, as a request or command would, before importing again

    again = app.test_cli_runner().invoke(args=[
        "import", "surveys", str(path), "--kind", "csat", "--scale", "1-5", "--map", "response_id=Call Id",
        "--map", "agent=Agent", "--map", "answered_at={Date} {Time}", "--map", "rating=Satisfaction rating"])
    assert f"answers created 0, duplicates {len(rated)}" in again.output  # idempotent re-run


@pytest.mark.parametrize("name", ["input_01.csv", "input_02.csv"])
def test_sudzilla_nps_is_minus_35_9_from_either_timestamp_format(app, session, shared_data, name):
    path = shared_data / "nps" / "case_040_nps_sudzilla_survey" / "inputs" / name
    result = app.test_cli_runner().invoke(args=[
        "import", "surveys", str(path), "--kind", "nps", "--map", "answered_at=Timestamp",
        "--map", "rating=On a scale of 0-10, how would you rate Sudzilla?"])
    assert result.exit_code == 0, result.output
    nps = metric(session, _rules(app)["nps"], {}, by_employee=False)[None]
    assert nps.n == 39 and round(nps.value, 1) == -35.9
    # both formats name the same instants: 11/1/2019 8:51:12 and 2019-11-01 08:51:12.402
    first = session.scalar(select(func.min(Feedback.occurred_at)))
    assert first.replace(microsecond=0) == datetime.fromisoformat("2019-11-01T08:51:12+00:00")


KAGGLE_MAP = ["--map", "ticket_id=Ticket ID", "--map", "subject=Ticket Subject", "--map", "category=Ticket Type",
              "--map", "contact_channel=Ticket Channel", "--map", "status=Ticket Status",
              "--map", "first_response_at=First Response Time", "--map", "resolved_at=Time to Resolution",
              "--map", "rating=Customer Satisfaction Rating", "--map", "respondent=Customer Email"]


def _kaggle_backwards_lines(path) -> set[int]:
    """Independently: the line each row starts on where resolution precedes the first response."""
    lines = set()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        start = reader.line_num + 1
        for row in reader:
            first, resolved = row["First Response Time"], row["Time to Resolution"]
            if first and resolved and datetime.fromisoformat(resolved) < datetime.fromisoformat(first):
                lines.add(start)
            start = reader.line_num + 1
    return lines


def test_kaggle_tickets_report_backwards_timings_by_line_and_parse_multiline_cells(app, session, shared_data):
    path = shared_data / "tickets" / "kaggle_suraj520_customer_support_tickets.csv"
    result = app.test_cli_runner().invoke(args=["import", "tickets", str(path), "--provider", "kaggle",
                                                "--scale", "1-5", *KAGGLE_MAP])
    assert result.exit_code == 1  # something was refused, and said so
    reported = {int(n) for n in re.findall(r"^  line (\d+): resolved_at: .* is before the first response",
                                           result.stderr, re.MULTILINE)}
    assert len(reported) == 1365
    assert reported == _kaggle_backwards_lines(path)

    frame = pd.read_csv(path)  # pandas reads the quoted multi-line cells too
    assert session.scalar(select(func.count()).select_from(Ticket)) == len(frame) - 1365
    kept = frame[~frame.index.isin(_rejected_rows(frame))]
    assert session.scalar(select(func.count()).select_from(Feedback)) == int(
        kept["Customer Satisfaction Rating"].notna().sum())
    # no negative duration was stored to be averaged
    assert session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.resolved_at < Ticket.first_response_at)) == 0
    session.execute(delete(Feedback))
    session.commit()


def _rejected_rows(frame):
    first = pd.to_datetime(frame["First Response Time"])
    resolved = pd.to_datetime(frame["Time to Resolution"])
    return frame.index[resolved < first]


def test_mapping_mistakes_name_the_option(app, shared_data, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,score\n1,5\n")
    runner = app.test_cli_runner()
    unknown_column = runner.invoke(args=["import", "surveys", str(path), "--kind", "csat", "--map", "rating=Score"])
    assert unknown_column.exit_code == 2 and "--map rating: no column 'Score' in the file; columns: id, score" in \
        unknown_column.output
    unknown_field = runner.invoke(args=["import", "surveys", str(path), "--kind", "csat", "--map", "stars=score"])
    assert "unknown field 'stars'" in unknown_field.output
    no_kind = runner.invoke(args=["import", "surveys", str(path), "--map", "rating=score"])
    assert "give --kind" in no_kind.output


def test_an_import_says_what_it_did_not_change_and_who_it_credited_to_nobody(app, create_employee, tmp_path):
    """A re-run with a corrected rating, or a second site's file reusing the first one's ids, stored nothing and
    said only 'duplicates'; answers whose agent matched nobody went to the queue without a word."""
    create_employee("Ann", identities=[("name", "Ann")])
    first, corrected = tmp_path / "site1.csv", tmp_path / "site1-fixed.tsv"
    first.write_text("Call Id\tAgent\tDate\tScore\nC-1\tAnn\t2026-11-02 10:00\t5\nC-2\tZed\t2026-11-02 11:00\t4\n"
                     "C-3\tAnn\t2026-11-02 12:00\t3\n", encoding="utf-8")
    corrected.write_text(first.read_text().replace("\t3\n", "\t1\n"), encoding="utf-8")
    runner = app.test_cli_runner()
    common = ["--kind", "csat", "--scale", "1-5", "--delimiter", "\\t", "--map", "agent=Agent",
              "--map", "answered_at=Date", "--map", "rating=Score"]
    command = [*common, "--map", "response_id=Call Id"]
    result = runner.invoke(args=["import", "surveys", str(first), *command])
    assert result.exit_code == 0, result.output
    assert "answers created 3" in result.output  # a tab written as \t, not a traceback
    assert "1 of the answers created are credited to nobody yet" in result.output
    again = runner.invoke(args=["import", "surveys", str(corrected), *command])
    assert "duplicates 3" in again.output
    assert "1 duplicate(s) differ from the answer stored under the same id (lines 4)" in again.output
    prefixed = runner.invoke(args=["import", "surveys", str(corrected), *common,
                                   "--map", "response_id=site1b-{Call Id}"])
    assert "answers created 3" in prefixed.output  # ids of its own
    wide = runner.invoke(args=["import", "surveys", str(first), "--kind", "csat", "--delimiter", "ab",
                               "--map", "rating=Score"])
    assert wide.exit_code == 2 and "'ab' is not one character" in wide.output


def test_times_without_an_offset_are_the_organisations_unless_told(make_app, tmp_path):
    """An export from a helpdesk in Los Angeles, times without offsets, was read as UTC: eight hours early."""
    from datetime import UTC

    from core.db import transaction

    app = make_app(TIME_ZONE="America/Los_Angeles")
    path = tmp_path / "la.csv"
    path.write_text("id,when,score\nL-1,2026-11-08 22:30,5\n", encoding="utf-8")
    runner = app.test_cli_runner()
    common = ["--kind", "csat", "--scale", "1-5", "--map", "response_id=id", "--map", "answered_at=when",
              "--map", "rating=score"]
    assert runner.invoke(args=["import", "surveys", str(path), *common]).exit_code == 0
    told = path.with_name("berlin.csv")
    told.write_text("id,when,score\nB-1,2026-11-08 22:30,5\n", encoding="utf-8")
    assert runner.invoke(args=["import", "surveys", str(told), *common, "--timezone", "Europe/Berlin"]).exit_code == 0
    with app.app_context(), transaction() as session:
        stored = dict(session.execute(select(Feedback.external_id, Feedback.occurred_at)).all())
    assert {ext.rsplit(":", 1)[-1]: at.astimezone(UTC).isoformat() for ext, at in stored.items()} == {
        "L-1": "2026-11-09T06:30:00+00:00", "B-1": "2026-11-08T21:30:00+00:00"}
