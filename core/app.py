"""The application factory."""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from . import auth, db, plugins
from .config import load_config

WEB = Path(__file__).resolve().parent.parent / "web"


def create_app(config: Mapping[str, Any] | None = None, *, extra_plugins: dict[str, Any] | None = None) -> Flask:
    """Create a Plaudit app: defaults, the instance file, ``PLAUDIT_*`` variables, then ``config``.

    :param config: settings that win over every other source (tests, embedding); ``INSTANCE_PATH`` here
        or in ``PLAUDIT_INSTANCE_PATH`` moves the instance folder.
    :param extra_plugins: plugin objects to register by name besides the built-ins and entry points.
    :raises core.config.ConfigError: when a setting is invalid.
    :raises core.plugins.PluginError: when a plugin cannot be loaded as configured.
    """
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("PLAUDIT_INSTANCE_PATH")
    app = Flask("plaudit", root_path=str(WEB), instance_path=instance_path and str(Path(instance_path).resolve()),
                template_folder="templates", static_folder="static")
    load_config(app, config)
    logging.getLogger("core").setLevel(app.config["LOG_LEVEL"])

    db.init_app(app)
    loaded = plugins.init_app(app, extra_plugins)
    auth.init_app(app)

    from web import init_app as init_web

    from .cli import init_app as init_cli

    init_web(app)
    init_cli(app)
    for channel in loaded.channels.values():
        if channel.blueprint is not None:
            app.register_blueprint(channel.blueprint, url_prefix=f"/channels/{channel.name}")
    return app
