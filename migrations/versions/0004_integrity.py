"""integrity: tamper-evident response log, started-questionnaire counts, slip codes,
speeders without a quota place, per-group repeat answers

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_head", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("chain_length", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("repeat_groups", sa.JSON(), nullable=True))
    with op.batch_alter_table("entry_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_required", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counted", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_responses_round_id_chain_seq"), ["round_id", "chain_seq"])
    op.create_table(
        "link_starts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("ua_class", sa.String(length=20), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("starts", sa.Integer(), nullable=False),
        sa.Column("fresh", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["entry_links.id"], name=op.f("fk_link_starts_link_id_entry_links"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_starts")),
        sa.UniqueConstraint("link_id", "ip_hash", "ua_class", "minute",
                            name=op.f("uq_link_starts_link_id_ip_hash_ua_class_minute")),
    )
    with op.batch_alter_table("link_starts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_starts_link_id"), ["link_id"], unique=False)
    op.create_table(
        "slip_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("batch", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["entry_links.id"], name=op.f("fk_slip_codes_link_id_entry_links"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slip_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_slip_codes_code_hash")),
    )
    with op.batch_alter_table("slip_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slip_codes_link_id"), ["link_id"], unique=False)
    _chain_existing_responses()


def _chain_existing_responses() -> None:
    """Responses stored before this revision join their round's log in id order."""
    from survey.integrity.chain import link_hash

    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT r.id, r.round_id, l.code, r.instrument, r.instrument_version, r.answers, r.started_at, "
        "r.submitted_at FROM responses r JOIN entry_links l ON l.id = r.link_id ORDER BY r.round_id, r.id"))
    heads: dict[int, tuple[str | None, int]] = {}
    for rid, round_id, code, instrument, version, answers, started, submitted in rows.fetchall():
        prev, n = heads.get(round_id, (None, 0))
        h = link_hash(prev, seq=n + 1, link=code, instrument=instrument, version=version,
                      answers=answers, started_at=started, submitted_at=submitted)
        conn.execute(sa.text("UPDATE responses SET chain_seq = :s, chain_hash = :h WHERE id = :id"),
                     {"s": n + 1, "h": h, "id": rid})
        heads[round_id] = (h, n + 1)
    for round_id, (h, n) in heads.items():
        conn.execute(sa.text("UPDATE rounds SET chain_head = :h, chain_length = :n WHERE id = :id"),
                     {"h": h, "n": n, "id": round_id})


def downgrade() -> None:
    with op.batch_alter_table("slip_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slip_codes_link_id"))
    op.drop_table("slip_codes")
    with op.batch_alter_table("link_starts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_starts_link_id"))
    op.drop_table("link_starts")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_responses_round_id_chain_seq"), type_="unique")
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("chain_seq")
        batch_op.drop_column("counted")
    with op.batch_alter_table("entry_links", schema=None) as batch_op:
        batch_op.drop_column("code_required")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_column("repeat_groups")
        batch_op.drop_column("chain_length")
        batch_op.drop_column("chain_head")
