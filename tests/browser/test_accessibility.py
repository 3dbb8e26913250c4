"""The pages on a phone-sized screen, by keyboard and by screen reader (WCAG 2.2 AA), in a real browser.

Each role's key pages at 375 px wide: the page never scrolls sideways (a wide table scrolls inside its own
region instead), no column is hidden, a skip link comes first, every form control has a name, and after a
refused form the focus lands on the summary of what to fix.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from appraisal.review import raise_dispute
from channels.mystery_shopper.reports import submit_report
from channels.social_monitoring.sources import save_source
from core.db import transaction
from core.models import Feedback, Team, User
from tests.channels.mystery_shopper.visits import GOOD_ANSWERS, proof, send_shoppers
from tests.fixtures.appraisal import BEFORE
from tests.fixtures.browser import sign_in_browser
from tests.fixtures.org import PASSWORD

PHONE = {"width": 375, "height": 800}
SMALL_PHONE = {"width": 320, "height": 640}

#: How wide the document is against the viewport, and which elements stick out past its right edge.
_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1 && box.width > 0 && !el.closest('.table-wrap, details:not([open])')) {
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
               (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''));
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 5)};
}"""

#: Every visible form control the accessibility tree gives no name (Chromium's own computation).
_ROLES = {"textbox", "combobox", "checkbox", "radio", "spinbutton", "searchbox", "listbox", "slider",
          "textField", "comboBoxSelect", "comboBoxMenuButton", "CheckBox", "RadioButton", "SpinButton"}


def _unnamed_controls(page) -> list[str]:
    client = page.context.new_cdp_session(page)
    try:
        nodes = client.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        client.detach()
    unnamed = []
    for node in nodes:
        role = (node.get("role") or {}).get("value")
        if node.get("ignored") or role not in _ROLES:
            continue
        name = ((node.get("name") or {}).get("value") or "").strip()
        if not name:
            unnamed.append(f"{role} (backend node {node.get('backendDOMNodeId')})")
    return unnamed


def _sign_in_as(page, email: str) -> None:
    page.context.clear_cookies()
    sign_in_browser(page, email, PASSWORD)


def _open(page, url: str) -> None:
    """Open ``url`` with every disclosure open, as a reader who opens them all would see it."""
    response = page.goto(url)
    assert response.status == 200, (url, response.status)
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")


def _hidden_cells(page, url: str) -> list[str]:
    """The first few table cells the page's styles hide (outside anything [hidden])."""
    page.goto(url)
    return page.evaluate("""() => [...document.querySelectorAll('th, td')]
        .filter(cell => getComputedStyle(cell).display === 'none' && !cell.closest('[hidden]'))
        .map(cell => cell.textContent.trim().slice(0, 30))""")[:3]


def _overflow(page, url: str) -> dict | None:
    _open(page, url)
    found = page.evaluate(_OVERFLOW)
    return None if found["scroll"] <= found["width"] else {"url": url, **found}


@pytest.fixture
def example_with_history(worked_example):
    """Two appraised weeks, a dispute of Ann's open, a social source, Sam sent to visit Ann and Olga's report on
    her visit to Dan waiting for review."""
    worked_example.run(period=BEFORE)
    run_id = worked_example.run()
    with transaction() as session:
        ann = session.get(User, worked_example.users["ann"])
        item = session.scalars(select(Feedback).where(Feedback.employee_id == worked_example.ids["ann"])
                               .order_by(Feedback.occurred_at.desc())).first()
        raise_dispute(session, item.id, ann, "This was Bob's ticket, not mine.")
        worked_example.support = session.scalar(select(Team.id).where(Team.slug == "support"))
        hr = session.get(User, worked_example.hr)
        worked_example.source = save_source(session, hr, name="brand-feed", kind="rss",
                                            url="https://example.com/feed.rss", keywords=["plaudit"]).id
    visits = send_shoppers(worked_example)
    with transaction() as session:
        olga = session.get(User, visits.shoppers["olga"])
        worked_example.report = submit_report(session, visits.assignments["olga"], olga, GOOD_ANSWERS, proof()).id
    worked_example.run_id = run_id
    worked_example.visits = visits
    return worked_example


