"""HR's guideline pages: the version in force and its history, diffs, the editor that publishes, the preview.

The preview's numbers are checked by hand (tests/appraisal/test_by_hand.py, re-weighted 50/50) and against a
real run under the draft once it is published.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import event, func, insert, select

from appraisal.guideline_schema import validate_guideline
from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalRun, Guideline
from appraisal.preview import preview_guideline
from appraisal.results import run_rows
from core.db import get_session, transaction
from core.models import AuditEntry, Employee, Feedback, Team
from core.plugins import get_plugins
from tests.fixtures.app import row_counts
from tests.fixtures.appraisal import BEFORE, GUIDELINE, WEEK
from tests.fixtures.org import csrf_token, sign_in

# Ann 0.5*75 + 0.5*64.5833, Bob 0.5*68.75 + 0.5*72.9167, Dan 0.5*61.9048 + 0.5*54.1667 (see test_by_hand.py).
EVEN = {"Ann": 69.7917, "Bob": 70.8333, "Dan": 58.0357}


class _Form(HTMLParser):
    """The fields of the guideline editor as a browser would send them (without pressing a button)."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            if attrs.get("type") != "checkbox" or "checked" in attrs:
                self.fields.append((attrs["name"], attrs.get("value") or ""))
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields.append((self._select, attrs["value"]))
        elif tag == "textarea":
            self._textarea, self._text = attrs["name"], ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, unescape(self._text)))
            self._textarea = None


def _editor_fields(client) -> list[tuple[str, str]]:
    page = client.get("/guidelines/edit")
    assert page.status_code == 200
    parser = _Form()
    parser.feed(page.get_data(as_text=True).split('id="guideline-editor"', 1)[1])
    return parser.fields


def _draft(client, **changes) -> dict[str, list[str]]:
    """The editor's prefilled fields with ``changes`` (``weight_nps="50"`` sets ``weight-nps``)."""
    data: dict[str, list[str]] = {}
    for name, value in _editor_fields(client):
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        data[name.replace("_", "-", 1) if name.startswith(("weight_", "settings_")) else name] = (
            value if isinstance(value, list) else [value])
    return data


@contextmanager
def _db():
    """A unit of work of the test's own, once the requests' shared session (the held app context) let go."""
    get_session().rollback()
    with transaction() as session:
        yield session


def _rows_now(app) -> dict[str, int]:
    """Rows in every table, once the requests' shared session has let go of SQLite's lock."""
    get_session().rollback()
    return row_counts(app)


def _error(html: str, field: str) -> str:
    match = re.search(rf'<div class="error" id="{re.escape(field)}-error">(.*?)</div>', html, re.DOTALL)
    assert match, f"no error shown at {field}"
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1)))


def _cells(html: str) -> dict[str, dict[str, str]]:
    """The preview's table: per employee name, each cell by its class."""
    rows = {}
    for body in re.findall(r"<tr data-employee=\"\d+\"[^>]*>(.*?)</tr>", html, re.DOTALL):
        cells = re.findall(r'<td(?: class="([^"]*)")?>(.*?)</td>', body, re.DOTALL)
        texts = [(cls, unescape(re.sub(r"<[^>]+>", "", text)).strip()) for cls, text in cells]
        rows[texts[0][1]] = {cls.split()[-1]: text for cls, text in texts if cls}
    return rows


@pytest.fixture
def hr(client, worked_example):
    assert sign_in(client, "hr@example.com").status_code == 302
    return client


# --- access ---------------------------------------------------------------------------------------------------


