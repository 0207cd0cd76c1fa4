"""procrastinate's job-queue schema (PostgreSQL only; a no-op on SQLite)

The scale-out mode runs the daemon's work as procrastinate jobs. Its tables, types, functions and
triggers are created here, in the same schema as ours (the first one on ``search_path``), so that one
``monitor db upgrade`` under the advisory lock prepares everything and replicas never race to apply it.
The SQL is the one shipped with the installed procrastinate (pinned to 3.10.x in pyproject): a later
procrastinate release brings its own delta files (``procrastinate/sql/migrations``), which a new
Alembic revision must apply before the pin moves.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:00:00.000000
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from alembic import op

if TYPE_CHECKING:  # psycopg is imported by the PostgreSQL dialect itself: SQLite never loads it
    import psycopg

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type", "procrastinate_job_status")


def _driver_connection() -> psycopg.Connection[Any]:
    """The psycopg connection under Alembic's: the schema script is many statements with ``$$`` bodies
    and ``%`` signs, which psycopg runs as one simple query only when no parameters are involved."""
    return cast("psycopg.Connection[Any]", op.get_bind().connection.dbapi_connection)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    conn = _driver_connection()
    conn.execute(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    conn = _driver_connection()
    for table in _TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    # The functions are dropped by name whatever their argument lists (they live in our schema only).
    conn.execute(
        """
        DO $$
        DECLARE f record;
        BEGIN
            FOR f IN
                SELECT p.oid::regprocedure AS sig
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE p.proname LIKE 'procrastinate\\_%' AND n.nspname = current_schema()
            LOOP
                EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE';
            END LOOP;
        END;
        $$
        """
    )
    for type_name in _TYPES:
        conn.execute(f"DROP TYPE IF EXISTS {type_name} CASCADE")
