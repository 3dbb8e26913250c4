"""``plaudit demo``: a demo organisation in its own SQLite file, served on the web UI."""
from __future__ import annotations

import os
import shlex
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from .. import demo as demo_data
from .. import migrate


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--database-url", help="Where the demo lives; default: demo.db in the instance folder.")
@click.option("--serve/--no-serve", default=True, help="Serve the web UI after filling the database.")
@with_appcontext
def demo(host, port, database_url, serve):
    """Create (or reuse) a demo organisation, fill it through the real ingestion path, and serve it.

    The demo has its own database, so it never mixes with the one PLAUDIT_DATABASE_URL names.
    """
    from ..app import create_app

    url = database_url or f"sqlite:///{Path(current_app.instance_path) / 'demo.db'}"
    click.echo(f"demo database: {make_url(url).render_as_string(hide_password=True)}")
    migrate.upgrade(url)
    # No mail: the demo's people are made up, and a mail server set for the real deployment got some 80 alerts
    # about them as the demo filled.
    settings = {"DATABASE_URL": url, "INSTANCE_PATH": current_app.instance_path, "REDIS_URL": None,
                "SECRET_KEY": current_app.config["SECRET_KEY"], "MAIL_SERVER": None}
    if current_app.config["MAIL_SERVER"]:
        click.echo("demo: e-mail is off (PLAUDIT_MAIL_SERVER is ignored: the demo's people are made up)")
    if "PLAUDIT_PUBLIC_URL" not in os.environ:
        # Webhook addresses and survey links name the address the demo is served on.
        settings["PUBLIC_URL"] = f"http://{host}:{port}"
    app = create_app(settings)
    from ..db import transaction
    from ..plugins import get_plugins

    with app.app_context():
        with transaction() as session:
            created = demo_data.build_organisation(session)
        click.echo("created the demo organisation" if created else "reusing the demo organisation")
        with transaction() as session:
            agents = demo_data.demo_agents(session)
        payloads = demo_data.channel_payloads(get_plugins().channels, agents)
        sessionmaker = app.extensions["plaudit.db"].sessionmaker
        with click.progressbar(length=sum(map(len, payloads.values())), label="feeding the demo channels") as bar:
            totals = demo_data.fill(sessionmaker, payloads, progress=bar.update)
        for slug, (new, seen) in totals.items():
            click.echo(f"  {slug}: {new} new item(s), {seen} already there")
        for label, steps, step in app.extensions.get(demo_data.DEMO_STEPS_KEY, []):
            with click.progressbar(length=steps() if callable(steps) else steps, label=label) as bar:
                step(sessionmaker, progress=bar.update)

    click.echo("")
    if serve:
        click.secho(f"Plaudit demo: http://{host}:{port}/", bold=True)
    else:  # nothing listens: say how to serve what was filled
        again = "plaudit demo" + (f" --database-url {shlex.quote(database_url)}" if database_url else "")
        click.secho(f"Plaudit demo filled; nothing is served (--no-serve). Serve it with `{again}`, which "
                    "reuses the database.", bold=True)
    click.echo(f"Sign in with any of these (password: {demo_data.PASSWORD}):")
    for login in demo_data.demo_logins():
        click.echo(f"  {login.email:28} {login.role:9} {login.who}")
    if serve:
        from werkzeug.serving import run_simple

        click.echo("Press Ctrl+C to stop.")
        # Flask's app.run() declines to run inside its own CLI; the server underneath it does not.
        run_simple(host, port, app, threaded=True)
