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
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (scripts).")
@with_appcontext
def downgrade(revision, yes):
    """Migrate the schema down to REVISION ('base' removes every table), losing what later ones hold."""
    url = current_app.config["DATABASE_URL"]
    head, known = migrate.revisions()
    if revision != "base" and revision not in known:
        raise click.BadParameter(f"{revision!r} is not a revision of this version of Plaudit (they run from "
                                 f"{known[-1]} to {head}; 'base' removes every table)", param_hint="REVISION")
    shown = make_url(url).render_as_string(hide_password=True)
    at = migrate.current_revision(url)
    # Downgrading drops the tables and columns later migrations added, with their data: a typo must not do it.
    if not yes:
        click.confirm(f"Migrate {shown} down from {at or 'no revision'} to {revision}? The tables and columns of "
                      f"the revisions after it are dropped with their data", abort=True)
    migrate.downgrade(url, revision)
    click.echo(f"database at revision {migrate.current_revision(url) or 'none (empty)'} ({shown})")


@db.command()
@with_appcontext
def current():
    """Print the schema revision the database is at."""
    click.echo(migrate.current_revision(current_app.config["DATABASE_URL"]) or "empty (run `plaudit db upgrade`)")
