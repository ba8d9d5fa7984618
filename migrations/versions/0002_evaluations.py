"""evaluations: every run of the evaluator with its inputs, report and rectification

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ruleset", sa.String(length=200), nullable=False),
        sa.Column("rules_sha256", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("assessment_year", sa.Integer(), nullable=True),
        sa.Column("workbook_name", sa.String(length=255), nullable=False),
        sa.Column("workbook_data", sa.LargeBinary(), nullable=False),
        sa.Column("workbook_sha256", sa.String(length=64), nullable=False),
        sa.Column("responses_name", sa.String(length=255), nullable=True),
        sa.Column("responses_data", sa.LargeBinary(), nullable=True),
        sa.Column("responses_sha256", sa.String(length=64), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("rectification", sa.JSON(), nullable=False),
        sa.Column("rectified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rectified_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["county_id"], ["counties.id"], name=op.f("fk_evaluations_county_id_counties")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_evaluations_created_by_id_users")),
        sa.ForeignKeyConstraint(["rectified_by_id"], ["users.id"],
                                name=op.f("fk_evaluations_rectified_by_id_users")),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_evaluations_round_id_rounds"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
    )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluations_county_id"), ["county_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluations_county_id"))
    op.drop_table("evaluations")
