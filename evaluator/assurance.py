"""政府保障程度 (items 2.1–2.15; 教督〔2017〕6号 第七条; docs/rules.md §3).

County items read the county sheet (key → value); school items (2.3, 2.4, 2.5, 2.6) read
the schools, classes and rooms sheets. Every threshold comes from ``rules.assurance``.
A missing value makes its item PENDING with the absent field names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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
    conclude,
    fmt,
    meets,
    missing_item,
    pct,
)
from evaluator.rules import ROOM_TYPES, RuleSet, matching_relaxation
from evaluator.workbook.coerce import number
from evaluator.workbook.schema import STAGE_NAMES, TYPE_STAGES

AREA = "assurance"


@dataclass(frozen=True)
class AreaResult:
    """Items of one area of the national table with the shortfalls they found."""

    items: tuple[ItemResult, ...]
    shortfalls: tuple[Shortfall, ...] = ()


def rate(county: Mapping[str, Any], num: str, den: str) -> tuple[float | None, list[str], bool]:
    """num / den from the county sheet; (None, missing keys, False) when absent,
    (None, [], True) when the denominator is 0 (the rule-set's ``zero_denominators``
    says what that means for the item)."""
    n, d = number(county.get(num)), number(county.get(den))
    missing = [k for k, v in ((num, n), (den, d)) if v is None]
    if missing:
        return None, missing, False
    assert n is not None and d is not None
    if d == 0:
        return None, [], True
    return n / d, [], False


def yes_no_item(code: str, title: str, area: str, county: Mapping[str, Any],
                checks: list[tuple[str, str]]) -> ItemResult:
    """Yes/no items (Y): each key must be 是; ``checks`` pairs a key with what a 否 means."""
    missing = [field_zh(k) for k, _ in checks if county.get(k) is None]
    failed = [what for k, what in checks if county.get(k) is False]
    if failed:
        return ItemResult(code, title, area, FAIL, "；".join(failed), "；".join(failed) + "。", (),
                          {k: county.get(k) for k, _ in checks})
    if missing:
        return missing_item(code, title, area, missing)
    return ItemResult(code, title, area, PASS, "；".join(f"{field_zh(k)}：是" for k, _ in checks), "", (),
                      {k: True for k, _ in checks})


def rate_item(code: str, title: str, area: str, county: Mapping[str, Any],
              checks: list[tuple[str, str, float, str]], extra: list[tuple[str, str]] | None = None, *,
              zero_denominators: Mapping[str, str] | None = None) -> ItemResult:
    """Ratio items (C): each (num, den, minimum, label) must reach the minimum; ``extra``
    adds yes/no keys (C+Y items such as 2.8, 2.14, 2.15). A zero denominator gives the
    status the rule-set's ``zero_denominators`` states for it (PENDING when not stated)."""
    statuses: list[Status] = []
    details, problems, missing = [], [], []
    figures: dict[str, Any] = {}
    for num, den, minimum, label in checks:
        value, miss, empty = rate(county, num, den)
        if miss:
            statuses.append(PENDING)
            missing.extend(field_zh(k) for k in miss)
            continue
        if empty:
            st = (zero_denominators or {}).get(den, PENDING)
            why = f"{label}：{field_zh(den)}为0，无法计算"
            statuses.append(st)  # type: ignore[arg-type]
            if st == FAIL:
                problems.append(why)
            elif st == PENDING:
                missing.append(f"{field_zh(den)}为0（无法计算{label}）")
            else:
                details.append(f"{label}：{field_zh(den)}为0，不适用")
            continue
        assert value is not None
        figures[label] = value
        ok = at_least(value, minimum)
        statuses.append(PASS if ok else FAIL)
        details.append(f"{label}{pct(value)}（{fmt(number(county.get(num)))}/{fmt(number(county.get(den)))}，标准≥{pct(minimum)}）")
        if not ok:
            problems.append(f"{label}为{pct(value)}，低于{pct(minimum)}")
    for key, what in extra or []:
        v = county.get(key)
        if v is None:
            statuses.append(PENDING)
            missing.append(field_zh(key))
        elif v is False:
            statuses.append(FAIL)
            problems.append(what)
        else:
            statuses.append(PASS)
            details.append(f"{field_zh(key)}：是")
    status = combine(statuses)
    detail = "；".join(details)
    if status == PENDING:
        detail = (detail + "；" if detail else "") + "缺少数据：" + "、".join(missing)
    elif status == FAIL and missing:
        detail = (detail + "；" if detail else "") + "另缺少数据：" + "、".join(missing)
    return ItemResult(code, title, area, status, detail, "；".join(problems) + ("。" if problems else ""),
                      tuple(missing) if status == PENDING else (), figures)


