"""The data workbook's schema (docs/interfaces.md §2): sheets, columns, county keys, Chinese names.

What every other part of the package (reading, validation, the template, demo data) and the
scoring code agree on: the column keys and their Chinese headers, kinds and notes; the county
sheet's keys; which 学段 each school type has; the subjects of 3.9. Pure data, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from evaluator.tables import SCHOOL_TYPES, TYPE_STAGES  # noqa: F401  (part of the schema's names)

LOCALITIES = ("城区", "镇区", "乡村")
RATINGS = ("优秀", "良好", "合格", "不合格")
STAGE_NAMES = {"小学": "primary", "初中": "junior", "primary": "primary", "junior": "junior"}
EXAMPLE_PREFIX = "示例"


@dataclass(frozen=True)
class Column:
    """One column of a sheet: key, Chinese header, kind, whether the header must exist."""

    key: str
    zh: str
    kind: str  # code | text | enum | count | number | yesno | year
    note: str
    example: Any
    required: bool = True
    choices: tuple[str, ...] = ()


def _stage_cols(stem: str, zh: str, note: str, ex: tuple[int, int]) -> list[Column]:
    return [Column(f"{stem}_primary", f"{zh}（小学）", "count", note, ex[0]),
            Column(f"{stem}_junior", f"{zh}（初中）", "count", note, ex[1])]


SCHOOL_COLUMNS: tuple[Column, ...] = (
    Column("school_code", "学校代码", "code", "学校唯一代码（如学籍系统代码），不可重复", "370390001"),
    Column("school_name", "学校名称", "text", "学校全称", "实验学校"),
    Column("school_type", "学校类型", "enum", "小学/初中/九年一贯制/十二年一贯制/完全中学/教学点", "九年一贯制",
           choices=SCHOOL_TYPES),
    Column("locality", "城乡类别", "enum", "城区/镇区/乡村", "城区", choices=LOCALITIES),
    Column("students_primary", "在校生数（小学）", "count", "小学段在校学生数；无此学段填0", 1200),
    Column("students_junior", "在校生数（初中）", "count", "初中段在校学生数；无此学段填0", 800),
    Column("students_senior", "在校生数（高中）", "count", "高中段在校学生数（十二年一贯制、完全中学）；无则填0", 0),
    *_stage_cols("classes", "班级数", "教学班数", (27, 16)),
    *_stage_cols("teachers", "专任教师数", "专任教师人数", (70, 62)),
    *_stage_cols("qualified_teachers", "高于规定学历教师数", "小学专科及以上、初中本科及以上的专任教师数", (60, 50)),
    *_stage_cols("backbone_teachers", "县级以上骨干教师数", "县级及以上认定的骨干教师人数（人，不是称号数）", (14, 10)),
    *_stage_cols("pe_art_teachers", "体育艺术专任教师数", "体育、音乐、美术专任教师数", (12, 8)),
    Column("teaching_area", "教学及辅助用房面积", "number", "全校合计，平方米", 10800),
    Column("sports_area", "体育运动场馆面积", "number", "全校合计，平方米", 19000),
    Column("equipment_value", "教学仪器设备值", "number", "全校合计，元", 4600000),
    Column("multimedia_rooms", "网络多媒体教室数", "count", "全校合计，间", 48),
    Column("public_funds", "公用经费", "number", "本年度实际拨付公用经费，元", 1500000),
    Column("public_funds_budget", "公用经费预算", "number", "本年度公用经费预算总额，元", 1500000),
    Column("training_funds", "教师培训经费", "number", "本年度安排的教师培训经费，元", 90000),
    Column("has_charter_and_ict", "章程与信息化", "yesno", "已制定章程且实现管理与教学信息化：是/否", "是"),
    Column("moral_education_rating", "德育与校园文化评价", "enum", "优秀/良好/合格/不合格", "良好", choices=RATINGS),
    Column("curriculum_complete", "课程开齐开足", "yesno", "是/否", "是"),
    Column("founded_year", "建校年份", "year", "可选；用于2019年放宽口径", 2005, required=False),
    Column("boarding", "寄宿制", "yesno", "可选：是/否", "否", required=False),
    Column("migrant_students", "随迁子女数", "count", "可选；义务教育段随迁子女数（2019年放宽口径用）", 300,
           required=False),
)
CLASS_COLUMNS: tuple[Column, ...] = (
    Column("school_code", "学校代码", "code", "须为 schools 表中的学校代码", "370390001"),
    Column("stage", "学段", "enum", "小学/初中", "小学", choices=("小学", "初中", "primary", "junior")),
    Column("grade", "年级", "count", "年级（1–9）", 1),
    Column("students", "班级学生数", "count", "该班实际学生数", 44),
)
ROOM_COLUMNS: tuple[Column, ...] = (
    Column("school_code", "学校代码", "code", "须为 schools 表中的学校代码", "370390001"),
    Column("room_type", "专用教室类型", "enum", "音乐/美术", "音乐", choices=("音乐", "美术")),
    Column("area", "使用面积", "number", "该间专用教室面积，平方米", 96),
)
RECTIFICATION_COLUMNS: tuple[Column, ...] = (
    Column("item", "指标", "code", "指标编号，如 2.3", "2.3"),
    Column("measures", "整改措施", "text", "整改措施", "调整功能用房，增加音美教室", required=False),
    Column("deadline", "整改时限", "text", "整改时限", "2024年9月", required=False),
    Column("department", "责任部门", "text", "责任部门", "教育和体育事业中心", required=False),
)


@dataclass(frozen=True)
class CountyKey:
    key: str
    zh: str
    kind: str  # text | number | count | yesno | year | status | level | diff
    note: str
    example: Any


def _ck(key: str, zh: str, kind: str, example: Any, note: str = "") -> CountyKey:
    return CountyKey(key, zh, kind, note or zh, example)


COUNTY_KEYS: tuple[CountyKey, ...] = (
    _ck("county_code", "县级行政区划代码", "text", "370391", "6位代码"),
    _ck("county_name", "县（市、区）名称", "text", "示例区"),
    _ck("province", "省份", "text", "山东省"),
    _ck("basic_balanced_year", "通过基本均衡认定年份", "year", 2015),
    _ck("assessment_year", "本次评估年份", "year", 2023),
    _ck("layout_plan_ok", "2.1 规划布局合理、依法保障建设用地", "yesno", "是"),
    _ck("four_unified_construction", "2.2 城乡学校建设标准统一", "yesno", "是"),
    _ck("four_unified_staffing", "2.2 城乡教师编制标准统一", "yesno", "是"),
    _ck("four_unified_funding", "2.2 城乡生均公用经费基准定额统一", "yesno", "是"),
    _ck("four_unified_equipment", "2.2 城乡基本装备配置标准统一", "yesno", "是"),
    _ck("public_funds_base_primary", "小学生均公用经费基准定额（元）", "number", 720),
    _ck("public_funds_base_junior", "初中生均公用经费基准定额（元）", "number", 940),
    _ck("special_ed_public_funds", "2.7 特殊教育学校公用经费合计（元）", "number", 600000),
    _ck("special_ed_students", "2.7 特殊教育学校在校生数", "count", 80, "无特殊教育学校填0"),
    _ck("teacher_avg_salary", "2.8 教师年平均工资收入（元）", "number", 110000),
    _ck("civil_servant_avg_salary", "2.8 当地公务员年平均工资收入（元）", "number", 108000),
    _ck("performance_pay_ok", "2.8 足额核定教师绩效工资总量", "yesno", "是"),
    _ck("teachers_360h_completed", "2.9 完成5年360学时培训的教师数", "count", 1500),
    _ck("teachers_360h_in_scope", "2.9 应参加5年360学时培训的教师数", "count", 1500),
    _ck("staffing_allocated_by_county", "2.10 县级统筹分配编制和岗位", "yesno", "是"),
    _ck("rotated_teachers", "2.11 本年交流轮岗教师数", "count", 160),
    _ck("rotation_eligible_teachers", "2.11 符合交流条件教师数", "count", 1400),
    _ck("rotated_backbone_teachers", "2.11 交流轮岗教师中骨干教师数", "count", 40),
    _ck("certified_teachers", "2.12 持教师资格证专任教师数", "count", 1600),
    _ck("full_time_teachers", "2.12 专任教师总数", "count", 1600),
    _ck("zone_admitted_primary", "2.13 城区和镇区公办小学就近划片入学人数", "count", 3000, "均不含寄宿制学校"),
    _ck("admitted_primary", "2.13 城区和镇区公办小学招生总数", "count", 3000, "均不含寄宿制学校"),
    _ck("zone_admitted_junior", "2.13 城区和镇区公办初中就近划片入学人数", "count", 2400, "均不含寄宿制学校"),
    _ck("admitted_junior", "2.13 城区和镇区公办初中招生总数", "count", 2500, "均不含寄宿制学校"),
    _ck("hs_quota_allocated", "2.14 优质高中分配到校名额", "count", 1200),
    _ck("hs_quota_total", "2.14 优质高中招生计划总数", "count", 2000),
    _ck("hs_quota_rural_tilt", "2.14 名额分配向农村初中倾斜", "yesno", "是"),
    _ck("left_behind_care_ok", "2.15 留守儿童关爱体系健全", "yesno", "是"),
    _ck("migrant_in_public_or_purchased", "2.15 在公办及政府购买服务学校就读的随迁子女数", "count", 900),
    _ck("migrant_eligible", "2.15 符合条件的随迁子女总数", "count", 1000),
    _ck("retention_final", "3.1 初中毕业年级在校生数（巩固率分子）", "count", 2900),
    _ck("retention_entry", "3.1 该届初一入学人数（巩固率分母）", "count", 3000),
    _ck("retention_cohort_years", "3.1 巩固率统计届别的初中学制年数", "count", 3,
        "可选；填3（三年制）或4（五四制）；与规则集要求的届别不一致时3.1待补充"),
    _ck("disabled_enrolled", "3.2 入学的适龄残疾儿童少年数", "count", 190),
    _ck("disabled_school_age", "3.2 适龄残疾儿童少年总数", "count", 195),
    _ck("ict_teaching_ok", "3.5 教师熟练运用信息化手段组织教学", "yesno", "是"),
    _ck("no_excess_burden", "3.8 无过重课业负担", "yesno", "是"),
    _ck("monitoring_status", "3.9 国家义务教育质量监测", "status", "已抽测", "已抽测/未抽测"),
    _ck("veto_exam_admission", "4.1 存在以考试方式招生（是=存在）", "yesno", "否"),
    _ck("veto_school_choice", "4.2 存在违规择校行为（是=存在）", "yesno", "否"),
    _ck("veto_key_schools", "4.3 存在重点学校或重点班（是=存在）", "yesno", "否"),
    _ck("veto_unfilled_posts", "4.4 存在“有编不补”或长期聘用编外教师（是=存在）", "yesno", "否"),
    _ck("veto_major_incident", "4.5 存在重大安全责任事故或严重违纪违规事件（是=存在）", "yesno", "否"),
    _ck("veto_fraud", "4.6 存在弄虚作假行为（是=存在）", "yesno", "否"),
)
COUNTY_BY_KEY = {k.key: k for k in COUNTY_KEYS}
MONITOR_KEY = re.compile(r"^monitoring_(?P<subject>[a-z][a-z0-9_]*?)_(?P<what>level|diff)$")
SUBJECT_NAMES = {"chinese": "语文", "math": "数学", "science": "科学", "english": "英语", "pe": "体育",
                 "art": "艺术", "moral": "德育", "music": "音乐", "fine_art": "美术", "labor": "劳动",
                 "health": "心理健康"}

SHEETS: Mapping[str, tuple[str, ...]] = {
    "schools": ("schools", "学校", "学校基本情况"),
    "classes": ("classes", "班级", "班额"),
    "rooms": ("rooms", "专用教室", "音美教室"),
    "county": ("county", "县级指标", "县级"),
    "rectification": ("rectification", "整改", "整改措施"),
}

ZH = {c.key: c.zh for cols in (SCHOOL_COLUMNS, CLASS_COLUMNS, ROOM_COLUMNS, RECTIFICATION_COLUMNS) for c in cols}
# Columns whose header must exist (the default for a sheet: all of its columns).
MUST = {"schools": frozenset({"school_code", "school_name", "school_type"}), "rectification": frozenset({"item"})}


@dataclass(frozen=True)
class Workbook:
    """A validated data workbook. DataFrames keep a ``_row`` column (Excel row number)."""

    source: str
    schools: pd.DataFrame
    classes: pd.DataFrame | None
    rooms: pd.DataFrame | None
    county: Mapping[str, Any]
    county_rows: Mapping[str, int]
    rectification: Mapping[str, Mapping[str, str]]
    inputs: tuple[tuple[str, str], ...]
    sheet_names: Mapping[str, str] = field(default_factory=dict)

    def county_value(self, key: str) -> Any:
        return self.county.get(key)



def local_school_columns(rules: Any) -> tuple[Column, ...]:
    """Schools-sheet columns of the rule-set's per-school local items: two per declared
    stem (``<stem>_primary``, ``<stem>_junior``), Chinese header ``名称（小学）``."""
    if rules is None or not getattr(rules, "local_items", ()):
        return ()
    from evaluator.local_items import school_fields

    out = []
    for f, code in school_fields(rules.local_items):
        unit = f"，单位：{f.unit}" if f.unit else ""
        for stage, zh in (("primary", "小学"), ("junior", "初中")):
            out.append(Column(f"{f.key}_{stage}", f"{f.zh}（{zh}）", f.kind,
                              f"地方指标 {code}：{f.note}（{zh}段{unit}；无此学段填0或留空）", f.example))
    return tuple(out)


def local_county_keys(rules: Any) -> tuple[CountyKey, ...]:
    """County-sheet keys of the rule-set's county local items (Chinese name prefixed by the code)."""
    if rules is None or not getattr(rules, "local_items", ()):
        return ()
    from evaluator.local_items import county_fields

    return tuple(CountyKey(f.key, f"{code} {f.zh}", f.kind,
                           f"地方指标 {code}：{f.note}" + (f"（单位：{f.unit}）" if f.unit else ""), f.example)
                 for f, code in county_fields(rules.local_items))


def ruleset_notes(keys: tuple[CountyKey, ...], rules: Any) -> tuple[CountyKey, ...]:
    """County keys whose notes depend on the rule-set: the 3.1 cohort length."""
    quality = getattr(rules, "quality", None)
    if quality is None:
        return keys
    years = quality.retention_years
    notes = {"retention_entry": f"3.1 该届学生{years}年前入读初中一年级时的人数（{years}年巩固率分母）",
             "retention_final": f"3.1 该届学生{years}年后毕业年级在校生数（{years}年巩固率分子）",
             "retention_cohort_years": f"3.1 巩固率统计届别的初中学制年数；本规则集要求{years}年届别，填{years}"}
    return tuple(replace(k, note=notes[k.key]) if k.key in notes else k for k in keys)


