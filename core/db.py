"""The database: one engine and session factory per app, and the session of the current app context."""
from __future__ import annotations

import os
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from alembic.runtime.migration import MigrationContext
from flask import current_app, g, has_request_context, request
from sqlalchemy import ARRAY, Integer, any_, create_engine, event, literal
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

EXTENSION_KEY = "plaudit.db"
#: Requests that change nothing, by HTTP's rules; their session reads without taking SQLite's write lock.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Database:
    """The engine and session factory of one app, kept in ``app.extensions``."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        #: For units of work that only read (GET requests, health checks): on SQLite they take no write
        #: lock, so pages never wait behind a writer. Elsewhere it is the same as ``sessionmaker``.
        self.read_sessionmaker = sessionmaker(self.engine.execution_options(plaudit_read_only=True),
                                              expire_on_commit=False)
        # RQ's worker forks a child per job: the child must not reuse the parent's pooled connections.
        engine_ref = weakref.ref(self.engine)
        os.register_at_fork(after_in_child=lambda: (e := engine_ref()) is not None and e.dispose(close=False))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ping(self) -> str | None:
        """Read the schema's migration revision (None when it has none): raise if the database cannot be reached."""
        with self.engine.execution_options(plaudit_read_only=True).connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
    """Create the engine for ``url``: SQLite tuned for one writer at a time, PostgreSQL through psycopg 3."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, hide_parameters=True)


def _sqlite_begin(conn) -> None:
    # We take transactions over from pysqlite. A unit of work that may write takes the write lock at BEGIN:
    # a deferred transaction that reads and then writes fails at once ("database is locked") if another
    # writer committed in between, whereas IMMEDIATE waits its turn under busy_timeout. Read-only units
    # begin deferred and, under WAL, never wait.
    read_only = conn.get_execution_options().get("plaudit_read_only")
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    # WAL lets the web process read while a worker writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def init_app(app) -> Database:
    database = Database(app.config["DATABASE_URL"])
    app.extensions[EXTENSION_KEY] = database
    app.teardown_appcontext(_close_session)
    return database


def get_db() -> Database:
    return current_app.extensions[EXTENSION_KEY]


def get_session() -> Session:
    """Return the session of the current app context, opening it on first use."""
    if "plaudit_session" not in g:
        database = get_db()
        reading = has_request_context() and request.method in SAFE_METHODS
        g.plaudit_session = (database.read_sessionmaker if reading else database.sessionmaker)()
    return g.plaudit_session


def _close_session(_exc) -> None:
    session = g.pop("plaudit_session", None)
    if session is not None:
        session.close()


@contextmanager
def transaction() -> Iterator[Session]:
    """Yield a fresh session and commit it on success, roll back on error.

    For jobs and CLI commands, which own their unit of work; request handlers use :func:`get_session`.
    """
    session = get_db().sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ids_among(session: Session, column, ids: list[int]):
    """``column IN ids``; on PostgreSQL as ``= ANY`` of one array parameter.

    A thousand placeholders cost more to render and for psycopg to parse (it caches no statement that long)
    than the lookups they make.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(ids), ARRAY(Integer)))
    return column.in_(ids)


#: Values per IN list: a statement takes at most 65,535 parameters on PostgreSQL (32,766 on SQLite), and an
#: organisation file may name more people and identities than that.
IN_LIST_LIMIT = 10_000


def slices(values: Sequence, size: int = IN_LIST_LIMIT) -> Iterator[Sequence]:
    """``values`` in runs of at most ``size``, one IN list each."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def database_unreachable(error: BaseException) -> bool:
    """Whether ``error`` (SQLAlchemy's OperationalError) means the database cannot serve now, so a client
    should try again later, rather than a fault in the statement, which trying again cannot mend.

    PostgreSQL's operational errors are the connection, the server shutting down, a statement timeout: all
    worth a retry. SQLite reports a misspelled function or a syntax error as an operational error too
    (``SQLITE_ERROR``); only its busy, locked, unopenable or full database is an outage.
    """
    orig = getattr(error, "orig", None)
    name = getattr(orig, "sqlite_errorname", None)
    if name is None:
        return True
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL",
                            "SQLITE_READONLY", "SQLITE_PROTOCOL", "SQLITE_NOTADB", "SQLITE_CORRUPT"))
