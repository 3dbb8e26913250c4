"""Alembic environment: runs migrations online against the URL the caller configured."""
import importlib

from alembic import context

from core.db import make_engine
from core.models import Base
from core.plugins import BUILTIN_PLUGINS

# Built-in plugins may own tables (prefixed with their slug); their models join Base.metadata on import.
for _module in ("appraisal", *BUILTIN_PLUGINS.values()):
    try:
        importlib.import_module(f"{_module}.models")
    except ModuleNotFoundError as exc:
        if exc.name != f"{_module}.models":
            raise

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch operations copy a table and DROP the old one: with foreign keys enforced, dropping a parent
            # (tickets) would delete its children's rows (assignments, ON DELETE CASCADE). The pragma only
            # takes effect outside a transaction, so it goes to the driver before SQLAlchemy begins one.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported: run `plaudit db upgrade`")
run_migrations_online()
