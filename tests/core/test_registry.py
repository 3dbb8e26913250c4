"""The registry: what plugins contribute, keyed by slug, with duplicates and bad slugs refused."""
from __future__ import annotations

import pytest
from sqlalchemy import case, func, select

from core import hookimpl
from core.db import transaction
from core.ingestion import ingest
from core.jobs import CronEntry, build_cron_scheduler
from core.models import Feedback
from core.plugins import PluginError
from core.scoring import ScoringRule
from tests.fixtures.payloads import survey


class TopTwoBox(ScoringRule):
    name = "top_two_box"
    title = "Share of 4s and 5s"
    kinds = ("csat",)
    display = "percent"
    proportion = True

    def points(self, feedback, params):
        return case((feedback.value >= params.get("satisfied", 4), 100.0), else_=0.0)


class Rules:
    def __init__(self, *rules):
        self.rules = rules

    @hookimpl
    def register_scoring_rules(self):
        return list(self.rules)


def test_scoring_rules_are_registered_by_slug_and_score_in_sql(make_app):
    app = make_app(extra_plugins={"rules": Rules(TopTwoBox)})
    rule = app.extensions["plaudit.plugins"].scoring_rules["top_two_box"]
    with app.app_context(), transaction() as session:
        ingest(session, "post_ticket_survey", [survey("a", rating=5), survey("b", rating=4), survey("c", rating=2),
                                               survey("d", rating=1)])
    with app.app_context(), transaction() as session:
        points = rule.points(Feedback, {"satisfied": 4})
        assert session.scalar(select(func.avg(points)).where(Feedback.kind.in_(rule.kinds))) == 50.0
        # a parameter change needs no rescoring: the same rows, another expression
        assert session.scalar(select(func.avg(rule.points(Feedback, {"satisfied": 5})))) == 25.0


def test_two_rules_with_one_slug_stop_start_up(make_app):
    class Again(TopTwoBox):
        title = "again"

    with pytest.raises(PluginError, match="duplicate scoring rule slug 'top_two_box': registered by plugin "
                                         "'a' and by plugin 'b'"):
        make_app(extra_plugins={"a": Rules(TopTwoBox), "b": Rules(Again)})


@pytest.mark.parametrize("slug", [None, "Top Two", "top-two", 42])
def test_a_contribution_needs_a_snake_case_slug(make_app, slug):
    rule = type("Bad", (TopTwoBox,), {"name": slug})
    with pytest.raises(PluginError, match="needs a snake_case `name` slug"):
        make_app(extra_plugins={"bad": Rules(rule)})


def test_hookimpl_with_unknown_arguments_stops_start_up(make_app):
    class Wrong:
        @hookimpl
        def feedback_ingested(self, feedback, mood):
            pass

    with pytest.raises(PluginError, match="(?s)plugin 'wrong'.*{'mood'} are declared in the hookimpl but can not be "
                                         r"found.*\(feedback_ingested takes: session, feedback\)$"):
        make_app(extra_plugins={"wrong": Wrong()})


def test_plugin_cron_entries_are_scheduled_beside_the_kernel_sweep(make_app, redis_url):
    class Nightly:
        @hookimpl
        def register_cron_jobs(self):
            return [CronEntry("core.jobs.dispatch_pending_job", cron="0 2 * * *")]

    app = make_app(REDIS_URL=redis_url, extra_plugins={"nightly": Nightly()})
    scheduler = build_cron_scheduler(app)
    assert [(job.func_name, job.interval, job.cron) for job in scheduler.get_jobs()] == [
        ("core.jobs.dispatch_pending_job", 60, None),
        ("core.retention.purge_expired_payloads_job", None, "30 3 * * *"),
        ("appraisal.runs.appraise_last_week", None, "0 2-6 * * 1"),
        ("appraisal.digests.send_weekly_digests", None, "0 7-12 * * 1"),
        ("core.jobs.dispatch_pending_job", None, "0 2 * * *"),
        ("channels.social_monitoring.polling.poll_due_sources", 300, None),
        ("channels.post_ticket_survey.overdue.sweep_overdue", 900, None)]


def test_recommend_hook_answers_are_flattened(make_app):
    class Coach:
        @hookimpl
        def recommend(self, result):
            return [{"kind": "coaching", "reason": f"low {result}"}]

    plugins = make_app(extra_plugins={"coach": Coach()}).extensions["plaudit.plugins"]
    assert plugins.recommend("csat", guideline=None) == [{"kind": "coaching", "reason": "low csat"}]


def test_a_plugin_may_not_replace_a_plaudit_command(make_app):
    import click

    class Hijack:
        @hookimpl
        def register_commands(self, cli):
            cli.add_command(click.Command("ingest", callback=lambda: None))

    with pytest.raises(PluginError, match="plugin 'hijack' replaces the command\\(s\\) ingest"):
        make_app(extra_plugins={"hijack": Hijack()})


def test_a_directly_registered_plugin_cannot_take_a_builtin_name(make_app):
    with pytest.raises(PluginError, match="two plugins are named 'post_ticket_survey'"):
        make_app(extra_plugins={"post_ticket_survey": Rules()})


def test_a_plugin_may_not_take_the_name_of_a_flask_command(make_app):
    import click

    class Shadow:
        @hookimpl
        def register_commands(self, cli):
            cli.add_command(click.Command("run", callback=lambda: None))

    with pytest.raises(PluginError, match=r"replaces the command\(s\) run"):
        make_app(extra_plugins={"shadow": Shadow()})


def test_one_plugin_object_under_two_names_is_named(make_app):
    rules = Rules()
    with pytest.raises(PluginError, match=r"plugin 'again' \(registered directly\) is already loaded as 'once'"):
        make_app(extra_plugins={"once": rules, "again": rules})


def test_social_source_clients_are_registered_by_kind_and_duplicates_stop_start_up(make_app):
    from channels.social_monitoring.clients import SourceClient

    class Toots(SourceClient):
        name = "toots"
        title = "Toots"

    class Clients:
        def __init__(self, *clients):
            self.clients = clients

        @hookimpl
        def register_social_source_clients(self):
            return list(self.clients)

    app = make_app(extra_plugins={"toots": Clients(Toots)})
    assert isinstance(app.extensions["plaudit.plugins"].social_source_clients["toots"], Toots)
    with pytest.raises(PluginError, match="duplicate social source client slug 'toots': registered by plugin "
                                         "'a' and by plugin 'b'"):
        make_app(extra_plugins={"a": Clients(Toots), "b": Clients(Toots)})
    with pytest.raises(PluginError, match="needs a snake_case `name` slug"):
        make_app(extra_plugins={"bad": Clients(type("Bad", (Toots,), {"name": "Toots!"}))})
