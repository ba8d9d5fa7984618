"""The overview table: one row per county with its traffic light, latest evaluation, survey
rounds and shortfalls, sorted and filtered.

Traffic light (``LIGHT_RULE``, shown on the overview page), from the county's roadmap and the
projection of its latest evaluation with the planned projects (evaluator.projection):
- grey  未制定规划 / 尚无评估: no roadmap, or no evaluation to project from;
- green 按计划推进: already recognised, or projected "recognized" by the target year and no item
  of the latest evaluation behind the plan's projection for that year;
- yellow 进度落后: nothing projected to fail in the target year, but items still pending there
  (missing data, e.g. no survey yet) or the latest evaluation behind the plan's projection;
- red 有风险: items still failing in the target year as planned, or the target year passed
  without recognition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from evaluator.errors import InputError
from evaluator.projection import (
    Tracking,
)
from survey.db import db
from survey.models import County, Evaluation, SurveyRound
from survey.overview.models import (
    CountyPlan,
)
from survey.overview.services import Outlook, latest_evaluation, outlook_for, plan_of, tracking_for

LIGHT_RULE = (
    ("green", "按计划推进", "已通过认定，或按规划项目测算在目标年份前达到认定要求，且最近一次评估不落后于规划预测"),
    ("yellow", "进度落后", "按规划测算目标年份无未达标项，但仍有待定项（数据缺失，如尚未开展社会认可度调查），"
                        "或最近一次评估落后于规划当年的预测"),
    ("red", "有风险", "按规划测算目标年份仍有未达标指标，或已过目标年份仍未通过认定"),
    ("grey", "未制定规划", "尚未录入推进规划，或尚无评估可供测算"),
)

@dataclass(frozen=True)
class Light:
    code: str
    label: str
    reason: str


@dataclass(frozen=True)
class RoundSummary:
    round: SurveyRound
    state: str
    collected: int
    quota: int
    score: float | None
    ci: tuple[float, float] | None
    borderline: bool
    problem: str | None
    flagged: int = 0  # responses carrying an integrity signal (survey.integrity; evidence, not deletions)
    flag_kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class CountyRow:
    county: County
    plan: CountyPlan | None
    latest: Evaluation | None
    failing: tuple[str, ...]
    pending: tuple[str, ...]
    shortfalls: tuple[str, ...]
    rounds: tuple[RoundSummary, ...]
    light: Light
    verdict_year: int | None
    projection_problem: str | None
    tracking: Tracking | None = None
    cv: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)


def shortfall_texts(report: Mapping[str, Any]) -> tuple[str, ...]:
    from evaluator.projection import fmt_amount

    return tuple(f"{row['what']}{fmt_amount(float(row['amount']))}{row['unit']}"
                 for row in report.get("shortfall_totals") or [] if row.get("amount"))


def round_summaries(county: County, catalogue) -> tuple[RoundSummary, ...]:
    from evaluator.integrity import KIND_LABELS, KINDS
    from survey.integrity.report import round_integrity
    from survey.services.round_recognition import round_recognition_sql

    out = []
    for rnd in db.session.scalars(select(SurveyRound).where(SurveyRound.county_id == county.id)
                                  .order_by(SurveyRound.created_at.desc())):
        collected = sum(ln.responses_count for ln in rnd.links)
        quota = sum(ln.quota for ln in rnd.links)
        score = ci = None
        borderline, problem = False, None
        if collected:
            try:
                res = round_recognition_sql(rnd, catalogue).to_dict()
                score, ci, borderline = res.get("score"), tuple(res["ci"]) if res.get("ci") else None, \
                    bool(res.get("borderline"))
            except InputError as exc:
                problem = str(exc)
        else:
            problem = "尚无答卷"
        flagged, kinds = 0, ()
        if collected:
            report = round_integrity(rnd)[0]
            flagged = report.flagged
            kinds = tuple(KIND_LABELS[k] for k in KINDS if any(f["kind"] == k for f in report.flags))
        out.append(RoundSummary(rnd, rnd.state(), collected, quota, score, ci, borderline, problem, flagged, kinds))
    return tuple(out)


def light_for(plan: CountyPlan | None, latest: Evaluation | None, outlook: Outlook | None,
              tracking: Tracking | None, this_year: int) -> Light:
    """The traffic light (see ``LIGHT_RULE``)."""
    labels = {code: (label, why) for code, label, why in LIGHT_RULE}
    if latest is not None and latest.verdict == "recognized":
        return Light("green", labels["green"][0], "最近一次评估已达到认定要求")
    if plan is None:
        return Light("grey", labels["grey"][0], "尚未录入推进规划")
    if latest is None or outlook is None or outlook.target is None:
        return Light("grey", "尚无评估" if latest is None else "无法测算",
                     "尚无评估可供测算" if latest is None else (outlook.problem if outlook else ""))
    if this_year > plan.target_year:
        return Light("red", labels["red"][0], f"已过目标年份（{plan.target_year}年）仍未通过认定")
    target = outlook.target
    failing = [it.code for it in target.items if it.status == "fail"]
    if failing:
        return Light("red", labels["red"][0],
                     f"按规划测算，{plan.target_year}年仍有{len(failing)}项未达标：" + "、".join(failing))
    pending = [it.code for it in target.items if it.status == "pending"]
    if pending:
        return Light("yellow", labels["yellow"][0], f"按规划测算无未达标项，但{len(pending)}项待定：" + "、".join(pending))
    if tracking is not None and (tracking.behind or tracking.shortfalls):
        return Light("yellow", labels["yellow"][0], tracking.summary())
    return Light("green", labels["green"][0], f"按规划测算{outlook.verdict_year}年达到认定要求")


def overview_rows(counties: Sequence[County], catalogue, this_year: int) -> list[CountyRow]:
    rows = []
    for county in counties:
        plan = plan_of(county)
        latest = latest_evaluation(county)
        report = latest.report if latest is not None else {}
        outlook = outlook_for(county, plan, latest) if plan is not None and latest is not None else None
        tracking = tracking_for(county)[0] if plan is not None else None
        rows.append(CountyRow(
            county=county, plan=plan, latest=latest,
            failing=tuple(it["code"] for it in report.get("items", []) if it.get("status") == "fail"),
            pending=tuple(it["code"] for it in report.get("items", []) if it.get("status") == "pending"),
            shortfalls=shortfall_texts(report), rounds=round_summaries(county, catalogue),
            light=light_for(plan, latest, outlook, tracking, this_year),
            verdict_year=outlook.verdict_year if outlook else None,
            projection_problem=outlook.problem if outlook else None, tracking=tracking, cv=report.get("cv") or {}))
    return rows


LIGHT_ORDER = {"red": 0, "yellow": 1, "grey": 2, "green": 3}
SORTS = {
    "code": lambda r: r.county.code,
    "name": lambda r: r.county.name,
    "target": lambda r: (r.plan.target_year if r.plan else 9999, r.county.code),
    "light": lambda r: (LIGHT_ORDER[r.light.code], r.county.code),
    "failing": lambda r: (-len(r.failing), r.county.code),
    "verdict_year": lambda r: (r.verdict_year or 9999, r.county.code),
}


def sort_and_filter(rows: list[CountyRow], sort: str = "code", light: str = "", q: str = "",
                    target: int | None = None) -> list[CountyRow]:
    out = [r for r in rows if (not light or r.light.code == light)
           and (not q or q in r.county.name or q in r.county.code)
           and (target is None or (r.plan is not None and r.plan.target_year == target))]
    return sorted(out, key=SORTS.get(sort, SORTS["code"]))
