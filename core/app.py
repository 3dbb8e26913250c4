"""The application factory."""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import configure_mappers

from . import auth, db, plugins, request_limits
from .access_log import hide_secrets_in_access_log
from .config import load_config, warn_unknown_variables
from .form_text import FormRequest

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"


def default_instance_path() -> Path:
    """``instance/`` beside the code in a source checkout; ``<prefix>/var/plaudit-instance`` when installed.

    Fixed by where the code is, not by the working directory, so the web process, the workers and every
    command find the same SQLite file and secret key wherever they are started.
    """
    if (ROOT / "setup.cfg").exists():
        return ROOT / "instance"
    return Path(sys.prefix) / "var" / "plaudit-instance"


def create_app(config: Mapping[str, Any] | None = None, *, extra_plugins: dict[str, Any] | None = None) -> Flask:
    """Create a Plaudit app: defaults, the instance file, ``PLAUDIT_*`` variables, then ``config``.

    :param config: settings that win over every other source (tests, embedding); ``INSTANCE_PATH`` here
        or in ``PLAUDIT_INSTANCE_PATH`` moves the instance folder.
    :param extra_plugins: plugin objects to register by name besides the built-ins and entry points.
    :raises core.config.ConfigError: when a setting is invalid.
    :raises core.plugins.PluginError: when a plugin cannot be loaded as configured.
    """
    config = dict(config or {})
    instance_path = (config.pop("INSTANCE_PATH", None) or os.environ.get("PLAUDIT_INSTANCE_PATH")
                     or default_instance_path())
    app = Flask("plaudit", root_path=str(WEB), instance_path=str(Path(instance_path).resolve()),
                template_folder="templates", static_folder="static")
    app.request_class = FormRequest
    # Before any blueprint adds a rule: every <int:id> in a URL stays within what the database can hold.
    from web.arguments import IdConverter

    app.url_map.converters["int"] = IdConverter
    _configure_logging("INFO")  # so that what configuration itself warns about is readable
    try:
        load_config(app, config)
    except Exception:
        warn_unknown_variables()  # a mistyped name is often why a setting is missing or wrong: say it too
        raise
    _configure_logging(app.config["LOG_LEVEL"])

    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    db.init_app(app)
    try:
        loaded = plugins.init_app(app, extra_plugins)
    except plugins.PluginError:
        warn_unknown_variables()
        raise
    warn_unknown_variables(name for name, _ in loaded.pm.list_name_plugin())  # a plugin's own are not typos
    request_limits.init_app(app)  # before CSRF's hook, which reads the body
    auth.init_app(app)

    from appraisal import init_app as init_appraisal
    from web import init_app as init_web

    from .cli import init_app as init_cli

    init_web(app)
    init_appraisal(app)  # before the plugins' commands, so none can take an appraisal command's name
    init_cli(app)
    for channel in loaded.channels.values():
        if channel.blueprint is not None:
            app.register_blueprint(channel.blueprint, url_prefix=f"/channels/{channel.name}")
    _refuse_undeclared_views(app, loaded)
    # Mappers are configured now, once per process, rather than by the first query: that cost the first
    # request or job ~80 ms, and a web or worker process forked from this one inherits them configured.
    # A mapping mistake then also stops start-up instead of failing a request.
    configure_mappers()
    return app


def _refuse_undeclared_views(app: Flask, loaded: plugins.Plugins) -> None:
    """Stop start-up if any view does not say who may call it (``core.auth``: public, roles_required, ...).

    A view that says nothing would be open to anyone, and a plugin's blueprint is the likeliest place for one:
    refusing to start is the only check that holds for code this repository's tests never see.
    """
    for rule in app.url_map.iter_rules():
        # Views nobody can decorate, open by nature: a blueprint's static files, and the API's documentation
        # pages flask-smorest adds when PLAUDIT_OPENAPI_* settings ask for them (Swagger UI, ReDoc).
        if rule.endpoint.endswith(".static") or rule.endpoint.startswith("api-docs."):
            auth.public_endpoint(app, rule.endpoint)
    undeclared = sorted(rule.endpoint for rule in app.url_map.iter_rules() if auth.access_of(app, rule.endpoint) is None)
    if not undeclared:
        return
    owners = {channel.blueprint.name: f"channel {name!r}" for name, channel in loaded.channels.items()
              if channel.blueprint is not None}
    named = [f"{endpoint} (of {owners[endpoint.partition('.')[0]]})" if endpoint.partition(".")[0] in owners
             else endpoint for endpoint in undeclared]
    raise plugins.PluginError(f"these views do not declare who may call them, so they would be open to anyone: "
                              f"{', '.join(named)}; mark each with core.auth's public, roles_required(...) or "
                              f"authenticated (docs/architecture.md, Authentication and roles)")


def _configure_logging(level: str) -> None:
    # Under gunicorn, a worker or pytest the root logger already has handlers: leave them be.
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("core", "channels", "plugins", "appraisal", "web"):
        logging.getLogger(name).setLevel(level)
    hide_secrets_in_access_log()
