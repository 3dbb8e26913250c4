"""``plaudit demo``: the organisation, its logins, feedback through the real pipeline, and the served UI."""
from __future__ import annotations

import http.cookiejar
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, func, select

from channels.social_monitoring.demo import DEMO_STEP_LABEL, demo_posts
from core.channel import IdentityRef
from core.demo import SEED, demo_roster
from core.models import Feedback, Team, User
from tests.fixtures.org import csrf_token


def test_demo_builds_and_then_reuses_its_own_database(app, tmp_path, smtp_server, monkeypatch):
    inbox, port = smtp_server  # a mail server set for the real deployment: the demo sends it nothing
    monkeypatch.setenv("PLAUDIT_MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("PLAUDIT_MAIL_PORT", str(port))
    monkeypatch.setenv("PLAUDIT_MAIL_SECURITY", "none")
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--no-serve", "--database-url", url])
    assert first.exit_code == 0, first.output
    assert "created the demo organisation" in first.output and inbox.messages == []
    assert "nothing is served (--no-serve)" in first.output and "Plaudit demo: http" not in first.output
    assert f"Serve it with `plaudit demo --database-url {url}`" in first.output  # this database, not the default
    assert "post_ticket_survey: 1802 new item(s), 0 already there" in first.output
    assert "ticket_metrics: 2880 new item(s), 0 already there" in first.output
    for role in ("admin", "hr", "manager", "employee", "shopper"):
        assert f"{role}@plaudit.demo" in first.output

    again = runner.invoke(args=["demo", "--no-serve", "--database-url", url])
    assert "reusing the demo organisation" in again.output
    assert "post_ticket_survey: 0 new item(s), 1802 already there" in again.output
    assert DEMO_STEP_LABEL in first.output and DEMO_STEP_LABEL in again.output
    assert "appraising the demo weeks and months" in again.output
    assert first.output.index("opening the tickets") < first.output.index("appraising the demo")

    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(User)) == 5
        assert conn.scalar(select(func.count()).select_from(Team)) == 4
        # A channel's demo names people by the roster's addresses: each is the employee's e-mail identity
        from core.models import EmployeeIdentity

        assert set(conn.scalars(select(EmployeeIdentity.external_id).where(EmployeeIdentity.provider == "email"))) \
            == {agent.email for agent in demo_roster().values()}
        # one open dispute for the manager to decide, raised once by the employee login, not again on reuse
        from core.models import Dispute

        assert conn.execute(select(Dispute.status, User.email).join(User, User.id == Dispute.raised_by)).all() == [
            ("open", "employee@plaudit.demo")]
        survey = select(func.count(Feedback.employee_id), func.count()).where(Feedback.channel == "post_ticket_survey")
        attributed, total = conn.execute(survey).one()
        assert total == 1802 and 0 < total - attributed < 100  # a few name an unknown agent
        # Two for HR's integrity queue: a customer answering twice within the hour, an agent rating themself
        from core.models import Flag

        # (which answer of a pair is flagged depends on the order they arrive in, and the customers drawn at
        # random may answer twice within a day now and then too: so the checks, and the self-rating by its id)
        flagged = dict(conn.execute(select(Feedback.external_id, Flag.check).join(Flag, Flag.feedback_id == Feedback.id)
                                    .where(Flag.decision.is_(None))).all())
        assert flagged.get("demo-self") == "self_rating" and "duplicate_respondent" in flagged.values()
        posts = select(Feedback.kind, func.count(Feedback.employee_id), func.count()).where(
            Feedback.channel == "social_monitoring").group_by(Feedback.kind)
        by_kind = {kind: (attributed, total) for kind, attributed, total in conn.execute(posts)}
        mentions, replies = by_kind["social_mention"], by_kind["social_reply"]
        # every post once, though both runs posted them: their ids are the same on every run
        social = demo_posts(datetime.now(UTC), random.Random(f"{SEED}:social_monitoring"),
                            [IdentityRef("helpdesk", str(number)) for number in demo_roster()])
        assert mentions[1] + replies[1] == len(social)
        assert 0 < mentions[0] < mentions[1]  # customers name agents, and sometimes nobody
        assert replies[0] == replies[1] > 0   # every brand reply is signed by a demo agent
        assert conn.scalar(select(func.count()).select_from(Feedback).where(
            Feedback.proposed_employee_id.is_not(None), Feedback.employee_id.is_(None))) > 0  # for the queue
        # every demo week is appraised once, and every agent has a standing in each: the answers begin with the
        # oldest week's Monday and each week's are shared out among the agents (drawn at random over the span,
        # someone, the README's employee login some days, had too few in a week)
        from appraisal.models import AppraisalResult, AppraisalRun

        runs = dict(conn.execute(select(AppraisalRun.period_kind, func.count()).where(
            AppraisalRun.status == "completed").group_by(AppraisalRun.period_kind)).all())
        assert runs["week"] == 12 and runs["month"] >= 1  # twelve weeks always hold a whole month
        ranked = conn.execute(select(func.count(AppraisalResult.rank)).join(AppraisalRun).where(
            AppraisalRun.period_kind == "week").group_by(AppraisalRun.id)).scalars().all()
        assert ranked == [len(demo_roster())] * 12
        # someone has left, today: every week appraised was theirs
        from core import local_time
        from core.models import Employee

        assert conn.execute(select(Employee.active, Employee.left_on).where(
            Employee.email == "noah.brown@plaudit.demo")).one() == (False, local_time.today())
        last = conn.scalar(select(func.max(AppraisalRun.id)).where(AppraisalRun.period_kind == "week"))
        # The answers rate tickets the demo stored (once, though both runs opened them), with categories,
        # so results have a case mix and training needs by category.
        from core.models import Ticket

        assert conn.scalar(select(func.count()).select_from(Ticket)) == 1802
        assert conn.scalar(select(func.count()).select_from(Feedback).where(
            Feedback.channel == "post_ticket_survey", Feedback.ticket_category.is_not(None))) == 1802
        mixes = conn.execute(select(AppraisalResult.case_mix).where(AppraisalResult.run_id == last)).scalars()
        assert sum(bool(mix) for mix in mixes) >= 10
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_served_demo_answers_on_its_printed_url_and_every_login_signs_in(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAUDIT_")}
    env["PLAUDIT_INSTANCE_PATH"] = str(tmp_path / "instance")
    script = Path(sys.executable).parent / "plaudit"  # the console script `pip install -e .` put there
    assert script.exists(), f"{script} is missing: install the project with pip install -e ."
    process = subprocess.Popen([str(script), "demo", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    try:
        deadline = time.monotonic() + 120
        while not any("Press Ctrl+C" in line for line in output):
            assert time.monotonic() < deadline and process.poll() is None, "".join(output)
            output.append(process.stdout.readline())
        text = "".join(output)
        url = re.search(r"Plaudit demo: (http://\S+)", text).group(1)
        password = re.search(r"password: (\S+)\)", text).group(1)
        logins = re.findall(r"^\s+(\S+@plaudit\.demo)\s", text, re.MULTILINE)
        assert len(logins) == 5

        login_page = _get(url, expect_path="/login")  # waits until the server listens
        assert "Sign in" in login_page
        for email in logins:
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
            page = opener.open(url + "login").read().decode()
            form = urllib.parse.urlencode({"email": email, "password": password,
                                           "csrf_token": csrf_token(page)}).encode()
            home = opener.open(url + "login", data=form)
            body = home.read().decode()
            assert "Sign out" in body, email
            if email.startswith("shopper@"):  # a shopper's home is their assignments
                assert urllib.parse.urlsplit(home.url).path == "/channels/mystery_shopper/assignments", email
            elif email.startswith("employee@"):  # an employee's is their report
                assert urllib.parse.urlsplit(home.url).path == "/report" and "Your items" in body, email
            else:
                assert urllib.parse.urlsplit(home.url).path == "/", email
                assert "Feedback received" in body, email
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(url: str, expect_path: str) -> str:
    for _ in range(100):
        try:
            response = urllib.request.urlopen(url, timeout=5)
            assert urllib.parse.urlsplit(response.url).path == expect_path
            return response.read().decode()
        except urllib.error.URLError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answers on {url}")