def _compulsory(school: Mapping[str, Any]) -> tuple[float | None, list[str]]:
    stages = [s for s in TYPE_STAGES[school["school_type"]] if s != "senior"]
    vals = {s: number(school.get(f"students_{s}")) for s in stages}
    missing = [f"students_{s}" for s, v in vals.items() if v is None]
    return (None, missing) if missing else (sum(vals.values()), [])  # type: ignore[arg-type]


def _stages(school: Mapping[str, Any]) -> list[str]:
    """The compulsory stages of a school: those of its type whose enrolment is not 0."""
    return [st for st in TYPE_STAGES[school["school_type"]] if st != "senior"
            and number(school.get(f"students_{st}")) != 0]


def room_item(schools: pd.DataFrame, rooms: pd.DataFrame | None, rules: RuleSet) -> tuple[ItemResult,
                                                                                      list[Shortfall]]:
    """2.3: required rooms of each kind = ceil(classes / classes_per_room) per school (per
    part of a split school when the rule-set says ``split_schools: per_part``); only rooms
    with area ≥ the minimum (per-school relaxations of the rule-set apply) count. Shortfall
    per school = max(0, required − qualifying rooms). An empty rooms sheet, or a room of
    unknown area or type, is missing data, never a room too small."""
    ar = rules.assurance
    pol = rules.policy
    title = rules.item_titles["2.3"]
    if rooms is None:
        return missing_item("2.3", title, AREA, [field_zh("rooms")], "没有音乐、美术专用教室明细"), []
    if rooms.empty:
        return missing_item("2.3", title, AREA, [field_zh("rooms")],
                            "rooms 工作表没有数据行（只有表头或示例行）"), []
    by_school: dict[str, dict[str, list[float]]] = {}
    unknown_type: dict[str, int] = {}
    rows_of: dict[str, list[int]] = {}
    unknown_rows: dict[tuple[str, str], list[int]] = {}  # (school, 音乐/美术/"") → rows of unknown area/type
    for rec in rooms.to_dict("records"):
        code = str(rec["school_code"])
        rows_of.setdefault(code, []).append(int(rec.get("_row", 0)))
        if rec["room_type"] not in ROOM_TYPES:
            unknown_type[code] = unknown_type.get(code, 0) + 1
            unknown_rows.setdefault((code, ""), []).append(int(rec.get("_row", 0)))
            continue
        area = number(rec["area"])
        if area is None:
            unknown_rows.setdefault((code, str(rec["room_type"])), []).append(int(rec.get("_row", 0)))
        by_school.setdefault(code, {}).setdefault(str(rec["room_type"]), []).append(math.nan if area is None else area)
    shortfalls: list[Shortfall] = []
    short_by_type: dict[str, list[tuple[str, float]]] = {t: [] for t in ROOM_TYPES}
    small_by_type: dict[str, int] = dict.fromkeys(ROOM_TYPES, 0)
    missing: list[str] = []
    judged = 0
    for s in schools.to_dict("records"):
        if not pol.applies("2.3", s["school_type"]):
            continue
        code, name = str(s["school_code"]), s["school_name"]
        stages = _stages(s)
        cls = {st: number(s.get(f"classes_{st}")) for st in stages}
        absent = [st for st, v in cls.items() if v is None]
        if absent:
            missing.extend(school_field(name, f"classes_{st}") for st in absent)
            continue
        if code not in rows_of and pol.rooms_school_without_rows == PENDING and sum(cls.values()) > 0:  # type: ignore[arg-type]
            missing.append(f"{name}：rooms 工作表中没有该校的专用教室")
            continue
        judged += 1
        if pol.rooms_split == "per_part":
            required = sum(math.ceil(c / ar.classes_per_room - 1e-9) for c in cls.values() if c and c > 0)  # type: ignore[operator]
        else:
            total = sum(c for c in cls.values() if c)  # type: ignore[misc]
            required = math.ceil(total / ar.classes_per_room - 1e-9) if total > 0 else 0
        relax = matching_relaxation(ar.room_relaxations, s)
        for rtype in ROOM_TYPES:
            min_area = min([ar.room_min_area[rtype]] + [float(r.values[rtype]) for r in relax if rtype in r.values])
            areas = by_school.get(code, {}).get(rtype, [])
            ok_rooms = sum(1 for a in areas if a == a and at_least(a, min_area))
            unknown = sum(1 for a in areas if a != a) + unknown_type.get(code, 0)
            small_by_type[rtype] += sum(1 for a in areas if a == a) - ok_rooms
            gap = required - ok_rooms - unknown  # certain shortfall even if every unknown room counted
            if gap > 0:
                short_by_type[rtype].append((str(name), gap))
                shortfalls.append(Shortfall(code, str(name), "2.3", f"{rtype}专用教室", float(gap), "间"))
            elif required - ok_rooms > 0:  # short unless the unknown rooms count
                for key, what in ((rtype, f"{rtype}专用教室使用面积"), ("", "专用教室类型")):
                    rows = unknown_rows.get((code, key))
                    if rows:
                        missing.append(f"{name}：{what}（rooms 第{'、'.join(map(str, rows))}行未填写）")
    problems = []
    details = [f"核查学校{judged}所，每{fmt(ar.classes_per_room)}个班配备1间，面积音乐≥{fmt(ar.room_min_area['音乐'])}、"
               f"美术≥{fmt(ar.room_min_area['美术'])}平方米"]
    for rtype in ROOM_TYPES:
        lst = short_by_type[rtype]
        if lst:
            total_gap = sum(g for _, g in lst)
            problems.append(f"{'、'.join(n for n, _ in lst[:12])}等{len(lst)}所学校{rtype}教室数量不达标，"
                            f"共缺少{total_gap}间{rtype}教室")
        if small_by_type[rtype]:
            details.append(f"{small_by_type[rtype]}间{rtype}教室面积不足，未计入")
    return (conclude("2.3", title, AREA, problems, details, list(dict.fromkeys(missing)),
                     {t: sum(g for _, g in short_by_type[t]) for t in ROOM_TYPES}),
            shortfalls)


