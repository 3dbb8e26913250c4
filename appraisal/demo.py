"""The demo's appraisals: a guideline suited to its volume, targets, and a run of every week it covers.

The demo has about ten answers per agent a week, too few for the default guideline's minimum sample; this
guideline asks for five, so the weekly reports and dashboards show real standings from the first start.
"""
from __future__ import annotations

import copy
from datetime import timedelta

import click
from sqlalchemy import select

from core import local_time
from core.demo import DOMAIN
from core.models import Dispute, Employee, Feedback, Team, User
from core.plugins import get_plugins
from core.tenure import record_leaving

from .guidelines import current_guideline, publish_guideline
from .models import AppraisalRun
from .period_zone import MisalignedPeriods
from .periods import month_of, week_of
from .review import raise_dispute
from .runs import request_run
from .targets import set_target

WEEKS = 12
#: The demo employee who has left (the local part of their address).
LEAVER = "noah.brown"
GUIDELINE = {
    "metrics": [{"rule": "csat_percent", "weight": 60, "target_bounds": {"min": 50, "max": 100}},
                {"rule": "nps", "weight": 25, "target_bounds": {"min": -20, "max": 100}},
                {"rule": "ces", "weight": 15}],
    "min_sample": 5,
    "shrinkage_strength": 3,
    # An agent with too few survey answers in a week still stands on NPS, CES and social posts.
    "composite_min_weight": 40,
    "comment_visibility": "redacted",
    "incentives": {
        "tiers": [
            {"name": "Outstanding service", "conditions": {"min_percentile": 80, "min_composite": 70},
             "gives": [{"kind": "bonus", "amount": 150}, {"kind": "recognition"}]},
            {"name": "Coaching", "group": "development", "conditions": {"max_composite": 45},
             "gives": [{"kind": "coaching", "note": "a coaching plan with the team lead"}]},
        ],
        "budget": {"cap": 600, "allocation": "rank_order"},
    },
    "approval_required": ["bonus", "coaching"],
}


#: The survey metrics' weights, by which optional metrics are loaded; each row (and its extras) sums to 100.
SURVEY_WEIGHTS = {
    (): {"csat_percent": 60, "nps": 25, "ces": 15},
    ("mystery",): {"csat_percent": 55, "nps": 20, "ces": 15},
    ("social",): {"csat_percent": 50, "nps": 20, "ces": 10},
    ("mystery", "social"): {"csat_percent": 45, "nps": 15, "ces": 10},
}
OPTIONAL_METRICS = {
    # A shopper visits an agent rarely, so one report is enough for that metric.
    "mystery": [{"rule": "mystery_score", "weight": 10, "min_n": 1}],
    # An agent is named or signs a reply about once a week in the demo's posts. Reply minutes have no
    # natural scale: answering at once scores 100, after ten hours 0.
    "social": [{"rule": "social_sentiment", "weight": 10, "min_n": 1},
               {"rule": "social_reply_time", "weight": 10, "min_n": 1, "bounds": {"min": 0, "max": 600}}],
}


def demo_guideline(plugins) -> dict:
    """The demo's guideline; with the mystery-shopper or the social scores loaded, those count too.

    The mystery report score counts a tenth; social sentiment and social reply time a tenth each, when
    both their rules are loaded.
    """
    document = copy.deepcopy(GUIDELINE)
    loaded = tuple(name for name, metrics in OPTIONAL_METRICS.items()
                   if all(metric["rule"] in plugins.scoring_rules for metric in metrics))
    weights = SURVEY_WEIGHTS[loaded]
    for metric in document["metrics"]:
        metric["weight"] = weights[metric["rule"]]
    for name in loaded:
        document["metrics"] += copy.deepcopy(OPTIONAL_METRICS[name])
    return document


def demo_weeks(today=None) -> list:
    """The complete weeks the demo's answers cover, oldest first."""
    this_week = week_of(local_time.day_of(today) if today else local_time.today())
    return [week_of(this_week.first - timedelta(weeks=n)) for n in range(WEEKS, 0, -1)]


def demo_periods(today=None) -> list:
    """The weeks, then the complete months inside them, so the month views have results too."""
    weeks = demo_weeks(today)
    months, day = [], weeks[0].first
    while True:
        month = month_of(day)
        if month.end > weeks[-1].end:
            break
        if month.start >= weeks[0].start:
            months.append(month)
        day = month.last + timedelta(days=1)
    return weeks + months


def appraise_demo(session_factory, progress=None) -> int:
    """Publish the demo guideline and targets once, run every demo period not yet run, and have the employee login
    dispute one answer once; return how many runs were requested."""
    with session_factory() as session, session.begin():
        hr = session.scalar(select(User).join(User.role_rows).where(User.role_rows.any(role="hr")).limit(1))
        if current_guideline(session) is None:
            publish_guideline(session, demo_guideline(get_plugins()), actor=hr,
                              note="demo guideline: small weekly samples")
            month = month_of(local_time.today())
            for team in session.scalars(select(Team).where(Team.manager_id.is_not(None))):
                set_target(session, hr, metric="csat_percent", period=month, value=75, team=team)
            first = session.scalar(select(Employee).order_by(Employee.id).limit(1))
            if first is not None:
                set_target(session, hr, metric="csat_percent", period=month, value=85, employee=first)
            _record_a_leaver(session, hr)
        done = {(kind, start.replace(tzinfo=None)) for kind, start in session.execute(
            select(AppraisalRun.period_kind, AppraisalRun.period_start))}
    requested = 0
    for period in demo_periods():
        if (period.kind, period.start.replace(tzinfo=None)) not in done:
            # One transaction per period: each run is computed (inline in the demo) when it commits.
            try:
                with session_factory() as session, session.begin():
                    request_run(session, period, actor=hr.id if hr else None)
            except MisalignedPeriods as exc:  # the demo's database reused under another PLAUDIT_TIME_ZONE
                raise click.ClickException(str(exc)) from None
            requested += 1
        if progress:
            progress(1)
    with session_factory() as session, session.begin():
        _dispute_one_answer(session)
    return requested


def _record_a_leaver(session, hr) -> None:
    """Once: the last Billing agent leaves today, so HR's People pages have someone who left (a new user found nobody
    to look at). Today, since the demo's data runs up to now: with a day in the past they went on answering
    tickets and signing replies after it."""
    leaver = session.scalar(select(Employee).where(Employee.email == f"{LEAVER}@{DOMAIN}", Employee.active))
    if leaver is not None:
        record_leaving(session, leaver, local_time.today(), actor=hr, keep_account=True)


def _dispute_one_answer(session) -> None:
    """Once: the employee login disputes their latest poor CSAT answer, so the manager's Disputes page has one
    to decide (a new user found it empty). Open disputes change no run until decided."""
    if session.scalar(select(Dispute.id).limit(1)) is not None:
        return
    user = session.scalar(select(User).where(User.email == f"employee@{DOMAIN}"))
    item = session.scalar(select(Feedback).where(  # in an appraised week, so upholding it changes a report
        Feedback.employee_id == user.employee_id, Feedback.kind == "csat", Feedback.value <= 2,
        Feedback.status == "accepted", Feedback.occurred_at < demo_weeks()[-1].end)
        .order_by(Feedback.occurred_at.desc()).limit(1)) if user else None
    if item is not None:
        raise_dispute(session, item.id, user, "I was not on shift when this came in: a colleague took this call.")
