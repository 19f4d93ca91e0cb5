"""Engines, sessions and migrations.

The same code runs on SQLite (a file under var/ on a laptop) and PostgreSQL
(production, several workers side by side); only the URL differs.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# How long a SQLite writer waits for another one (a worker, the web app) before
# giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5_000


def make_engine(url: str, connections: int | None = None) -> Engine:
    """An engine for `url`, set up for its backend; with `connections`, a pool of at most
    that many, kept once opened (else SQLAlchemy's default, 5 kept and 10 more at need).

    SQLite: the file's directory is created, and every connection gets WAL (readers do
    not block the writer), foreign keys (off by default in SQLite) and a busy timeout.
    PostgreSQL: connections are checked before use, so a restarted server costs no
    failed activity.
    Both: a statement's parameters (names, dates of birth) never appear in an error
    message or a log line; the statement itself does.

    The pool is not fair: a thread that gives a connection back and asks again gets it
    before threads already waiting, so with more threads than connections some wait for
    as long as the rush lasts (seconds, bench/ item 8). A caller with a fixed number of
    threads asks for as many `connections`.
    """
    pool = {} if connections is None else {"pool_size": connections, "max_overflow": 0}
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True, **pool)

    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, hide_parameters=True, **pool)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _connection_record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for `engine`; callers own the transaction: `with maker.begin() as session:`.

    Objects stay readable after commit, so a caller can return what it just wrote.
    """
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration built in code: no alembic.ini, no dependence on the
    current directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser treats % as interpolation; URLs may contain %-escapes.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Bring the database's schema up to `revision` (the newest by default)."""
    if isinstance(engine_or_url, str):
        engine = make_engine(engine_or_url)
        try:
            migrate(engine, revision)
        finally:
            engine.dispose()
        return

    config = alembic_config()
    # migrations/env.py runs on this connection instead of making its own engine.
    with engine_or_url.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