def size_item(schools: pd.DataFrame, rules: RuleSet) -> tuple[ItemResult, list[Shortfall]]:
    """2.4: compulsory-education enrolment (小学 + 初中 students) ≤ the cap of the school
    type; per-school relaxations of the rule-set raise the cap. Shortfall = students over."""
    ar = rules.assurance
    over: dict[float, list[tuple[str, float]]] = {}
    shortfalls, missing = [], []
    for s in schools.to_dict("records"):
        if not rules.policy.applies("2.4", s["school_type"]):
            continue
        n, miss = _compulsory(s)
        if n is None:
            missing.extend(school_field(s["school_name"], m) for m in miss)
            continue
        cap = max([ar.size_max[s["school_type"]]] + [float(r.values[s["school_type"]])
                                                      for r in matching_relaxation(ar.size_relaxations, s)
                                                      if s["school_type"] in r.values])
        if not at_most(n, cap):
            over.setdefault(cap, []).append((str(s["school_name"]), n))
            shortfalls.append(Shortfall(str(s["school_code"]), str(s["school_name"]), "2.4",
                                        "超出规模的学生数", n - cap, "人"))
    parts = []
    for cap, lst in sorted(over.items()):
        names = [f"{name}{'现有' if i == 0 else ''}{fmt(n)}人" for i, (name, n) in enumerate(lst)]
        parts.append("，".join(names) + f"，超过{fmt(cap)}人")
    details = [f"上限：小学、初中{fmt(ar.size_max['小学'])}人，九年一贯制、十二年一贯制{fmt(ar.size_max['九年一贯制'])}人"]
    if over:
        details.append(f"超规模学校{sum(len(v) for v in over.values())}所")
    return (conclude("2.4", rules.item_titles["2.4"], AREA, parts, details, missing,
                     {"over": sum(len(v) for v in over.values())}), shortfalls)


