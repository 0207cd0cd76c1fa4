"""stories, article story/copy links, alert kinds and story threading, source feed problems and health

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = monitor.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", _ID, autoincrement=False, nullable=False),
        sa.Column("representative_article_id", _ID, nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("first_seen_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("source_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stories_first_seen_at"), ["first_seen_at"], unique=False)

    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_problem", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("last_problem_at", _TS, nullable=True))
        batch_op.add_column(
            sa.Column("health_state", sa.String(length=16), nullable=False, server_default="ok")
        )
        batch_op.add_column(sa.Column("health_changed_at", _TS, nullable=True))

    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("story_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("copy_of_id", _ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_articles_story_id"), ["story_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_articles_story_id_stories"), "stories", ["story_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_articles_copy_of_id_articles"),
            "articles",
            ["copy_of_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("hits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("story_id", _ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_hits_story_id"), ["story_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_hits_story_id_stories"), "stories", ["story_id"], ["id"], ondelete="SET NULL"
        )

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="hit"))
        batch_op.add_column(sa.Column("story_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("parent_id", _ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_story_id"), ["story_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_story_id_stories"), "stories", ["story_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_parent_id_alerts"), "alerts", ["parent_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alerts_parent_id_alerts"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_alerts_story_id_stories"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_alerts_parent_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_story_id"))
        batch_op.drop_column("parent_id")
        batch_op.drop_column("story_id")
        batch_op.drop_column("kind")
    with op.batch_alter_table("hits", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_hits_story_id_stories"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_hits_story_id"))
        batch_op.drop_column("story_id")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_articles_copy_of_id_articles"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_articles_story_id_stories"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_articles_story_id"))
        batch_op.drop_column("copy_of_id")
        batch_op.drop_column("story_id")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("health_changed_at")
        batch_op.drop_column("health_state")
        batch_op.drop_column("last_problem_at")
        batch_op.drop_column("last_problem")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stories_first_seen_at"))
    op.drop_table("stories")
