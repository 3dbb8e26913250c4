"""HR's template pages: only HR, importing a CSV through the web, editing into a new version, constant queries."""
from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from channels.mystery_shopper.importers import R3XIMOUS_COLUMNS, read_template
from channels.mystery_shopper.models import Assignment, ReportTemplate
from channels.mystery_shopper.template import validate_template
from core.db import transaction
from core.models import AuditEntry, User
from tests.channels.mystery_shopper.test_import import R3XIMOUS
from tests.channels.mystery_shopper.visits import (
    DUE,
    TEMPLATE,
    VISIT_FROM,
    VISIT_UNTIL,
    send_shoppers,
)
from tests.fixtures.app import row_counts, statements_of_page
from tests.fixtures.org import csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")

BASE = "/channels/mystery_shopper"


@pytest.fixture
def visits(worked_example):
    """Branch visit v1 (service 0.6, product 0.4), which Sam's and Olga's assignments use."""
    return send_shoppers(worked_example)


def _client(app, email):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _token(client) -> str:
    return csrf_token(client.get(f"{BASE}/templates/import").get_data(as_text=True))


def _upload(client, body: bytes, **fields):
    form = {"format": "r3ximous", "slug": "service-centre", "title": "Service centre visit", "note": "",
            **fields, "csrf_token": _token(client), "file": (io.BytesIO(body), "questions.csv")}
    return client.post(f"{BASE}/templates/import", data=form, content_type="multipart/form-data")


def _csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, R3XIMOUS_COLUMNS, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _editor_form(client, template_id) -> dict[str, str]:
    """The editor's fields as the page fills them in."""
    page = client.get(f"{BASE}/templates/{template_id}/edit").get_data(as_text=True)
    form = {name: html.unescape(value) for name, value in re.findall(r'<input[^>]*name="([^"]+)" value="([^"]*)"', page)}
    form.pop("section", None)
    form.pop("section_title", None)
    form["advanced"] = html.unescape(re.search(r'<textarea id="advanced"[^>]*>(.*?)</textarea>', page, re.DOTALL).group(1))
    return form


def _versions(app, slug="branch-visit"):
    with app.app_context(), transaction() as session:
        return {t.version: (t.id, t.title, t.document, t.note) for t in
                session.scalars(select(ReportTemplate).where(ReportTemplate.slug == slug))}


def test_only_hr_opens_and_sends_the_template_pages(app, visits):
    urls = [f"{BASE}/templates", f"{BASE}/templates/{visits.template_id}", f"{BASE}/templates/import",
            f"{BASE}/templates/{visits.template_id}/edit"]
    hr = _client(app, "hr@example.com")
    for url in urls:
        assert hr.get(url).status_code == 200, url
    hr_form = _editor_form(hr, visits.template_id)
    for email in ("mia@example.com", "ann@example.com", "admin@example.com", "shopper@example.com"):
        client = _client(app, email)
        for url in urls:
            assert client.get(url).status_code == 403, (email, url)
        token = csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))
        before = row_counts(app)
        assert client.post(urls[3], data={**hr_form, "csrf_token": token}).status_code == 403, email
        assert client.post(urls[2], data={"format": "r3ximous", "slug": "x", "title": "X", "csrf_token": token,
                                          "file": (io.BytesIO(b"Criteria\n"), "x.csv")},
                           content_type="multipart/form-data").status_code == 403, email
        assert row_counts(app) == before, email