def class_item(schools: pd.DataFrame, classes: pd.DataFrame | None, rules: RuleSet) -> tuple[ItemResult,
                                                                                            list[Shortfall]]:
    """2.5: every real class ≤ the cap of its 学段 (never estimated from averages).
    Shortfalls per school: classes over the cap and the students above the cap in them.
    Each stage of each school with students must have its declared 班级数 and its class
    rows; a stage without rows or a blank 班级数 is missing data (PENDING)."""
    title = rules.item_titles["2.5"]
    caps = rules.assurance.class_max
    if classes is None:
        return missing_item("2.5", title, AREA, [field_zh("classes")], "没有班级明细"), []
    stage = classes["stage"].map(lambda v: STAGE_NAMES.get(v, v))  # 小学/初中 or primary/junior
    cap = stage.map(caps).to_numpy(dtype=float)
    size = classes["students"].to_numpy(dtype=float)
    if np.isnan(size).any():
        rows = classes.loc[np.isnan(size), "_row"].tolist()
        return missing_item("2.5", title, AREA, [f"classes 第{r}行：班级学生数" for r in rows]), []
    excess = np.where(~np.array([at_most(float(a), float(b)) for a, b in zip(size, cap, strict=True)], dtype=bool),
                      size - cap, 0.0)
    frame = pd.DataFrame({"school_code": classes["school_code"].to_numpy(), "stage": stage.to_numpy(),
                          "over": excess > 0, "excess": excess})
    per_school = frame.groupby("school_code").agg(over=("over", "sum"), excess=("excess", "sum"))
    per_stage = frame.groupby("stage").agg(n=("over", "size"), over=("over", "sum"))
    present = set(zip(frame["school_code"], frame["stage"], strict=True))
    missing = []
    names = dict(zip(schools["school_code"], schools["school_name"], strict=True))
    for s in schools.to_dict("records"):
        if not rules.policy.applies("2.5", s["school_type"]):
            continue
        for st in _stages(s):
            zh = "小学" if st == "primary" else "初中"
            declared = number(s.get(f"classes_{st}"))
            if declared is None:
                missing.append(school_field(s["school_name"], f"classes_{st}"))
            elif (s["school_code"], st) not in present:
                missing.append(f"{s['school_name']}：{zh}班级明细（classes 表中没有该校{zh}班级）")
    shortfalls = []
    for code, r in per_school.iterrows():
        if r["over"] > 0:
            shortfalls.append(Shortfall(str(code), str(names[code]), "2.5", "超额班级", float(r["over"]), "个"))
            shortfalls.append(Shortfall(str(code), str(names[code]), "2.5", "超额班级超出班额的学生数",
                                        float(r["excess"]), "人"))
    problems, details = [], []
    for stage_key, zh in (("primary", "小学"), ("junior", "初中")):
        if stage_key in per_stage.index:
            n, o = int(per_stage.loc[stage_key, "n"]), int(per_stage.loc[stage_key, "over"])
            details.append(f"{zh}总班级数{n}个，超额班级{o}个（上限{fmt(caps[stage_key])}人）")
            if o:
                problems.append(f"{zh}总班级数{n}个，超额班级{o}个")
    return (conclude("2.5", title, AREA, problems, details, missing,
                     {"over_classes": int(frame["over"].sum()), "classes": len(frame)}, joiner="。"), shortfalls)


