"""The schema comes from the Alembic migrations, which match the models on both databases."""
from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from core.migrate import alembic_config, current_revision, downgrade, upgrade
from core.models import Base
from tests.fixtures.app import create_postgres_database


def _urls(tmp_path, postgres_server_url):
    return [f"sqlite:///{tmp_path / 'm.db'}", create_postgres_database(postgres_server_url, "plaudit_migrations")]


def test_migrations_build_exactly_the_models_and_downgrade_cleanly(tmp_path, postgres_server_url):
    from core.db import make_engine

    for url in _urls(tmp_path, postgres_server_url):
        upgrade(url)
        command.check(alembic_config(url))  # raises if the models and the migrated schema differ
        assert current_revision(url) == "0002"
        downgrade(url, "base")
        engine = make_engine(url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        engine.dispose()
        upgrade(url)
        engine = make_engine(url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        engine.dispose()


def test_db_upgrade_command(tmp_path, monkeypatch):
    from core.app import create_app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url, "SECRET_KEY": "k" * 32})
    runner = app.test_cli_runner()
    assert "empty" in runner.invoke(args=["db", "current"]).output
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "database at revision 0002" in result.output
    assert runner.invoke(args=["db", "current"]).output.strip() == "0002"