def _pages(example) -> dict[str, list[str]]:
    ann, run = example.ids["ann"], example.run_id
    visit, template = example.visits.assignments["sam"], example.visits.template_id
    return {
        "hr@example.com": [
            "/", f"/report/{ann}", f"/report/{ann}/runs/{run}/csat_percent", "/report/team", "/org", "/team",
            f"/team?team={example.support}", "/targets", "/unattributed", "/guidelines", "/guidelines/1",
            "/guidelines/edit",
            "/review/recommendations", "/review/flags", "/review/disputes", "/runs",
            "/channels/mystery_shopper/assignments", "/channels/mystery_shopper/assignments/new",
            "/channels/mystery_shopper/templates", "/channels/mystery_shopper/templates/import",
            f"/channels/mystery_shopper/templates/{template}", f"/channels/mystery_shopper/templates/{template}/edit",
            f"/channels/mystery_shopper/reviews/{example.report}",
            "/people/new", "/people/import", f"/people/{ann}/edit",
        ],
        "ann@example.com": ["/report", f"/report/{ann}/runs/{run}/nps", "/password"],
        "mia@example.com": [f"/team?team={example.support}", "/review/recommendations", "/review/disputes", "/targets"],
        "admin@example.com": ["/admin/plugins", "/admin/integrations", "/admin/jobs", "/admin/tokens", "/privacy",
                              "/admin/accounts", "/admin/accounts/1",
                              "/channels/social_monitoring/sources",
                              f"/channels/social_monitoring/sources/{example.source}"],
        "shopper@example.com": [f"/channels/mystery_shopper/assignments/{visit}"],
    }


def _found_on_every_page(page, example, look) -> list[tuple[str, object]]:
    """``(url, what look(page, url) found)`` on each page of :func:`_pages` where it found something."""
    found = []
    for email, urls in _pages(example).items():
        _sign_in_as(page, email)
        found += [(url, what) for url in urls if (what := look(page, url))]
    return found


def test_no_page_scrolls_sideways_on_a_phone(browser_page, example_with_history):
    page = browser_page
    page.set_viewport_size(PHONE)
    wide = _found_on_every_page(page, example_with_history, _overflow)
    assert not wide, "\n".join(map(str, wide))


def test_the_narrowest_phones_do_not_scroll_sideways_either(browser_page, example_with_history):
    page = browser_page
    page.set_viewport_size(SMALL_PHONE)
    ann = example_with_history.ids["ann"]
    _sign_in_as(page, "hr@example.com")
    wide = [found for url in ("/report/team", f"/report/{ann}", "/review/flags", "/guidelines/edit", "/org",
                              "/review/recommendations")  # its heading's one long word stuck out by 29 px
            if (found := _overflow(page, url))]
    _sign_in_as(page, "ann@example.com")
    wide += [found for url in ("/report",) if (found := _overflow(page, url))]
    assert not wide, "\n".join(map(str, wide))


def test_no_column_of_a_table_is_hidden_on_a_phone(browser_page, example_with_history):
    """A rule from when only the home table existed hid the 5th column of every table, decisions included."""
    page = browser_page
    page.set_viewport_size(PHONE)
    hidden = _found_on_every_page(page, example_with_history, _hidden_cells)
    assert not hidden, hidden
    _sign_in_as(page, "mia@example.com")
    page.goto("/review/recommendations")
    assert page.locator("table.approvals tbody tr").first.locator("button:has-text('Approve')").is_visible()


def test_a_skip_link_comes_first_and_leads_to_the_content(browser_page, example_with_history):
    page = browser_page
    page.set_viewport_size(PHONE)
    _sign_in_as(page, "ann@example.com")
    page.goto("/report")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    box = skip.bounding_box()
    assert box and box["width"] > 1 and box["y"] >= 0  # shown once it has the focus
    assert skip.inner_text() == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_after_the_skip_link_a_refused_form_still_starts_at_its_summary(browser_page, example_with_history):
    """Forms posted back to the address bar's address, #main and all: the answer opened at <main>, and the
    browser's jump there took the focus from the error summary."""
    page = browser_page
    page.context.clear_cookies()
    page.goto("/login")
    page.keyboard.press("Tab")
    # The skip link has the focus before Enter follows it: pressed at once, on a busy machine, it went nowhere.
    page.wait_for_function("() => document.activeElement && document.activeElement.matches('.skip')", timeout=3000)
    page.keyboard.press("Enter")
    page.wait_for_url("**/login#main", timeout=3000)
    page.fill("input[name=email]", "ann@example.com")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert not page.url.endswith("#main")
    page.wait_for_function("() => document.activeElement && document.activeElement.matches('.error-summary')",
                           timeout=3000)


def test_every_form_control_has_a_name(browser_page, example_with_history):
    # Imported here: without playwright the browser fixture skips the test rather than fail its import.
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size(PHONE)
    unnamed = _found_on_every_page(page, example_with_history,
                                   lambda page, url: _open(page, url) or _unnamed_controls(page))
    assert not unnamed, unnamed
    # A shopper's question is named by its text, not by its key alone ("Q3"), and says it must be answered.
    visit = example_with_history.visits.assignments["sam"]
    _sign_in_as(page, "shopper@example.com")
    page.goto(f"/channels/mystery_shopper/assignments/{visit}")
    expect(page.locator("input[name=q-Q3]")).to_have_accessible_name("Q3 How many minutes did you wait? (required)")
    assert page.locator("#receipt_number").get_attribute("aria-required") == "true"


def _refuse_login(page, example):
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("#email", "ann@example.com")
    page.fill("#password", "not her password")
    page.click("button:has-text('Sign in')")