def small_school_item(schools: pd.DataFrame, county: Mapping[str, Any], rules: RuleSet) -> tuple[ItemResult,
                                                                                                  list[Shortfall]]:
    """2.6: a 村小 (the rule-set's ``village_school``) or 教学点 with fewer than
    ``floor_students`` students receives at least floor × 生均公用经费基准定额 (小学) of
    public funds. Shortfall in 元. A school that may be one — enrolment unknown, or under the
    floor with its 城乡类别 unknown — is missing data, never "not a small school"."""
    ar = rules.assurance
    pol = rules.policy
    title = rules.item_titles["2.6"]
    small, unsure = [], []
    for s in schools.to_dict("records"):
        stype = s["school_type"]
        locality = s.get("locality") if isinstance(s.get("locality"), str) else None  # NaN is missing
        village = ar.small_school_rural_primary and stype in pol.village_types
        if stype in ar.small_school_types:
            applies: bool | None = True
        elif village and locality is None:
            applies = None  # unknown: may be a 村小
        else:
            applies = village and pol.is_village_school(stype, locality)
        if applies is False:
            continue
        n, miss = _compulsory(s)
        if n is None:
            unsure.extend(school_field(s["school_name"], m) for m in miss)
        elif meets(n, ar.small_school_floor, "below"):
            if applies is None:
                unsure.append(f"{school_field(s['school_name'], 'locality')}（{fmt(n)}人，不足"
                              f"{fmt(ar.small_school_floor)}人，无法判断是否为村小学）")
            else:
                small.append(s)
    if not small and not unsure:
        return ItemResult("2.6", title, AREA, NA, f"县域内没有不足{fmt(ar.small_school_floor)}名学生的村小学和教学点"), []
    base = number(county.get("public_funds_base_primary"))
    if base is None:
        return missing_item("2.6", title, AREA, [field_zh("public_funds_base_primary")] + unsure), []
    need = ar.small_school_floor * base
    short, missing, shortfalls = [], list(unsure), []
    for s in small:
        got = number(s.get("public_funds"))
        if got is None:
            missing.append(school_field(s["school_name"], "public_funds"))
        elif not at_least(got, need):
            short.append(f"{s['school_name']}（{fmt(number(s['students_primary']))}人）核定公用经费{fmt(got)}元，"
                         f"低于按{fmt(ar.small_school_floor)}人核定的{fmt(need)}元")
            shortfalls.append(Shortfall(str(s["school_code"]), str(s["school_name"]), "2.6", "公用经费", need - got, "元"))
    details = [f"不足{fmt(ar.small_school_floor)}人的村小学和教学点{len(small)}所，应核定不少于{fmt(need)}元"]
    return (conclude("2.6", title, AREA, short, details, missing, {"small_schools": len(small)}), shortfalls)


