"""Projection of a county's evaluation, year by year, to its target acceptance year.

The projection never computes an indicator itself: for each year it builds the data workbook
the county would have that year (the latest evaluation's sheets, plus every planned project
completed by then, plus the optional enrolment projection) and runs ``evaluator.verdict.evaluate``
on it, exactly as ``run.py evaluate`` would on that workbook. ``projected_frames`` returns that
workbook, so anyone can write it out (``evaluator.workbook.write_workbook``) and check.

Assumptions (``ASSUMPTIONS``, printed with every projection):
- projects are complete and in use by the autumn term of their year; a project's seats are
  students moving in that year, taken from the schools it lists (``transfer_schools``, in
  proportion to their enrolment of that 学段), or new enrolment when it lists none;
- a closed school's students move to the schools it lists (in proportion to their enrolment),
  or leave the county's figures when it lists none; its teachers, rooms and areas are gone;
- a school whose students or classes change has its students spread evenly over its classes
  of that 学段 (real class lists do not exist yet for future years);
- a new school's own non-resource fields (章程与信息化, 课程开齐开足, 德育评价) are taken as the
  most common value among the county's schools, its 公用经费 as the county base amounts
  × students, its training share as the county median;
- county-level items (政府保障 county ratios, 教育质量, 否决项) and social recognition stay as
  in the latest evaluation: plans state measures for them but no figures to project.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from evaluator.errors import InputError
from evaluator.rules import INDICATOR_KEYS, STAGES, RuleSet
from evaluator.verdict import EvaluationReport, evaluate
from evaluator.workbook.coerce import number
from evaluator.workbook.schema import CLASS_COLUMNS, ROOM_COLUMNS, SCHOOL_COLUMNS, Workbook

KINDS = {"new": "新建", "extension": "改扩建", "closure": "撤并"}
KIND_BY_NAME = {**{v: k for k, v in KINDS.items()}, **{k: k for k in KINDS}, "扩建": "extension", "改建": "extension",
                "撤销": "closure", "关停": "closure"}
# quantities a project adds to a school (whole-school and per 学段); the projects sheet's columns
ADDED = ("classes_primary", "classes_junior", "teachers_primary", "teachers_junior",
         "qualified_teachers_primary", "qualified_teachers_junior", "backbone_teachers_primary",
         "backbone_teachers_junior", "pe_art_teachers_primary", "pe_art_teachers_junior",
         "teaching_area", "sports_area", "equipment_value", "multimedia_rooms")
ASSUMPTIONS = (
    "建设项目在其计划年份秋季学期前完工并投入使用；项目新增学位按当年入学学生计，学生来自项目所列分流学校（按各校该学段在校生比例），未列分流学校时视为新增生源。",
    "撤并学校的学生转入项目所列接收学校（按各校在校生比例），未列接收学校时不再计入；其教师、专用教室和校舍面积一并撤销。",
    "学生数或班级数变化的学校，该学段学生按班级平均分配（未来年份没有真实的班级名单）；其余学校保留最近一次评估的班级数据。",
    "新建学校的章程与信息化、课程开齐开足、德育评价取全县现有学校最常见的值，公用经费按县定生均基准定额×学生数，教师培训经费比例取全县中位数。",
    "县级指标（政府保障程度中的县级比例和是否项、教育质量、否决性指标）及社会认可度沿用最近一次评估的结果：规划中的措施没有可测算的数字。",
)


@dataclass(frozen=True)
class Project:
    """A planned project: a new school, an extension of one, or a closure (roadmap, seed 000)."""

    key: str
    year: int
    kind: str  # new | extension | closure
    school_code: str
    name: str = ""
    school_name: str = ""
    school_type: str = ""
    locality: str = ""
    seats_primary: int = 0
    seats_junior: int = 0
    added: Mapping[str, float] = field(default_factory=dict)  # keys of ADDED
    music_rooms: int = 0
    music_room_area: float = 0.0
    art_rooms: int = 0
    art_room_area: float = 0.0
    transfer_schools: tuple[str, ...] = ()

    def label(self) -> str:
        return self.name or f"{self.year}年{KINDS.get(self.kind, self.kind)}{self.school_name or self.school_code}"


@dataclass(frozen=True)
class YearProjection:
    year: int
    report: EvaluationReport
    projects: tuple[str, ...]  # keys of the projects in use that year

    @property
    def verdict(self) -> str:
        return self.report.verdict

    def status(self, code: str) -> str:
        return self.report.item(code).status


@dataclass(frozen=True)
class Projection:
    """Year-by-year projection. ``first_pass[code]`` is the first projected year an item passes
    (the base year when it already does; None when it never does by the target year);
    ``depends_on[code]`` the projects without which it would not pass in that year."""

    base_year: int
    target_year: int
    years: tuple[YearProjection, ...]
    base: EvaluationReport
    first_pass: Mapping[str, int | None]
    verdict_year: int | None
    depends_on: Mapping[str, tuple[str, ...]]
    projects: tuple[Project, ...]
    assumptions: tuple[str, ...] = ASSUMPTIONS

    def at(self, year: int) -> YearProjection | None:
        return next((y for y in self.years if y.year == year), None)

    @property
    def target(self) -> YearProjection:
        return self.years[-1]

    def remaining(self) -> list[dict[str, Any]]:
        """Items still failing or pending in the target year, with their problem text."""
        return [{"code": it.code, "title": it.title, "status": it.status, "problem": it.problem or it.detail}
                for it in self.target.report.items if it.status in ("fail", "pending")]


def _largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` into integers summing to ``total``."""
    w = np.asarray(weights, dtype=float)
    if len(w) == 0:
        return []
    if w.sum() <= 0:
        w = np.ones(len(w))
    raw = w / w.sum() * total
    out = np.floor(raw).astype(int)
    order = np.argsort(-(raw - out), kind="stable")
    for i in order[: total - int(out.sum())]:
        out[i] += 1
    return out.tolist()


