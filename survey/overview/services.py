"""Overview services: roadmaps (plan, measures, projects, enrolment), projections and tracking
of a county's latest evaluation. Regions are survey.overview.regions, the overview table and
its traffic light survey.overview.rows. Explicit arguments; add and flush, never commit.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from evaluator.workbook import Workbook
from evaluator.workbook.schema import LOCALITIES
from survey.db import db, savepoint
from survey.i18n import _
from survey.models import County, Evaluation, User, utcnow
from survey.overview.models import (
    CountyPlan,
    EnrolmentProjection,
    PlanMeasure,
    PlanProject,
)
from survey.overview.regions import (  # noqa: F401  (kept importable from here)
    assign_region,
    counties_in_scope,
    create_region,
    region_county_set,
    set_region_counties,
    visible_regions,
)
from survey.services import ServiceError


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
        raise ServiceError(_("目标验收年份应在 2000–2100 之间"))
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


@savepoint()
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


@savepoint()
def save_measures(county: County, target_year: int, entries: Mapping[tuple[str, int], str], *,
                  user: User | None) -> CountyPlan:
    """Replace the measures table edited in the browser (empty text removes a cell)."""
    plan = _touch(county, target_year, user)
    db.session.execute(delete(PlanMeasure).where(PlanMeasure.county_id == county.id))
    for (code, year), text in entries.items():
        text = (text or "").strip()
        if code not in ITEM_CODES:
            raise ServiceError(_("指标编号 %(code)s 不存在", code=code))
        if len(text) > 2000:
            raise ServiceError(_("指标 %(code)s %(year)s年：措施内容过长（不超过 2000 字）", code=code, year=year))
        if text:
            db.session.add(PlanMeasure(county_id=county.id, item_code=code, year=year, text=text))
    db.session.flush()
    return plan


def check_project(p: Project) -> None:
    """The checks of the roadmap sheet, for a project entered in the browser (field names)."""
    if p.kind not in KINDS:
        raise ServiceError(_("项目类型应为 新建/改扩建/撤并"))
    if not 2000 <= p.year <= 2100:
        raise ServiceError(_("完成年份应在 2000–2100 之间"))
    if not p.school_code or len(p.school_code) > 40:
        raise ServiceError(_("请填写学校代码（不超过 40 字）"))
    if p.kind == "new" and (not p.school_name or p.school_type not in SCHOOL_TYPES):
        raise ServiceError(_("新建学校须填写学校名称和学校类型"))
    if p.locality and p.locality not in LOCALITIES:
        raise ServiceError(_("城乡类别应为 城区/镇区/乡村"))
    values = [p.seats_primary, p.seats_junior, p.music_rooms, p.art_rooms, p.music_room_area, p.art_room_area,
              *p.added.values()]
    if any(v < 0 for v in values):
        raise ServiceError(_("数量不能为负数"))
    if (p.music_rooms and p.music_room_area <= 0) or (p.art_rooms and p.art_room_area <= 0):
        raise ServiceError(_("新增专用教室时须填写每间面积（大于 0）"))


def add_project(county: County, p: Project, *, user: User | None) -> PlanProject:
    plan = plan_of(county)
    if plan is None:
        raise ServiceError(_("请先填写目标验收年份（推进规划）"))
    check_project(p)
    if p.year > plan.target_year:
        raise ServiceError(_("完成年份 %(year)s 晚于目标验收年份 %(target)s", year=p.year, target=plan.target_year))
    row = _project_row(county, p)
    db.session.add(row)
    _touch(county, plan.target_year, user)
    return row


def delete_project(county: County, project_id: int, *, user: User | None) -> None:
    row = db.session.get(PlanProject, project_id)
    if row is None or row.county_id != county.id:
        raise ServiceError(_("项目不存在"))
    db.session.delete(row)
    plan = plan_of(county)
    if plan is not None:
        _touch(county, plan.target_year, user)


def set_enrolment(county: County, school_code: str, year: int, students_primary: int | None,
                  students_junior: int | None, *, user: User | None) -> None:
    """Enter (or replace, or with both counts empty remove) one school's projected students in a year."""
    plan = plan_of(county)
    if plan is None:
        raise ServiceError(_("请先填写目标验收年份（推进规划）"))
    code = (school_code or "").strip()
    if not code or len(code) > 40:
        raise ServiceError(_("请填写学校代码（不超过 40 字）"))
    if not 2000 <= year <= 2100:
        raise ServiceError(_("年份应在 2000–2100 之间"))
    for v in (students_primary, students_junior):
        if v is not None and not 0 <= v <= 100_000:
            raise ServiceError(_("在校生数应为 0–100000 的整数"))
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


@savepoint()
def rebase_plan(county: County, *, user: User | None) -> CountyPlan:
    """Start tracking afresh from the latest evaluation (e.g. after the plan was revised)."""
    plan = plan_of(county)
    latest = latest_evaluation(county)
    if plan is None or latest is None:
        raise ServiceError(_("尚无推进规划或评估"))
    plan.baseline_evaluation_id = latest.id
    return _touch(county, plan.target_year, user)


# ----------------------------------------------------------------------------- projection
_CACHE: OrderedDict[str, Projection] = OrderedDict()
_CACHE_SIZE = 64


_WORKBOOKS: OrderedDict[tuple[int, str], Workbook] = OrderedDict()


def evaluation_workbook(evaluation: Evaluation) -> Workbook:
    """The data workbook an evaluation read, from its stored bytes (parsed once per process)."""
    from survey.services.evaluations import read_upload

    key = (evaluation.id, evaluation.workbook_sha256)
    if key not in _WORKBOOKS:
        with tempfile.TemporaryDirectory(prefix="projection-") as tmp:
            _WORKBOOKS[key] = read_upload(evaluation.workbook_data, evaluation.workbook_name, Path(tmp))
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