def test_only_hr_opens_or_sends_the_guideline_pages(app, client, worked_example):
    worked_example.run()
    pages = ["/guidelines", "/guidelines/1", "/guidelines/diff?from=1&to=1", "/guidelines/diff",
             "/guidelines/edit"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302 and "/login" in response.headers["Location"], page
    for email in ("mia@example.com", "ann@example.com", "admin@example.com"):
        other = app.test_client()
        assert sign_in(other, email).status_code == 302
        token = csrf_token(other.get("/", follow_redirects=True).get_data(as_text=True))
        for page in pages:
            assert other.get(page).status_code == 403, (email, page)
        before = _rows_now(app)
        for form in ("/guidelines/edit", "/guidelines/preview"):
            response = other.post(form, data={"csrf_token": token, "rule": "csat_percent",
                                              "weight-csat_percent": "100", "action": "publish"})
            assert response.status_code == 403, (email, form)
        assert _rows_now(app) == before
    hr = app.test_client()
    sign_in(hr, "hr@example.com")
    assert [hr.get(page).status_code for page in pages] == [200] * len(pages)


# --- reading --------------------------------------------------------------------------------------------------


def test_index_shows_the_version_in_force_readably_and_the_history(hr, worked_example):
    with _db() as session:
        publish_guideline(session, {**GUIDELINE, "comment_visibility": "none"}, actor=worked_example.hr,
                          note="no comments for now")
    html = hr.get("/guidelines").get_data(as_text=True)
    assert "Version <strong>2</strong> is in force: no comments for now" in html
    assert "CSAT %" in html and "(csat_percent)" in html and "(nps)" in html
    assert "<dt>Employees read</dt><dd>no comments (none)</dd>" in html
    assert "<dt>Minimum sample</dt><dd>4 items" in html
    assert "composite ≥ 70, percentile ≥ 90, no open integrity flags" in html  # the Gold tier's conditions
    history = re.findall(r'<td class="num"><a href="/guidelines/(\d)">v\d</a></td>\s*<td>([^<]*)</td>', html)
    assert history == [("2", "Hana HR"), ("1", "Hana HR")]
    assert 'href="/guidelines/diff?from=1&amp;to=2"' in html
    one = hr.get("/guidelines/1").get_data(as_text=True)
    assert "Guideline version 1" in one and "in force" not in one.split("<h1>")[1].split("</h1>")[0]
    assert "worked example" in one and "Changes since, up to version 2" in one
    assert '"weight": 60' in unescape(one)  # the JSON, as HR would write it
    assert hr.get("/guidelines/7").status_code == 404


def test_a_stored_version_this_release_would_refuse_is_pointed_out(app, hr, worked_example):
    """A tier nobody can meet, published before the check existed, was used by every run without a word."""
    with _db() as session:  # as an earlier version stored it: straight in, past today's checks
        impossible = validate_guideline(GUIDELINE, get_plugins())
        impossible["incentives"]["tiers"][0]["conditions"]["min_composite"] = 101
        session.add(Guideline(version=2, document=impossible, note="before the checks"))
    html = unescape(hr.get("/guidelines").get_data(as_text=True))
    assert "The version in force would not be published today" in html
    assert "incentives.tiers.0.conditions.min_composite: a composite runs from 0 to 100" in html
    assert "publish a corrected version" in html
    assert "would not be published" not in hr.get("/guidelines/1").get_data(as_text=True)  # v1 is fine

    get_session().rollback()  # the requests' shared session lets go of SQLite's lock
    result = app.test_cli_runner().invoke(args=["guidelines", "check"])
    assert result.exit_code == 1
    assert "v1: valid" in result.output and "v2: in force, refused today" in result.output
    assert "the version in force would be refused today" in result.output
    with _db() as session:
        publish_guideline(session, GUIDELINE, actor=worked_example.hr, note="corrected")
    assert "would not be published" not in hr.get("/guidelines").get_data(as_text=True)
    get_session().rollback()
    assert app.test_cli_runner().invoke(args=["guidelines", "check"]).exit_code == 0


def test_diff_page_and_its_parameters(hr, worked_example):
    with _db() as session:
        metrics = [{"rule": "csat_percent", "weight": 50}, {"rule": "nps", "weight": 50}]
        publish_guideline(session, {**GUIDELINE, "metrics": metrics, "comment_visibility": "all"},
                          actor=worked_example.hr, note="even weights")
    html = unescape(hr.get("/guidelines/diff?from=1&to=2").get_data(as_text=True))
    rows = re.findall(r"<tr><td><code>(.*?)</code></td><td class=\"before\"><code>(.*?)</code></td>"
                      r"<td class=\"after\"><code>(.*?)</code></td></tr>", html)
    assert rows == [("comment_visibility", '"redacted"', '"all"'), ("metrics[csat_percent].weight", "60", "50"),
                    ("metrics[nps].weight", "40", "50")]
    assert unescape(hr.get("/guidelines/diff").get_data(as_text=True)).count("<code>metrics[nps].weight") == 1
    same = hr.get("/guidelines/diff?from=2&to=2").get_data(as_text=True)
    assert "Choose two different versions" in same
    for query, status, message in [("from=abc&to=2", 400, "from: give a whole number from 1"),
                                   ("from=1", 400, "Parameter 'to' is missing"),
                                   ("from=0&to=1", 400, "from: give a whole number from 1"),
                                   ("from=1&to=99999999999999999999", 400, "to: give a whole number from 1"),
                                   ("from=1&to=9", 404, "Parameter 'to': there is no guideline version 9")]:
        response = hr.get(f"/guidelines/diff?{query}")
        assert response.status_code == status, query
        assert message in unescape(response.get_data(as_text=True)), query


# --- editing --------------------------------------------------------------------------------------------------


def test_editor_is_prefilled_from_the_version_in_force(hr):
    html = hr.get("/guidelines/edit").get_data(as_text=True)
    fields = dict(_editor_fields(hr))
    assert (fields["weight-csat_percent"], fields["weight-nps"]) == ("60", "40")
    assert (fields["min_sample"], fields["shrinkage_strength"], fields["comment_visibility"]) == ("4", "2", "redacted")
    assert (fields["budget_cap"], fields["budget_allocation"], fields["approval_required"]) == (
        "130", "rank_order", "bonus")
    # the other loaded rules are there to add, without a weight
    assert fields["weight-csat_mean"] == "" and "csat_mean" in [v for k, v in _editor_fields(hr) if k == "rule"]
    assert '"tiers"' in unescape(fields["advanced"]) and '"metrics"' not in unescape(fields["advanced"])
    assert "Weights sum to 100" in html
    # the script is served by the app, and nothing runs inline (the CSP would refuse it)
    assert '<script src="/static/guideline-editor.js" defer></script>' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [] and "style=" not in html
    assert hr.get("/static/guideline-editor.js").status_code == 200


def test_invalid_draft_is_refused_at_each_field_and_nothing_is_published(app, hr):
    advanced = unescape(dict(_editor_fields(hr))["advanced"]).replace('"coaching"', '"termination"', 1)
    data = _draft(hr, weight_nps="30", budget_cap="-5", settings_csat_percent="{min_n: 3", advanced=advanced,
                  action="publish")
    before = _rows_now(app)
    response = hr.post("/guidelines/edit", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Nothing was published" in html
    assert "metrics: weights must sum to 100; these sum to 90" in _error(html, "weights")
    assert "Weights sum to 90 - must be 100" in html
    assert "incentives.budget.cap: give an amount from 0 to 1,000,000,000" in _error(html, "budget_cap")
    assert "csat_percent: its settings are not valid JSON" in _error(html, "settings-csat_percent")
    assert "incentives.tiers.2.gives.0.kind: 'termination' is a sanction" in _error(html, "advanced")
    assert 'id="budget_cap" name="budget_cap" value="-5" inputmode="decimal" aria-invalid="true"' in html
    # HR's input is kept as typed
    fields = dict(_fields_of(html))
    assert (fields["weight-nps"], fields["budget_cap"], fields["settings-csat_percent"]) == ("30", "-5", "{min_n: 3")
    assert '"termination"' in unescape(fields["advanced"])
    assert _rows_now(app) == before
    # an unchanged draft is refused too, saying why
    unchanged = hr.post("/guidelines/edit", data=_draft(hr, action="publish"))
    assert unchanged.status_code == 400
    assert "Nothing changed: the draft is the same as version 1." in unescape(unchanged.get_data(as_text=True))
    assert _rows_now(app) == before


def _fields_of(html: str) -> list[tuple[str, str]]:
    parser = _Form()
    parser.feed(html.split('id="guideline-editor"', 1)[1])
    return parser.fields


def test_publishing_makes_version_2_audited_and_shows_it(hr, worked_example):
    data = _draft(hr, weight_csat_percent="50", weight_nps="50", note="even weights", action="publish")
    response = hr.post("/guidelines/edit", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/guidelines/2"
    page = hr.get("/guidelines/2").get_data(as_text=True)
    assert "Published guideline version 2." in page and "in force" in page
    with _db() as session:
        v1, v2 = session.scalars(select(Guideline).order_by(Guideline.version)).all()
        assert [(m["rule"], m["weight"]) for m in v2.document["metrics"]] == [("csat_percent", 50), ("nps", 50)]
        assert (v2.created_by, v2.note) == (worked_example.hr, "even weights")
        # everything the editor did not touch is as it was
        assert {k: v for k, v in v2.document.items() if k != "metrics"} == {
            k: v for k, v in v1.document.items() if k != "metrics"}
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "guideline.published")
                                .order_by(AuditEntry.id)).all()[-1]
        assert (audit.entity_type, audit.entity_id, audit.actor_id, audit.note) == (
            "guidelines", str(v2.id), worked_example.hr, "even weights")
        assert (audit.before, audit.after) == (v1.document, v2.document)
    # a draft opened on version 1 cannot silently replace version 2
    stale = hr.post("/guidelines/edit", data={**data, "weight-csat_percent": ["70"], "weight-nps": ["30"],
                                              "base_version": ["1"]})
    assert stale.status_code == 400
    assert "Version 2 was published since you opened the editor" in stale.get_data(as_text=True)
    # what publishing the draft would undo of version 2, and where to read what version 2 changed
    page = " ".join(stale.get_data(as_text=True).split())
    assert "<h2>Nothing was published:</h2>" in page  # nothing in a field to fix
    assert ("Publishing your draft would change version 2 like this:" in page
            and "<code>metrics[csat_percent].weight</code>: 50 → 70" in page
            and "<code>metrics[nps].weight</code>: 50 → 30" in page)
    assert 'href="/guidelines/diff?to=2&amp;from=1"' in page
    with _db() as session:
        assert session.scalar(select(func.max(Guideline.version))) == 2


def test_rules_are_added_and_removed_and_settings_kept(hr):
    data = _draft(hr, weight_csat_percent="70", weight_nps="", weight_csat_mean="30",
                  settings_csat_percent='{"min_n": 6, "target_bounds": {"min": 40, "max": 100}}',
                  settings_nps='{"min_n": 99}', comment_visibility="positive_only",
                  approval_required=["bonus", "coaching"], min_sample="5", action="publish")
    response = hr.post("/guidelines/edit", data=data)
    assert response.status_code == 302, _error(response.get_data(as_text=True), "weights")
    with _db() as session:
        document = session.scalar(select(Guideline.document).where(Guideline.version == 2))
    assert [(m["rule"], m["weight"], m["min_n"]) for m in document["metrics"]] == [
        ("csat_percent", 70, 6), ("csat_mean", 30, None)]
    assert document["metrics"][0]["target_bounds"] == {"min": 40, "max": 100}
    assert (document["comment_visibility"], document["approval_required"], document["min_sample"]) == (
        "positive_only", ["bonus", "coaching"], 5)
    # the editor now shows the removed rule among those to add, and keeps the new rule's place
    fields = _editor_fields(hr)
    assert [v for k, v in fields if k == "rule"][:2] == ["csat_percent", "csat_mean"]
    assert dict(fields)["weight-nps"] == ""


# --- preview --------------------------------------------------------------------------------------------------


def test_preview_matches_the_hand_numbers_and_a_real_run_under_the_draft(app, hr, worked_example):
    first = worked_example.run()
    data = _draft(hr, weight_csat_percent="50", weight_nps="50", note="even weights")
    before = _rows_now(app)
    response = hr.post("/guidelines/preview", data={**data, "action": ["preview"]})
    assert response.status_code == 200
    assert _rows_now(app) == before, "the preview wrote something"
    html = response.get_data(as_text=True)
    assert f"Run {first} appraised this period under version 1" in html
    cells = _cells(html)
    for name, composite in EVEN.items():
        assert float(cells[name]["composite-after"]) == pytest.approx(composite, abs=0.005), name
    assert {n: (cells[n]["rank-before"], cells[n]["rank-after"]) for n in EVEN} == {
        "Ann": ("1 of 3", "2 of 3"), "Bob": ("2 of 3", "1 of 3"), "Dan": ("3 of 3", "3 of 3")}
    assert cells["Cat"]["composite-after"] == "—"
    assert "rank 1 → 2 of 3" in html and "<strong>2</strong> change rank" in html
    assert "recommendations: + bonus 100.00, + recognition, − bonus 30.00" in unescape(html)  # Bob's

    # Publish the same draft from the preview page (no script), run the period again, and compare with what
    # stands for the period after it: what the first run approved, and what the re-run added.
    assert hr.post("/guidelines/edit", data={**data, "action": ["publish"]}).status_code == 302
    second = worked_example.run()
    with _db() as session:
        run = session.get(AppraisalRun, second)
        assert run.guideline.version == 2
        rows = {row["employee"]: row for row in run_rows(session, run)}
    for name, row in rows.items():
        shown = cells[name]["composite-after"]
        assert shown == (f"{row['composite']:.2f}" if row["composite"] is not None else "—"), name
        rank = cells[name]["rank-after"]
        assert rank == (f"{row['rank']} of {row['peers']}" if row["rank"] is not None else "—"), name
        standing = sorted(r["kind"] if r["kind"] != "bonus" else f"bonus {r['amount']:.2f}"
                          for r in row["recommendations"] if r["status"] != "rejected")
        assert cells[name]["offers-after"] == ", ".join(standing), name
    # Gold moves to Bob; Dan's Silver gets the 30 left of the 130 cap; Ann keeps the recognition approved as the
    # first run was made (it needs no approval), but not her bonus, which awaited one
    assert (cells["Bob"]["offers-after"], cells["Dan"]["offers-after"], cells["Ann"]["offers-after"]) == (
        "bonus 100.00, recognition, training", "bonus 30.00, coaching, training", "recognition")


def test_preview_computes_exactly_what_a_run_stores(app, worked_example):
    worked_example.run()
    with transaction() as session:
        document = {**GUIDELINE, "metrics": [{"rule": "csat_percent", "weight": 50}, {"rule": "nps", "weight": 50}]}
        preview = preview_guideline(session, validate_guideline(document, get_plugins()), get_plugins())
        session.rollback()
    by_name = {row.name: row for row in preview.rows}
    for name, composite in EVEN.items():
        assert by_name[name].after.composite == pytest.approx(composite, abs=1e-4)
    with _db() as session:
        publish_guideline(session, document)
    with _db() as session:
        rows = run_rows(session, session.get(AppraisalRun, worked_example.run()))
    for row in rows:
        after = by_name[row["employee"]].after
        assert (after.composite, after.rank, after.percentile) == (row["composite"], row["rank"], row["percentile"])


def test_preview_without_a_completed_run_and_with_an_invalid_draft(app, hr):
    data = _draft(hr, weight_nps="50", weight_csat_percent="50", action="preview")
    response = hr.post("/guidelines/preview", data=data)
    assert response.status_code == 200
    assert "No appraisal run has completed yet" in response.get_data(as_text=True)
    before = _rows_now(app)
    bad = hr.post("/guidelines/preview", data={**data, "weight-nps": ["45"]})
    assert bad.status_code == 400 and "The draft cannot be previewed. Fix this:" in bad.get_data(as_text=True)
    assert "weights must sum to 100; these sum to 95" in _error(bad.get_data(as_text=True), "weights")
    # a weight that is not a number is named, not a server error
    typo = hr.post("/guidelines/preview", data={**data, "weight-nps": ["abc"]})
    assert typo.status_code == 400 and "Not a valid number" in unescape(typo.get_data(as_text=True))
    assert _rows_now(app) == before


def test_the_preview_page_without_scripts_can_go_back_to_the_editor_or_publish(hr, worked_example):
    worked_example.run()
    data = _draft(hr, weight_nps="50", weight_csat_percent="50", note="from the preview", action="preview")
    html = hr.post("/guidelines/preview", data=data).get_data(as_text=True)
    form = html.split('<form method="post" action="/guidelines/edit"', 1)[1]
    assert 'name="weight-nps" value="50"' in form and 'name="note" value="from the preview"' in form
    parser = _Form()
    parser.feed(form)
    back = {}
    for name, value in parser.fields:
        back.setdefault(name, []).append(value)
    revised = hr.post("/guidelines/edit", data={**back, "action": ["revise"]})
    assert revised.status_code == 200 and dict(_fields_of(revised.get_data(as_text=True)))["weight-nps"] == "50"
    assert hr.post("/guidelines/edit", data={**back, "action": ["publish"]}).status_code == 302
    with _db() as session:
        assert session.scalar(select(Guideline.note).where(Guideline.version == 2)) == "from the preview"


# --- queries --------------------------------------------------------------------------------------------------


def _grow(example, employees: int) -> None:
    """Add ``employees`` agents to Support with a week's feedback each, in a few statements; appraise again."""
    with _db() as session:
        support = session.scalar(select(Team.id).where(Team.slug == "support"))
        ids = session.scalars(insert(Employee).returning(Employee.id), [
            {"name": f"Agent {n:04d}", "email": f"agent{n:04d}@example.com", "team_id": support}
            for n in range(employees)]).all()
        items = []
        for index, employee_id in enumerate(ids):
            for k in range(6):
                kind, value, scale = ("csat", float(1 + (index + k) % 5), (1.0, 5.0)) if k % 2 else (
                    "nps", float((index * 3 + k) % 11), (0.0, 10.0))
                for period in (WEEK, BEFORE):
                    items.append({"channel": "test", "kind": kind, "external_id": f"g{employee_id}-{k}-{period.kind}"
                                  f"{period.start:%m%d}", "value": value, "scale_min": scale[0],
                                  "scale_max": scale[1], "employee_id": employee_id, "team_id": support,
                                  "status": "accepted", "payload": {},
                                  "occurred_at": period.start + timedelta(days=k % 5, hours=9)})
        session.execute(insert(Feedback), items)
        for n in range(5):  # and a longer history
            publish_guideline(session, {**GUIDELINE, "min_sample": 4 + n}, actor=example.hr, note=f"try {n}")
    example.run()


def test_pages_issue_as_many_queries_for_a_large_org_as_for_a_small_one(app, hr, worked_example):
    worked_example.run()
    with _db() as session:
        publish_guideline(session, {**GUIDELINE, "min_sample": 3}, actor=worked_example.hr)
    engine = app.extensions["plaudit.db"].engine
    draft = _draft(hr, weight_nps="50", weight_csat_percent="50", action="preview")

    def counts() -> dict[str, int]:
        found = {}
        for name, send in [("index", lambda: hr.get("/guidelines")), ("show", lambda: hr.get("/guidelines/2")),
                           ("diff", lambda: hr.get("/guidelines/diff?from=1&to=2")),
                           ("edit", lambda: hr.get("/guidelines/edit")),
                           ("preview", lambda: hr.post("/guidelines/preview", data=draft))]:
            get_session().rollback()  # as a request's end would: no snapshot carried from one to the next
            statements = []
            listener = lambda *args, sink=statements: sink.append(args[2])
            event.listen(engine, "before_cursor_execute", listener)
            try:
                assert send().status_code == 200, name
            finally:
                event.remove(engine, "before_cursor_execute", listener)
            found[name] = len(statements)
        return found

    small = counts()
    small_html = hr.post("/guidelines/preview", data=draft).get_data(as_text=True)
    _grow(worked_example, 300)
    large = counts()
    large_html = hr.post("/guidelines/preview", data=draft).get_data(as_text=True)
    assert len(_cells(large_html)) == len(_cells(small_html)) + 300  # the preview did see them all
    assert large == small


def test_before_any_guideline_hr_writes_the_first_from_the_default(client, create_user):
    create_user("hr@example.com", roles=["hr"])
    assert sign_in(client, "hr@example.com").status_code == 302
    assert "No guideline is published yet" in client.get("/guidelines").get_data(as_text=True)
    assert client.get("/guidelines/diff").status_code == 404
    fields = dict(_editor_fields(client))
    assert [fields[f"weight-{rule}"] for rule in ("csat_percent", "nps", "first_response_sla", "resolution_sla")] \
        == ["40", "20", "20", "20"]
    data = _draft(client, weight_nps="30", weight_csat_percent="30", note="our first", action="publish")
    response = client.post("/guidelines/edit", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/guidelines/1"
    with _db() as session:
        document = session.scalar(select(Guideline.document).where(Guideline.version == 1))
    assert {m["rule"]: m["weight"] for m in document["metrics"]} == {
        "csat_percent": 30, "nps": 30, "first_response_sla": 20, "resolution_sla": 20}
