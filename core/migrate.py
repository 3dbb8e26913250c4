"""Schema migrations with Alembic, configured in code so there is no alembic.ini to keep in step."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is an INI parser: a literal % in a URL password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


@cache
def revisions() -> tuple[str, tuple[str, ...]]:
    """This code's head revision and every revision it knows, newest first (read once per process)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS))
    return scripts.get_current_head(), tuple(script.revision for script in scripts.walk_revisions())


def schema_state(revision: str | None) -> str:
    """``ok``, ``behind`` (none at all, or a revision this code knows and has passed: ``plaudit db upgrade`` was
    not run) or ``newer`` (a revision only newer code knows) for a database at ``revision``."""
    head, known = revisions()
    if revision == head:
        return "ok"
    return "behind" if revision is None or revision in known else "newer"


def behind_message(revision: str | None) -> str:
    return (f"the database schema is at {revision or 'no revision'}, this code needs {revisions()[0]}: run "
            f"`plaudit db upgrade`")


def schema_behind(database) -> str | None:
    """What to say when ``database``'s schema is older than this code's; None when it is current or newer, or
    cannot be read now (the caller meets that soon enough)."""
    from sqlalchemy.exc import OperationalError

    try:
        revision = database.ping()
    except OperationalError:
        return None
    return behind_message(revision) if schema_state(revision) == "behind" else None
