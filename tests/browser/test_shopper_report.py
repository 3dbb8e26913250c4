"""A shopper reports a visit on a phone-sized screen, a manager approves it, and it shows on Ann's report.

Sam sees only his own assignment (Ann), saves a draft, fixes the one answer the form refuses and submits;
Mia, Ann's manager, approves it; the week is appraised under a guideline with the ``mystery_score`` rule,
and Ann's report shows the score of Sam's visit.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from appraisal.guidelines import publish_guideline
from core.db import transaction
from core.models import User
from tests.channels.mystery_shopper.visits import GOOD_SCORE, send_shoppers
from tests.fixtures.appraisal import GUIDELINE
from tests.fixtures.browser import sign_in_browser
from tests.fixtures.org import PASSWORD

PHONE = {"width": 390, "height": 844}


def _sign_out(page) -> None:
    page.click("header button:has-text('Sign out')")
    page.wait_for_url("**/login**")


def test_a_shopper_reports_a_visit_a_manager_approves_it_and_it_counts(browser_page, worked_example):
    visits = send_shoppers(worked_example)
    page = browser_page
    page.set_viewport_size(PHONE)

    sign_in_browser(page, "shopper@example.com", PASSWORD)
    page.click("nav.menu a:has-text('Assignments')")
    cards = page.locator(".ms-assignment")
    assert cards.count() == 1  # Olga's visit to Dan is not his
    assert "Ann" in cards.first.inner_text() and "Dan" not in page.content()
    page.shot("1-assignments")

    cards.first.locator("h2 a").click()
    page.wait_for_url(f"**/assignments/{visits.assignments['sam']}")
    page.fill("#visited_at", "2026-11-04T14:30")
    page.fill("#receipt_number", "R-1042")
    page.check("input[name=q-Q1][value='1']")
    page.check("input[name=q-Q2][value='4']")
    page.click("button:has-text('Save draft')")
    assert page.locator(".flash").inner_text().startswith("Draft saved")
    assert page.locator("input[name=q-Q2][value='4']").is_checked()  # the draft came back
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    page.shot("2-draft-saved")

    page.fill("input[name=q-Q3]", "ten")
    page.check("input[name=q-Q4][value=fair]")
    assert page.locator("#question-Q5").is_hidden()  # asked only when knowledge was poor
    page.check("input[name=q-Q6][value='1']")
    for key, answer in (("identity_revealed", "no"), ("knows_employee", "no"), ("followed_scenario", "yes")):
        page.check(f"input[name=integrity-{key}][value={answer}]")
    page.click("button:has-text('Submit for review')")
    assert page.locator("#problems li").all_inner_texts() == ["Q3 (How many minutes did you wait?): give a number"]
    assert page.locator("#error-Q3").inner_text() == "give a number"
    assert page.locator("input[name=q-Q4][value=fair]").is_checked()  # what was typed is kept
    page.shot("3-one-answer-to-fix")

    page.fill("input[name=q-Q3]", "3")
    page.click("button:has-text('Submit for review')")
    page.wait_for_url("**/mystery_shopper/assignments")
    assert page.locator(".ms-assignment [data-field=status]").inner_text() == "waiting for review"
    page.shot("4-submitted")
    _sign_out(page)

    page.set_viewport_size({"width": 1200, "height": 900})
    sign_in_browser(page, "mia@example.com", PASSWORD)
    page.click("nav.menu a:has-text('Mystery reports')")
    rows = page.locator("tr[data-report]")
    assert rows.count() == 1 and "Ann" in rows.first.inner_text()
    rows.first.locator("a").click()
    assert "R-1042" in page.locator("main").inner_text()
    page.shot("5-review")
    page.click("button:has-text('Approve')")
    assert page.locator(".flash").inner_text().startswith("Report approved")
    assert page.locator("tr[data-report]").count() == 0
    _sign_out(page)

    with transaction() as session:  # the guideline in force rates the mystery score too
        hr = session.get(User, worked_example.hr)
        metrics = [{"rule": "csat_percent", "weight": 50}, {"rule": "nps", "weight": 30},
                   {"rule": "mystery_score", "weight": 20, "min_n": 1}]
        publish_guideline(session, {**GUIDELINE, "metrics": metrics}, actor=hr, note="mystery shopping counts")
    worked_example.run()

    sign_in_browser(page, "ann@example.com", PASSWORD)
    page.click("nav.menu a:has-text('My report')")
    page.wait_for_url("**/report")
    row = page.locator("tr[data-metric=mystery_score]")
    assert row.locator("[data-field=value]").inner_text() == f"{GOOD_SCORE * 100:.1f}%"
    assert row.locator("[data-field=n]").inner_text() == "1"
    page.shot("6-anns-report")


def test_a_shopper_types_the_visit_time_in_their_own_time_zone(chromium, live_server, worked_example, app,
                                                               monkeypatch):
    """In Dubai (UTC+4) the shopper types 13:30 local; the report keeps 09:30 UTC, and shows 13:30 again. The
    organisation is in Auckland, whose clock the page gives the field in, for the script to convert."""
    from sqlalchemy import select

    from channels.mystery_shopper.models import Report

    monkeypatch.setitem(app.config, "TIME_ZONE", "Pacific/Auckland")
    visits = send_shoppers(worked_example)
    context = chromium.new_context(base_url=live_server, viewport=PHONE, timezone_id="Asia/Dubai")
    page = context.new_page()
    try:
        sign_in_browser(page, "shopper@example.com", PASSWORD)
        page.goto(f"/channels/mystery_shopper/assignments/{visits.assignments['sam']}")
        assert page.locator("label[for=visited_at]").inner_text() == "When did you visit? (your local time) *"
        # The window above it is on the same clock: Dubai's, not Auckland's
        window = page.locator("time[data-local-time]")
        with transaction() as session:
            from channels.mystery_shopper.models import Assignment

            opens = session.get(Assignment, visits.assignments["sam"]).visit_from
        dubai = opens.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Dubai"))
        assert window.first.inner_text() == f"{dubai:%Y-%m-%d %H:%M} your time"
        page.fill("#visited_at", "2026-11-04T13:30")
        page.click("button:has-text('Save draft')")
        assert page.locator(".flash").inner_text().startswith("Draft saved")
        assert page.input_value("#visited_at") == "2026-11-04T13:30"  # shown in Dubai time again
    finally:
        context.close()
    with transaction() as session:
        report = session.scalar(select(Report).where(Report.assignment_id == visits.assignments["sam"]))
        assert report.visited_at.strftime("%Y-%m-%d %H:%M %Z") == "2026-11-04 09:30 UTC"


@contextmanager
def _sams_form(chromium, live_server, worked_example, **context):
    """Sam, signed in on a phone, on the form of his visit to Ann: yields (page, visits)."""
    visits = send_shoppers(worked_example)
    browser = chromium.new_context(base_url=live_server, viewport=PHONE, **context)
    page = browser.new_page()
    try:
        sign_in_browser(page, "shopper@example.com", PASSWORD)
        page.goto(f"/channels/mystery_shopper/assignments/{visits.assignments['sam']}")
        yield page, visits
    finally:
        browser.close()


def _camera_photo(width: int = 2400, height: int = 1800) -> bytes:
    """A PNG as large as a phone camera's picture (about 12 MB): a gradient with grain, which compresses badly."""
    import struct
    import zlib

    import numpy as np

    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)], axis=-1)
    grain = np.random.default_rng(7).integers(0, 24, size=base.shape)
    pixels = np.clip(base + grain, 0, 255).astype(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def test_a_camera_photo_is_made_small_enough_before_it_is_sent(chromium, live_server, worked_example, tmp_path):
    """A 12 MB picture from the phone's camera was past the request limit: 413, and the whole report lost.
    The page draws it again as a JPEG under the photo limit, so it is sent and kept. In Dubai, the visit
    window's bounds are Dubai times too, as the field is."""
    from sqlalchemy import select

    from channels.mystery_shopper.models import Assignment, Report
    from channels.mystery_shopper.proof import PHOTO_MAX_BYTES

    photo = tmp_path / "IMG_0042.png"
    photo.write_bytes(_camera_photo())
    assert photo.stat().st_size > 5 * PHOTO_MAX_BYTES
    with _sams_form(chromium, live_server, worked_example, timezone_id="Asia/Dubai") as (page, visits):
        with transaction() as session:
            window = session.get(Assignment, visits.assignments["sam"]).visit_from
        dubai = (window.replace(tzinfo=None) + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
        assert page.get_attribute("#visited_at", "min") == dubai
        page.set_input_files("#photo", str(photo))
        page.wait_for_selector("#photo[data-shrunk]", state="attached")
        page.fill("#visited_at", "2026-11-04T13:30")
        page.click("button:has-text('Save draft')")
        assert page.locator(".flash").inner_text().startswith("Draft saved")
    with transaction() as session:
        report = session.scalar(select(Report).where(Report.assignment_id == visits.assignments["sam"]))
        assert report.photo_type == "image/jpeg"


def test_answers_typed_and_lost_to_a_reload_are_offered_back(chromium, live_server, worked_example):
    """A reload, a dropped connection or Back lost every answer typed since the last save."""
    with _sams_form(chromium, live_server, worked_example) as (page, _visits):
        assert page.locator(".ms-kept").count() == 0
        page.fill("#receipt_number", "R-1042")
        page.check("input[name=q-Q2][value='4']")
        page.check("input[name=q-Q4][value=poor]")
        page.fill("textarea[name=q-Q5]", "did not know the fees")  # shown by the answer to Q4
        page.reload()
        assert page.input_value("#receipt_number") == "" and page.locator(".ms-kept").is_visible()
        page.click("button:has-text('Put them back')")
        assert page.input_value("#receipt_number") == "R-1042"
        assert page.locator("input[name=q-Q2][value='4']").is_checked()
        assert page.locator("#question-Q5").is_visible()  # the skip logic follows the answers put back
        assert page.input_value("textarea[name=q-Q5]") == "did not know the fees"
        page.click("button:has-text('Save draft')")
        assert page.locator(".flash").first.inner_text().startswith("Draft saved")
        page.reload()
        assert page.locator(".ms-kept").count() == 0  # saved: nothing more to offer


def test_a_saved_answer_with_a_trailing_space_is_not_offered_back(chromium, live_server, worked_example):
    """The server keeps answers trimmed: compared as typed, a saved 'R-1042 ' came back as an unsaved answer."""
    with _sams_form(chromium, live_server, worked_example) as (page, _visits):
        page.fill("#receipt_number", "R-1042 ")
        page.click("button:has-text('Save draft')")
        assert page.locator(".flash").first.inner_text().startswith("Draft saved")
        page.reload()
        assert page.locator(".ms-kept").count() == 0


def test_signing_out_forgets_the_answers_kept_in_the_browser(chromium, live_server, worked_example):
    """On a shared device the next person found the shopper's typed answers kept after they signed out."""
    with _sams_form(chromium, live_server, worked_example) as (page, _visits):
        page.fill("#receipt_number", "R-1042")
        kept = lambda: page.evaluate(
            "Object.keys(window.localStorage).filter(k => k.startsWith('plaudit-report:')).length")
        assert kept() == 1
        _sign_out(page)
        page.wait_for_load_state("load")
        assert page.url.endswith("/login?out=1") and kept() == 0
