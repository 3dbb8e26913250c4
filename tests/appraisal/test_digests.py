"""Weekly digests reach a real SMTP server with the worked example's numbers, each message once."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select, update

from appraisal.digests import CRON, send_digest, send_weekly_digests
from appraisal.models import DigestDelivery
from core import jobs
from core.db import transaction
from core.jobs import cron_entries
from core.models import Employee, PendingJob, utcnow
from tests.fixtures.appraisal import BEFORE

PUBLIC_URL = "https://plaudit.example.com"


def _mail_config(port: int) -> dict:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_SECURITY": "none",
            "MAIL_FROM": "reports@example.com", "PUBLIC_URL": PUBLIC_URL}


@pytest.fixture
def app(make_app, smtp_server):
    """The worked example's app, sending mail to the test's SMTP server."""
    return make_app(**_mail_config(smtp_server[1]))


def _parts(message) -> tuple[str, str]:
    parts = {part.get_content_type(): part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
             .replace("\r\n", "\n")
             for part in message.walk() if not part.is_multipart()}
    return parts["text/plain"], parts["text/html"]


def _by_recipient(inbox) -> dict[tuple[str, str], tuple[str, str]]:
    """(address, subject's first word) -> (text, html) of every message received."""
    got = {}
    for message in inbox.messages:
        key = (message["To"], message["Subject"].split(":")[0])
        assert key not in got, f"{key} received twice"
        got[key] = _parts(message)
    return got


def _line(text: str, label: str) -> str:
    match = re.search(rf"^\s*{re.escape(label)}:\s*(.+)$", text, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{text}"
    return match.group(1).strip()


def _html_figure(html: str, name: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(rf'data-figure="{name}">(.*?)</td>', html, re.DOTALL).group(1)).strip()


def test_a_metric_without_an_interval_says_none_rather_than_dashes(worked_example, smtp_server):
    """A mean over one item has no interval: the e-mails read "95% interval – to –"."""
    from appraisal.models import MetricResult

    inbox, _ = smtp_server
    run_id = worked_example.run()
    with transaction() as session:
        session.execute(update(MetricResult).where(
            MetricResult.run_id == run_id, MetricResult.employee_id == worked_example.ids["ann"],
            MetricResult.metric == "csat_percent").values(ci_low=None, ci_high=None))
    send_weekly_digests()
    mail = _by_recipient(inbox)
    assert _line(mail[("ann@example.com", "Your report")][0], "CSAT %") == "75.0% (n=4) / 75.0% / 66.7%"
    assert "Ann" in mail[("mia@example.com", "Team report")][0]
    assert "– to –" not in mail[("mia@example.com", "Team report")][0]


def test_digests_reach_employees_and_the_manager_with_the_hand_numbers(worked_example, smtp_server):
    inbox, _ = smtp_server
    worked_example.run(period=BEFORE)
    run_id = worked_example.run()
    assert send_weekly_digests() == 6  # Ann, Bob, Cat, Dan and Mia their own; Mia Support's team report
    mail = _by_recipient(inbox)
    assert set(mail) == {("ann@example.com", "Your report"), ("bob@example.com", "Your report"),
                         ("cat@example.com", "Your report"), ("dan@example.com", "Your report"),
                         ("mia@example.com", "Your report"), ("mia@example.com", "Team report")}
    subject = next(m["Subject"] for m in inbox.messages if m["To"] == "ann@example.com")
    assert subject == "Your report: week 2 to 8 November 2026"

    text, html = mail[("ann@example.com", "Your report")]
    assert [_line(text, label) for label in ("Composite", "Team mean", "Organisation mean", "Rank", "Change")] == [
        "70.8", "–", "66.7", "1 of 3 (percentile 100.0)", "-12.5 (from 83.3)"]  # the team mean: Bob's figure
    assert _line(text, "CSAT %") == "75.0% (n=4, 95% interval 30.1% to 95.4%) / 75.0% / 66.7%"
    # NPS 25 from 2 promoters and 1 detractor of 4: Rocks' adjusted Wald interval
    assert _line(text, "NPS") == "+25.0 (n=4, 95% interval -44.2 to +72.7) / – / +25.0"
    assert "(A mean shown as – pools fewer than 2 colleagues besides you: it is not shown.)" in text
    assert "CSAT %: target 80.0%, you 75.0%: below target" in text
    assert "Recognition: Gold" in text and "Bonus" not in text  # the bonus still awaits approval
    assert "2 Nov: you 70.8, team –, organisation 66.7" in text  # the trend over both weeks
    assert f"{PUBLIC_URL}/report/{worked_example.ids['ann']}?run={run_id}" in text
    assert [_html_figure(html, f) for f in ("composite", "team-mean", "org-mean", "rank")] == [
        "70.8", "–", "66.7", "1 of 3 (percentile 100.0)"]
    assert re.search(r'data-metric="csat_percent">.*?75\.0%<br><span[^>]*>30\.1% to 95\.4%</span>.*?<td[^>]*>4</td>', html,
                     re.DOTALL)
    # Fit for a phone: a viewport, five columns at most, the trend a row per period (not a column each).
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    cells = {section: [row.count("<td") + row.count("<th") for row in re.search(
        rf'data-section="{section}">(.*?)</table>', html, re.DOTALL).group(1).split("</tr>") if "<t" in row]
        for section in ("metrics", "trend")}
    assert set(cells["metrics"]) == {5}  # the interval sits under the value, not in a column of its own
    assert cells["trend"] == [4, 4, 4]  # a header, then one row per week: you, team, organisation
    assert not re.search(r"\b(Bob|Cat|Dan)\b", text + html)  # nothing about a colleague

    text, html = mail[("dan@example.com", "Your report")]
    assert [_line(text, label) for label in ("Composite", "Team mean", "Rank")] == ["58.8", "–", "3 of 3 (percentile 0.0)"]
    assert _line(text, "CSAT %").startswith("60.0% (n=5,")
    assert "CSAT %: target 50.0%, you 60.0%: target exceeded" in text
    assert "Refunds (ticket category)" in text  # his training need
    assert _html_figure(html, "composite") == "58.8"

    text, html = mail[("mia@example.com", "Team report")]
    assert "Support: 3 appraised, 2 ranked, mean composite 70.6" in text and "Dan" not in text + html
    assert "Ann (Support)\n  Composite: 70.8, rank 1 of 3, change -12.5" in text
    assert "Bob (Support)\n  Composite: 70.4, rank 2 of 3, change +53.8" in text
    assert "Cat (Support)\n  Composite: too few items" in text
    assert "CSAT %: 75.0% (n=4, 30.1% to 95.4%), target 80.0% below" in text
    assert "2 recommendations await a decision." in text
    assert "bonus 100.00 EUR (proposed)" in text  # with the guideline's currency
    cells = dict(re.findall(r'<tr data-employee="(\d+)">.*?data-field="composite">([^<]+)<', html, re.DOTALL))
    assert cells == {str(worked_example.ids["ann"]): "70.8", str(worked_example.ids["bob"]): "70.4",
                     str(worked_example.ids["cat"]): "too few"}


def test_running_the_job_again_sends_nothing_more(worked_example, smtp_server):
    inbox, _ = smtp_server
    run_id = worked_example.run()
    assert send_weekly_digests() == 6
    assert send_weekly_digests() == 0 and send_weekly_digests(run_id) == 0
    with transaction() as session:
        delivery_ids = list(session.scalars(select(DigestDelivery.id)))
    assert not any(send_digest(delivery_id) for delivery_id in delivery_ids)  # a duplicated job
    assert len(inbox.messages) == 6
    # A re-run of the same week is not e-mailed again by the cron job; HR can send it on purpose.
    rerun = worked_example.run()
    assert send_weekly_digests() == 0 and len(inbox.messages) == 6
    assert send_weekly_digests(rerun) == 6 and len(inbox.messages) == 12


def test_a_new_employee_gets_theirs_and_no_one_else_gets_another(worked_example, smtp_server):
    inbox, _ = smtp_server
    worked_example.run()
    with transaction() as session:  # Cat has no address yet, and Dan has left
        session.execute(update(Employee).where(Employee.id == worked_example.ids["cat"]).values(email=None))
        session.execute(update(Employee).where(Employee.id == worked_example.ids["dan"]).values(active=False))
    assert send_weekly_digests() == 4
    with transaction() as session:
        session.execute(update(Employee).where(Employee.id == worked_example.ids["cat"])
                        .values(email="cat@example.com"))
    assert send_weekly_digests() == 1
    assert sorted(m["To"] for m in inbox.messages) == ["ann@example.com", "bob@example.com", "cat@example.com",
                                                       "mia@example.com", "mia@example.com"]


def test_a_refused_message_is_retried_alone(worked_example, smtp_server):
    inbox, _ = smtp_server
    worked_example.run()

    async def refuse_bob(server, session, envelope, address, rcpt_options):
        if address == "bob@example.com":
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    inbox.handle_RCPT = refuse_bob
    assert send_weekly_digests() == 6
    assert sorted(m["To"] for m in inbox.messages) == sorted(
        ["ann@example.com", "cat@example.com", "dan@example.com", "mia@example.com", "mia@example.com"])
    with transaction() as session:
        [waiting] = session.scalars(select(PendingJob)).all()
        assert waiting.func == "appraisal.digests.send_digest" and "550" in waiting.last_error
        bobs = session.scalar(select(DigestDelivery).where(DigestDelivery.email == "bob@example.com"))
        assert bobs.sent_at is None and waiting.args == [bobs.id]
        waiting.next_attempt_at = utcnow() - timedelta(seconds=1)  # its backoff is over
    del inbox.handle_RCPT
    assert jobs.dispatch_pending() == 1
    assert [m["To"] for m in inbox.messages].count("bob@example.com") == 1 and len(inbox.messages) == 6
    with transaction() as session:
        assert session.scalar(select(PendingJob)) is None
        assert all(d.sent_at and d.message_id for d in session.scalars(select(DigestDelivery)))


def test_the_cron_entry_is_registered(app):
    entries = [e for e in cron_entries(app) if e.func == "appraisal.digests.send_weekly_digests"]
    assert len(entries) == 1 and entries[0].cron == CRON == "0 7-12 * * 1"


@pytest.mark.redis
def test_through_rq_each_message_is_a_job_of_its_own(make_app, smtp_server, redis_url, worked_example, app):
    inbox, port = smtp_server
    worked_example.run()
    queued = make_app(**_mail_config(port), REDIS_URL=redis_url, QUEUE_NAME="test-digests")
    scheduler = jobs.build_cron_scheduler(queued)
    assert any(job.func is send_weekly_digests and job.cron == CRON for job in scheduler.get_jobs())
    with queued.app_context():
        assert send_weekly_digests() == 6
    assert Queue("test-digests", connection=jobs.redis_connection(queued)).count == 6 and inbox.messages == []
    jobs.run_worker(queued, burst=True, worker_class=SimpleWorker)
    assert len(inbox.messages) == 6


def test_plaudit_digests_send(worked_example, smtp_server, app):
    inbox, _ = smtp_server
    runner = app.test_cli_runner()
    result = runner.invoke(args=["digests", "send"])
    assert result.exit_code == 1 and "no completed weekly run yet" in result.output
    run_id = worked_example.run()
    result = runner.invoke(args=["digests", "send", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"run {run_id}: week 2026-11-02 to 2026-11-08; 6 digest(s) to send, 0 planned before" in result.output
    assert "team     Mia Manager" in result.output and inbox.messages == []
    result = runner.invoke(args=["digests", "send", "--run", str(run_id)])
    assert result.exit_code == 0, result.output
    assert "6 digest(s) planned; 6 of the run's sent so far" in result.output and len(inbox.messages) == 6
    result = runner.invoke(args=["digests", "send"])
    assert "0 digest(s) to send, 6 planned before" in result.output and len(inbox.messages) == 6
    result = runner.invoke(args=["digests", "send", "--run", str(run_id + 50)])
    assert result.exit_code == 2 and f"run {run_id + 50} is not a completed appraisal run" in result.output

    # HR re-ran the week: the command, which deployments without Redis put in cron, e-mailed it all again.
    rerun = worked_example.run()
    result = runner.invoke(args=["digests", "send"])
    assert result.exit_code == 0 and len(inbox.messages) == 6
    assert (f"run {rerun}: week 2026-11-02 to 2026-11-08 was e-mailed from run {run_id} already; nothing sent. "
            f"To e-mail run {rerun}'s numbers too: plaudit digests send --run {rerun}") in result.output
    result = runner.invoke(args=["digests", "send", "--run", str(rerun)])
    assert "6 digest(s) planned" in result.output and len(inbox.messages) == 12


def test_someone_ranked_alone_reads_no_percentile(worked_example, smtp_server):
    """Ranked within teams, Dan is alone in Billing: rank 1 of 1, compared with nobody (it had said 100)."""
    import copy

    from appraisal.guidelines import publish_guideline
    from tests.fixtures.appraisal import GUIDELINE

    with transaction() as session:
        publish_guideline(session, copy.deepcopy(GUIDELINE) | {"ranking_scope": "team"})
    inbox, _ = smtp_server
    worked_example.run()
    send_weekly_digests()
    text, html = _by_recipient(inbox)[("dan@example.com", "Your report")]
    assert _line(text, "Rank") == "1 of 1" and "percentile" not in html.split('data-figure="rank">')[1][:40]


def test_a_new_hires_digest_says_the_period_was_only_partly_theirs(worked_example, smtp_server):
    inbox, _ = smtp_server
    with transaction() as session:
        session.get(Employee, worked_example.ids["ann"]).started_on = BEFORE.first + timedelta(days=10)  # a Thursday
    worked_example.run()
    send_weekly_digests()
    text, html = _by_recipient(inbox)[("ann@example.com", "Your report")]
    note = "Note: you joined on 2026-11-05 and worked 4 of the period's 7 days, against peers who may have worked all of it."
    assert note in text and note.replace("'", "&#39;") in html


def test_the_team_digest_says_who_was_not_ranked_for_part_of_the_period(worked_example, smtp_server):
    """It read "rank None of 2" for someone with a composite that the guideline's part_period left unranked."""
    import copy

    from appraisal.guidelines import publish_guideline
    from tests.fixtures.appraisal import GUIDELINE, ann_joins_on_thursday

    inbox, _ = smtp_server
    ann_joins_on_thursday(worked_example)
    with transaction() as session:
        publish_guideline(session, copy.deepcopy(GUIDELINE) | {"part_period": {"min_share_worked": 60}})
    worked_example.run()
    send_weekly_digests()
    text, _ = _by_recipient(inbox)[("mia@example.com", "Team report")]
    ann = text.split("Ann (Support)")[1]
    assert "too few to rank, as the guideline ranks those who worked at least 60% of a period" in ann.splitlines()[0]
    assert "None" not in ann.splitlines()[1] and "not ranked" in ann.splitlines()[1]
