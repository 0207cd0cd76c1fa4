"""Engine creation with the settings each backend needs to be a good embedded or production store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url


def begin_immediate(conn: Connection) -> None:
    """Open SQLite's transaction now with ``BEGIN IMMEDIATE``, unless one is open. It takes the write lock
    while no read snapshot is held (pysqlite runs reads outside transactions), so it waits out a
    concurrent writer (the busy timeout) instead of failing when it upgrades to a write later."""
    driver = conn.connection.driver_connection
    if driver is not None and not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """SQLite gets WAL, foreign keys and a busy timeout (the CLI and the daemon share the file);
    ``postgresql://`` URLs are routed to psycopg 3."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
        engine = create_engine(parsed, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "savepoint")
        def _begin_before_savepoint(conn: Connection, _name: Any) -> None:
            """pysqlite opens a transaction only before a write (INSERT, UPDATE ...), not before a
            ``SAVEPOINT``. A savepoint taken first thing in a session's transaction (after its reads) would
            then be SQLite's outermost one, whose ``RELEASE`` is a ``COMMIT``: what it wrapped would be
            durable before the transaction ends, and a later failure could no longer roll it back. So the
            transaction is opened first: savepoints are only taken to write."""
            begin_immediate(conn)

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    return create_engine(parsed, **kwargs)
