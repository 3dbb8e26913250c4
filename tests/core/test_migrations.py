"""The schema comes from the Alembic migrations, which match the models on both databases."""
from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from core.db import make_engine
from core.migrate import alembic_config, current_revision, downgrade, upgrade
from core.models import Base


def test_migrations_build_exactly_the_models_and_downgrade_cleanly(migration_urls):

    for url in migration_urls:
        upgrade(url)
        command.check(alembic_config(url))  # raises if the models and the migrated schema differ
        assert current_revision(url) == "0027"
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
    assert result.exit_code == 0 and "database at revision 0027" in result.output
    assert result.output.strip().endswith(": from empty to 0027")
    assert runner.invoke(args=["db", "upgrade"]).output.strip().endswith(": already current")
    assert runner.invoke(args=["db", "current"]).output.strip() == "0027"
    runner.invoke(args=["db", "downgrade", "0017", "--yes"])
    assert runner.invoke(args=["db", "current"]).output.strip() == "0017 (this version needs 0027: run `plaudit db upgrade`)"


def test_a_database_a_newer_version_migrated_is_named_not_a_traceback(tmp_path):
    """An operator rolling back the code without downgrading first got 95 lines of Alembic traceback."""
    from sqlalchemy import text

    from core.app import create_app
    from core.cli import version_line

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url, "SECRET_KEY": "k" * 32})
    runner = app.test_cli_runner()
    runner.invoke(args=["db", "upgrade"])
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    for args in (["db", "upgrade"], ["db", "downgrade", "0017", "--yes"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and "Traceback" not in result.output, args
        assert "the database is at revision 0099, newer than this version of Plaudit (which knows up to 0027)" \
            in result.output
    assert runner.invoke(args=["db", "current"]).output.strip() == \
        "0099 (newer than this version of Plaudit, which knows up to 0027)"
    assert version_line().endswith(", database schema 0027")


def test_db_downgrade_asks_first_and_names_a_revision_it_does_not_know(tmp_path, monkeypatch):
    """`plaudit db downgrade base` dropped every table at once, with the stack serving; `9999` was a traceback."""
    from core.app import create_app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url, "SECRET_KEY": "k" * 32})
    runner = app.test_cli_runner()
    runner.invoke(args=["db", "upgrade"])
    unknown = runner.invoke(args=["db", "downgrade", "9999"])
    assert unknown.exit_code == 2 and "'9999' is not a revision of this version of Plaudit" in unknown.output
    declined = runner.invoke(args=["db", "downgrade", "0016"], input="n\n")
    assert declined.exit_code == 1 and "dropped with their data" in declined.output
    assert current_revision(url) == "0027"
    done = runner.invoke(args=["db", "downgrade", "0016", "--yes"])
    assert done.exit_code == 0 and "database at revision 0016" in done.output
    assert current_revision(url) == "0016"


def test_upgrading_sqlite_keeps_the_rows_of_tables_a_migration_copies(tmp_path):
    """SQLite alters a table by copying it and dropping the old one; with foreign keys on, the drop deletes
    every row that references it (ON DELETE CASCADE). Migration 0009 copies feedback: an upgrade across it
    used to delete every flag and dispute."""
    from sqlalchemy import text


    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0008")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO feedback (id, channel, kind, external_id, occurred_at, received_at, value, "
                          "status, payload) VALUES (1, 's', 'csat', 'a', '2026-11-02', '2026-11-02', 1, "
                          "'quarantined', '{}')"))
        conn.execute(text("INSERT INTO flags (feedback_id, \"check\", reason, created_at) "
                          "VALUES (1, 'self_rating', 'the employee rated their own ticket', '2026-11-02')"))
        conn.execute(text("INSERT INTO disputes (feedback_id, reason, status, created_at) "
                          "VALUES (1, 'not my ticket', 'open', '2026-11-02')"))
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert [conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                for table in ("feedback", "flags", "disputes")] == [1, 1, 1]
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1  # on again for the application
    engine.dispose()


def test_identities_stored_decomposed_are_composed_by_0021(migration_urls):
    """Names are matched composed from 0021 on: one stored as "Zoe" + U+0308 would never match again."""
    from sqlalchemy import text

    for url in migration_urls:
        upgrade(url, "0020")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO employees (id, name, email, active, created_at) "
                              "VALUES (1, 'Zoë', 'zoe@example.com', true, '2026-11-02')"))
            conn.execute(text("INSERT INTO employee_identities (employee_id, provider, external_id, created_at) "
                              "VALUES (1, 'name', :spelt, '2026-11-02')"), {"spelt": "Zoe\u0308"})
            conn.execute(text("INSERT INTO feedback (channel, kind, external_id, occurred_at, received_at, value, "
                              "status, payload, attributed_identity) VALUES ('s', 'csat', 'a', '2026-11-02', "
                              "'2026-11-02', 1, 'accepted', '{}', :waiting)"), {"waiting": "name:Zoe\u0308"})
        engine.dispose()
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT external_id FROM employee_identities")).scalar() == "Zo\u00eb"
            assert conn.execute(text("SELECT attributed_identity FROM feedback")).scalar() == "name:Zo\u00eb"
        engine.dispose()


def test_workers_and_the_scheduler_are_told_of_a_schema_behind_them(tmp_path, caplog):
    """Only the web's /healthz said a deploy forgot `plaudit db upgrade`; workers and cron started silently."""
    import logging

    from core.app import create_app
    from core.db import Database
    from core.migrate import revisions, schema_behind

    url = f"sqlite:///{tmp_path / 'behind.db'}"
    upgrade(url, "0019")
    head = revisions()[0]
    assert schema_behind(Database(url)) == f"the database schema is at 0019, this code needs {head}: run " \
                                           f"`plaudit db upgrade`"
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url, "SECRET_KEY": "k" * 32,
                      "REDIS_URL": None})
    caplog.set_level(logging.WARNING, logger="core.cli.jobs")
    app.test_cli_runner().invoke(args=["worker", "--burst"])  # (stops at once: no Redis to work for)
    assert any("this code needs" in record.getMessage() for record in caplog.records)
    upgrade(url)
    assert schema_behind(Database(url)) is None