def test_the_r3ximous_questionnaire_imports_through_the_web(app, worked_example, shared_data):
    hr = _client(app, "hr@example.com")
    response = _upload(hr, (shared_data / R3XIMOUS).read_bytes(), note="from the agency's spreadsheet")
    assert response.status_code == 302
    (published,) = _versions(app, "service-centre").values()
    template_id, title, document, note = published
    assert (title, note) == ("Service centre visit", "from the agency's spreadsheet")
    # Exactly what `plaudit mystery import-template` publishes: the file's 94 rows less the 2 marked deleted.
    notes: list[str] = []
    expected = validate_template(read_template(shared_data / R3XIMOUS, "r3ximous", notes))
    assert document == expected and len(document["questions"]) == 92 and len(notes) >= 2
    assert response.headers["Location"].endswith(f"{BASE}/templates/{template_id}")
    with app.app_context(), transaction() as session:
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "mystery_template.published"))
        assert audit.after["questions"] == len(expected["questions"]) and audit.actor_id == worked_example.hr
    page = hr.get(response.headers["Location"]).get_data(as_text=True)
    assert len(re.findall(r'data-question="', page)) == len(expected["questions"])
    for note in notes:  # the rows skipped or left unscored are told, as the command tells them
        assert f"Note: {note}" in html.unescape(page)
    assert re.search(r'<p class="ms-ar" dir="rtl" lang="ar">[^<]*[\u0600-\u06ff]', page)
    # The questionnaire's skip rules, in words.
    assert "Skip logic: shown only when Q18 is answered Yes, both were available (1) or Only Ladies/ Gents" in page
    # Importing under the same key again publishes version 2 and keeps version 1.
    assert _upload(hr, (shared_data / R3XIMOUS).read_bytes()).status_code == 302
    assert sorted(_versions(app, "service-centre")) == [1, 2]


def test_a_bad_import_is_refused_at_each_field_and_publishes_nothing(app, worked_example):
    hr = _client(app, "hr@example.com")
    before = row_counts(app)
    missing = _upload(hr, b"Criteria,Question\nService,Hello?\n", slug="no spaces allowed", title="")
    page = missing.get_data(as_text=True)
    assert missing.status_code == 400
    assert re.search(r'id="file-error"><p>questions.csv: missing column\(s\): Quet.Nr', page)
    assert 'id="slug-error"' in page and 'id="title-error"' in page
    broken = _upload(hr, _csv([{"Criteria": "Service", "Quet.Nr": "Q1", "Question": "Greeted?",
                                "Possible Answers": "1.Yes (1)\n2.No (0)", "Skips & Triggers": "show if Q9 is 1"}]))
    assert broken.status_code == 400
    assert "row 2, Skips &amp; Triggers: Q9 is not a question with answers" in broken.get_data(as_text=True)
    latin1 = _upload(hr, "Criteria,Quet.Nr\nCafé,1\n".encode("latin-1"))
    assert latin1.status_code == 400 and "is not UTF-8 text" in latin1.get_data(as_text=True)
    nothing = hr.post(f"{BASE}/templates/import", data={"slug": "x", "title": "X", "csrf_token": _token(hr)})
    page = nothing.get_data(as_text=True)
    assert nothing.status_code == 400 and 'id="file-error"' in page and 'id="format-error"' in page
    assert row_counts(app) == before


