"""The live results page's figures (issue 11, item 5; issue 12 item 2): the estimator's result
when every weighted group has answers; otherwise a partial result (groups, schools and items
from the groups that have answered, weights shared among them) with the county score left
pending and the missing groups named; plus the per-option distribution, answers per day, the
responses the quality filters drop and the score without flagged responses. Everything is
read from the round's cell sums (survey.services.cell_sums), refreshed first, so the page
costs in proportion to links, not responses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from markupsafe import Markup

from evaluator.errors import InputError
from evaluator.groups import GROUPS
from evaluator.questionnaire import Catalogue
from evaluator.recognition import RecognitionRules, estimate_from_cells
from evaluator.recognition.estimator import GROUP_KEYS
from survey.i18n import _
from survey.models import SurveyRound
from survey.services import cell_sums
from survey.services.results_charts import distribution_chart, interval_chart, per_day_chart
from survey.services.rounds import round_recognition_rules, sampling_frame


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


_RULES: dict[tuple, RecognitionRules] = {}


def page_rules(rnd: SurveyRound) -> RecognitionRules:
    """The round's pinned recognition rules, read once per process and pin: the pinned files
    are frozen (survey.pins), and reading and checking them took half the page's time."""
    pin = getattr(rnd, "pin", None)
    key = (rnd.ruleset, pin.ruleset_sha256 if pin else None, tuple(sorted((pin.ruleset_files or {}).items()))
           if pin else ())
    if key not in _RULES or pin is None:
        _RULES[key] = round_recognition_rules(rnd)
    return _RULES[key]


def _texts(catalogue: Catalogue) -> dict[str, str]:
    return {it.id: it.text for q in catalogue.questionnaires for it in q.items}


def live_results(rnd: SurveyRound, catalogue: Catalogue, tz: str = "Asia/Shanghai",
                 rules: RecognitionRules | None = None, frames=None) -> LiveResults:
    """``frames``: the round's current cell frames (cell_sums.current_frames), read if not given."""
    rules = rules or round_recognition_rules(rnd)
    cells, unfiltered = cell_sums.totals(frames or cell_sums.current_frames(rnd, rules))
    out = LiveResults(None, distribution=cell_sums.option_distribution(rnd),
                      per_day=cell_sums.answers_per_day(rnd, tz), scale=catalogue.questionnaires[0].scale)
    out.distribution = {g: out.distribution[g] for g in GROUPS if g in out.distribution}
    v_by_group = np.bincount(cells.group, weights=cells.v, minlength=len(GROUP_KEYS)) if len(cells.group) \
        else np.zeros(len(GROUP_KEYS))
    answered = {g for j, g in enumerate(GROUP_KEYS) if v_by_group[j] > 0}
    weighted = {g: w for g, w in rules.group_weights.items() if w > 0}
    out.missing = [g for g in GROUPS if g in weighted and g not in answered]
    weights = None
    if out.missing:
        present = {g: w for g, w in weighted.items() if g in answered}
        if not present:
            out.problem = _("还没有任何有效回答")
            return out
        total = sum(present.values())
        weights = {g: w / total for g, w in present.items()}  # for the partial figures only
    try:
        out.result = estimate_from_cells(cells, sampling_frame(rnd.schools), rules, weights,
                                         item_texts=_texts(catalogue), unfiltered=unfiltered).to_dict()
    except InputError as exc:
        out.problem = exc.reason
    return out


def without_flagged(rnd: SurveyRound, catalogue: Catalogue, rules: RecognitionRules,
                    flags: cell_sums.FlagState, frames=None) -> dict[str, Any]:
    """survey.integrity.report.without_flagged's figure (score, ci, se, n_kept, status and how
    many flagged responses were left out, or ``error``), from the cells minus the flagged
    responses' cells."""
    out: dict[str, Any] = {"excluded_flagged": flags.count, "as_of": flags.at}
    if not flags.count:
        return out
    cells, unfiltered = cell_sums.cells_without_flagged(rnd, rules, flags, frames)
    try:
        result = estimate_from_cells(cells, sampling_frame(rnd.schools), rules, None, item_texts=_texts(catalogue),
                                     unfiltered=unfiltered).to_dict()
    except InputError as exc:
        out["error"] = str(exc)
        return out
    out.update({k: result.get(k) for k in ("score", "ci", "se", "df", "n_kept", "n_dropped", "status", "borderline")})
    return out


@dataclass
class ResultsPage:
    live: LiveResults
    without_flagged: dict[str, Any]
    dropped: list[dict[str, Any]]
    school_names: dict[str, str]
    charts: dict[str, Markup]

    @property
    def n_total(self) -> int | None:
        r = self.live.result
        return (r["n_kept"] + r["n_dropped"]) if r else None


def _charts(live: LiveResults, names: dict[str, str]) -> dict[str, Markup]:
    result, charts = live.result, {}
    if result:
        threshold = result.get("threshold")
        rows = [(GROUPS[g].label, v["score"], *(v["ci"] or (None, None))) for g, v in result["groups"].items()]
        if not live.partial:
            rows.insert(0, (_("全县"), result["score"], *(result["ci"] or (None, None))))
        charts["groups"] = interval_chart(rows, threshold, _("各调查对象的认可度（黑线为置信区间）"), label_width=110)
        charts["items"] = interval_chart(
            [(f"{k} {v['text'][:10]}…" if len(v["text"]) > 10 else f"{k} {v['text']}", v["score"], None, None)
             for k, v in result["items"].items()], threshold, _("各题目的认可度"), label_width=200)
        shown = [(names.get(c, c), v["score"], None, None) for c, v in result["schools"].items()
                 if not v.get("suppressed")]
        if shown:
            charts["schools"] = interval_chart(shown, threshold, _("各学校的认可度"), label_width=170)
    if live.distribution:
        charts["options"] = distribution_chart([(GROUPS[g].label, c) for g, c in live.distribution.items()],
                                               live.scale, _("各调查对象的答案分布"))
    if live.per_day:
        charts["days"] = per_day_chart(live.per_day, _("每天收到的回答（北京时间）"))
    return charts


def results_page(rnd: SurveyRound, catalogue: Catalogue, tz: str, flags_max_age: float,
                 flags_max_responses: int | None = None) -> ResultsPage:
    """Everything the live results page shows. The integrity flags (the one O(responses)
    computation) are recomputed when responses arrived, the last computation is older than
    ``flags_max_age`` seconds and the round has at most ``flags_max_responses`` responses
    (larger rounds: the integrity page's last computation); the page says when they were
    computed."""
    rules = page_rules(rnd)
    frames = cell_sums.current_frames(rnd, rules)
    live = live_results(rnd, catalogue, tz, rules, frames)
    flags = cell_sums.refresh_flags(rnd, rules, flags_max_age, flags_max_responses)
    names = {s.code: s.name for s in rnd.schools}
    return ResultsPage(live, without_flagged(rnd, catalogue, rules, flags, frames),
                       cell_sums.dropped_rows(rnd).to_dict("records"), names, _charts(live, names))
