"""data collection (填报): rounds, school sheets, audit, flags, evidence

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:50:59.502332
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "data_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ruleset", sa.String(length=200), nullable=False),
        sa.Column("checks", sa.String(length=200), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("county_values", sa.JSON(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("evaluation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_data_rounds_closed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["counties.id"], name=op.f("fk_data_rounds_county_id_counties")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_data_rounds_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["evaluations.id"],
            name=op.f("fk_data_rounds_evaluation_id_evaluations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["data_rounds.id"],
            name=op.f("fk_data_rounds_previous_id_data_rounds"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_rounds")),
        sa.UniqueConstraint(
            "county_id", "year", "name", name=op.f("uq_data_rounds_county_id_year_name")
        ),
    )
    with op.batch_alter_table("data_rounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_rounds_county_id"), ["county_id"], unique=False)

    op.create_table(
        "data_school_sheets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("school_type", sa.String(length=20), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("classes", sa.JSON(), nullable=False),
        sa.Column("rooms", sa.JSON(), nullable=False),
        sa.Column("previous", sa.JSON(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["data_rounds.id"],
            name=op.f("fk_data_school_sheets_round_id_data_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_school_sheets")),
        sa.UniqueConstraint("round_id", "code", name=op.f("uq_data_school_sheets_round_id_code")),
        sa.UniqueConstraint("token", name=op.f("uq_data_school_sheets_token")),
    )
    with op.batch_alter_table("data_school_sheets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_school_sheets_round_id"), ["round_id"], unique=False
        )

    op.create_table(
        "data_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["data_rounds.id"],
            name=op.f("fk_data_changes_round_id_data_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sheet_id"],
            ["data_school_sheets.id"],
            name=op.f("fk_data_changes_sheet_id_data_school_sheets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_data_changes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_changes")),
    )
    with op.batch_alter_table("data_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_changes_round_id"), ["round_id"], unique=False)

    op.create_table(
        "data_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"], ["users.id"], name=op.f("fk_data_evidence_accepted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["data_rounds.id"],
            name=op.f("fk_data_evidence_round_id_data_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sheet_id"],
            ["data_school_sheets.id"],
            name=op.f("fk_data_evidence_sheet_id_data_school_sheets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_evidence")),
    )
    with op.batch_alter_table("data_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_evidence_round_id"), ["round_id"], unique=False)

    op.create_table(
        "data_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("previous", sa.JSON(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("explained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("override_note", sa.Text(), nullable=True),
        sa.Column("overridden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overridden_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["overridden_by_id"], ["users.id"], name=op.f("fk_data_flags_overridden_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["sheet_id"],
            ["data_school_sheets.id"],
            name=op.f("fk_data_flags_sheet_id_data_school_sheets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_flags")),
    )
    with op.batch_alter_table("data_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_flags_sheet_id"), ["sheet_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("data_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_flags_sheet_id"))

    op.drop_table("data_flags")
    with op.batch_alter_table("data_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_evidence_round_id"))

    op.drop_table("data_evidence")
    with op.batch_alter_table("data_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_changes_round_id"))

    op.drop_table("data_changes")
    with op.batch_alter_table("data_school_sheets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_school_sheets_round_id"))

    op.drop_table("data_school_sheets")
    with op.batch_alter_table("data_rounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_rounds_county_id"))

    op.drop_table("data_rounds")
