"""digests: sealed digest messages, alerts.digest_id, per-channel due index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = monitor.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("idempotency_key", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("period_start", _TS, nullable=False),
        sa.Column("period_end", _TS, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("claimed_until", _TS, nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_digests_idempotency_key")),
    )
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.create_index("ix_digests_due", ["status", "next_attempt_at"], unique=False)

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_id", _ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_digest_id"), ["digest_id"], unique=False)
        batch_op.create_index("ix_alerts_channel_due", ["channel", "status", "next_attempt_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_digest_id_digests"), "digests", ["digest_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alerts_digest_id_digests"), type_="foreignkey")
        batch_op.drop_index("ix_alerts_channel_due")
        batch_op.drop_index(batch_op.f("ix_alerts_digest_id"))
        batch_op.drop_column("digest_id")
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_index("ix_digests_due")
    op.drop_table("digests")
