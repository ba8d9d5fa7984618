"""Overview services: regions, roadmaps, projections, tracking and the overview table.
Explicit arguments; add and flush, never commit.

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

import hashlib
import json
import re
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import delete, select

from evaluator.errors import InputError
from evaluator.projection import (
    ADDED,
    KINDS,
    Project,
    Projection,
    Tracking,
    project,
    project_year,
    track,
)
from evaluator.roadmap import Roadmap
from evaluator.rules import ITEM_CODES, SCHOOL_TYPES, RuleSet, load_ruleset
from evaluator.verdict import EvaluationReport
from evaluator.workbook import LOCALITIES, Workbook
from survey.db import db
from survey.models import County, Evaluation, SurveyRound, User, utcnow
from survey.overview.models import (
    REGION_LEVELS,
    CountyPlan,
    EnrolmentProjection,
    PlanMeasure,
    PlanProject,
    Region,
    descendant_region_ids,
    evaluator_regions,
)
from survey.services import ServiceError

LIGHT_RULE = (
    ("green", "按计划推进", "已通过认定，或按规划项目测算在目标年份前达到认定要求，且最近一次评估不落后于规划预测"),
    ("yellow", "进度落后", "按规划测算目标年份无未达标项，但仍有待定项（数据缺失，如尚未开展社会认可度调查），"
                        "或最近一次评估落后于规划当年的预测"),
    ("red", "有风险", "按规划测算目标年份仍有未达标指标，或已过目标年份仍未通过认定"),
    ("grey", "未制定规划", "尚未录入推进规划，或尚无评估可供测算"),
)
_CODE = re.compile(r"^\d{2,12}$")


# ----------------------------------------------------------------------------- regions
def create_region(code: str, name: str, level: str, parent: Region | None = None) -> Region:
    """A city or province; ``code`` its administrative code (2–12 digits)."""
    code, name = (code or "").strip(), (name or "").strip()
    if not _CODE.match(code):
        raise ServiceError("区域代码应为 2–12 位数字（行政区划代码）")
    if not name or len(name) > 100:
        raise ServiceError("请填写区域名称（不超过 100 字）")
    if level not in REGION_LEVELS:
        raise ServiceError("区域级别应为 市 或 省")
    if db.session.scalar(select(Region).where(Region.code == code)):
        raise ServiceError(f"区域代码 {code} 已存在")
    if parent is not None and parent.level != "province":
        raise ServiceError("上级区域只能是省")
    region = Region(code=code, name=name, level=level, parent=parent)
    db.session.add(region)
    db.session.flush()
    return region


def set_region_counties(region: Region, county_codes: Iterable[str]) -> None:
    """Replace the counties the region contains directly (codes already registered)."""
    codes = [c.strip() for c in county_codes if c.strip()]
    counties = list(db.session.scalars(select(County).where(County.code.in_(codes)))) if codes else []
    unknown = sorted(set(codes) - {c.code for c in counties})
    if unknown:
        raise ServiceError("以下县代码尚未登记：" + "、".join(unknown))
    region.counties = sorted(counties, key=lambda c: c.code)
    db.session.flush()


def assign_region(region: Region, username: str) -> User:
    """Give an evaluator account the whole region (and its sub-regions)."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise ServiceError(f"用户“{username}”不存在")
    if user.role != "evaluator":
        raise ServiceError("只有评估人员（evaluator）账号可以按区域分配")
    if user not in region.evaluators:
        region.evaluators.append(user)
    db.session.flush()
    return user


def visible_regions(user: User) -> list[Region]:
    """Regions whose overview the user may open: all (admin), assigned ones and below (evaluator)."""
    q = select(Region).order_by(Region.level.desc(), Region.code)
    if user.role == "admin":
        return list(db.session.scalars(q))
    if user.role != "evaluator":
        return []
    assigned = set(db.session.scalars(select(evaluator_regions.c.region_id)
                                      .where(evaluator_regions.c.user_id == user.id)))
    ids = descendant_region_ids(assigned) if assigned else set()
    return list(db.session.scalars(q.where(Region.id.in_(ids or {-1}))))


