"""Schema management through Alembic only: upgrade, current revision, drift check.

On PostgreSQL the upgrade holds an advisory lock, so replicas that start together migrate once and the
others wait for it. On SQLite the same effect comes from taking the database's write lock as the
transaction's first statement (two processes upgrading a new file at once otherwise both read "no
schema" and the second fails with "table already exists"). Migration 0004 installs procrastinate's job-queue
schema on PostgreSQL: its tables are not ours to model, so the drift check leaves them out.

Alembic itself (about 14 MB resident with Mako and Pygments) is imported only to migrate or to compare
schemas: a daemon whose database is already at ``HEAD_REVISION`` reads the version table with one query
and never loads it (a test checks that the constant is the migrations' single head). A daemon whose
database is behind (a new deployment, a new release) migrates in a child process (``upgrade_in_child``)
rather than in its own: once imported, those modules would stay resident for as long as the daemon
runs (issue #3's memory budget), for work done once. The database URL reaches the child through its
environment, not its command line, which other users may read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from monitor.store._engine import begin_immediate
from monitor.store.models import Base

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_ID = 0x6D6F6E69  # "moni"
JOB_QUEUE_PREFIX = "procrastinate_"  # tables of the job engine (migration 0004), not in our models
HEAD_REVISION = "0005"  # the newest migration's revision: update it with each new migration (tested)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The migrations' single head, as Alembic reads it (``HEAD_REVISION`` is its cheap copy)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads, expected exactly one: {heads}")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None: no schema yet), read from Alembic's version table directly."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:
        raise RuntimeError(f"the database's version table has {len(rows)} heads: {sorted(rows)}")
    return rows[0] if rows else None


def lock_schema(conn: Connection) -> None:
    """Wait for the schema lock until the end of this transaction, so that replicas (or a CLI and a daemon)
    starting together migrate and sync one by one: a cluster-wide advisory lock on PostgreSQL; on SQLite
    ``begin_immediate`` (pysqlite has not begun one yet: it only does before DML) takes the write lock,
    waiting out the busy timeout, before anything is read."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    elif conn.dialect.name == "sqlite":
        begin_immediate(conn)


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision in ("head", HEAD_REVISION) and current_revision(engine) == HEAD_REVISION:
        return  # nothing to do; a concurrent upgrade from older is seen as older, and waits below
    from alembic import command

    with engine.begin() as conn:
        lock_schema(conn)
        command.upgrade(alembic_config(conn), revision)


URL_ENV = "MONITOR_MIGRATE_DATABASE_URL"  # how ``upgrade_in_child`` hands the URL to its child


class MigrationError(RuntimeError):
    """The schema upgrade failed (the message ends with what the migration printed)."""


def upgrade_in_child(engine: Engine, *, timeout_s: float = 900.0) -> bool:
    """``upgrade`` to the head in a child process (see the module's docstring); False when the database
    was at the head already.

    An in-memory SQLite database exists in this process only and is upgraded here. So is any database
    when no child can be started (an embedding without ``sys.executable``)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        upgrade(engine)  # with its own check of the revision
        return True
    if current_revision(engine) == HEAD_REVISION:
        return False
    env = {**os.environ, URL_ENV: url.render_as_string(hide_password=False)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "monitor.store._migrate_child"],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except OSError:
        upgrade(engine)
        return True
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        if url.password:  # whatever the driver printed, the password does not travel further
            tail = tail.replace(str(url.password), "***")
        raise MigrationError(f"the schema upgrade failed (exit status {done.returncode}):\n{tail}")
    return True


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and reflected and (name or "").startswith(JOB_QUEUE_PREFIX))


def schema_drift(engine: Engine) -> list[str]:
    """Differences between the models and the live schema (empty when they agree)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        return [repr(d) for d in compare_metadata(ctx, Base.metadata)]
