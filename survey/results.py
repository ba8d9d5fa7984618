"""The live results page's figures (issue 11, item 5): the estimator's result when every
weighted group has answers; otherwise a partial result (groups, schools and items from the
groups that have answered, weights shared among them) with the county score left pending
and the missing groups named; plus the per-option distribution and answers per day."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select, text

from evaluator.errors import InputError
from evaluator.groups import GROUPS
from evaluator.questionnaire import Catalogue
from evaluator.recognition import estimate_from_cells
from evaluator.recognition.estimator import GROUP_KEYS
from survey.db import db
from survey.models import Response, SurveyRound
from survey.recognition import _UNNEST, round_cells
from survey.services.rounds import recognition_rules, sampling_frame


@dataclass
class LiveResults:
    result: dict | None  # RecognitionResult.to_dict(), or None when nothing can be computed
    missing: list[str] = field(default_factory=list)  # weighted groups without valid answers (keys)
    problem: str | None = None  # why nothing could be computed
    distribution: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> label -> answers
    per_day: list[tuple[date, int]] = field(default_factory=list)  # Beijing date -> responses
    scale: tuple[str, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.missing) and self.result is not None


def live_results(rnd: SurveyRound, catalogue: Catalogue, tz: str = "Asia/Shanghai") -> LiveResults:
    rules = recognition_rules(rnd.ruleset)
    scale = catalogue.questionnaires[0].scale
    out = LiveResults(None, distribution=option_distribution(rnd), per_day=answers_per_day(rnd, tz), scale=scale)
    cells, unfiltered = round_cells(rnd, rules)
    v_by_group = np.bincount(cells.group, weights=cells.v, minlength=len(GROUP_KEYS)) if len(cells.group) \
        else np.zeros(len(GROUP_KEYS))
    answered = {g for j, g in enumerate(GROUP_KEYS) if v_by_group[j] > 0}
    weighted = {g: w for g, w in rules.group_weights.items() if w > 0}
    out.missing = [g for g in GROUPS if g in weighted and g not in answered]
    texts = {it.id: it.text for q in catalogue.questionnaires for it in q.items}
    weights = None
    if out.missing:
        present = {g: w for g, w in weighted.items() if g in answered}
        if not present:
            out.problem = "还没有任何有效回答"
            return out
        total = sum(present.values())
        weights = {g: w / total for g, w in present.items()}  # for the partial figures only
    try:
        out.result = estimate_from_cells(cells, sampling_frame(rnd.schools), rules, weights, item_texts=texts,
                                         unfiltered=unfiltered).to_dict()
    except InputError as exc:
        out.problem = exc.reason
    return out


def option_distribution(rnd: SurveyRound) -> dict[str, dict[str, int]]:
    """Answers per group and answer label (every item counted), summed in the database."""
    conn = db.session.connection()
    unnest = _UNNEST[conn.dialect.name]
    rows = conn.execute(text(f'SELECT r."group" AS grp, e.value AS label, COUNT(*) AS n FROM responses r {unnest} '
                             'WHERE r.round_id = :rid GROUP BY r."group", e.value'), {"rid": rnd.id})
    dist: dict[str, dict[str, int]] = {}
    for grp, label, n in rows:
        if label is not None:
            dist.setdefault(grp, {})[str(label)] = int(n)
    return {g: dist[g] for g in GROUPS if g in dist}


def answers_per_day(rnd: SurveyRound, tz: str) -> list[tuple[date, int]]:
    zone = ZoneInfo(tz)
    times = db.session.scalars(select(Response.submitted_at).where(Response.round_id == rnd.id))
    days = Counter(t.astimezone(zone).date() for t in times)
    return sorted(days.items())


def response_count(rnd: SurveyRound) -> int:
    return db.session.scalar(select(func.count()).select_from(Response).where(Response.round_id == rnd.id)) or 0