def region_county_set(region: Region) -> set[int]:
    from survey.overview.models import region_counties

    ids = descendant_region_ids({region.id})
    return set(db.session.scalars(select(region_counties.c.county_id).where(region_counties.c.region_id.in_(ids))))


def counties_in_scope(user: User, region: Region | None = None) -> list[County]:
    """Counties the user can see (User.county_ids), narrowed to a region when given."""
    ids = user.county_ids()
    q = select(County).order_by(County.code)
    if ids is not None:
        q = q.where(County.id.in_(ids or {-1}))
    if region is not None:
        q = q.where(County.id.in_(region_county_set(region) or {-1}))
    return list(db.session.scalars(q))


# ----------------------------------------------------------------------------- roadmap
def plan_of(county: County) -> CountyPlan | None:
    return db.session.scalar(select(CountyPlan).where(CountyPlan.county_id == county.id))


def latest_evaluation(county: County) -> Evaluation | None:
    return db.session.scalar(select(Evaluation).where(Evaluation.county_id == county.id)
                             .order_by(Evaluation.created_at.desc(), Evaluation.id.desc()).limit(1))


def _project_row(county: County, p: Project) -> PlanProject:
    q = {k: float(v) for k, v in p.added.items() if v}
    for k in ("music_rooms", "music_room_area", "art_rooms", "art_room_area"):
        if getattr(p, k):
            q[k] = float(getattr(p, k))
    return PlanProject(county_id=county.id, year=p.year, kind=p.kind, school_code=p.school_code, name=p.name,
                       school_name=p.school_name, school_type=p.school_type, locality=p.locality,
                       seats_primary=int(p.seats_primary), seats_junior=int(p.seats_junior),
                       transfer_schools="、".join(p.transfer_schools), quantities=q)


def as_project(row: PlanProject) -> Project:
    q = row.quantities or {}
    return Project(key=str(row.id), year=row.year, kind=row.kind, school_code=row.school_code, name=row.name,
                   school_name=row.school_name, school_type=row.school_type, locality=row.locality,
                   seats_primary=row.seats_primary, seats_junior=row.seats_junior,
                   added={k: q[k] for k in ADDED if q.get(k)}, music_rooms=int(q.get("music_rooms", 0)),
                   music_room_area=float(q.get("music_room_area", 0)), art_rooms=int(q.get("art_rooms", 0)),
                   art_room_area=float(q.get("art_room_area", 0)),
                   transfer_schools=tuple(x for x in re.split(r"[、,，\s]+", row.transfer_schools or "") if x))


def plan_projects(county: County) -> list[PlanProject]:
    return list(db.session.scalars(select(PlanProject).where(PlanProject.county_id == county.id)
                                   .order_by(PlanProject.year, PlanProject.id)))


def plan_measures(county: County) -> dict[tuple[str, int], str]:
    return {(m.item_code, m.year): m.text for m in
            db.session.scalars(select(PlanMeasure).where(PlanMeasure.county_id == county.id))}


def plan_enrolment(county: County) -> pd.DataFrame:
    rows = [{"school_code": e.school_code, "year": e.year, "students_primary": e.students_primary,
             "students_junior": e.students_junior} for e in
            db.session.scalars(select(EnrolmentProjection).where(EnrolmentProjection.county_id == county.id)
                               .order_by(EnrolmentProjection.year, EnrolmentProjection.school_code))]
    return pd.DataFrame(rows, columns=["school_code", "year", "students_primary", "students_junior"])


def _touch(county: County, target_year: int, user: User | None, source_name: str | None = None) -> CountyPlan:
    if not 2000 <= int(target_year) <= 2100:
        raise ServiceError("目标验收年份应在 2000–2100 之间")
    plan = plan_of(county)
    if plan is None:
        latest = latest_evaluation(county)
        plan = CountyPlan(county_id=county.id, target_year=int(target_year),
                          baseline_evaluation_id=latest.id if latest else None)
        db.session.add(plan)
    plan.target_year = int(target_year)
    plan.updated_at = utcnow()
    plan.updated_by_id = user.id if user else None
    if source_name is not None:
        plan.source_name = source_name
    db.session.flush()
    return plan


