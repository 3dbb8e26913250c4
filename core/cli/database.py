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
    """Bring the database schema up to date (safe to run at every deploy).

    All the migrations it applies run in one transaction: if one fails, the database stays where it was.
    """
    url = current_app.config["DATABASE_URL"]
    shown = make_url(url).render_as_string(hide_password=True)
    before = _known_revision(url)
    migrate.upgrade(url, revision)
    after = migrate.current_revision(url)
    applied = f"from {before or 'empty'} to {after}" if before != after else "already current"
    click.echo(f"database at revision {after} ({shown}): {applied}")


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
    at = _known_revision(url)
    # Downgrading drops the tables and columns later migrations added, with their data: a typo must not do it.
    if not yes:
        click.confirm(f"Migrate {shown} down from {at or 'no revision'} to {revision}? The tables and columns of "
                      f"the revisions after it are dropped with their data", abort=True)
    migrate.downgrade(url, revision)
    click.echo(f"database at revision {migrate.current_revision(url) or 'none (empty)'} ({shown})")


@db.command()
@with_appcontext
def current():
    """Print the schema revision the database is at, and whether this version of Plaudit needs another."""
    at = migrate.current_revision(current_app.config["DATABASE_URL"])
    head, known = migrate.revisions()
    if at is None:
        click.echo("empty (run `plaudit db upgrade`)")
    elif at not in known:
        click.echo(f"{at} (newer than this version of Plaudit, which knows up to {head})")
    elif at != head:
        click.echo(f"{at} (this version needs {head}: run `plaudit db upgrade`)")
    else:
        click.echo(at)


def _known_revision(url: str) -> str | None:
    """The database's revision; refused, saying so, when a newer version of Plaudit migrated it.

    Alembic would otherwise fail deep inside with a traceback (``Can't locate revision identified by``).
    """
    at = migrate.current_revision(url)
    head, known = migrate.revisions()
    if at is not None and at not in known:
        raise click.ClickException(
            f"the database is at revision {at}, newer than this version of Plaudit (which knows up to {head}): "
            f"a newer version migrated it. Install that version (or newer) to upgrade, or use it to downgrade "
            f"to {head} before going back to this one")
    return at
