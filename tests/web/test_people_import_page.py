"""HR imports the organisation file from the browser: checked whole first, every faulty row named by line."""
from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import func, select

from core.db import transaction
from core.models import AuditEntry, Employee, Team
from tests.fixtures.org import csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")

GOOD = ("name,email,team,lead,identities,started_on\n"
        "Eve,eve@example.com,Returns,yes,zendesk:501,2026-11-02\n"
        "Dan Ortiz,dan@example.com,Returns,no,,\n")


def _upload(client, content: bytes, **form):
    token = csrf_token(client.get("/people/import").get_data(as_text=True))
    return client.post("/people/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(content), "people.csv"), **form})


def _people() -> dict[str, tuple]:
    with transaction() as session:
        return {email: (name, team) for email, name, team in session.execute(
            select(Employee.email, Employee.name, Team.name).join(Team, Team.id == Employee.team_id))}


@pytest.fixture
def hr(app, worked_example):
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    return client


def test_a_file_checked_first_changes_nothing_then_imports_as_the_command_does(hr, worked_example):
    before = _people()
    answer = _upload(hr, GOOD.encode(), check_only="y")
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200 and 'data-outcome="checked"' in page
    assert 'data-count="created">1<' in page and 'data-count="updated">1<' in page and 'data-count="teams">1<' in page
    assert "dan@example.com: name Dan -> Dan Ortiz" in page and "dan@example.com: team Billing -> Returns" in page
    assert _people() == before

    answer = _upload(hr, GOOD.encode())
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200 and 'data-outcome="imported"' in page and "Imported 2 people" in page
    after = _people()
    assert after["eve@example.com"] == ("Eve", "Returns") and after["dan@example.com"] == ("Dan Ortiz", "Returns")
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "employee.created", AuditEntry.actor_id == worked_example.hr,
            AuditEntry.note == "people page import")) == 1
    again = html.unescape(_upload(hr, GOOD.encode()).get_data(as_text=True))
    assert 'data-count="unchanged">2<' in again  # the same file again changes nothing


def test_every_faulty_row_is_named_by_line_and_nothing_is_imported(hr):
    before = _people()
    faulty = (GOOD + "Zed,not-an-address,Returns,,,\n"
              "Ann,ann@example.com,SUPPORT,,,\n"
              "Eve again,eve@example.com,Returns,,,\n").encode()
    answer = _upload(hr, faulty)
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400 and "Nothing was imported: 3 row(s) to fix" in page
    rows = {line: page.split(f'<tr data-line="{line}">')[1].split("</tr>")[0] for line in (4, 5, 6)}
    assert "email" in rows[4] and "Not a valid email address." in rows[4]
    assert "team" in rows[5] and "'SUPPORT' clashes with team 'Support'" in rows[5]
    assert "already on line 2" in rows[6]
    assert _people() == before


@pytest.mark.parametrize(("content", "error"), [
    (b"", "choose the organisation file"),
    ("name,email,team\nZo\u00eb,zoe@example.com,Support\n".encode("latin-1"), "line 2 is not UTF-8 text"),
])
def test_an_empty_or_unreadable_file_is_refused_at_the_field(hr, content, error):
    before = _people()
    answer = _upload(hr, content)
    assert answer.status_code == 400 and error in answer.get_data(as_text=True)
    assert _people() == before


def test_a_file_without_the_needed_columns_says_which(hr):
    page = html.unescape(_upload(hr, b"full name,mail\nAnn,ann@example.com\n").get_data(as_text=True))
    assert "missing column(s) name, email, team" in page


def test_a_file_over_what_a_page_imports_is_sent_to_the_command(hr, app):
    notes = "x" * 100_000  # under the csv module's field limit; 11 rows are over the page's megabyte
    rows = "".join(f"P{n},p{n}@example.com,Support,{notes}\n" for n in range(11))
    before = _people()
    answer = _upload(hr, f"name,email,team,notes\n{rows}".encode())
    assert answer.status_code == 400 and "over the 1 MB a page imports: import it on the server with plaudit org " \
                                         "import FILE" in answer.get_data(as_text=True)
    assert _people() == before


def test_a_field_longer_than_csv_reads_is_named_by_its_line(hr):
    answer = _upload(hr, f"name,email,team,notes\nEve,eve@example.com,Support,{'x' * 200_000}\n".encode())
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400 and '<tr data-line="2">' in page
    assert "not readable as CSV from this line: field larger than field limit (131072)" in page


def test_spreadsheet_headings_and_trailing_empty_rows_are_read(hr):
    content = "Name, Email ,TEAM,Lead,Identities,Started_On\nEve,eve@example.com,Returns,,,\n,,,,,\n,,,,,\n"
    answer = _upload(hr, content.encode())
    assert answer.status_code == 200 and "Imported 1 person" in answer.get_data(as_text=True)


def test_a_file_separated_by_semicolons_is_told_so(hr):
    page = html.unescape(_upload(hr, b"name;email;team\nEve;eve@example.com;Returns\n").get_data(as_text=True))
    assert "(the columns are separated by ';': save the file as CSV with commas)" in page


def test_a_reload_of_the_page_an_import_answered_imports_nothing_again(hr, app):
    page = hr.get("/people/import").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "sending": re.search(r'name="sending" type="hidden" value="([^"]+)"',
                                                                 page).group(1)}
    sent = lambda: hr.post("/people/import", content_type="multipart/form-data",
                           data={**form, "file": (io.BytesIO(GOOD.encode()), "people.csv")})
    assert 'data-outcome="imported"' in sent().get_data(as_text=True)
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "eve@example.com"]).exit_code == 0
    again = sent()  # the browser sends the same form again
    assert again.status_code == 200 and "data-sent-again" in again.get_data(as_text=True)
    with transaction() as session:
        assert session.scalar(select(Employee.active).where(Employee.email == "eve@example.com")) is False


def test_after_a_check_the_next_sending_imports(hr):
    page = _upload(hr, GOOD.encode(), check_only="y").get_data(as_text=True)
    assert 'data-outcome="checked"' in page and 'checked id="check_only"' not in page