def save_roadmap(county: County, roadmap: Roadmap, *, user: User | None, source_name: str) -> CountyPlan:
    """Replace the county's roadmap (measures, projects, enrolment) by an imported one. The
    plan's baseline evaluation (for tracking) is the latest evaluation when the plan is first made."""
    plan = _touch(county, roadmap.target_year, user, source_name)
    for model in (PlanMeasure, PlanProject, EnrolmentProjection):
        db.session.execute(delete(model).where(model.county_id == county.id))
    for (code, year), text in roadmap.measures.items():
        db.session.add(PlanMeasure(county_id=county.id, item_code=code, year=year, text=text))
    for p in roadmap.projects:
        db.session.add(_project_row(county, p))
    for rec in roadmap.enrolment.to_dict("records"):
        db.session.add(EnrolmentProjection(county_id=county.id, school_code=rec["school_code"], year=int(rec["year"]),
                                           students_primary=_int(rec["students_primary"]),
                                           students_junior=_int(rec["students_junior"])))
    db.session.flush()
    return plan


def current_roadmap(county: County) -> Roadmap | None:
    plan = plan_of(county)
    if plan is None:
        return None
    return Roadmap(target_year=plan.target_year, measures=plan_measures(county),
                   projects=tuple(as_project(r) for r in plan_projects(county)), enrolment=plan_enrolment(county))


def _int(v: Any) -> int | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return int(v)


def save_measures(county: County, target_year: int, entries: Mapping[tuple[str, int], str], *,
                  user: User | None) -> CountyPlan:
    """Replace the measures table edited in the browser (empty text removes a cell)."""
    plan = _touch(county, target_year, user)
    db.session.execute(delete(PlanMeasure).where(PlanMeasure.county_id == county.id))
    for (code, year), text in entries.items():
        text = (text or "").strip()
        if code not in ITEM_CODES:
            raise ServiceError(f"指标编号 {code} 不存在")
        if len(text) > 2000:
            raise ServiceError(f"指标 {code} {year}年：措施内容过长（不超过 2000 字）")
        if text:
            db.session.add(PlanMeasure(county_id=county.id, item_code=code, year=year, text=text))
    db.session.flush()
    return plan


def check_project(p: Project) -> None:
    """The checks of the roadmap sheet, for a project entered in the browser (field names)."""
    if p.kind not in KINDS:
        raise ServiceError("项目类型应为 新建/改扩建/撤并")
    if not 2000 <= p.year <= 2100:
        raise ServiceError("完成年份应在 2000–2100 之间")
    if not p.school_code or len(p.school_code) > 40:
        raise ServiceError("请填写学校代码（不超过 40 字）")
    if p.kind == "new" and (not p.school_name or p.school_type not in SCHOOL_TYPES):
        raise ServiceError("新建学校须填写学校名称和学校类型")
    if p.locality and p.locality not in LOCALITIES:
        raise ServiceError("城乡类别应为 城区/镇区/乡村")
    values = [p.seats_primary, p.seats_junior, p.music_rooms, p.art_rooms, p.music_room_area, p.art_room_area,
              *p.added.values()]
    if any(v < 0 for v in values):
        raise ServiceError("数量不能为负数")
    if (p.music_rooms and p.music_room_area <= 0) or (p.art_rooms and p.art_room_area <= 0):
        raise ServiceError("新增专用教室时须填写每间面积（大于 0）")


def add_project(county: County, p: Project, *, user: User | None) -> PlanProject:
    plan = plan_of(county)
    if plan is None:
        raise ServiceError("请先填写目标验收年份（推进规划）")
    check_project(p)
    if p.year > plan.target_year:
        raise ServiceError(f"完成年份 {p.year} 晚于目标验收年份 {plan.target_year}")
    row = _project_row(county, p)
    db.session.add(row)
    _touch(county, plan.target_year, user)
    return row


