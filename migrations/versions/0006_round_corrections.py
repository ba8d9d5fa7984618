"""round corrections: change history, organiser/contact on posters, evaluation label and archive

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "round_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_round_changes_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_round_changes_round_id_rounds"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_changes")),
    )
    with op.batch_alter_table("round_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_changes_round_id"), ["round_id"], unique=False)
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organiser", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("contact", sa.String(length=200), nullable=True))
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("label")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_column("contact")
        batch_op.drop_column("organiser")
    with op.batch_alter_table("round_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_round_changes_round_id"))
    op.drop_table("round_changes")
