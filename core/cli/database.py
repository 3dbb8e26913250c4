"""``plaudit db``: schema migrations."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from .. import migrate


@click.group()
def db():
    """Create and migrate the database schema."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Migrate up to this revision.")
@with_appcontext
def upgrade(revision):
    """Bring the database schema up to date (safe to run at every deploy)."""
    url = current_app.config["DATABASE_URL"]
    migrate.upgrade(url, revision)
    shown = make_url(url).render_as_string(hide_password=True)
    click.echo(f"database at revision {migrate.current_revision(url)} ({shown})")


@db.command()
@click.argument("revision")
@with_appcontext
def downgrade(revision):
    """Migrate the schema down to REVISION ('base' removes every table)."""
    migrate.downgrade(current_app.config["DATABASE_URL"], revision)


@db.command()
@with_appcontext
def current():
    """Print the schema revision the database is at."""
    click.echo(migrate.current_revision(current_app.config["DATABASE_URL"]) or "empty (run `plaudit db upgrade`)")