def delete_project(county: County, project_id: int, *, user: User | None) -> None:
    row = db.session.get(PlanProject, project_id)
    if row is None or row.county_id != county.id:
        raise ServiceError("项目不存在")
    db.session.delete(row)
    plan = plan_of(county)
    if plan is not None:
        _touch(county, plan.target_year, user)


def set_enrolment(county: County, school_code: str, year: int, students_primary: int | None,
                  students_junior: int | None, *, user: User | None) -> None:
    """Enter (or replace, or with both counts empty remove) one school's projected students in a year."""
    plan = plan_of(county)
    if plan is None:
        raise ServiceError("请先填写目标验收年份（推进规划）")
    code = (school_code or "").strip()
    if not code or len(code) > 40:
        raise ServiceError("请填写学校代码（不超过 40 字）")
    if not 2000 <= year <= 2100:
        raise ServiceError("年份应在 2000–2100 之间")
    for v in (students_primary, students_junior):
        if v is not None and not 0 <= v <= 100_000:
            raise ServiceError("在校生数应为 0–100000 的整数")
    row = db.session.scalar(select(EnrolmentProjection).where(
        EnrolmentProjection.county_id == county.id, EnrolmentProjection.school_code == code,
        EnrolmentProjection.year == year))
    if students_primary is None and students_junior is None:
        if row is not None:
            db.session.delete(row)
    else:
        if row is None:
            row = EnrolmentProjection(county_id=county.id, school_code=code, year=year)
            db.session.add(row)
        row.students_primary, row.students_junior = students_primary, students_junior
    _touch(county, plan.target_year, user)


def rebase_plan(county: County, *, user: User | None) -> CountyPlan:
    """Start tracking afresh from the latest evaluation (e.g. after the plan was revised)."""
    plan = plan_of(county)
    latest = latest_evaluation(county)
    if plan is None or latest is None:
        raise ServiceError("尚无推进规划或评估")
    plan.baseline_evaluation_id = latest.id
    return _touch(county, plan.target_year, user)


# ----------------------------------------------------------------------------- projection
_CACHE: OrderedDict[str, Projection] = OrderedDict()
_CACHE_SIZE = 64


_WORKBOOKS: OrderedDict[tuple[int, str], Workbook] = OrderedDict()


def evaluation_workbook(evaluation: Evaluation) -> Workbook:
    """The data workbook an evaluation read, from its stored bytes (parsed once per process)."""
    from survey.services.evaluations import _read_upload

    key = (evaluation.id, evaluation.workbook_sha256)
    if key not in _WORKBOOKS:
        with tempfile.TemporaryDirectory(prefix="projection-") as tmp:
            _WORKBOOKS[key] = _read_upload(evaluation.workbook_data, evaluation.workbook_name, Path(tmp))
        while len(_WORKBOOKS) > 16:
            _WORKBOOKS.popitem(last=False)
    return _WORKBOOKS[key]


_YEARS: OrderedDict[str, EvaluationReport] = OrderedDict()


def _year_report(ev: Evaluation, rules: RuleSet, projects: Sequence[Project], enrolment: pd.DataFrame,
                 year: int) -> EvaluationReport:
    """One projected year from ``ev`` (evaluator.projection.project_year), cached per inputs."""
    key = _fingerprint(ev.id, ev.workbook_sha256, ev.responses_sha256, ev.round_id, rules.sha256, year,
                       [p.__dict__ for p in projects], enrolment.to_dict("records"))
    if key not in _YEARS:
        _YEARS[key] = project_year(evaluation_workbook(ev), projects, rules, base_year=ev.assessment_year,
                                   year=year, enrolment=enrolment, recognition=(ev.report or {}).get("recognition"))
        while len(_YEARS) > 256:
            _YEARS.popitem(last=False)
    _YEARS.move_to_end(key)
    return _YEARS[key]


@dataclass(frozen=True)
class Outlook:
    """What the overview needs of a projection: the target year's report and the first year
    projected "recognized" (found year by year only when the target year is recognized)."""

    target: EvaluationReport | None
    verdict_year: int | None
    problem: str | None


