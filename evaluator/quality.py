"""教育质量 (items 3.1–3.9; 教督〔2017〕6号 第八条; docs/rules.md §4).

Thresholds come from ``rules.quality``; county items read the county sheet, school
items (3.3, 3.4, 3.6, 3.7) every row of the schools sheet.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from evaluator.assurance import AreaResult, rate_item, yes_no_item
from evaluator.fields import field_zh, school_field
from evaluator.outcome import (
    FAIL,
    PASS,
    PENDING,
    ItemResult,
    Shortfall,
    Status,
    at_least,
    fmt,
    meets,
    missing_item,
    name_list,
    pct,
)
from evaluator.rules import RuleSet
from evaluator.workbook.coerce import number
from evaluator.workbook.schema import SUBJECT_NAMES

AREA = "quality"
_LEVEL_ALIASES = {"1": "Ⅰ", "2": "Ⅱ", "3": "Ⅲ", "4": "Ⅳ", "I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ",
                  "一": "Ⅰ", "二": "Ⅱ", "三": "Ⅲ", "四": "Ⅳ"}


def school_flag_item(code: str, title: str, schools: pd.DataFrame, column: str,
                     ok: Callable[[Any], bool], what: str, rules: RuleSet | None = None) -> ItemResult:
    """School items (S): every school's ``column`` must satisfy ``ok``; an empty cell is
    missing. ``what`` completes the 存在问题 text, e.g. "未制定章程或未实现信息化". With
    ``rules``, only the school types the rule-set's ``applies_to_types`` names are judged."""
    bad, missing = [], []
    if rules is not None:
        schools = schools[[rules.policy.applies(code, t) for t in schools["school_type"]]]
    values = schools[column].tolist() if column in schools else [None] * len(schools)
    for name, value in zip(schools["school_name"], values, strict=True):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            missing.append(school_field(name, column))
        elif not ok(value):
            bad.append(str(name))
    n = len(schools)
    if bad:
        return ItemResult(code, title, AREA, FAIL, f"{n}所学校中{len(bad)}所{what}",
                          f"{name_list(bad, 12)}{what}。", (), {"failing": len(bad)})
    if missing:
        return missing_item(code, title, AREA, missing)
    return ItemResult(code, title, AREA, PASS, f"{n}所学校均符合要求", "", (), {"failing": 0})


def training_funds_item(schools: pd.DataFrame, rules: RuleSet) -> tuple[ItemResult, list[Shortfall]]:
    """3.4: training_funds / public_funds_budget ≥ min_share at every school; shortfall
    = min_share × budget − training funds (元)."""
    minimum = rules.quality.training_funds_min
    title = rules.item_titles["3.4"]
    bad, missing, shortfalls = [], [], []
    for s in schools.to_dict("records"):
        if not rules.policy.applies("3.4", s["school_type"]):
            continue
        funds, budget = number(s.get("training_funds")), number(s.get("public_funds_budget"))
        if funds is None or budget is None:
            missing.extend(school_field(s["school_name"], k) for k, v in (("training_funds", funds),
                                                                          ("public_funds_budget", budget)) if v is None)
            continue
        if budget == 0:  # the rule-set's zero_budget: a 0 budget cannot show the share
            why = f"{school_field(s['school_name'], 'public_funds_budget')}为0"
            if rules.policy.zero_budget == FAIL:
                bad.append(f"{s['school_name']}（公用经费预算为0）")
            else:
                missing.append(f"{why}（无法计算教师培训经费占比）")
            continue
        share = funds / budget
        if not at_least(share, minimum):
            bad.append(f"{s['school_name']}（{pct(share)}）")
            shortfalls.append(Shortfall(str(s["school_code"]), str(s["school_name"]), "3.4", "教师培训经费",
                                        math.ceil(minimum * budget - funds - 1e-9), "元"))
    if bad:
        return (ItemResult("3.4", title, AREA, FAIL, f"{len(bad)}所学校教师培训经费占公用经费预算不足{pct(minimum)}",
                           f"{name_list(bad, 12)}教师培训经费低于公用经费预算的{pct(minimum)}。", (),
                           {"failing": len(bad)}), shortfalls)
    if missing:
        return missing_item("3.4", title, AREA, missing), []
    return ItemResult("3.4", title, AREA, PASS, f"所有学校教师培训经费不低于公用经费预算的{pct(minimum)}"), []


def normalise_level(value: Any) -> str:
    s = str(value).strip().upper().replace("级", "").replace("水平", "")
    return _LEVEL_ALIASES.get(s, s)


