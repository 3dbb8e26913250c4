"""Plugins: built-ins by module name, external packages by entry point, allow/block lists, clear failures."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from core.db import transaction
from core.models import ApiToken, Feedback
from core.plugins import PluginError
from tests.fixtures.plugins import write_distribution

MISSPELLED = """
    from core import hookimpl

    @hookimpl
    def feedback_ingestd(feedback):
        pass
"""

CLONE = """
    from core import hookimpl
    from plaudit_kudos import Kudos

    class KudosAgain(Kudos):
        title = "Kudos, again"

    @hookimpl
    def register_channels():
        return [KudosAgain]
"""


def test_external_package_adds_a_channel_that_ingests_end_to_end(kudos_site, on_path, make_app, session,
                                                                   create_employee, create_user):
    ann = create_employee("Ann", identities=[("email", "ann@example.com")])
    token, plain = ApiToken.issue(create_user("bridge@example.com", roles=["admin"]), "test", ["feedback:write"])
    session.add(token)
    session.commit()
    on_path(kudos_site)
    app = make_app()
    assert "kudos" in app.extensions["plaudit.plugins"].channels

    response = app.test_client().post("/api/v1/channels/kudos/feedback", headers={"Authorization": f"Bearer {plain}"},
                                      json={"id": "k-1", "to": "Ann@example.com", "sender": "a customer",
                                            "message": "Thank you!", "sent_at": "2026-11-20T09:00:00Z"})

    assert response.status_code == 201, response.get_json()
    with app.app_context(), transaction() as fresh:
        item = fresh.scalar(select(Feedback))
        assert (item.channel, item.kind, item.employee_id, item.attribution_policy, item.comment) == (
            "kudos", "kudos", ann.id, "subject", "Thank you!")


def test_plugins_command_lists_source_and_hooks(kudos_site, on_path, make_app):
    on_path(kudos_site)
    result = make_app().test_cli_runner().invoke(args=["plugins"])
    assert result.exit_code == 0, result.output
    assert "kudos  [plaudit-kudos 0.1.0]" in result.output
    assert "hooks: register_channels, register_commands" in result.output
    assert "post_ticket_survey  [built-in (channels.post_ticket_survey)]" in result.output
    assert "channels: kudos, mystery_shopper, post_ticket_survey, social_monitoring, ticket_metrics" in result.output
    assert "social_scores  [built-in (plugins.social_scores)]" in result.output
    assert ("scoring rules: ces, csat_mean, csat_percent, first_response_sla, mystery_score, mystery_section, nps, "
            "resolution_sla, social_reply_time, social_sentiment") in result.output


def test_plugin_commands_join_the_cli(kudos_site, on_path, tmp_path):
    result = _plaudit(["kudos-hello"], tmp_path, kudos_site)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "kudos plugin loaded"


def test_blocked_plugin_does_not_load(kudos_site, on_path, make_app):
    on_path(kudos_site)
    app = make_app(PLUGINS_BLOCKED=["kudos"])
    assert "kudos" not in app.extensions["plaudit.plugins"].channels
    assert {info.name: info.source for info in app.extensions["plaudit.plugins"].describe()}["kudos"] == "blocked"


def test_allowlist_loads_only_what_it_names(kudos_site, on_path, make_app):
    on_path(kudos_site)
    app = make_app(PLUGINS_ALLOWED=["kudos"])
    assert set(app.extensions["plaudit.plugins"].channels) == {"kudos"}


def test_misspelled_hook_stops_start_up_with_a_clear_message(on_path, make_app, tmp_path):
    on_path(write_distribution(tmp_path / "site", "plaudit-typo", "typo", MISSPELLED))
    with pytest.raises(PluginError) as error:
        make_app()
    assert "plugin 'typo'" in str(error.value) and "feedback_ingestd" in str(error.value)
    assert "misspelled" in str(error.value)


def test_misspelled_hook_stops_the_command_line_too(tmp_path):
    site = write_distribution(tmp_path / "site", "plaudit-typo", "typo", MISSPELLED)
    result = _plaudit(["plugins"], tmp_path, site)
    assert result.returncode == 2
    assert "plaudit: cannot start: plugin 'typo'" in result.stderr and "feedback_ingestd" in result.stderr
    assert "Traceback" not in result.stderr


def test_duplicate_slugs_stop_start_up_naming_both_plugins(kudos_site, on_path, make_app, tmp_path):
    on_path(kudos_site, write_distribution(tmp_path / "site", "plaudit-kudos-clone", "kudos_clone", CLONE))
    with pytest.raises(PluginError, match="duplicate channel slug 'kudos': registered by plugin 'kudos' "
                                         "and by plugin 'kudos_clone'"):
        make_app()
    # Blocking one of the two is the documented way out.
    assert "kudos" in make_app(PLUGINS_BLOCKED=["kudos_clone"]).extensions["plaudit.plugins"].channels


def test_builtin_and_entry_point_with_one_name_stop_start_up(on_path, make_app, tmp_path):
    on_path(write_distribution(tmp_path / "site", "plaudit-impostor", "post_ticket_survey", "x = 1\n"))
    # Blocking the name, as the message said before, blocked the built-in too: renaming is the way out.
    with pytest.raises(PluginError, match="two plugins are named 'post_ticket_survey'.*rename the entry point"):
        make_app()


def test_a_plugin_that_fails_to_import_is_named_with_its_error_and_line(on_path, make_app, tmp_path):
    """'failed to import: bad schema config' gave neither the kind of error nor where it was raised."""
    on_path(write_distribution(tmp_path / "site", "plaudit-fragile", "fragile",
                               "SETTINGS = {}\nPORT = SETTINGS['port']\n"))
    with pytest.raises(PluginError) as error:
        make_app()
    message = str(error.value)
    assert message.startswith("plugin 'fragile' (plaudit_fragile) failed to import: KeyError: 'port' (")
    assert "plaudit_fragile.py, line 2)" in message
    assert message.endswith("""fix it, or start without it: PLAUDIT_PLUGINS_BLOCKED='["fragile"]'""")
    blocked = make_app(PLUGINS_BLOCKED=["fragile"]).extensions["plaudit.plugins"].describe()
    assert [info.source for info in blocked if info.name == "fragile"] == ["blocked"]


def test_a_rule_reading_kinds_no_channel_produces_is_logged(make_app, caplog):
    from core import hookimpl
    from core.scoring import ScoringRule

    class Misspelt(ScoringRule):
        name, title, kinds = "phone_top_box", "Phone top box", ("phone_ratings",)

    class Plugin:
        @hookimpl
        def register_scoring_rules(self):
            return [Misspelt]

    make_app(extra_plugins={"phone": Plugin()})
    assert ("scoring rule 'phone_top_box' reads feedback kind(s) phone_ratings, which no loaded channel produces: "
            "its metric stays empty") in caplog.text



def _channel_plugin(blueprint) -> dict:
    """``extra_plugins`` holding a plugin whose channel, named as ``blueprint``, serves it."""
    from core import hookimpl
    from core.channel import Channel
    from tests.plugin_packages.plaudit_kudos.plaudit_kudos import KudosSchema

    channel = type("PagedChannel", (Channel,), {"name": blueprint.name, "title": blueprint.name.title(),
                                                 "kinds": ("kudos",), "schema": KudosSchema,
                                                 "blueprint": blueprint})

    class Plugin:
        @hookimpl
        def register_channels(self):
            return [channel]

    return {blueprint.name: Plugin()}


def _channel_with_view(declare):
    """A plugin whose channel has a page of its own, marked by ``declare`` (or by nothing)."""
    from flask import Blueprint

    blueprint = Blueprint("loose", __name__)

    @blueprint.get("/status")
    @declare
    def status():
        return "up"

    return _channel_plugin(blueprint)


def test_a_channel_view_that_declares_no_access_stops_start_up(make_app):
    from core.auth import public

    with pytest.raises(PluginError) as error:
        make_app(extra_plugins=_channel_with_view(lambda view: view))
    assert "loose.status (of channel 'loose')" in str(error.value) and "open to anyone" in str(error.value)
    # Declared, the same view serves: the check is about saying who may call it, not about forbidding it.
    app = make_app(extra_plugins=_channel_with_view(public))
    assert app.test_client().get("/channels/loose/status").get_data(as_text=True) == "up"


def _registering(hook_name, answer):
    from core import hookimpl

    class Plugin:
        pass

    def register(self):
        return answer

    setattr(Plugin, hook_name, hookimpl(register, specname=hook_name))
    return {"faulty": Plugin()}


def _faulty_answers():
    from core.channel import Channel
    from core.scoring import ScoringRule
    from tests.plugin_packages.plaudit_kudos.plaudit_kudos import Kudos

    class NoSchema(Channel):
        name, title, kinds = "no_schema", "No schema", ("kudos",)

    class SchemaInstance(Kudos):  # the schema made, where its class was wanted
        name = "schema_instance"
        schema = Kudos.schema()

    class Untitled(Kudos):
        name, title = "untitled", ""

    class NoKinds(ScoringRule):
        name, title = "no_kinds", "No kinds"

    class Kindless(Kudos):  # every payload would be rejected: "'kudos' is not a kind of channel 'kindless' ()"
        name, kinds = "kindless", ()

    class Fragile(Kudos):
        name = "fragile"

        def __init__(self):
            raise RuntimeError("needs a licence key")

    class NotAChannel(ScoringRule):
        name, title, kinds = "not_a_channel", "Not a channel", ("kudos",)

    return [
        ("register_channels", Kudos, "returned <class", "must return a list of channel classes"),
        ("register_channels", [Kudos()], "returned <Channel kudos>", "not one of the channel classes"),
        ("register_channels", [NotAChannel], "NotAChannel", "subclasses of core.channel.Channel"),
        ("register_channels", [NoSchema], "channel 'no_schema'", "lacks a valid `schema`"),
        ("register_channels", [SchemaInstance], "lacks a valid `schema`",
         "`schema` is an instance of " + type(SchemaInstance.schema).__name__ + ": give the class itself"),
        ("register_channels", [Untitled], "channel 'untitled'", "lacks a valid `title`"),
        ("register_scoring_rules", [NoKinds], "scoring rule 'no_kinds'", "lacks a valid `kinds`"),
        ("register_channels", [Kindless], "channel 'kindless'", "lacks a valid `kinds`"),
        ("register_channels", [Fragile], "channel 'fragile' could not be created", "needs a licence key"),
    ]


@pytest.mark.parametrize("case", range(len(_faulty_answers())))
def test_a_register_hook_answering_wrongly_stops_start_up_naming_the_plugin(make_app, case):
    hook_name, answer, said, why = _faulty_answers()[case]
    with pytest.raises(PluginError) as error:
        make_app(extra_plugins=_registering(hook_name, answer))
    message = str(error.value)
    assert message.startswith("plugin 'faulty': ") and said in message and why in message, message


def _plaudit(args, tmp_path, site):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "PLAUDIT_INSTANCE_PATH": str(tmp_path / "instance"), "PLAUDIT_SECRET_KEY": "s" * 32}
    env.pop("PLAUDIT_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-c", "from core.cli import main; main()", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_register_commands_without_the_cli_argument_loads(make_app):
    """pluggy lets an implementation leave out arguments; Plaudit's own call of this hook must too."""
    from core import hookimpl

    called = []

    class Plugin:
        @hookimpl
        def register_commands(self):
            called.append(True)

    make_app(extra_plugins={"quiet": Plugin()})
    assert called


def test_views_nobody_can_mark_are_open_by_nature(make_app, tmp_path):
    """A plugin blueprint's static files and the API's Swagger UI have no view to decorate; start-up let them be."""
    from flask import Blueprint

    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "logo.txt").write_text("logo")
    blueprint = Blueprint("styled", __name__, static_folder=str(tmp_path / "static"))
    app = make_app(extra_plugins=_channel_plugin(blueprint), OPENAPI_SWAGGER_UI_PATH="/swagger",
                   OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/")
    client = app.test_client()
    assert client.get("/channels/styled/static/logo.txt").get_data(as_text=True) == "logo"
    assert client.get("/api/v1/swagger").status_code == 200