def outlook_for(county: County, plan: CountyPlan, ev: Evaluation) -> Outlook:
    if ev.assessment_year is None:
        return Outlook(None, None, "最近一次评估的数据表缺少评估年份（assessment_year）")
    projects = [as_project(r) for r in plan_projects(county)]
    enrolment = plan_enrolment(county)
    target_year = max(plan.target_year, ev.assessment_year)
    try:
        rules = load_ruleset(ev.ruleset)
        target = _year_report(ev, rules, projects, enrolment, target_year)
        first = None
        if target.verdict == "recognized":
            first = next(y for y in range(ev.assessment_year, target_year + 1)
                         if _year_report(ev, rules, projects, enrolment, y).verdict == "recognized")
    except InputError as exc:
        return Outlook(None, None, f"无法测算：{exc}")
    return Outlook(target, first, None)


@dataclass(frozen=True)
class ProjectionOutcome:
    projection: Projection | None
    problem: str | None
    evaluation: Evaluation | None


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def projection_for(county: County, *, projects: Sequence[Project] | None = None, evaluation: Evaluation | None = None,
                   target_year: int | None = None, dependencies: bool = True) -> ProjectionOutcome:
    """The projection of the county from ``evaluation`` (default: the latest) with the
    roadmap's projects (or ``projects``, for a what-if), to the plan's target year. Cached per
    inputs; a problem (no plan, no evaluation, bad project) comes back as Chinese text."""
    plan = plan_of(county)
    if plan is None and target_year is None:
        return ProjectionOutcome(None, "尚未制定推进规划（目标验收年份）", None)
    ev = evaluation or latest_evaluation(county)
    if ev is None:
        return ProjectionOutcome(None, "尚无评估，无法测算", None)
    if ev.assessment_year is None:
        return ProjectionOutcome(None, "最近一次评估的数据表缺少评估年份（assessment_year）", ev)
    target = target_year or plan.target_year
    if projects is None:
        projects = [as_project(r) for r in plan_projects(county)]
    enrolment = plan_enrolment(county)
    try:
        rules = load_ruleset(ev.ruleset)
    except InputError as exc:
        return ProjectionOutcome(None, f"无法测算：{exc}", ev)
    key = _fingerprint(ev.id, ev.workbook_sha256, ev.responses_sha256, ev.round_id, rules.sha256, target,
                       [p.__dict__ for p in projects], enrolment.to_dict("records"), dependencies)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return ProjectionOutcome(_CACHE[key], None, ev)
    base_year = min(ev.assessment_year, target)
    try:
        result = project(evaluation_workbook(ev), projects, rules, base_year=base_year,
                         target_year=target, enrolment=enrolment, recognition=(ev.report or {}).get("recognition"),
                         dependencies=dependencies)
    except InputError as exc:
        return ProjectionOutcome(None, f"无法测算：{exc}", ev)
    _CACHE[key] = result
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return ProjectionOutcome(result, None, ev)


def tracking_for(county: County) -> tuple[Tracking | None, str | None]:
    """The latest evaluation against the plan's projection for its year, made from the plan's
    baseline evaluation; None with the reason when there is nothing to compare."""
    plan = plan_of(county)
    latest = latest_evaluation(county)
    if plan is None or latest is None:
        return None, "尚无规划或评估"
    baseline = db.session.get(Evaluation, plan.baseline_evaluation_id) if plan.baseline_evaluation_id else None
    if baseline is None or baseline.id == latest.id:
        return None, "规划以最近一次评估为起点，下一年度评估后即可对照"
    if latest.assessment_year is None or baseline.assessment_year is None \
            or latest.assessment_year < baseline.assessment_year:
        return None, "评估年份缺失或早于规划起点"
    try:
        planned = _year_report(baseline, load_ruleset(baseline.ruleset), [as_project(r) for r in plan_projects(county)],
                               plan_enrolment(county), latest.assessment_year)
    except InputError as exc:
        return None, f"无法测算：{exc}"
    return track(latest.assessment_year, planned.to_dict(), latest.report), None


# ----------------------------------------------------------------------------- overview rows
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
