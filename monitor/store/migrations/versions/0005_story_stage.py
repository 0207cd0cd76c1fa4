"""story assignment as its own stage: articles waiting for a story, and the order decisions were taken

Stories used to be decided inside every ingest transaction under one cluster-wide lock, which serialised
all polling replicas. Now an ingest only marks its articles ``story_pending``; the story stage (one
runner at a time across the cluster) decides them, writes their alerts, and numbers its decisions with
``story_seq`` so that another replica's index can catch up in decision order (article ids are handed
out at insert time, not in the order stories are decided).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("story_pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("story_seq", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_articles_story_pending", ["story_pending", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_articles_story_seq"), ["story_seq"], unique=True)
    # Decisions taken before this revision were taken in article-id order.
    op.execute("UPDATE articles SET story_seq = id WHERE story_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_story_seq"))
        batch_op.drop_index("ix_articles_story_pending")
        batch_op.drop_column("story_seq")
        batch_op.drop_column("story_pending")
