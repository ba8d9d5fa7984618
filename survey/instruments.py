"""Questionnaires loaded and validated at start-up; versions used by a round are frozen."""

from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy import select

from evaluator.errors import InstrumentError
from evaluator.questionnaire import QUESTIONNAIRE_DIR, Catalogue, Questionnaire, load_catalogue
from survey.db import db
from survey.models import InstrumentUse


def init_app(app: Flask) -> None:
    # raises InstrumentError naming file and field; QUESTIONNAIRE_DIR overrides instruments/questionnaires
    app.extensions["questionnaires"] = load_catalogue(app.config.get("QUESTIONNAIRE_DIR") or QUESTIONNAIRE_DIR)
    if app.config.get("AUTO_MIGRATE"):
        from survey.pins import check_rules_frozen

        with app.app_context():
            try:
                check_frozen(app.extensions["questionnaires"])
                check_rules_frozen()
            except InstrumentError:  # refuse to start, leaving no connection behind
                db.session.remove()
                db.engine.dispose()
                raise


def catalogue() -> Catalogue:
    return current_app.extensions["questionnaires"]


def check_frozen(cat: Catalogue) -> None:
    """A questionnaire version a round has used must never change: refuse to start if it did."""
    used = {u.key: u.sha256 for u in db.session.scalars(select(InstrumentUse))}
    for q in cat.questionnaires:
        if q.key in used and used[q.key] != q.sha256:
            raise InstrumentError(
                f"问卷 {q.key} 已被调查轮次使用，内容不得再修改；请恢复原文件，把修改另存为新版本（v{q.version + 1}）",
                file=q.path.name,
            )
    loaded = {q.key for q in cat.questionnaires}
    for key in sorted(set(used) - loaded):  # a round pinned it: its respondents must still get it
        raise InstrumentError(f"问卷 {key} 已被调查轮次使用，文件不得删除或改名；请恢复该文件", file=f"{key}.yaml")
    db.session.rollback()


def freeze(q: Questionnaire) -> None:
    """Record that ``q`` is in use (idempotent; flushed by the caller's transaction)."""
    if db.session.get(InstrumentUse, q.key) is None:
        db.session.add(InstrumentUse(key=q.key, sha256=q.sha256))
