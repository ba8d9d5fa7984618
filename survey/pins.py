"""Pinned instrument versions: what a survey round answers and is scored with never moves.

A round records at creation, for each group, the questionnaire (id, version, sha256) it
serves, and the rule-set (id, sha256 of its file and of every file of its ``extends``
chain). The respondent page serves the pinned questionnaire even after a newer version is
added; closing and reopening a round keeps its pins. Every file a round or a stored
evaluation used is frozen: start-up refuses a changed file (``check_rules_frozen``, beside
``survey.instruments.check_frozen`` for questionnaires). Services add and flush, never commit.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from evaluator.errors import InstrumentError
from evaluator.groups import GROUPS
from evaluator.questionnaire import Catalogue, Questionnaire
from evaluator.rules import RULES_DIR, RuleSet, load_ruleset
from survey.db import db
from survey.instruments import freeze
from survey.models import RoundPin, RoundQuestionnaire, RulesetUse, SurveyRound


def freeze_ruleset(rules: RuleSet) -> None:
    """Record that every file of ``rules`` is in use (idempotent; flushed by the caller).

    A file of the same name already used with other content is refused: two different
    files under one name could not be told apart on a signed sheet."""
    for name, digest in rules.files.items():
        use = db.session.get(RulesetUse, name)
        if use is None:
            db.session.add(RulesetUse(file=name, sha256=digest))
        elif use.sha256 != digest:
            raise InstrumentError(
                f"规则集文件 {name} 与已被调查轮次或评估使用的同名文件内容不同；请恢复原文件，"
                f"把修改另存为新的规则集（新的 id 和文件名）",
                file=name,
            )


def check_rules_frozen(directory: Path = RULES_DIR) -> None:
    """A rule-set file a round or an evaluation has used must never change: refuse to start
    if one in ``directory`` did (the message names the file)."""
    import hashlib

    for use in db.session.scalars(select(RulesetUse).order_by(RulesetUse.file)):
        path = Path(directory) / use.file
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() != use.sha256:
            raise InstrumentError(
                "规则集文件已被调查轮次或评估使用，内容不得再修改；请恢复原文件，"
                "把修改另存为新的规则集（新的 id 和文件名）",
                file=use.file,
            )
    db.session.rollback()


def pin_round(rnd: SurveyRound, catalogue: Catalogue, rules: RuleSet) -> None:
    """Pin the newest questionnaire of every group and ``rules`` to a new round, and freeze them."""
    freeze_ruleset(rules)
    rnd.pin = RoundPin(ruleset=rules.id, ruleset_sha256=rules.sha256, ruleset_files=dict(rules.files))
    for group in GROUPS:
        q = catalogue.current_for(group)
        freeze(q)
        rnd.questionnaire_pins.append(
            RoundQuestionnaire(group=group, questionnaire=q.id, version=q.version, sha256=q.sha256))


def pinned_keys(rnd: SurveyRound) -> dict[str, str]:
    """Questionnaire key (``id.vN``) per group of a round."""
    return {p.group: p.key for p in rnd.questionnaire_pins}


_PINNED: dict[tuple[int, str, str], str] = {}  # (round id, round salt, group) -> questionnaire key


def pinned_questionnaire(catalogue: Catalogue, round_id: int, salt: str, group: str) -> Questionnaire:
    """The questionnaire a round's group answers (the respondent hot path: the pin is read
    from the database once per process; pins never change, and the round's random salt is
    part of the key so a recycled id is never served another round's pin).

    A round without a pin (none exists after migration 0003, which pins every round) gets
    the newest version."""
    key = (round_id, salt, group)
    qkey = _PINNED.get(key)
    if qkey is None:
        row = db.session.execute(
            select(RoundQuestionnaire.questionnaire, RoundQuestionnaire.version)
            .where(RoundQuestionnaire.round_id == round_id, RoundQuestionnaire.group == group)).first()
        if row is None:
            return catalogue.current_for(group)
        qkey = f"{row[0]}.v{row[1]}"
        if len(_PINNED) > 100_000:
            _PINNED.clear()
        _PINNED[key] = qkey
    try:
        return catalogue.get(qkey)
    except KeyError:
        raise InstrumentError(f"调查轮次使用的问卷 {qkey} 不在问卷目录中，请恢复该文件",
                              file=f"{qkey}.yaml") from None


def cached_questionnaire(catalogue: Catalogue, round_id: int, salt: str, group: str) -> Questionnaire | None:
    """``pinned_questionnaire`` when this process has read the pin already, else None (the
    respondent fast path reads no pin: it leaves such a request to the Flask view)."""
    qkey = _PINNED.get((round_id, salt, group))
    if qkey is None:
        return None
    try:
        return catalogue.get(qkey)
    except KeyError:
        return None


def round_questionnaire(rnd: SurveyRound, catalogue: Catalogue, group: str) -> Questionnaire:
    """The pinned questionnaire of ``group`` in ``rnd`` (for pages that hold the round)."""
    return pinned_questionnaire(catalogue, rnd.id, rnd.ip_salt, group)


def round_ruleset(rnd: SurveyRound) -> RuleSet:
    """The rule-set the round was opened with, checked against its pin."""
    rules = load_ruleset(rnd.ruleset)
    pin = rnd.pin
    if pin is not None:
        for name, digest in pin.ruleset_files.items():
            if rules.files.get(name) != digest:
                raise InstrumentError(
                    f"调查轮次 {rnd.id} 使用的规则集文件已被修改（应为 sha256 {digest[:12]}…）；请恢复原文件",
                    file=name)
    return rules


def item_texts(rnd: SurveyRound, catalogue: Catalogue) -> dict[str, str]:
    """Item id -> question text for a round's results, the round's pinned versions winning
    over others that reuse an item id with other wording."""
    pinned = {p.key for p in rnd.questionnaire_pins}
    texts = {it.id: it.text for q in catalogue.questionnaires if q.key not in pinned for it in q.items}
    texts.update({it.id: it.text for q in catalogue.questionnaires if q.key in pinned for it in q.items})
    return texts