def test_a_bad_weight_sum_is_refused_at_the_field_and_nothing_is_published(app, visits):
    hr = _client(app, "hr@example.com")
    url = f"{BASE}/templates/{visits.template_id}/edit"
    form = _editor_form(hr, visits.template_id)
    assert (form["weight-service"], form["weight-product"]) == ("0.6", "0.4")
    assert '"weight"' not in form["advanced"]  # the weights have fields of their own
    before = row_counts(app)
    response = hr.post(url, data={**form, "weight-service": "0.7"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'id="weights-error"><p>the section weights sum to 1.1; they must sum to 1</p>', page)
    assert 'value="0.7"' in page  # what HR typed stays in the field
    typo = hr.post(url, data={**form, "weight-product": "forty"}).get_data(as_text=True)
    assert re.search(r'id="weight-product-error"><p>&#39;forty&#39; is not a number', typo)
    zero = hr.post(url, data={**form, "weight-service": "1", "weight-product": "0"}).get_data(as_text=True)
    assert re.search(r'id="weight-product-error"><p>Must be greater than 0', zero)
    wrong = form["advanced"].replace('"type": "number"', '"type": "numeric"')
    bad_json = hr.post(url, data={**form, "advanced": wrong}).get_data(as_text=True)
    assert re.search(r'id="advanced-error"><p>questions.2.type: Must be one of', bad_json)
    added = form["advanced"].replace('"sections": [', '"sections": [{"key": "extras", "title": "Extras"}, ', 1)
    new_section = hr.post(url, data={**form, "advanced": added}).get_data(as_text=True)
    assert re.search(r'id="weight-extras" name="weight-extras" value=""', new_section)
    assert re.search(r'id="weight-extras-error"><p>give the section a weight', new_section)
    unchanged = hr.post(url, data=form)
    assert unchanged.status_code == 400 and "Nothing changed: the draft is the same as version 1" in \
        unchanged.get_data(as_text=True)
    assert row_counts(app) == before


def test_a_new_version_keeps_the_old_one_and_its_assignments_intact(app, visits):
    hr = _client(app, "hr@example.com")
    (old,) = _versions(app).values()
    form = _editor_form(hr, visits.template_id)
    advanced = form["advanced"].replace("Were you greeted within a minute?", "Were you greeted at once?")
    response = hr.post(f"{BASE}/templates/{visits.template_id}/edit",
                       data={**form, "weight-service": "0.5", "weight-product": "0.5", "advanced": advanced,
                             "note": "service and product count alike"})
    assert response.status_code == 302
    versions = _versions(app)
    assert response.headers["Location"].endswith(f"{BASE}/templates/{versions[2][0]}")
    assert versions[1] == old and old[2] == validate_template(TEMPLATE)
    _, _, document, note = versions[2]
    assert [s["weight"] for s in document["sections"]] == [0.5, 0.5]
    assert document["questions"][0]["text"] == "Were you greeted at once?"
    assert note == "service and product count alike"
    with app.app_context(), transaction() as session:
        used = set(session.scalars(select(Assignment.template_id)))
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "mystery_template.published")
                               .order_by(AuditEntry.id.desc()).limit(1))
    assert used == {visits.template_id}
    assert (audit.after["version"], audit.before) == (2, {"version": 1})
    listing = hr.get(f"{BASE}/templates").get_data(as_text=True)
    counts = re.findall(r'data-version="(\d+)">.*?data-figure="assignments">(\d+)<', listing, re.DOTALL)
    assert counts == [("2", "0"), ("1", "2")]
    # Editing from version 1 once version 2 exists says so rather than replacing it unseen.
    stale = hr.post(f"{BASE}/templates/{visits.template_id}/edit", data={**form, "weight-service": "0.55",
                                                                         "weight-product": "0.45"})
    assert stale.status_code == 400 and "Version 2 of branch-visit was published since" in \
        stale.get_data(as_text=True)


def test_the_list_and_show_pages_issue_the_same_queries_however_many_versions(app, worked_example, visits):
    def queries(client, url) -> int:
        return statements_of_page(app, client, url)

    hr = _client(app, "hr@example.com")
    urls = (f"{BASE}/templates", f"{BASE}/templates/{visits.template_id}")
    few = {url: queries(hr, url) for url in urls}
    with app.app_context(), transaction() as session:
        hr_id = session.scalar(select(User.id).where(User.email == "hr@example.com"))
        document = validate_template(TEMPLATE)
        session.execute(insert(ReportTemplate), [
            {"slug": f"visit-{n % 5}", "version": n // 5 + 1, "title": f"Visit {n}", "document": document,
             "note": f"version {n}", "created_by": hr_id} for n in range(40)])
        session.execute(insert(Assignment), [
            {"template_id": visits.template_id, "shopper_id": visits.shoppers["sam"],
             "employee_id": worked_example.ids["bob"], "scenario": f"Visit {n}", "due_at": DUE,
             "visit_from": VISIT_FROM, "visit_until": VISIT_UNTIL + timedelta(minutes=n)} for n in range(60)])
    for url in urls:
        assert queries(hr, url) == few[url], url
    listing = hr.get(urls[0]).get_data(as_text=True)
    assert len(re.findall(r"data-version=", listing)) == 41
    assert 'data-figure="assignments">62<' in listing
