"""The schema comes from Alembic, and Alembic's schema is the models' schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from reschedule_desk.storage.database import MIGRATIONS_DIR, alembic_config, make_engine, migrate
from reschedule_desk.storage.tables import Base

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = PROJECT_ROOT / "reschedule_desk" / "storage" / "alembic.ini"
MODEL_TABLES = set(Base.metadata.tables)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_migrations_take_an_empty_database_to_head(database_url, tmp_path, monkeypatch):
    # From anywhere: migrate() must not read the current directory.
    monkeypatch.chdir(tmp_path)
    engine = make_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []
        migrate(database_url)
        assert set(inspect(engine).get_table_names()) == MODEL_TABLES | {"alembic_version"}
        assert current_revision(engine) == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
        migrate(engine)  # again: nothing to do, nothing fails
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_leaves_only_alembic_version(engine):
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]


def test_there_is_one_head():
    assert len(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads()) == 1


def test_developer_alembic_ini_finds_no_pending_change(database_url):
    """`alembic -c reschedule_desk/storage/alembic.ini ...` works with DATABASE_URL, and
    autogenerate (`alembic check`) sees nothing the migrations lack."""
    environment = {**os.environ, "DATABASE_URL": database_url}

    def alembic(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "alembic", "-c", str(ALEMBIC_INI), *arguments],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
        )

    upgraded = alembic("upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    checked = alembic("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    database = tmp_path / "not" / "there" / "yet.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        assert database.exists()
    finally:
        engine.dispose()


def test_an_engine_for_a_number_of_threads_keeps_a_connection_for_each(database_url):
    # The pool's default keeps 5 and closes the rest as they come back, so that a sixth
    # thread opens a connection for every call (and waits, beyond 15).
    engine = make_engine(database_url, connections=8)
    try:
        held = [engine.connect() for _ in range(8)]
        for connection in held:
            connection.close()
        assert engine.pool.checkedin() == 8
    finally:
        engine.dispose()
