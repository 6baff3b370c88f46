"""Apply the Alembic migrations in ``migrations/`` (shipped as ``cogvlm_media.migrations``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from cogvlm_media.store import engine as engine_mod


def script_location() -> str:
    """The migrations of this source tree when run from one (an editable install's package mapping may
    point at another checkout's), else the copy shipped inside the package."""
    source = Path(__file__).resolve().parents[2] / "migrations"
    if (source / "env.py").is_file() and (source / "versions").is_dir():
        return str(source)
    return str(files("cogvlm_media.migrations"))


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", script_location())
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


MIGRATION_LOCK = 0x636F67766C6D  # PostgreSQL advisory lock key ("cogvlm")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Concurrent first runs serialise on SQLite's write lock, on
    PostgreSQL on an advisory lock held for the migration's transaction (the later one then finds the
    schema current)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    config = alembic_config()
    previous = getattr(engine_mod._immediate, "on", False)
    engine_mod._immediate.on = True
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # first runs on several machines at once: one at a time
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine_mod._immediate.on = previous