def _mode(series: pd.Series, default: Any) -> Any:
    s = series.dropna()
    return s.mode().iloc[0] if not s.empty else default


def _new_school_row(p: Project, schools: pd.DataFrame, county: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {c: np.nan for c in schools.columns}
    students = {"primary": 0, "junior": 0}
    row.update({"school_code": p.school_code, "school_name": p.school_name or p.school_code,
                "school_type": p.school_type, "locality": p.locality or _mode(schools["locality"], "城区"),
                "students_primary": 0, "students_junior": 0, "students_senior": 0})
    for key in ADDED:
        row[key] = 0.0
    base = number(county.get("public_funds_base_primary"), 0.0) * students["primary"]
    share = (schools["training_funds"] / schools["public_funds_budget"]).replace([np.inf, -np.inf], np.nan)
    row.update({"public_funds": base, "public_funds_budget": base, "_training_share": float(share.median())
                if share.notna().any() else 0.0,
                "has_charter_and_ict": _mode(schools["has_charter_and_ict"], True),
                "curriculum_complete": _mode(schools["curriculum_complete"], True),
                "moral_education_rating": _mode(schools["moral_education_rating"], "良好")})
    if "founded_year" in schools.columns:
        row["founded_year"] = p.year
    if "boarding" in schools.columns:
        row["boarding"] = False
    if "migrant_students" in schools.columns:
        row["migrant_students"] = 0
    return row


def _even_classes(code: str, stage: str, students: int, n: int) -> list[dict[str, Any]]:
    grades = list(range(1, 7)) if stage == "primary" else list(range(7, 10))
    sizes = _largest_remainder(students, [1.0] * n)
    return [{"school_code": code, "stage": stage, "grade": grades[k % len(grades)], "students": s}
            for k, s in enumerate(sizes)]


def projected_frames(base: Workbook, projects: Sequence[Project], year: int,
                     enrolment: pd.DataFrame | None = None) -> dict[str, Any]:
    """The data workbook projected to ``year``: sheets schools, classes, rooms (DataFrames in
    the layout ``evaluator.workbook.read_workbook`` returns) and county (key → value).

    Projects with ``year`` ≤ the year are applied in (year, key) order; then the enrolment
    projection (columns school_code, year, students_primary, students_junior; the latest
    entry of each school at or before the year) sets students. See the module docstring."""
    def fresh(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None:
            return None
        out = frame.drop(columns=["_row"], errors="ignore").copy().reset_index(drop=True)
        out.attrs = {}  # the reader's column letters: pandas deep-copies attrs on every operation
        return out

    schools, classes, rooms = fresh(base.schools), fresh(base.classes), fresh(base.rooms)
    assert schools is not None
    county = dict(base.county)
    county["assessment_year"] = year
    codes = set(schools["school_code"])
    changed: set[tuple[str, str]] = set()  # (school, stage) whose students or classes changed
    training_share: dict[str, float] = {}

    def idx(code: str) -> int:
        return int(np.flatnonzero(schools["school_code"].to_numpy() == code)[0])

    def move(stage: str, amount: int, donors: Sequence[str], into: str | None) -> None:
        col = f"students_{stage}"
        donors = [d for d in donors if d in codes and d != into]
        if donors and amount:
            have = [number(schools.at[idx(d), col], 0.0) for d in donors]
            take = _largest_remainder(min(amount, int(sum(have))), have)
            for d, t in zip(donors, take, strict=True):
                schools.at[idx(d), col] = number(schools.at[idx(d), col], 0.0) - t
                changed.add((d, stage))
            amount = sum(take)
        if into is not None:
            schools.at[idx(into), col] = number(schools.at[idx(into), col], 0.0) + amount
            changed.add((into, stage))

    for p in sorted((p for p in projects if p.year <= year), key=lambda p: (p.year, p.key)):
        if p.kind == "new":
            if p.school_code in codes:
                raise InputError(f"新建项目的学校代码 {p.school_code} 与现有学校重复", field=p.label())
            row = _new_school_row(p, schools, county)
            training_share[p.school_code] = row.pop("_training_share")
            schools = pd.concat([schools, pd.DataFrame([row])], ignore_index=True)
            codes.add(p.school_code)
        elif p.school_code not in codes:
            raise InputError(f"学校代码 {p.school_code} 在{year}年的学校中不存在（未建或已撤并）", field=p.label())
        i = idx(p.school_code)
        if p.kind == "closure":
            for stage in STAGES:
                n = int(number(schools.at[i, f"students_{stage}"], 0.0))
                receivers = [r for r in p.transfer_schools if r in codes and r != p.school_code]
                if receivers and n:
                    have = [number(schools.at[idx(r), f"students_{stage}"], 0.0) for r in receivers]
                    for r, t in zip(receivers, _largest_remainder(n, have), strict=True):
                        schools.at[idx(r), f"students_{stage}"] = number(schools.at[idx(r), f"students_{stage}"], 0.0) + t
                        changed.add((r, stage))
            schools = schools.drop(index=i).reset_index(drop=True)
            codes.discard(p.school_code)
            if classes is not None:
                classes = classes[classes["school_code"] != p.school_code].copy()
            if rooms is not None:
                rooms = rooms[rooms["school_code"] != p.school_code].copy()
            continue
        for key, amount in p.added.items():
            if amount:
                schools.at[i, key] = number(schools.at[i, key], 0.0) + amount
                if key.startswith("classes_"):
                    changed.add((p.school_code, key.removeprefix("classes_")))
        for stage, seats in (("primary", p.seats_primary), ("junior", p.seats_junior)):
            if seats:
                move(stage, int(seats), p.transfer_schools, p.school_code)
        new_rooms = ([{"school_code": p.school_code, "room_type": "音乐", "area": float(p.music_room_area)}]
                     * int(p.music_rooms) + [{"school_code": p.school_code, "room_type": "美术",
                                               "area": float(p.art_room_area)}] * int(p.art_rooms))
        if new_rooms:
            rooms = pd.concat([rooms, pd.DataFrame(new_rooms)], ignore_index=True) if rooms is not None \
                else pd.DataFrame(new_rooms)

    if enrolment is not None and not enrolment.empty:
        rows = enrolment[enrolment["year"] <= year].sort_values("year")
        for rec in rows.to_dict("records"):
            if rec["school_code"] not in codes:
                continue
            i = idx(rec["school_code"])
            for stage in STAGES:
                v = rec.get(f"students_{stage}")
                if v is not None and not (isinstance(v, float) and math.isnan(v)):
                    if number(schools.at[i, f"students_{stage}"], 0.0) != float(v):
                        schools.at[i, f"students_{stage}"] = float(v)
                        changed.add((rec["school_code"], stage))

    for code, share in training_share.items():  # 公用经费 of new schools from their students (final)
        i = idx(code) if code in codes else None
        if i is None:
            continue
        funds = (number(county.get("public_funds_base_primary"), 0.0) * number(schools.at[i, "students_primary"], 0.0)
                 + number(county.get("public_funds_base_junior"), 0.0) * number(schools.at[i, "students_junior"], 0.0))
        schools.at[i, "public_funds"] = funds
        schools.at[i, "public_funds_budget"] = funds
        schools.at[i, "training_funds"] = round(funds * share, 2)

    if classes is not None:
        keep = classes[[(c, s) not in changed for c, s in zip(classes["school_code"], classes["stage"], strict=True)]].copy()
        extra = []
        for code, stage in sorted(changed):
            if code not in codes:
                continue
            i = idx(code)
            n = int(number(schools.at[i, f"classes_{stage}"], 0.0))
            students = int(number(schools.at[i, f"students_{stage}"], 0.0))
            if n > 0:
                extra.extend(_even_classes(code, stage, students, n))
        classes = pd.concat([keep, pd.DataFrame(extra, columns=keep.columns)], ignore_index=True) if extra else keep
        order = {c: k for k, c in enumerate(schools["school_code"])}
        classes = classes.sort_values("school_code", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    if rooms is not None:
        order = {c: k for k, c in enumerate(schools["school_code"])}
        rooms = rooms.sort_values("school_code", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    numeric = {c.key for cols in (SCHOOL_COLUMNS, CLASS_COLUMNS, ROOM_COLUMNS) for c in cols
               if c.kind in ("count", "number", "year")}
    for frame in (schools, classes, rooms):
        if frame is not None:
            for col in frame.columns:
                if col in numeric:
                    frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
            frame["_row"] = np.arange(2, len(frame) + 2)  # as read back from a written workbook
    return {"schools": schools, "classes": classes, "rooms": rooms, "county": county}


def _evaluate_year(base: Workbook, projects: Sequence[Project], year: int, rules: RuleSet,
                   enrolment: pd.DataFrame | None, recognition: Mapping[str, Any] | None,
                   generated_at: str) -> EvaluationReport:
    f = projected_frames(base, projects, year, enrolment)
    return evaluate(f["schools"], f["county"], rules, classes=f["classes"], rooms=f["rooms"],
                    recognition=recognition, generated_at=generated_at)


def project_year(base: Workbook, projects: Sequence[Project], rules: RuleSet, *, base_year: int, year: int,
                 enrolment: pd.DataFrame | None = None, recognition: Mapping[str, Any] | None = None,
                 generated_at: str = "projection") -> EvaluationReport:
    """The projected evaluation of one year (the same report ``project`` gives for that year):
    projects after ``base_year`` and up to ``year`` applied to the base workbook."""
    later = tuple(p for p in projects if p.year > base_year)
    return _evaluate_year(base, later, year, rules, enrolment, recognition, generated_at)


def project(base: Workbook, projects: Sequence[Project], rules: RuleSet, *, base_year: int, target_year: int,
            enrolment: pd.DataFrame | None = None, recognition: Mapping[str, Any] | None = None,
            dependencies: bool = True, generated_at: str = "projection") -> Projection:
    """Evaluate the county in every year from ``base_year`` to ``target_year`` (inclusive).

    ``base`` is the latest evaluation's workbook (its data describe ``base_year``; projects
    of that year or earlier are taken as already reflected and are not applied again),
    ``recognition`` that evaluation's social-recognition result. The verdict year is the first
    year whose projected verdict is ``recognized``. Dependencies are found by leaving each
    project out in turn in the year an item first passes (an item depends on a project when
    it would not pass without it)."""
    if target_year < base_year:
        raise InputError(f"目标年份 {target_year} 早于最近一次评估的年份 {base_year}", field="target_year")
    if target_year - base_year > 30:
        raise InputError("目标年份距最近一次评估超过 30 年", field="target_year")
    later = tuple(p for p in projects if p.year > base_year)
    years = []
    for year in range(base_year, target_year + 1):
        report = _evaluate_year(base, later, year, rules, enrolment, recognition, generated_at)
        years.append(YearProjection(year, report, tuple(p.key for p in later if p.year <= year)))
    codes = [it.code for it in years[0].report.items]
    first_pass: dict[str, int | None] = {}
    for code in codes:
        first_pass[code] = None
        for i, y in enumerate(years):  # first year from which it passes and keeps passing
            if all(z.status(code) in ("pass", "n/a") for z in years[i:]):
                first_pass[code] = y.year
                break
    verdict_year = next((y.year for y in years if y.verdict == "recognized"), None)
    depends: dict[str, tuple[str, ...]] = {}
    if dependencies:
        cache: dict[tuple[int, str], EvaluationReport] = {}
        for code in codes:
            year = first_pass[code]
            if year is None or year == base_year:
                continue
            need = []
            for p in later:
                if p.year > year:
                    continue
                if (year, p.key) not in cache:
                    others = tuple(q for q in later if q.key != p.key)
                    cache[(year, p.key)] = _evaluate_year(base, others, year, rules, enrolment, recognition,
                                                          generated_at)
                if cache[(year, p.key)].item(code).status not in ("pass", "n/a"):
                    need.append(p.key)
            depends[code] = tuple(need)
    return Projection(base_year=base_year, target_year=target_year, years=tuple(years), base=years[0].report,
                      first_pass=first_pass, verdict_year=verdict_year, depends_on=depends,
                      projects=tuple(projects))


def moved(projects: Sequence[Project], key: str, year: int) -> tuple[Project, ...]:
    """What-if: the projects with one of them moved to another year."""
    return tuple(replace(p, year=year) if p.key == key else p for p in projects)


@dataclass(frozen=True)
class SeriesPoint:
    year: int
    minimum: float | None
    mean: float | None
    threshold: float | None
    cv: float | None
    cv_limit: float | None


def indicator_series(projection: Projection, key: str, stage: str) -> tuple[SeriesPoint, ...]:
    """Per year: the lowest school value, the enrolment-weighted county mean, the threshold, and
    the CV with its limit, of one indicator in one 学段 (from each year's report, not recomputed
    apart from the weighted mean, which is Σ students·value / Σ students over judged parts)."""
    if key not in INDICATOR_KEYS or stage not in STAGES:
        raise KeyError((key, stage))
    out = []
    for y in projection.years:
        parts = [p for p in y.report.resources.parts if p.stage == stage and not p.excluded
                 and p.indicators[key].value is not None and p.students]
        values = [p.indicators[key].value for p in parts]
        weights = [p.students for p in parts]
        thresholds = {p.indicators[key].threshold for p in parts}
        rr = y.report.ruleset.resources
        limits = rr.cv_limits if rr.cv_mode == "weighted" else rr.cv_composite_limits
        out.append(SeriesPoint(
            year=y.year, minimum=min(values) if values else None,
            mean=float(np.dot(values, weights) / sum(weights)) if values else None,
            threshold=min(thresholds) if thresholds else None,
            cv=y.report.resources.cv[stage].get(key), cv_limit=limits.get(stage)))
    return tuple(out)


# ----------------------------------------------------------------------------- tracking
_RANK = {"fail": 0, "pending": 1, "pass": 2, "n/a": 2}


@dataclass(frozen=True)
class TrackedItem:
    code: str
    title: str
    planned: str | None
    real: str | None
    detail: str  # the real report's problem or detail


@dataclass(frozen=True)
class TrackedShortfall:
    item: str
    what: str
    unit: str
    planned: float
    real: float


@dataclass(frozen=True)
class Tracking:
    """A year's real evaluation against that year's projection (report dicts of both)."""

    year: int
    behind: tuple[TrackedItem, ...]   # projected to pass that year, really not passing
    ahead: tuple[TrackedItem, ...]    # projected not to pass, really passing
    shortfalls: tuple[TrackedShortfall, ...]  # county totals larger than projected
    verdict_planned: str
    verdict_real: str

    def summary(self) -> str:
        """A Chinese paragraph for the annual 督导 report."""
        head = f"{self.year}年实际评估与规划预测相比："
        if not self.behind and not self.shortfalls:
            text = head + "各项指标均达到或好于规划预测。"
        else:
            parts = []
            if self.behind:
                parts.append(f"{len(self.behind)}项指标落后于计划（" + "、".join(
                    f"{t.code}{t.title.split('，')[0][:16]}" for t in self.behind) + "）")
            for s in self.shortfalls:
                parts.append(f"{s.what}比预测多缺{fmt_amount(s.real - s.planned)}{s.unit}"
                             f"（预测{fmt_amount(s.planned)}{s.unit}，实际{fmt_amount(s.real)}{s.unit}）")
            text = head + "；".join(parts) + "。"
        if self.ahead:
            text += f"{len(self.ahead)}项指标提前达标（" + "、".join(t.code for t in self.ahead) + "）。"
        return text


def fmt_amount(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _totals(report: Mapping[str, Any]) -> dict[tuple[str, str, str], float]:
    out: dict[tuple[str, str, str], float] = {}
    for row in report.get("shortfall_totals") or []:
        key = (str(row.get("item") or ""), str(row.get("what") or ""), str(row.get("unit") or ""))
        out[key] = out.get(key, 0.0) + float(row.get("amount") or 0)
    return out


def track(year: int, planned: Mapping[str, Any], real: Mapping[str, Any]) -> Tracking:
    """Compare the real report of ``year`` with the projected one (both report dicts): items
    behind plan (projected pass, real fail/pending), ahead of it, and shortfall totals that
    exceed the projection."""
    a = {it["code"]: it for it in planned.get("items", [])}
    b = {it["code"]: it for it in real.get("items", [])}
    behind, ahead = [], []
    for code, it in a.items():
        r = b.get(code)
        ps, rs = it.get("status"), (r or {}).get("status")
        row = TrackedItem(code, it.get("title", ""), ps, rs, (r or {}).get("problem") or (r or {}).get("detail", ""))
        if _RANK.get(ps, -1) == 2 and _RANK.get(rs, -1) < 2:
            behind.append(row)
        elif _RANK.get(ps, -1) < 2 and _RANK.get(rs, -1) == 2:
            ahead.append(row)
    ta, tb = _totals(planned), _totals(real)
    short = tuple(TrackedShortfall(k[0], k[1], k[2], ta.get(k, 0.0), tb[k]) for k in tb
                  if tb[k] > ta.get(k, 0.0) + 1e-9)
    return Tracking(year=year, behind=tuple(behind), ahead=tuple(ahead), shortfalls=short,
                    verdict_planned=planned.get("verdict", ""), verdict_real=real.get("verdict", ""))