def monitoring_item(county: Mapping[str, Any], rules: RuleSet) -> ItemResult:
    """3.9: 已抽测 — every monitored subject at ``min_level`` or above and 校际差异率 <
    ``max_diff`` (strict); 未抽测 — PENDING, never pass (docs/rules.md §4)."""
    q = rules.quality
    title = rules.item_titles["3.9"]
    status = county.get("monitoring_status")
    if status is None:
        return missing_item("3.9", title, AREA, [field_zh("monitoring_status")])
    if status == "未抽测":
        return ItemResult("3.9", title, AREA, PENDING, "本县尚未参加国家义务教育质量监测抽测（未抽测），不能判定为达标",
                          "未抽测", (f"{field_zh('monitoring_status')}：未抽测",))
    subjects = sorted({m.group(1) for k in county if (m := re.match(r"^monitoring_(.+)_(?:level|diff)$", k))})
    if not subjects:
        return missing_item("3.9", title, AREA, ["各监测科目的学业水平等级和校际差异率"])
    rank = {lv: i for i, lv in enumerate(q.monitoring_levels)}
    problems, details, missing = [], [], []
    statuses: list[Status] = []
    for subj in subjects:
        zh = SUBJECT_NAMES.get(subj, subj)
        level, diff = county.get(f"monitoring_{subj}_level"), county.get(f"monitoring_{subj}_diff")
        if level is None or diff is None:
            missing.extend(field_zh(f"monitoring_{subj}_{w}") for w, v in (("level", level), ("diff", diff)) if v is None)
            statuses.append(PENDING)
            continue
        lv = normalise_level(level)
        if lv not in rank:
            problems.append(f"{zh}学业水平“{level}”无法识别（应为 {'/'.join(q.monitoring_levels)}）")
            statuses.append(PENDING)
            missing.append(field_zh(f"monitoring_{subj}_level"))
            continue
        ok_level = rank[lv] >= rank[q.monitoring_min_level]
        ok_diff = meets(float(diff), q.monitoring_max_diff, "below")
        details.append(f"{zh}{lv}级、校际差异率{fmt(float(diff), 3)}")
        if not ok_level:
            problems.append(f"{zh}学业水平{lv}级，低于{q.monitoring_min_level}级")
        if not ok_diff:
            problems.append(f"{zh}校际差异率{fmt(float(diff), 3)}，未低于{fmt(q.monitoring_max_diff)}")
        statuses.append(PASS if ok_level and ok_diff else FAIL)
    st: Status = FAIL if FAIL in statuses else (PENDING if PENDING in statuses else PASS)
    return ItemResult("3.9", title, AREA, st, "；".join(details) or "—", "；".join(problems) + ("。" if problems else ""),
                      tuple(missing) if st == PENDING else ())


def evaluate_quality(schools: pd.DataFrame, county: Mapping[str, Any], rules: RuleSet) -> AreaResult:
    """Items 3.1–3.9."""
    q = rules.quality
    t = rules.item_titles
    acceptable = set(q.moral_acceptable)
    zd = rules.policy.zero_denominator
    items = [
        retention_item(county, rules),
        rate_item("3.2", t["3.2"], AREA, county, [("disabled_enrolled", "disabled_school_age", q.disabled_min,
                                                   "残疾儿童少年入学率")], zero_denominators=zd),
        school_flag_item("3.3", t["3.3"], schools, "has_charter_and_ict", lambda v: v is True,
                         "未制定章程或未实现学校管理与教学信息化", rules),
    ]
    funds_item, shortfalls = training_funds_item(schools, rules)
    items.append(funds_item)
    items.append(yes_no_item("3.5", t["3.5"], AREA, county, [("ict_teaching_ok", "教师运用信息化手段组织教学不够熟练")]))
    items.append(school_flag_item("3.6", t["3.6"], schools, "moral_education_rating", lambda v: v in acceptable,
                                  f"德育工作、校园文化建设水平未达到{'或'.join(q.moral_acceptable)}", rules))
    items.append(school_flag_item("3.7", t["3.7"], schools, "curriculum_complete", lambda v: v is True,
                                  "课程未开齐开足", rules))
    items.append(yes_no_item("3.8", t["3.8"], AREA, county, [("no_excess_burden", "存在过重课业负担")]))
    items.append(monitoring_item(county, rules))
    return AreaResult(tuple(items), tuple(shortfalls))


def retention_item(county: Mapping[str, Any], rules: RuleSet) -> ItemResult:
    """3.1: retention_final / retention_entry ≥ min_rate for the cohort of
    ``quality.retention.cohort_years`` years (3; 4 in 五四制 areas). When the county sheet
    states the cohort it measured (retention_cohort_years) and it is not the rule-set's,
    the figures answer another question: PENDING, never judged."""
    q = rules.quality
    title = rules.item_titles["3.1"]
    declared = number(county.get("retention_cohort_years"))
    if declared is not None and declared != q.retention_years:
        return ItemResult("3.1", title, AREA, PENDING,
                          f"数据按{fmt(declared)}年届别统计（{field_zh('retention_cohort_years')}），本规则集（{rules.id}）要求"
                          f"初中{q.retention_years}年巩固率，请按{q.retention_years}年届别填写",
                          "", ("retention_cohort_years",), {"declared_years": declared})
    return rate_item("3.1", title, AREA, county, [("retention_final", "retention_entry", q.retention_min,
                                                   f"初中{q.retention_years}年巩固率")],
                     zero_denominators=rules.policy.zero_denominator)
