"""The demo's social posts: customers naming demo agents, signed brand replies, a follow-up for the queue."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from channels.social_monitoring.demo import WEEKS, demo_posts, store_demo_posts
from channels.social_monitoring.store import store_posts
from core.db import transaction
from core.demo import (
    BRAND_HANDLE,
    SEED,
    build_organisation,
    demo_agents,
    demo_roster,
    demo_window,
)
from core.models import EmployeeIdentity, Feedback

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


def test_demo_agents_have_a_handle_and_a_signoff_even_in_an_older_demo(app):
    with app.app_context(), transaction() as session:
        build_organisation(session)
        amira = session.scalar(select(EmployeeIdentity.employee_id).where(
            EmployeeIdentity.provider == "helpdesk", EmployeeIdentity.external_id == "101"))
        assert set(session.execute(select(EmployeeIdentity.provider, EmployeeIdentity.external_id).where(
            EmployeeIdentity.employee_id == amira, EmployeeIdentity.provider.like("social%")))) == {
            ("social_handle", "amira_haddad"), ("social_signoff", f"{BRAND_HANDLE}/ah")}
        # a demo built before the social channel gets them when the demo is run again
        session.execute(delete(EmployeeIdentity).where(EmployeeIdentity.provider.like("social%")))
    with app.app_context(), transaction() as session:
        assert build_organisation(session) is False
    with app.app_context(), transaction() as session:
        social = session.scalar(select(func.count()).select_from(EmployeeIdentity).where(
            EmployeeIdentity.provider.like("social%")))
        assert social == 2 * len(demo_roster())


def test_demo_posts_are_stored_once_attributed_threaded_and_proposed(app):
    with app.app_context(), transaction() as session:
        build_organisation(session)
        agents = demo_agents(session)
    posts = demo_posts(NOW, random.Random("social"), agents)
    later = demo_posts(NOW + timedelta(hours=5), random.Random("social"), agents)
    assert [post["external_id"] for post in later] == [post["external_id"] for post in posts]  # stable ids

    with app.app_context(), transaction() as session:
        created = store_posts(session, posts).created
    assert len(created) == len(posts)
    with app.app_context(), transaction() as session:
        again = store_posts(session, later)
        assert (len(again.created), len(again.duplicates)) == (0, len(posts))  # a second demo run

        def count(*where):
            return session.scalar(select(func.count()).select_from(Feedback).where(
                Feedback.channel == "social_monitoring", *where))

        mentions, replies = count(Feedback.kind == "social_mention"), count(Feedback.kind == "social_reply")
        assert mentions > 200 and replies > 100 and mentions + replies == len(posts)
        named = count(Feedback.kind == "social_mention", Feedback.employee_id.is_not(None))
        assert 0.6 * mentions < named < mentions  # most name an agent; some name nobody
        assert count(Feedback.kind == "social_mention", Feedback.value <= -0.5) > 20  # complaints, scored
        assert count(Feedback.kind == "social_mention", Feedback.value >= 0.5) > 20   # and praise
        assert count(Feedback.kind == "social_reply", Feedback.attribution_policy == "author") == replies
        assert count(Feedback.kind == "social_reply", Feedback.value > 0) == replies  # minutes to answer
        assert count(Feedback.proposed_employee_id.is_not(None), Feedback.employee_id.is_(None)) > 0
        first = min(datetime.fromisoformat(post["posted_at"]) for post in posts)
        # from the Monday of the oldest week the demo appraises, as the other channels' items
        assert first >= demo_window(NOW, 12)[0] > NOW - timedelta(weeks=13) and max(
            datetime.fromisoformat(post["posted_at"]) for post in posts) < NOW


def test_no_agents_no_posts():
    assert demo_posts(NOW, random.Random(1), []) == []


def test_the_demo_step_stores_the_posts_once_a_week_at_a_time(app):
    with app.app_context():
        sessionmaker = app.extensions["plaudit.db"].sessionmaker
        assert store_demo_posts(sessionmaker, now=NOW) == 0  # no demo organisation, nobody to post about
        with transaction() as session:
            build_organisation(session)
            agents = demo_agents(session)
        ticks = []
        stored = store_demo_posts(sessionmaker, progress=ticks.append, now=NOW)
        assert stored == len(demo_posts(NOW, random.Random(f"{SEED}:social_monitoring"), agents)) > 0
        assert ticks == [1] * WEEKS
        assert store_demo_posts(sessionmaker, now=NOW + timedelta(hours=3)) == 0  # a second demo run
        with transaction() as session:
            waiting = session.scalar(select(func.count()).select_from(Feedback).where(
                Feedback.proposed_employee_id.is_not(None), Feedback.employee_id.is_(None)))
            untimed = session.scalar(select(func.count()).select_from(Feedback).where(
                Feedback.kind == "social_reply", Feedback.value.is_(None)))
            assert waiting > 0 and untimed == 0  # threaded across the weekly batches
