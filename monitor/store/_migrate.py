"""Schema management through Alembic only: upgrade, current revision, drift check.

On PostgreSQL the upgrade holds an advisory lock, so replicas that start together migrate once and the
others wait for it. On SQLite the same effect comes from taking the database's write lock as the
transaction's first statement (two processes upgrading a new file at once otherwise both read "no
schema" and the second fails with "table already exists"). Migration 0004 installs procrastinate's job-queue
schema on PostgreSQL: its tables are not ours to model, so the drift check leaves them out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from monitor.store.models import Base

_MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_ID = 0x6D6F6E69  # "moni"
JOB_QUEUE_PREFIX = "procrastinate_"  # tables of the job engine (migration 0004), not in our models


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads, expected exactly one: {heads}")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def lock_schema(conn: Connection) -> None:
    """Wait for the schema lock until the end of this transaction, so that replicas (or a CLI and a daemon)
    starting together migrate and sync one by one: a cluster-wide advisory lock on PostgreSQL; on SQLite
    ``BEGIN IMMEDIATE`` (pysqlite has not begun one yet: it only does before DML) takes the write lock,
    waiting out the busy timeout, before anything is read."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    elif conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        if driver is not None and not driver.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        lock_schema(conn)
        command.upgrade(alembic_config(conn), revision)


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and reflected and (name or "").startswith(JOB_QUEUE_PREFIX))


def schema_drift(engine: Engine) -> list[str]:
    """Differences between the models and the live schema (empty when they agree)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        return [repr(d) for d in compare_metadata(ctx, Base.metadata)]