def evaluate_assurance(schools: pd.DataFrame, classes: pd.DataFrame | None, rooms: pd.DataFrame | None,
                       county: Mapping[str, Any], rules: RuleSet) -> AreaResult:
    """Items 2.1–2.15 (see each helper for its formula)."""
    ar = rules.assurance
    t = rules.item_titles
    zd = {"zero_denominators": rules.policy.zero_denominator}
    items: list[ItemResult] = []
    shortfalls: list[Shortfall] = []
    items.append(yes_no_item("2.1", t["2.1"], AREA, county, [("layout_plan_ok", "义务教育学校规划布局不合理或未完成布局规划")]))
    items.append(yes_no_item("2.2", t["2.2"], AREA, county, [
        ("four_unified_construction", "城乡学校建设标准不统一"), ("four_unified_staffing", "城乡教师编制标准不统一"),
        ("four_unified_funding", "城乡生均公用经费基准定额不统一"), ("four_unified_equipment", "城乡基本装备配置标准不统一")]))
    builders: list[Callable[[], tuple[ItemResult, list[Shortfall]]]] = [
        lambda: room_item(schools, rooms, rules), lambda: size_item(schools, rules),
        lambda: class_item(schools, classes, rules), lambda: small_school_item(schools, county, rules)]
    for build in builders:
        item, sf = build()
        items.append(item)
        shortfalls.extend(sf)
    items.append(_special_ed(county, rules))
    items.append(rate_item("2.8", t["2.8"], AREA, county,
                           [("teacher_avg_salary", "civil_servant_avg_salary", ar.salary_min_ratio,
                             "教师平均工资收入与公务员平均工资收入之比")],
                           [("performance_pay_ok", "未按规定足额核定教师绩效工资总量")], **zd))
    items.append(rate_item("2.9", t["2.9"], AREA, county, [("teachers_360h_completed", "teachers_360h_in_scope",
                                                           ar.training_360h_min, "5年360学时培训完成率")], **zd))
    items.append(yes_no_item("2.10", t["2.10"], AREA, county,
                             [("staffing_allocated_by_county", "县级教育行政部门未统筹分配各校教职工编制和岗位数量")]))
    items.append(rate_item("2.11", t["2.11"], AREA, county, [
        ("rotated_teachers", "rotation_eligible_teachers", ar.rotation_min, "交流轮岗教师比例"),
        ("rotated_backbone_teachers", "rotated_teachers", ar.rotation_backbone_min, "交流轮岗教师中骨干教师比例")], **zd))
    items.append(rate_item("2.12", t["2.12"], AREA, county, [("certified_teachers", "full_time_teachers",
                                                             ar.certification_min, "专任教师持证上岗率")], **zd))
    items.append(rate_item("2.13", t["2.13"], AREA, county, [
        ("zone_admitted_primary", "admitted_primary", ar.zone_min["primary"], "城区和镇区公办小学就近划片入学比例"),
        ("zone_admitted_junior", "admitted_junior", ar.zone_min["junior"], "城区和镇区公办初中就近划片入学比例")], **zd))
    items.append(rate_item("2.14", t["2.14"], AREA, county,
                           [("hs_quota_allocated", "hs_quota_total", ar.hs_quota_min, "优质高中招生名额分配比例")],
                           [("hs_quota_rural_tilt", "优质高中名额分配未向农村初中倾斜")], **zd))
    items.append(rate_item("2.15", t["2.15"], AREA, county,
                           [("migrant_in_public_or_purchased", "migrant_eligible", ar.migrant_min,
                             "随迁子女在公办学校和政府购买服务的民办学校就读比例")],
                           [("left_behind_care_ok", "留守儿童关爱体系不健全")], **zd))
    items.sort(key=lambda i: int(i.code.split(".")[1]))
    return AreaResult(tuple(items), tuple(shortfalls))


def _special_ed(county: Mapping[str, Any], rules: RuleSet) -> ItemResult:
    """2.7: special_ed_public_funds / special_ed_students ≥ min_per_student (元)."""
    title = rules.item_titles["2.7"]
    minimum = rules.assurance.special_ed_min
    value, miss, empty = rate(county, "special_ed_public_funds", "special_ed_students")
    if miss:
        return missing_item("2.7", title, AREA, [field_zh(k) for k in miss])
    if empty:
        policy = rules.policy.zero_denominator.get("special_ed_students", PENDING)
        why = f"{field_zh('special_ed_students')}为0"
        if policy == NA:
            return ItemResult("2.7", title, AREA, NA, f"县域内没有特殊教育学校在校生（{why}），不适用")
        if policy == FAIL:
            return ItemResult("2.7", title, AREA, FAIL, f"{why}，无法计算生均公用经费", f"{why}，无法计算生均公用经费。")
        return ItemResult("2.7", title, AREA, PENDING, f"缺少数据：{why}（无法计算生均公用经费）", "",
                          (f"{why}（无法计算生均公用经费）",))
    assert value is not None
    ok = at_least(value, minimum)
    detail = f"特殊教育学校生均公用经费{fmt(value)}元（标准≥{fmt(minimum)}元）"
    return ItemResult("2.7", title, AREA, PASS if ok else FAIL, detail,
                      "" if ok else f"特殊教育学校生均公用经费{fmt(value)}元，低于{fmt(minimum)}元。", (),
                      {"per_student": value})
