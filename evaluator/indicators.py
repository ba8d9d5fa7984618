"""资源配置 (items 1.1–1.9): the seven indicators per school and 学段, the per-school
6-of-7 rule and the enrolment-weighted 差异系数 (docs/rules.md §2; 教督〔2017〕6号 第六条).

Split schools: a 九年一贯制 school gives a primary and a junior part, a 十二年一贯制 school
a primary and a junior part (senior dropped), a 完全中学 a junior part only. Students and
teachers come per 学段 from the data; whole-school quantities (areas, equipment value,
rooms) are apportioned by weighted enrolment,
    Q_s = Q × c_s·P_s / Σ_t c_t·P_t,
with the coefficients c of the rule-set's ``resources.split`` (national default
primary:junior:senior = 1 : 1.1 : 1.32; 完全中学 junior:senior = 1 : 1.2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluator.fields import field_zh, school_field
from evaluator.outcome import (
    FAIL,
    NA,
    PASS,
    PENDING,
    ItemResult,
    Shortfall,
    Status,
    at_least,
    at_most,
    combine,
    fmt,
    meets,
    name_list,
    round_up,
)
from evaluator.rules import STAGE_LABELS, STAGES, IndicatorRule, RuleSet
from evaluator.workbook.coerce import number

WHOLE_SCHOOL = ("teaching_area", "sports_area", "equipment_value", "multimedia_rooms")
PART_SUFFIX = {"primary": "（小学部）", "junior": "（初中部）"}


@dataclass(frozen=True)
class IndicatorValue:
    """value = per_students × numerator / students; ratio = value / threshold."""

    key: str
    value: float | None
    threshold: float
    met: bool | None
    ratio: float | None
    band: str  # pass | near (≥ min_ratio of the threshold) | fail | missing
    numerator: float | None
    missing: tuple[str, ...]


@dataclass(frozen=True)
class SchoolPart:
    """One school, or one 学段 part of a split school, as judged in 1.8 and 1.9."""

    school_code: str
    name: str
    label: str
    school_type: str
    stage: str
    students: float | None
    excluded: bool
    indicators: Mapping[str, IndicatorValue]
    met_count: int
    status: Status
    reason: str

    @property
    def missing(self) -> tuple[str, ...]:
        out: list[str] = []
        for iv in self.indicators.values():
            out.extend(iv.missing)
        return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class ResourceResult:
    parts: tuple[SchoolPart, ...]
    cv: Mapping[str, Mapping[str, float | None]]
    cv_notes: Mapping[str, Mapping[str, str]]
    cv_composite: Mapping[str, float | None]
    items: tuple[ItemResult, ...]
    shortfalls: tuple[Shortfall, ...]


def weighted_cv(values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray) -> float:
    """Enrolment-weighted coefficient of variation (docs/rules.md §2, 1.9; the method published
    with the 2012 基本均衡 rules). With P_i the students of school i and X_i its value,
    N = ΣP_i:  X̄ = ΣP_i·X_i / N;  S = sqrt(ΣP_i·(X_i − X̄)² / N);  CV = S / X̄.
    Returns NaN when X̄ = 0 or N = 0."""
    x = np.asarray(values, dtype=float)
    p = np.asarray(weights, dtype=float)
    n = p.sum()
    if n <= 0:
        return math.nan
    mean = float((p * x).sum() / n)
    if mean == 0:
        return math.nan
    s = math.sqrt(float((p * (x - mean) ** 2).sum() / n))
    return s / mean


def _part_numerators(school: Mapping[str, object], stage: str, rules: RuleSet) -> tuple[dict[str, float | None],
                                                                                        dict[str, tuple[str, ...]]]:
    """Numerator of each indicator for one part, and the fields missing for it."""
    stype = str(school["school_type"])
    coeffs = rules.resources.split.get(stype)
    share: float | None = 1.0
    share_missing: tuple[str, ...] = ()
    if coeffs is not None:
        weighted: dict[str, float] = {}
        absent = []
        for st, c in coeffs.items():
            p = number(school.get(f"students_{st}"))
            if p is None:
                absent.append(f"students_{st}")
            else:
                weighted[st] = c * p
        total = sum(weighted.values())
        if absent:
            share, share_missing = None, tuple(absent)
        else:
            share = weighted.get(stage, 0.0) / total if total > 0 else None
    nums: dict[str, float | None] = {}
    missing: dict[str, tuple[str, ...]] = {}
    for ind in rules.resources.indicators:
        if ind.numerator in WHOLE_SCHOOL:
            q = number(school.get(ind.numerator))
            miss = (() if q is not None else (ind.numerator,)) + share_missing
            nums[ind.key] = None if q is None or share is None else q * share
        else:
            col = f"{ind.numerator}_{stage}"
            q = number(school.get(col))
            miss = () if q is not None else (col,)
            nums[ind.key] = q
        missing[ind.key] = miss
    return nums, missing


def school_parts(schools: pd.DataFrame, rules: RuleSet) -> list[SchoolPart]:
    """All school parts with their seven indicator values and the 1.8 verdict.

    1.8 (教督〔2017〕6号): a part passes when at least ``min_met`` indicators meet the
    threshold and every missed one is at least ``min_ratio`` of its threshold. A missing
    value is never a pass: the part is pending unless it already fails on known values.
    教学点 under ``teaching_point_cutoff`` students are kept but marked excluded."""
    rr = rules.resources
    parts: list[SchoolPart] = []
    split_types = set(rr.split)
    for school in schools.to_dict("records"):
        stype = str(school["school_type"])
        if stype in split_types:
            stages = [st for st in STAGES if st in rr.split[stype]]
        else:
            stages = ["junior" if stype == "初中" else "primary"]
        for stage in stages:
            students = number(school.get(f"students_{stage}"))
            if students is not None and students <= 0:
                continue  # the school has no such part this year
            parts.append(_judge(school, stage, students, rules))
    return parts


def _judge(school: Mapping[str, object], stage: str, students: float | None, rules: RuleSet) -> SchoolPart:
    rr = rules.resources
    stype = str(school["school_type"])
    nums, missing = _part_numerators(school, stage, rules)
    values: dict[str, IndicatorValue] = {}
    for ind in rr.indicators:
        thr = float(ind.thresholds[stage])
        miss = missing[ind.key] + (() if students is not None else (f"students_{stage}",))
        n = nums[ind.key]
        if n is None or students is None:
            values[ind.key] = IndicatorValue(ind.key, None, thr, None, None, "missing", n, tuple(dict.fromkeys(miss)))
            continue
        value = ind.per_students * n / students
        met = meets(value, thr, "at_least" if rr.inclusive else "above")
        ratio = value / thr if thr else math.inf
        band = "pass" if met else ("near" if at_least(ratio, rr.min_ratio) else "fail")
        values[ind.key] = IndicatorValue(ind.key, value, thr, met, ratio, band, n, ())
    excluded = stype == "教学点" and students is not None and meets(students, rr.teaching_point_cutoff, "below")
    known = [v for v in values.values() if v.met is not None]
    met_count = sum(1 for v in known if v.met)
    misses = [v for v in known if not v.met]
    allowed_misses = len(rr.indicators) - rr.min_met
    titles = {i.key: i.title for i in rr.indicators}
    deep = [v for v in misses if v.band == "fail"]
    if excluded:
        status: Status = NA
        reason = f"教学点学生数{fmt(students)}人，少于{fmt(rr.teaching_point_cutoff)}人，不参加1.8、1.9评估"
    elif deep:
        status = FAIL
        reason = "；".join(f"{titles[v.key]}{fmt(v.value)}，低于标准{fmt(v.threshold)}的{fmt(rr.min_ratio * 100)}%"
                          for v in deep)
    elif len(misses) > allowed_misses:
        status = FAIL
        reason = f"仅{met_count}项达标，少于{rr.min_met}项"
    elif len(known) < len(values):
        status = PENDING
        reason = "缺少数据：" + "、".join(dict.fromkeys(field_zh(f) for v in values.values() for f in v.missing))
    else:
        status = PASS
        reason = ""
    name = str(school["school_name"])
    label = name + PART_SUFFIX[stage] if stype in rr.split else name
    return SchoolPart(str(school["school_code"]), name, label, stype, stage, students, excluded, values,
                      met_count, status, reason)


def evaluate_resources(schools: pd.DataFrame, rules: RuleSet) -> ResourceResult:
    """Items 1.1–1.9 for a validated schools sheet (see ``school_parts`` and ``weighted_cv``).

    Items 1.1–1.7 fail when any judged part misses the indicator (as in a county's
    self-check table); the verdict itself rests on 1.8 (6-of-7 and 85%) and 1.9."""
    rr = rules.resources
    parts = school_parts(schools, rules)
    judged = [p for p in parts if not p.excluded]
    items: list[ItemResult] = []
    shortfalls: list[Shortfall] = []
    for ind in rr.indicators:
        item, sf = _indicator_item(ind, judged, rules)
        items.append(item)
        shortfalls.extend(sf)
    items.append(_school_rule_item(judged, parts, rules))
    cv, notes, composite, cv_item = _cv(judged, rules)
    items.append(cv_item)
    return ResourceResult(tuple(parts), cv, notes, composite, tuple(items), tuple(shortfalls))


def _short(title: str) -> str:
    for prefix in ("每百名学生拥有", "生均"):
        if title.startswith(prefix):
            return title[len(prefix):]
    return title


def _indicator_item(ind: IndicatorRule, judged: list[SchoolPart], rules: RuleSet) -> tuple[ItemResult,
                                                                                           list[Shortfall]]:
    code, title = ind.code, rules.item_titles[ind.code]
    vals = [(p, p.indicators[ind.key]) for p in judged]
    if not vals:
        return ItemResult(code, title, "resources", NA, "没有参评学校"), []
    failing = [(p, v) for p, v in vals if v.met is False]
    absent = [(p, v) for p, v in vals if v.met is None]
    statuses: list[Status] = [FAIL if failing else PASS] + ([PENDING] if absent else [])
    status = combine(statuses)
    counts = {st: sum(1 for p, _ in vals if p.stage == st) for st in STAGES}
    detail = "参评：" + "，".join(f"{STAGE_LABELS[st]}{n}所" for st, n in counts.items() if n)
    detail += f"；标准：小学{fmt(ind.thresholds['primary'])}、初中{fmt(ind.thresholds['junior'])}{ind.unit}"
    if failing:
        detail += "；未达标：" + "；".join(
            f"{p.label}{fmt(v.value)}（标准{fmt(v.threshold)}）" for p, v in failing)
        detail += f"（是否认定按1.8：至少{rules.resources.min_met}项达标、其余不低于{fmt(rules.resources.min_ratio * 100)}%）"
    missing_fields: list[str] = []
    if absent:
        for p, v in absent:
            missing_fields.extend(school_field(p.label, f) for f in v.missing)
        detail += "；缺少数据：" + "、".join(dict.fromkeys(missing_fields))
    problem = ""
    if failing:
        problem = f"{name_list([p.label for p, _ in failing], 12)}{ind.title}达不到标准要求。"
    sfs = []
    what = _short(ind.title)
    for p, v in failing:
        assert v.value is not None and v.numerator is not None and p.students is not None
        need = v.threshold * p.students / ind.per_students - v.numerator
        sfs.append(Shortfall(p.school_code, p.label, code, what, round_up(need, ind.unit), ind.unit))
    figures = {"failing": len(failing), "judged": len(vals), "missing": len(absent)}
    return (ItemResult(code, title, "resources", status, detail, problem,
                       tuple(dict.fromkeys(missing_fields)) if status == PENDING else (), figures), sfs)


def _school_rule_item(judged: list[SchoolPart], parts: list[SchoolPart], rules: RuleSet) -> ItemResult:
    rr = rules.resources
    code, title = "1.8", rules.item_titles["1.8"]
    if not judged:
        return ItemResult(code, title, "resources", NA, "没有参评学校")
    status = combine(p.status for p in judged)
    failing = [p for p in judged if p.status == FAIL]
    pending = [p for p in judged if p.status == PENDING]
    excluded = [p for p in parts if p.excluded]
    detail = (f"参评学校（部）{len(judged)}所，达标{sum(p.status == PASS for p in judged)}所，"
              f"不达标{len(failing)}所，待补充{len(pending)}所")
    if excluded:
        detail += f"；{len(excluded)}个教学点少于{fmt(rr.teaching_point_cutoff)}人未参评"
    titles = {i.key: i.title for i in rr.indicators}
    groups: dict[tuple[str, ...], list[str]] = {}
    for p in failing:
        keys = tuple(k for k, v in p.indicators.items() if v.met is False)
        groups.setdefault(keys, []).append(p.label)
    problem = "，".join(f"{'、'.join(names)}{'和'.join(titles[k] for k in keys)}不达标" for keys, names in groups.items())
    problem = problem + "。" if problem else ""
    if failing:
        detail += "；" + "；".join(f"{p.label}：{p.reason}" for p in failing)
    missing = tuple(dict.fromkeys(school_field(p.label, f) for p in pending for f in p.missing)) \
        if status == PENDING else ()
    return ItemResult(code, title, "resources", status, detail, problem, missing,
                      {"judged": len(judged), "failing": len(failing), "pending": len(pending),
                       "excluded": len(excluded)})


def _cv(judged: list[SchoolPart], rules: RuleSet) -> tuple[dict[str, dict[str, float | None]],
                                                          dict[str, dict[str, str]],
                                                          dict[str, float | None], ItemResult]:
    """1.9: one enrolment-weighted CV per indicator and 学段 (``weighted_cv``); in
    ``composite`` mode the per-学段 mean of the seven CVs (2012 综合差异系数) is judged."""
    rr = rules.resources
    pol = rules.policy
    # Why a CV is null and what the rule-set makes of it: PENDING for missing data; for
    # too few schools or a zero mean the rule-set's ``cv.too_few_schools`` / ``cv.zero_mean``.
    undecided: dict[tuple[str, str], Status] = {}
    cv: dict[str, dict[str, float | None]] = {}
    notes: dict[str, dict[str, str]] = {}
    composite: dict[str, float | None] = {}
    statuses: list[Status] = []
    problems: list[str] = []
    details: list[str] = []
    missing: list[str] = []
    for stage in STAGES:
        ps = [p for p in judged if p.stage == stage]
        cv[stage], notes[stage] = {}, {}
        limit = rr.cv_limits[stage]
        for ind in rr.indicators:
            vals = [p.indicators[ind.key] for p in ps]
            absent = [p for p, v in zip(ps, vals, strict=True) if v.value is None]
            if not ps:
                cv[stage][ind.key] = None
                notes[stage][ind.key] = f"县域内没有参评的{STAGE_LABELS[stage]}学校"
            elif absent:
                cv[stage][ind.key] = None
                fields = [school_field(p.label, f) for p in absent for f in p.indicators[ind.key].missing]
                notes[stage][ind.key] = "缺少数据：" + "、".join(dict.fromkeys(fields))
                missing.extend(fields)
                undecided[(stage, ind.key)] = PENDING
            elif len(ps) < rr.cv_min_schools:
                cv[stage][ind.key] = None
                notes[stage][ind.key] = (f"{STAGE_LABELS[stage]}仅{len(ps)}所参评学校，少于{rr.cv_min_schools}所，"
                                         "无法计算校际差异系数")
                undecided[(stage, ind.key)] = pol.cv_too_few_schools  # type: ignore[assignment]
            else:
                value = weighted_cv([v.value for v in vals], [p.students for p in ps])  # type: ignore[misc]
                if math.isnan(value):
                    cv[stage][ind.key] = None
                    notes[stage][ind.key] = "平均值为0，无法计算差异系数"
                    undecided[(stage, ind.key)] = pol.cv_zero_mean  # type: ignore[assignment]
                else:
                    cv[stage][ind.key] = value
        stage_cvs = cv[stage]
        known = {k: v for k, v in stage_cvs.items() if v is not None}
        here = [undecided[(stage, k)] for k in stage_cvs if (stage, k) in undecided]
        for k in stage_cvs:
            if undecided.get((stage, k)) == FAIL:
                problems.append(f"{STAGE_LABELS[stage]}{_short(rr.indicator(k).title)}：{notes[stage][k]}")
        if rr.cv_mode == "composite":
            limit = rr.cv_composite_limits[stage]
            comp = float(np.mean(list(known.values()))) if known and len(known) == len(stage_cvs) else None
            composite[stage] = comp
            if comp is not None:
                ok = at_most(comp, limit)
                statuses.append(PASS if ok else FAIL)
                details.append(f"{STAGE_LABELS[stage]}综合差异系数{comp:.3f}（≤{fmt(limit)}）")
                if not ok:
                    problems.append(f"{STAGE_LABELS[stage]}综合差异系数{comp:.3f}，超过{fmt(limit)}")
            else:
                statuses.append(combine(here) if here else NA)
            continue
        for ind in rr.indicators:
            v = stage_cvs[ind.key]
            if v is None:
                statuses.append(undecided.get((stage, ind.key), NA))
                continue
            ok = at_most(v, limit)
            statuses.append(PASS if ok else FAIL)
            if not ok:
                problems.append(f"{STAGE_LABELS[stage]}{ind.title}差异系数{v:.3f}，超过{fmt(limit)}")
        if known:
            details.append(f"{STAGE_LABELS[stage]}（≤{fmt(limit)}）：" + "，".join(
                f"{_short(rr.indicator(k).title)}{v:.3f}" for k, v in known.items()))
    for stage in STAGES:
        for k, note in notes[stage].items():
            details.append(f"{STAGE_LABELS[stage]}{_short(rr.indicator(k).title)}：{note}")
    for (stage, k), st in undecided.items():
        note = notes[stage][k]
        if st == PENDING and not note.startswith("缺少数据"):  # data present but not decisive
            missing.append(note if note.startswith(STAGE_LABELS[stage]) else
                           f"{STAGE_LABELS[stage]}{_short(rr.indicator(k).title)}：{note}")
    status = combine(statuses)
    item = ItemResult("1.9", rules.item_titles["1.9"], "resources", status, "；".join(details),
                      "；".join(problems) + ("。" if problems else ""),
                      tuple(dict.fromkeys(missing)) if status == PENDING else (),
                      {"mode": rr.cv_mode})
    return cv, notes, composite, item
