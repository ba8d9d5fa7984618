"""pins: the questionnaire version per group and the rule-set (with SHA-256) of every round;
rule-set files frozen once used

Existing rounds are pinned to what they use at upgrade time: the newest questionnaire of each
group (what the respondent page served until now) and the rule-set file(s) they name, which
are frozen from then on. Evaluations stored before this revision recorded one digest over the
whole extends chain; where that digest proves today's files are byte-identical to the ones the
evaluation ran with, those files are frozen and the column is re-expressed as the SHA-256 of
the named file (what the sign sheet shows and ``sha256sum`` prints). Otherwise it is left as it is.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:10:00
"""

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "round_pins",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("ruleset", sa.String(length=200), nullable=False),
        sa.Column("ruleset_sha256", sa.String(length=64), nullable=False),
        sa.Column("ruleset_files", sa.JSON(), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_round_pins_round_id_rounds"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_round_pins")),
    )
    op.create_table(
        "round_questionnaires",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("group", sa.String(length=20), nullable=False),
        sa.Column("questionnaire", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_round_questionnaires_round_id_rounds"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("round_id", "group", name=op.f("pk_round_questionnaires")),
    )
    op.create_table(
        "ruleset_uses",
        sa.Column("file", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("file", name=op.f("pk_ruleset_uses")),
    )
    _pin_existing()


def downgrade() -> None:
    op.drop_table("ruleset_uses")
    op.drop_table("round_questionnaires")
    op.drop_table("round_pins")


# ----------------------------------------------------------------------------- data
def _questionnaire_dir():
    from evaluator.questionnaire import QUESTIONNAIRE_DIR

    try:
        from flask import current_app, has_app_context

        if has_app_context() and current_app.config.get("QUESTIONNAIRE_DIR"):
            return Path(current_app.config["QUESTIONNAIRE_DIR"])
    except ImportError:  # pragma: no cover - flask is a runtime requirement
        pass
    return QUESTIONNAIRE_DIR


def _chain_digest(rules) -> str:
    """The rule-set fingerprint stored by revisions before 0003 (one digest over the chain)."""
    digest = hashlib.sha256()
    for src in rules.sources:
        digest.update(src.name.encode() + b"\0" + src.read_bytes() + b"\0")
    return digest.hexdigest()


def _pin_existing() -> None:
    conn = op.get_bind()
    rounds = conn.execute(sa.text("SELECT id, ruleset FROM rounds ORDER BY id")).fetchall()
    evaluations = conn.execute(sa.text("SELECT id, ruleset, rules_sha256 FROM evaluations ORDER BY id")).fetchall()
    if not rounds and not evaluations:
        return
    from evaluator.errors import InstrumentError
    from evaluator.groups import GROUPS
    from evaluator.questionnaire import load_catalogue
    from evaluator.rules import load_ruleset

    now = datetime.now(UTC)
    rules_cache: dict = {}

    def rules_of(name):
        if name not in rules_cache:
            try:
                rules_cache[name] = load_ruleset(name)
            except InstrumentError:  # a rule-set that no longer loads cannot be pinned; the round keeps its name
                rules_cache[name] = None
        return rules_cache[name]

    frozen_rules = {r.file: r.sha256 for r in conn.execute(sa.text("SELECT file, sha256 FROM ruleset_uses"))}

    def freeze_rules(rules) -> None:
        for name, digest in rules.files.items():
            if name not in frozen_rules:
                frozen_rules[name] = digest
                conn.execute(sa.text("INSERT INTO ruleset_uses (file, sha256, first_used_at) VALUES (:f, :s, :t)"),
                             {"f": name, "s": digest, "t": now})

    if rounds:
        catalogue = load_catalogue(_questionnaire_dir())
        current = {g: catalogue.current_for(g) for g in GROUPS}
        used = {r.key for r in conn.execute(sa.text("SELECT key FROM instrument_uses"))}
        for q in {q.key: q for q in current.values()}.values():
            if q.key not in used:
                conn.execute(sa.text("INSERT INTO instrument_uses (key, sha256, first_used_at) VALUES (:k, :s, :t)"),
                             {"k": q.key, "s": q.sha256, "t": now})
        round_pins = sa.table("round_pins", sa.column("round_id"), sa.column("ruleset"), sa.column("ruleset_sha256"),
                              sa.column("ruleset_files", sa.JSON()), sa.column("pinned_at"))
        for round_id, ruleset in rounds:
            for group, q in current.items():
                conn.execute(sa.text('INSERT INTO round_questionnaires (round_id, "group", questionnaire, version, '
                                     "sha256) VALUES (:r, :g, :q, :v, :s)"),
                             {"r": round_id, "g": group, "q": q.id, "v": q.version, "s": q.sha256})
            rules = rules_of(ruleset)
            if rules is None:
                continue
            freeze_rules(rules)
            conn.execute(round_pins.insert().values(round_id=round_id, ruleset=rules.id, ruleset_sha256=rules.sha256,
                                                    ruleset_files=dict(rules.files), pinned_at=now))

    for evaluation_id, ruleset, stored in evaluations:
        rules = rules_of(ruleset)
        if rules is not None and stored == _chain_digest(rules):
            freeze_rules(rules)
            conn.execute(sa.text("UPDATE evaluations SET rules_sha256 = :s WHERE id = :i"),
                         {"s": rules.sha256, "i": evaluation_id})
