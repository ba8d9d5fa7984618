"""item sums of the live results page per link × item (kept responses: answers, approving,
不了解), so the page reads them without grouping the per-label cells (issue 12 item 2); the
round's cells are rebuilt by their next refresh

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_cells",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("a", sa.BigInteger(), nullable=False),
        sa.Column("d", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["entry_links.id"], name=op.f("fk_item_cells_link_id_entry_links"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_item_cells_round_id_rounds"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("link_id", "item", name=op.f("pk_item_cells")),
    )
    op.create_index(op.f("ix_item_cells_round_id"), "item_cells", ["round_id"], unique=False)
    # The item sums depend on the round's rules (approve / 不了解 labels): a rules key nobody has
    # makes each round's next refresh clear its cells and sum every response again (once).
    op.execute("UPDATE cell_states SET rules_key = 'rebuild-0010'")


def downgrade() -> None:
    op.drop_index(op.f("ix_item_cells_round_id"), table_name="item_cells")
    op.drop_table("item_cells")