def _refuse_dispute(page, example):
    _sign_in_as(page, "ann@example.com")
    page.goto("/report")
    row = page.locator("table.items tbody tr", has=page.locator("summary")).first
    row.locator("summary").click()
    row.locator("button:has-text('Raise dispute')").click()


def _refuse_target(page, example):
    _sign_in_as(page, "mia@example.com")
    page.goto("/targets")
    page.select_option("#subject", label="Ann (Support)")
    page.fill("#day", "2026-11-02")
    page.fill("#value", "120")
    page.click("button:has-text('Set target')")


def _refuse_attribution(page, example):
    _sign_in_as(page, "hr@example.com")
    page.goto("/unattributed")
    page.locator("table.queue tbody tr").first.locator("button:has-text('Attribute')").click()  # nobody chosen


def _refused_form(email: str, path, button: str, fills: tuple[tuple[str, str], ...] = ()):
    """A refusal that signs in as ``email``, opens ``path`` (or ``path(example)``), fills ``fills`` in and
    presses the button labelled ``button`` (or matched by it, a selector starting with ``#``)."""
    def refuse(page, example):
        _sign_in_as(page, email)
        page.goto(path(example) if callable(path) else path)
        for selector, value in fills:
            page.fill(selector, value)
        page.click(button if button.startswith("#") else f"button:has-text('{button}')")
    return refuse


REFUSALS = {
    "login": _refuse_login, "dispute": _refuse_dispute, "target": _refuse_target,
    "guideline": _refused_form("hr@example.com", "/guidelines/edit", "#publish-button", (("#min_sample", "many"),)),
    "run": _refused_form("hr@example.com", "/runs", "Run the appraisal"),
    "assignment": _refused_form("hr@example.com", "/channels/mystery_shopper/assignments/new",
                                "Send the assignment"),
    "import": _refused_form("hr@example.com", "/channels/mystery_shopper/templates/import", "Import and publish"),
    "shopper_report": _refused_form(
        "shopper@example.com", lambda example: f"/channels/mystery_shopper/assignments/"
                                               f"{example.visits.assignments['sam']}", "Submit for review"),
    "review": _refused_form(  # a return needs a comment
        "hr@example.com", lambda example: f"/channels/mystery_shopper/reviews/{example.report}",
        "Return to the shopper"),
    "template_version": _refused_form(
        "hr@example.com", lambda example: f"/channels/mystery_shopper/templates/{example.visits.template_id}/edit",
        "Publish version", (("#weight-service", "forty"),)),
    "attribution": _refuse_attribution,
    "integration": _refused_form("admin@example.com", "/admin/integrations", "Create the integration"),
    "api_token": _refused_form("admin@example.com", "/admin/tokens", "Issue the token"),
    "erasure": _refused_form("hr@example.com", "/privacy", "Check what would be erased"),
    "person": _refused_form("hr@example.com", "/people/new", "Add them"),
    "account": _refused_form("admin@example.com", "/admin/accounts", "Create the account"),
    "own_password": _refused_form("hr@example.com", "/password", "Change the password"),
    "org_file": _refused_form("hr@example.com", "/people/import", "Import"),
    "source": _refused_form("admin@example.com", "/channels/social_monitoring/sources", "Add the source",
                            (("#source-name", "Not A Name!"),)),
}


@pytest.mark.parametrize("refuse", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_form_puts_the_focus_on_what_to_fix(browser_page, example_with_history, refuse):
    """After the server refuses a form, a keyboard or screen-reader user starts at the summary of errors."""
    page = browser_page
    page.set_viewport_size(PHONE)
    refuse(page, example_with_history)
    page.wait_for_load_state()
    # A function, not an expression: an expression is eval()ed, which the pages' CSP refuses.
    page.wait_for_function("() => document.activeElement && document.activeElement !== document.body", timeout=3000)
    focused = page.evaluate("""() => { const el = document.activeElement;
        return {summary: el.matches('[role=alert][tabindex="-1"]'), links: [...el.querySelectorAll('a[href^="#"]')]
                .map(a => a.getAttribute('href').slice(1))}; }""")
    assert focused["summary"], page.evaluate("document.activeElement.outerHTML.slice(0, 200)")
    # Each link of the summary leads to a field (or group) on the page.
    missing = [target for target in focused["links"]
               if not page.evaluate("id => !!document.getElementById(id)", target)]
    assert focused["links"] and not missing
    # Every field marked invalid names its error, and the summary is the only alert (not one per field).
    unexplained = page.evaluate("""() => [...document.querySelectorAll('[aria-invalid="true"]')]
        .filter(el => !(el.getAttribute('aria-describedby') || '').split(' ')
                          .some(id => id && document.getElementById(id)?.matches('.error, .errors')))
        .map(el => el.id || el.name || el.tagName)""")
    assert not unexplained
    assert page.locator("[role=alert]").count() == 1
    assert not _unnamed_controls(page)
