"""cell sums of the live results page: per link, per link × item × label, dropped responses,
15-minute submission slots, flagged responses, and the per-round refresh state (issue 12)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 13:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_LINK_SUMS = ("responses", "speeder", "straightliner_fast",
              *(f"{part}_{s}" for part in ("all", "kept") for s in ("n", "a", "v", "d", "t", "aa", "av", "vv")))


def _round_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f(f"fk_{table}_round_id_rounds"),
                                   ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "cell_states",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.Integer(), nullable=False),
        sa.Column("rules_key", sa.String(length=64), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flags_seq", sa.Integer(), nullable=True),
        sa.Column("flags_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flagged_cells", sa.JSON(), nullable=True),
        _round_fk("cell_states"),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_cell_states")),
    )
    op.create_table(
        "link_cells",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _LINK_SUMS),
        sa.ForeignKeyConstraint(["link_id"], ["entry_links.id"], name=op.f("fk_link_cells_link_id_entry_links"),
                                ondelete="CASCADE"),
        _round_fk("link_cells"),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_link_cells")),
    )
    op.create_index(op.f("ix_link_cells_round_id"), "link_cells", ["round_id"], unique=False)
    op.create_table(
        "answer_cells",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("kept", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["entry_links.id"], name=op.f("fk_answer_cells_link_id_entry_links"),
                                ondelete="CASCADE"),
        _round_fk("answer_cells"),
        sa.PrimaryKeyConstraint("link_id", "item", "label", name=op.f("pk_answer_cells")),
    )
    op.create_index(op.f("ix_answer_cells_round_id"), "answer_cells", ["round_id"], unique=False)
    op.create_table(
        "dropped_responses",
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"],
                                name=op.f("fk_dropped_responses_response_id_responses"), ondelete="CASCADE"),
        _round_fk("dropped_responses"),
        sa.PrimaryKeyConstraint("response_id", name=op.f("pk_dropped_responses")),
    )
    op.create_index("ix_dropped_responses_round_id_response_id", "dropped_responses", ["round_id", "response_id"],
                    unique=False)
    op.create_table(
        "response_buckets",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        _round_fk("response_buckets"),
        sa.PrimaryKeyConstraint("round_id", "slot", name=op.f("pk_response_buckets")),
    )
    op.create_table(
        "flagged_responses",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"],
                                name=op.f("fk_flagged_responses_response_id_responses"), ondelete="CASCADE"),
        _round_fk("flagged_responses"),
        sa.PrimaryKeyConstraint("round_id", "response_id", name=op.f("pk_flagged_responses")),
    )


def downgrade() -> None:
    for table in ("flagged_responses", "response_buckets", "dropped_responses", "answer_cells", "link_cells",
                  "cell_states"):
        op.drop_table(table)
