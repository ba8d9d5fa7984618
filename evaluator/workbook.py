"""The county data workbook (CONTRACTS.md §2): reading, validation, template, demo data.

Input is an XLSX file with sheets schools / classes / rooms / county (and optionally
rectification), or a folder of CSV files named after the sheets. Headers may be the
English key or the Chinese name. Every problem raises ``InputError`` naming the file,
sheet, row (Excel numbering, header = row 1) and column, and the expected type or range.
An empty cell is missing — kept as NaN/None, never 0 — and the items that need it become
PENDING.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluator.errors import InputError
from evaluator.rules import SCHOOL_TYPES

YES = {"是", "y", "yes", "true", "1", "有", "√", "t"}
NO = {"否", "n", "no", "false", "0", "无", "×", "f"}
LOCALITIES = ("城区", "镇区", "乡村")
RATINGS = ("优秀", "良好", "合格", "不合格")
STAGE_NAMES = {"小学": "primary", "初中": "junior", "primary": "primary", "junior": "junior"}
# Which 学段 each school type may have students in.
TYPE_STAGES: Mapping[str, tuple[str, ...]] = {
    "小学": ("primary",), "教学点": ("primary",), "初中": ("junior",),
    "九年一贯制": ("primary", "junior"), "十二年一贯制": ("primary", "junior", "senior"),
    "完全中学": ("junior", "senior"),
}
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
_MONITOR = re.compile(r"^monitoring_(?P<subject>[a-z][a-z0-9_]*?)_(?P<what>level|diff)$")
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

_ZH = {c.key: c.zh for cols in (SCHOOL_COLUMNS, CLASS_COLUMNS, ROOM_COLUMNS, RECTIFICATION_COLUMNS) for c in cols}
_MUST = {"schools": frozenset({"school_code", "school_name", "school_type"}), "rectification": frozenset({"item"})}


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


# --------------------------------------------------------------------------- reading
def _norm_header(text: Any) -> str:
    s = "" if text is None else str(text)
    s = s.replace("(", "（").replace(")", "）").replace(" ", "").replace("\u3000", "").strip()
    return s.lower()


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _read_xlsx(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Cell values of every sheet, streamed with hard limits (evaluator.xlsx_stream)."""
    from evaluator.xlsx_stream import read_sheets

    return read_sheets(path, path.name)


def _read_csv_rows(path: Path) -> list[tuple[Any, ...]]:
    import csv

    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError("无法识别文件编码（应为 UTF-8 或 GBK）", file=path.name)
    return [tuple(r) for r in csv.reader(io.StringIO(text))]


def _sheet_lookup(names: list[str], sheet: str) -> str | None:
    wanted = {_norm_header(n) for n in SHEETS[sheet]}
    for n in names:
        if _norm_header(n) in wanted:
            return n
    return None


def _clean(v: Any) -> Any:
    """None for an empty cell; strings stripped."""
    if v is None:
        return None
    if v.__class__ is str:
        v = v.strip()
        return v or None
    if v.__class__ is float and v != v:
        return None
    return v


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


_LOCAL_HINT = "；地方指标的字段须选择定义它的规则集（--rules）"  # schools sheet: a local column read without its rules


def _frame(rows: list[tuple[Any, ...]], columns: tuple[Column, ...], file: str, sheet: str,
           must: frozenset[str]) -> pd.DataFrame:
    """Map headers to keys, drop empty and example rows, return raw object columns + _row.

    Columns in ``must`` need a header; any other absent column is read as all-missing."""
    if not rows:
        raise InputError("工作表为空，第 1 行应为表头", file=file, sheet=sheet)
    header = rows[0]
    by_name: dict[str, str] = {}
    for c in columns:
        by_name[_norm_header(c.key)] = c.key
        by_name[_norm_header(c.zh)] = c.key
    positions: dict[str, int] = {}
    for i, h in enumerate(header):
        if _blank(h):
            continue
        key = by_name.get(_norm_header(h))
        if key is None:
            raise InputError(f"未知的列“{h}”；可用列名：{'、'.join(c.key for c in columns)}（或对应中文名）"
                             + (_LOCAL_HINT if any(c.key == "school_type" for c in columns) else ""),
                             file=file, sheet=sheet, row=1, column=str(h))
        if key in positions:
            raise InputError(f"列“{h}”重复", file=file, sheet=sheet, row=1, column=str(h))
        positions[key] = i
    for c in columns:
        if c.key in must and c.key not in positions:
            raise InputError(f"缺少必需的列 {c.key}（{c.zh}）", file=file, sheet=sheet, row=1)
    body = rows[1:]
    cleaned: dict[str, list[Any]] = {}
    for key, i in positions.items():
        cleaned[key] = [_clean(r[i]) if i < len(r) else None for r in body]
    first = columns[0].key
    lead = cleaned.get(first, [None] * len(body))
    keep = [j for j in range(len(body))
            if any(cleaned[k][j] is not None for k in cleaned)
            and not (isinstance(lead[j], str) and lead[j].startswith(EXAMPLE_PREFIX))]
    rownums = [j + 2 for j in keep]
    data = {c.key: ([cleaned[c.key][j] for j in keep] if c.key in cleaned else [None] * len(keep)) for c in columns}
    df = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    df["_row"] = np.asarray(rownums, dtype=np.int64)
    df.attrs["letters"] = {k: _letter(i) for k, i in positions.items()}
    return df


def _letter(index: int) -> str:
    """Excel column letter of a 0-based column index (0 → A, 26 → AA)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _parse_yesno(v: Any) -> bool | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if isinstance(v, float) and v.is_integer():
        s = str(int(v))
    if s in YES:
        return True
    if s in NO:
        return False
    raise ValueError(s)


def _coerce(df: pd.DataFrame, columns: tuple[Column, ...], file: str, sheet: str) -> pd.DataFrame:
    """Convert raw object columns to typed ones, raising on the first bad cell."""
    out = pd.DataFrame({"_row": df["_row"].to_numpy()})
    rows = df["_row"].to_numpy()
    letters = df.attrs.get("letters", {})
    for c in columns:
        col = df[c.key]
        header = f"{c.key}（{c.zh}，{letters[c.key]}列）" if c.key in letters else f"{c.key}（{c.zh}）"
        if c.kind in ("count", "number", "year"):
            as_text = col.map(lambda v: v if not isinstance(v, str) else v.replace(",", "").replace("，", ""))
            num = pd.to_numeric(as_text, errors="coerce").astype(float)
            bad = col.notna().to_numpy() & np.isnan(num.to_numpy())
            if bad.any():
                i = int(np.argmax(bad))
                raise InputError(f"“{col.iloc[i]}”不是数值；应为{'非负整数' if c.kind != 'number' else '非负数'}",
                                 file=file, sheet=sheet, row=int(rows[i]), column=header)
            arr = num.to_numpy()
            inf = np.isinf(arr)
            if inf.any():
                i = int(np.argmax(inf))
                raise InputError(f"“{col.iloc[i]}”不是有限数值", file=file, sheet=sheet, row=int(rows[i]), column=header)
            neg = arr < 0
            if neg.any():
                i = int(np.argmax(neg))
                raise InputError(f"不能为负数（{arr[i]:g}）", file=file, sheet=sheet, row=int(rows[i]), column=header)
            if c.kind in ("count", "year"):
                frac = ~np.isnan(arr) & (np.floor(arr) != arr)
                if frac.any():
                    i = int(np.argmax(frac))
                    raise InputError(f"应为整数，实际为 {arr[i]:g}", file=file, sheet=sheet, row=int(rows[i]),
                                     column=header)
            if c.kind == "year":
                odd = ~np.isnan(arr) & ((arr < 1800) | (arr > 2100))
                if odd.any():
                    i = int(np.argmax(odd))
                    raise InputError(f"年份应在 1800–2100 之间，实际为 {arr[i]:g}", file=file, sheet=sheet,
                                     row=int(rows[i]), column=header)
            out[c.key] = arr
        elif c.kind == "yesno":
            vals: list[Any] = []
            for i, v in enumerate(col.tolist()):
                try:
                    vals.append(_parse_yesno(v))
                except ValueError:
                    raise InputError(f"“{v}”应为 是/否（也可填 Y/N、true/false、1/0）", file=file, sheet=sheet,
                                     row=int(rows[i]), column=header) from None
            out[c.key] = pd.Series(vals, dtype=object).to_numpy()
        else:
            vals = [None if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                    for v in col.tolist()]
            if c.kind == "code":
                for i, v in enumerate(vals):
                    if v is None:
                        raise InputError("不能为空", file=file, sheet=sheet, row=int(rows[i]), column=header)
            if c.kind == "enum":
                for i, v in enumerate(vals):
                    if v is not None and v not in c.choices:
                        raise InputError(f"“{v}”不是允许的取值；应为 {'/'.join(c.choices)}", file=file, sheet=sheet,
                                         row=int(rows[i]), column=header)
            out[c.key] = pd.Series(vals, dtype=object).to_numpy()
    out.attrs["letters"] = letters
    return out


def _label(df: pd.DataFrame, key: str) -> str:
    """A column as named in messages: key, Chinese header and Excel column letter."""
    zh = _ZH.get(key, key)
    letter = df.attrs.get("letters", {}).get(key)
    return f"{key}（{zh}，{letter}列）" if letter else f"{key}（{zh}）"


def _check_schools(s: pd.DataFrame, file: str, sheet: str) -> None:
    col = _label(s, "school_code")
    dup = s["school_code"].duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        code = s["school_code"].iloc[i]
        first = int(s.loc[s["school_code"] == code, "_row"].iloc[0])
        raise InputError(f"学校代码“{code}”重复（第 {first} 行已使用）", file=file, sheet=sheet,
                         row=int(s["_row"].iloc[i]), column=col)
    for i, r in enumerate(s.itertuples(index=False)):
        row = int(s["_row"].iloc[i])
        rd = r._asdict()
        stype = rd["school_type"]
        if not isinstance(stype, str):  # empty, or a formula cell without a cached value
            raise InputError("学校类型不能为空（公式单元格请先在 Excel 中计算并保存）", file=file, sheet=sheet, row=row,
                             column=_label(s, "school_type"))
        if stype not in TYPE_STAGES:
            raise InputError(f"学校类型“{stype}”无效，应为：{'、'.join(TYPE_STAGES)}", file=file, sheet=sheet, row=row,
                             column=_label(s, "school_type"))
        allowed = TYPE_STAGES[stype]
        for stage, zh in (("primary", "小学"), ("junior", "初中"), ("senior", "高中")):
            stems = ("students", "classes", "teachers") if stage != "senior" else ("students",)
            for stem in stems:
                v = rd.get(f"{stem}_{stage}")
                if stage not in allowed and v is not None and not np.isnan(v) and v > 0:
                    raise InputError(f"学校类型为{stype}，不应有{zh}数据（{v:g}）；学段数据与学校类型不一致",
                                     file=file, sheet=sheet, row=row, column=_label(s, f"{stem}_{stage}"))
            if stage == "senior":
                continue
            st = rd[f"students_{stage}"]
            for stem in ("teachers", "classes"):
                v = rd[f"{stem}_{stage}"]
                if st == 0 and v is not None and not np.isnan(v) and v > 0:
                    raise InputError(f"{zh}学生数为 0，但{stem}_{stage}为 {v:g}；请核对学段数据",
                                     file=file, sheet=sheet, row=row, column=_label(s, f"{stem}_{stage}"))
            t = rd[f"teachers_{stage}"]
            for stem in ("qualified_teachers", "backbone_teachers", "pe_art_teachers"):
                v = rd[f"{stem}_{stage}"]
                if not np.isnan(v) and not np.isnan(t) and v > t:
                    raise InputError(f"{v:g} 超过该学段专任教师数 {t:g}", file=file, sheet=sheet, row=row,
                                     column=_label(s, f"{stem}_{stage}"))


def _check_children(df: pd.DataFrame, schools: pd.DataFrame, file: str, sheet: str, stage_col: bool) -> None:
    codes = df["school_code"].to_numpy(dtype=object)
    rows = df["_row"].to_numpy()
    valid = set(schools["school_code"])
    known = np.fromiter((c in valid for c in codes), dtype=bool, count=len(codes))
    if not known.all():
        i = int(np.argmin(known))
        raise InputError(f"学校代码“{codes[i]}”不在 schools 表中", file=file, sheet=sheet, row=int(rows[i]),
                         column=_label(df, "school_code"))
    if stage_col:
        types = dict(zip(schools["school_code"], schools["school_type"], strict=True))
        for i, (code, stage_name) in enumerate(zip(codes, df["stage"].tolist(), strict=True)):
            if stage_name not in STAGE_NAMES:  # empty, or a formula cell without a cached value
                raise InputError("学段不能为空，应为 小学 或 初中（公式单元格请先在 Excel 中计算并保存）", file=file,
                                 sheet=sheet, row=int(rows[i]), column=_label(df, "stage"))
            if STAGE_NAMES[stage_name] not in TYPE_STAGES[types[code]]:
                raise InputError(f"该校类型为{types[code]}，不应有{stage_name}班级", file=file, sheet=sheet,
                                 row=int(rows[i]), column=_label(df, "stage"))


def _county(rows: list[tuple[Any, ...]], file: str, sheet: str,
            extra: tuple[CountyKey, ...] = ()) -> tuple[dict[str, Any], dict[str, int]]:
    if not rows:
        raise InputError("工作表为空，第 1 行应为表头 key,value,note", file=file, sheet=sheet)
    head = [_norm_header(h) for h in rows[0]]
    try:
        ki = next(i for i, h in enumerate(head) if h in ("key", "指标", "项目", "键"))
        vi = next(i for i, h in enumerate(head) if h in ("value", "值", "数值"))
    except StopIteration:
        raise InputError("表头应为 key,value（可加 note）", file=file, sheet=sheet, row=1) from None
    values: dict[str, Any] = {}
    where: dict[str, int] = {}
    by_key = {**COUNTY_BY_KEY, **{k.key: k for k in extra}}  # extra: the rule-set's local items
    zh_to_key = {_norm_header(k.zh): k.key for k in (*COUNTY_KEYS, *extra)}
    for n, r in enumerate(rows[1:], start=2):
        key_raw = r[ki] if ki < len(r) else None
        if _blank(key_raw):
            continue
        key = str(key_raw).strip()
        key = zh_to_key.get(_norm_header(key), key)
        spec = by_key.get(key)
        m = _MONITOR.match(key)
        if spec is None and m is None:
            raise InputError(f"未知的县级指标键“{key}”（地方指标的字段须选择定义它的规则集，--rules）", file=file,
                             sheet=sheet, row=n, column="key")
        if key in where:
            raise InputError(f"键“{key}”重复（第 {where[key]} 行已填写）", file=file, sheet=sheet, row=n, column="key")
        where[key] = n
        v = r[vi] if vi < len(r) else None
        if _blank(v):
            values[key] = None
            continue
        kind = spec.kind if spec else ("diff" if m and m["what"] == "diff" else "level")
        values[key] = _county_value(v, kind, file, sheet, n)
    cohort = values.get("retention_cohort_years")
    if cohort is not None and cohort not in (3, 4):
        raise InputError(f"初中学制年数应为 3 或 4（五四制），实际为 {cohort}", file=file, sheet=sheet,
                         row=where["retention_cohort_years"], column="value")
    for part, whole in _COUNTY_PARTS:
        a, b = values.get(part), values.get(whole)
        if a is not None and b is not None and a > b:
            raise InputError(f"{part}（{a}）不能大于 {whole}（{b}）", file=file, sheet=sheet, row=where[part],
                             column="value")
    return values, where


# (part, whole) pairs of the county sheet: a part larger than its whole is a data error.
_COUNTY_PARTS = (
    ("teachers_360h_completed", "teachers_360h_in_scope"), ("rotated_teachers", "rotation_eligible_teachers"),
    ("rotated_backbone_teachers", "rotated_teachers"), ("certified_teachers", "full_time_teachers"),
    ("zone_admitted_primary", "admitted_primary"), ("zone_admitted_junior", "admitted_junior"),
    ("hs_quota_allocated", "hs_quota_total"), ("migrant_in_public_or_purchased", "migrant_eligible"),
    ("disabled_enrolled", "disabled_school_age"),
)


def _county_value(v: Any, kind: str, file: str, sheet: str, row: int) -> Any:
    if kind == "yesno":
        try:
            return _parse_yesno(v)
        except ValueError:
            raise InputError(f"“{v}”应为 是/否", file=file, sheet=sheet, row=row, column="value") from None
    if kind in ("number", "count", "year", "diff"):
        try:
            f = float(str(v).replace(",", "")) if not isinstance(v, int | float) else float(v)
        except ValueError:
            raise InputError(f"“{v}”不是数值", file=file, sheet=sheet, row=row, column="value") from None
        if math.isnan(f) or f < 0:
            raise InputError(f"应为非负数，实际为 {v}", file=file, sheet=sheet, row=row, column="value")
        if kind in ("count", "year") and not f.is_integer():
            raise InputError(f"应为整数，实际为 {v}", file=file, sheet=sheet, row=row, column="value")
        if kind == "diff" and f > 1:
            raise InputError(f"校际差异率应在 0–1 之间，实际为 {v}", file=file, sheet=sheet, row=row, column="value")
        return int(f) if kind in ("count", "year") else f
    if kind == "status":
        s = str(v).strip()
        if s not in ("已抽测", "未抽测"):
            raise InputError(f"“{s}”应为 已抽测/未抽测", file=file, sheet=sheet, row=row, column="value")
        return s
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_workbook(path: str | Path, rules: Any = None) -> Workbook:
    """Read and fully validate a data workbook (XLSX file or folder of CSV files).

    With ``rules`` (a RuleSet) the schools and county sheets also take the data fields of
    the rule-set's local items (``local_school_columns`` / ``local_county_keys``); without
    it, or with the national rules, such columns and keys are unknown and refused.
    Raises InputError naming file, sheet, row and column, and the expected type or range."""
    path = Path(path)
    if not path.exists():
        raise InputError("文件或文件夹不存在", file=str(path), field="--data")
    inputs: list[tuple[str, str]] = []
    if path.is_dir():
        csvs = {p.stem: p for p in sorted(path.iterdir()) if p.suffix.lower() == ".csv"}
        if not csvs:
            raise InputError("文件夹中没有 CSV 文件（应有 schools.csv、county.csv 等）", file=str(path))
        found = {s: _sheet_lookup(list(csvs), s) for s in SHEETS}
        sheets: dict[str, list[tuple[Any, ...]]] = {}
        for stem in (v for v in found.values() if v):  # other CSV files in the folder are ignored
            sheets[stem] = _read_csv_rows(csvs[stem])
            inputs.append((csvs[stem].name, hashlib.sha256(csvs[stem].read_bytes()).hexdigest()))

        def fname(sheet_name: str) -> str:
            return csvs[sheet_name].name

        def sname(sheet_name: str) -> str | None:
            return None
    else:
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise InputError("数据文件应为 .xlsx 工作簿或 CSV 文件夹", file=path.name, field="--data")
        sheets = _read_xlsx(path)
        inputs.append((path.name, hashlib.sha256(path.read_bytes()).hexdigest()))
        found = {s: _sheet_lookup(list(sheets), s) for s in SHEETS}

        def fname(sheet_name: str) -> str:
            return path.name

        def sname(sheet_name: str) -> str | None:
            return sheet_name

    for need in ("schools", "county"):
        if found[need] is None:
            raise InputError(f"缺少 {need} 工作表（或 {need}.csv）", file=path.name)

    def load(sheet: str, columns: tuple[Column, ...]) -> pd.DataFrame:
        name = found[sheet]
        assert name is not None
        must = _MUST.get(sheet, frozenset(c.key for c in columns))
        raw = _frame(sheets[name], columns, fname(name), sname(name) or name, must)
        return _coerce(raw, columns, fname(name), sname(name) or name)

    sn = found["schools"]
    assert sn is not None
    schools = load("schools", SCHOOL_COLUMNS + local_school_columns(rules))
    if schools.empty:
        raise InputError("schools 表没有学校", file=fname(sn), sheet=sname(sn) or sn)
    _check_schools(schools, fname(sn), sname(sn) or sn)
    classes = rooms = None
    if found["classes"]:
        cn = found["classes"]
        classes = load("classes", CLASS_COLUMNS)
        _check_children(classes, schools, fname(cn), sname(cn) or cn, stage_col=True)
        classes["stage"] = classes["stage"].map(STAGE_NAMES)
        _check_class_counts(classes, schools, fname(cn), sname(cn) or cn)
    if found["rooms"]:
        rn = found["rooms"]
        rooms = load("rooms", ROOM_COLUMNS)
        _check_children(rooms, schools, fname(rn), sname(rn) or rn, stage_col=False)
        zero = rooms["area"].to_numpy() <= 0
        if zero.any():
            i = int(np.argmax(zero))
            raise InputError("专用教室面积应大于 0", file=fname(rn), sheet=sname(rn) or rn,
                             row=int(rooms["_row"].iloc[i]), column=_label(rooms, "area"))
    kn = found["county"]
    assert kn is not None
    county, county_rows = _county(sheets[kn], fname(kn), sname(kn) or kn, local_county_keys(rules))
    rect: dict[str, dict[str, str]] = {}
    if found["rectification"]:
        rtn = found["rectification"]
        rf = load("rectification", RECTIFICATION_COLUMNS)
        for rec in rf.to_dict("records"):
            rect[str(rec["item"])] = {"measures": rec["measures"] or "", "deadline": rec["deadline"] or "",
                                      "department": rec["department"] or ""}
        del rtn
    return Workbook(
        source=path.name, schools=schools, classes=classes, rooms=rooms, county=county,
        county_rows=county_rows, rectification=rect, inputs=tuple(inputs),
        sheet_names={k: v for k, v in found.items() if v},
    )


def _check_class_counts(classes: pd.DataFrame, schools: pd.DataFrame, file: str, sheet: str) -> None:
    counts = classes.groupby(["school_code", "stage"]).size()
    for s in schools.itertuples(index=False):
        for stage in ("primary", "junior"):
            declared = getattr(s, f"classes_{stage}")
            n = int(counts.get((s.school_code, stage), 0))
            if n and not np.isnan(declared) and n != int(declared):
                row = int(classes.loc[(classes["school_code"] == s.school_code) & (classes["stage"] == stage),
                                      "_row"].iloc[0])
                raise InputError(
                    f"{s.school_name}（{s.school_code}）在本表有{'小学' if stage == 'primary' else '初中'}班级 {n} 个，"
                    f"与 schools 表 classes_{stage}（{int(declared)}）不一致",
                    file=file, sheet=sheet, row=row, column=_label(classes, "school_code"))


# --------------------------------------------------------------------------- writing
def _rows_for(columns: tuple[Column, ...], frame: pd.DataFrame | None) -> list[list[Any]]:
    if frame is None:
        return []
    out = []
    for rec in frame.to_dict("records"):
        row = []
        for c in columns:
            v = rec.get(c.key)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                row.append(None)
            elif isinstance(v, bool) or c.kind == "yesno":
                row.append("是" if v else "否")
            elif isinstance(v, float | np.floating) and float(v).is_integer():
                row.append(int(v))
            else:
                row.append(v.item() if isinstance(v, np.generic) else v)
        out.append(row)
    return out


def write_workbook(path: str | Path, frames: Mapping[str, Any], *, notes: bool = False, rules: Any = None) -> Path:
    """Write a data workbook: ``frames`` maps sheet → DataFrame (county: dict key → value).

    ``path`` ending in .xlsx → one workbook (with Chinese headers and, with ``notes``, an
    example row and a 说明 sheet); otherwise a folder of CSV files with English headers.
    With ``rules`` the sheets carry the data fields of the rule-set's local items too, and
    the notes follow the rule-set (e.g. the 3.1 cohort length)."""
    path = Path(path)
    local_cols, local_keys = local_school_columns(rules), local_county_keys(rules)
    specs = {"schools": SCHOOL_COLUMNS + local_cols, "classes": CLASS_COLUMNS, "rooms": ROOM_COLUMNS}
    county: Mapping[str, Any] = frames.get("county", {})
    keys = _ruleset_notes(COUNTY_KEYS, rules) + local_keys
    by_key = {k.key: k for k in keys}
    county_rows = [[k.key, _cell(county.get(k.key)), k.note if k.note != k.zh else k.zh] for k in keys]
    monitoring = sorted(k for k in county if _MONITOR.match(k))
    if notes and not county:  # template: rows for the usual subjects, to fill or delete
        monitoring = [f"monitoring_{s}_{w}" for s in ("chinese", "math", "science") for w in ("level", "diff")]
    for key in monitoring:
        m = _MONITOR.match(key)
        assert m is not None
        subject = SUBJECT_NAMES.get(m["subject"], m["subject"])
        note = (f"3.9 {subject}学业水平等级（Ⅰ–Ⅳ）" if m["what"] == "level" else f"3.9 {subject}校际差异率（0–1）")
        if notes and not county:
            note += "；已抽测时填写，未监测的科目请删除此行"
        county_rows.append([key, _cell(county.get(key)), note])
    if path.suffix.lower() != ".xlsx":
        import csv

        path.mkdir(parents=True, exist_ok=True)
        for sheet, cols in specs.items():
            if sheet in frames and frames[sheet] is not None:
                with open(path / f"{sheet}.csv", "w", newline="", encoding="utf-8") as fh:
                    w = csv.writer(fh)
                    w.writerow([c.key for c in cols])
                    w.writerows(_rows_for(cols, frames[sheet]))
        with open(path / "county.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["key", "value", "note"])
            w.writerows(county_rows)
        return path

    from openpyxl import Workbook as XWorkbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    wb = XWorkbook()
    wb.remove(wb.active)
    head_font = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    example_font = Font(italic=True, color="808080")
    for sheet, cols in specs.items():
        ws = wb.create_sheet(sheet)
        ws.append([c.zh for c in cols])
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(row=1, column=j)
            cell.font, cell.fill = head_font, fill
            if notes:
                cell.comment = Comment(f"{c.key}：{c.note}" + ("" if c.required else "（可选）"), "template")
            ws.column_dimensions[cell.column_letter].width = max(10, min(24, len(c.zh) * 2 + 2))
        if notes:
            ex = [c.example for c in cols]
            ex[0] = f"{EXAMPLE_PREFIX}{ex[0]}"
            ws.append(ex)
            for j in range(1, len(cols) + 1):
                ws.cell(row=2, column=j).font = example_font
        for row in _rows_for(cols, frames.get(sheet)):
            ws.append(row)
        ws.freeze_panes = "A2"
    ws = wb.create_sheet("county")
    ws.append(["key", "value", "note"])
    for j in range(1, 4):
        ws.cell(row=1, column=j).font, ws.cell(row=1, column=j).fill = head_font, fill
    for row in county_rows:
        if notes and not county:
            spec = by_key.get(row[0])
            if spec is not None:
                row = [row[0], None, f"{spec.zh}；示例：{spec.example}" + (f"（{spec.note}）" if spec.note != spec.zh else "")]
        ws.append(row)
    ws.column_dimensions["A"].width, ws.column_dimensions["C"].width = 32, 60
    ws = wb.create_sheet("rectification")
    ws.append([c.zh for c in RECTIFICATION_COLUMNS])
    for r in frames.get("rectification") or []:
        ws.append(list(r))
    if notes:
        _notes_sheet(wb, local_cols, local_keys, rules)
    wb.save(path)
    return path


def _cell(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, bool):
        return "是" if v else "否"
    return v


def _notes_sheet(wb: Any, local_cols: tuple[Column, ...] = (), local_keys: tuple[CountyKey, ...] = (),
                 rules: Any = None) -> None:
    ws = wb.create_sheet("说明", 0)
    lines = [
        ["县域义务教育优质均衡发展督导评估 数据工作簿（教督〔2017〕6号）"],
        ["填写说明：每个工作表第 1 行为表头（中文名或英文键均可）。以“示例”开头的行是示例，不参与计算，可删除。"],
        ["空单元格表示“缺少数据”，不会按 0 处理；相关指标将显示为“待补充”。是/否 可填 是/否、Y/N、true/false、1/0。"],
        ["classes（每班一行）与 rooms（每间音乐、美术专用教室一行）为可选表；缺少时 2.5、2.3 为待补充。"],
        ["county 表每行一个键：key 列勿改，在 value 列填写；质量监测科目按 monitoring_<科目>_level / monitoring_<科目>_diff 增加行，"
         "如 monitoring_math_level = Ⅲ、monitoring_math_diff = 0.12。"],
        ["rectification（可选）：按指标编号填写整改措施、整改时限、责任部门，将写入报告。"],
        [],
        ["工作表", "列（英文键）", "中文表头", "类型", "说明", "示例"],
    ]
    kinds = {"code": "文字（必填）", "text": "文字", "enum": "选项", "count": "非负整数", "number": "非负数",
             "yesno": "是/否", "year": "年份"}
    for sheet, cols in (("schools", SCHOOL_COLUMNS), ("classes", CLASS_COLUMNS), ("rooms", ROOM_COLUMNS),
                        ("rectification", RECTIFICATION_COLUMNS)):
        for c in cols:
            lines.append([sheet, c.key, c.zh, kinds[c.kind], c.note + ("" if c.required else "（可选）"), c.example])
    if rules is not None:
        lines.insert(1, [f"规则集：{rules.id}（{rules.title}）"])
    for c in local_cols:
        lines.append(["schools", c.key, c.zh, kinds[c.kind], c.note, c.example])
    for k in local_keys:
        lines.append(["county", k.key, k.zh, kinds.get(k.kind, k.kind), k.note, k.example])
    for ws_row in lines:
        ws.append(ws_row)
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 28
    ws.column_dimensions["C"].width = 22
    ws.column_dimensions["E"].width = 50


def write_template(path: str | Path, rules: Any = None) -> Path:
    """Blank data workbook (CONTRACTS.md §2) with field notes and one example row per sheet.

    Without ``rules`` the national template; with a RuleSet its local items' fields are
    added (schools columns and county rows, with Chinese names and notes)."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError("模板文件名应以 .xlsx 结尾", file=str(path), field="--out")
    return write_workbook(path, {}, notes=True, rules=rules)


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


def _ruleset_notes(keys: tuple[CountyKey, ...], rules: Any) -> tuple[CountyKey, ...]:
    """County keys whose notes depend on the rule-set: the 3.1 cohort length."""
    quality = getattr(rules, "quality", None)
    if quality is None:
        return keys
    years = quality.retention_years
    notes = {"retention_entry": f"3.1 该届学生{years}年前入读初中一年级时的人数（{years}年巩固率分母）",
             "retention_final": f"3.1 该届学生{years}年后毕业年级在校生数（{years}年巩固率分子）",
             "retention_cohort_years": f"3.1 巩固率统计届别的初中学制年数；本规则集要求{years}年届别，填{years}"}
    return tuple(replace(k, note=notes[k.key]) if k.key in notes else k for k in keys)


# --------------------------------------------------------------------------- demo data
def _split_sizes(rng: np.random.Generator, students: int, n: int, spread: int) -> list[int]:
    """``n`` class sizes summing to ``students``, unevenly (real classes are not averages)."""
    base = np.full(n, students // n, dtype=np.int64)
    base[: students % n] += 1
    for _ in range(n):
        i, j = rng.integers(0, n, size=2)
        k = int(rng.integers(0, spread + 1))
        if i != j and base[j] - k > 5:
            base[i] += k
            base[j] -= k
    return base.tolist()


def demo_frames(seed: int = 0, schools: int = 32) -> dict[str, Any]:
    """A realistic synthetic county: schools, classes, rooms, county and rectification data.

    Mix of 小学, 初中, 九年一贯制, 十二年一贯制, 完全中学 and 教学点 (some under 50 students),
    city/town/rural; most figures pass, a few schools fail space, size, class-size or room
    rules so the report has something to say. Deterministic for a given seed."""
    if schools < 8:
        raise InputError("演示数据至少需要 8 所学校", field="schools")
    rng = np.random.default_rng(seed)
    kinds = (["十二年一贯制"] + ["完全中学"] * max(1, schools // 16) + ["九年一贯制"] * max(2, schools // 8)
             + ["教学点"] * max(2, schools // 10) + ["初中"] * max(2, schools // 5))
    kinds += ["小学"] * (schools - len(kinds))
    kinds = kinds[:schools]
    school_rows, class_rows, room_rows = [], [], []
    for idx, stype in enumerate(kinds):
        code = f"{370300000 + seed * 1000 + idx + 1}"
        rural = stype == "教学点" or (stype == "小学" and rng.random() < 0.35)
        locality = "乡村" if rural else ("城区" if rng.random() < 0.6 else "镇区")
        name = {"小学": "小学", "初中": "中学", "九年一贯制": "学校", "十二年一贯制": "实验学校",
                "完全中学": "中学", "教学点": "教学点"}[stype]
        place = ["城关", "东城", "西城", "南关", "北关", "新华", "育才", "实验", "朝阳", "文昌", "光明", "振兴",
                 "柳林", "石桥", "河口", "王庄", "李村", "马坊", "杨家", "高庄"][idx % 20]
        name = f"{place}{'第' + '一二三四五六七八九十'[idx // 20 % 10] if idx >= 20 else ''}{name}"
        st = {"primary": 0, "junior": 0, "senior": 0}
        if stype == "教学点":
            st["primary"] = int(rng.integers(20, 95))
        elif stype == "小学":
            st["primary"] = int(rng.integers(150, 600) if rural else rng.integers(700, 2300))
        elif stype == "初中":
            st["junior"] = int(rng.integers(500, 2200))
        elif stype == "九年一贯制":
            st["primary"], st["junior"] = int(rng.integers(400, 1400)), int(rng.integers(250, 900))
        elif stype == "十二年一贯制":
            st["primary"], st["junior"], st["senior"] = (int(rng.integers(700, 1300)), int(rng.integers(500, 900)),
                                                         int(rng.integers(400, 800)))
        else:
            st["junior"], st["senior"] = int(rng.integers(700, 1500)), int(rng.integers(500, 1200))
        row: dict[str, Any] = {"school_code": code, "school_name": name, "school_type": stype,
                               "locality": locality, "students_senior": st["senior"]}
        weighted = 0.0
        for stage, per_t, per_cls, cap in (("primary", 17.0, 30 if rural else 42, 45),
                                           ("junior", 12.5, 46, 50)):
            n_st = st[stage]
            row[f"students_{stage}"] = n_st
            if n_st == 0:
                for stem in ("classes", "teachers", "qualified_teachers", "backbone_teachers", "pe_art_teachers"):
                    row[f"{stem}_{stage}"] = 0
                continue
            n_cls = max(1, math.ceil(n_st / per_cls))
            if stype == "教学点":
                n_cls = min(n_cls, 4)
            sizes = _split_sizes(rng, n_st, n_cls, 4 if n_st / n_cls > cap - 6 else 2)
            grades = range(1, 7) if stage == "primary" else range(7, 10)
            for k, size in enumerate(sizes):
                class_rows.append({"school_code": code, "stage": "小学" if stage == "primary" else "初中",
                                   "grade": list(grades)[k % len(grades)], "students": size})
            teachers = max(2, round(n_st / per_t * rng.uniform(0.95, 1.15)))
            row[f"classes_{stage}"] = n_cls
            row[f"teachers_{stage}"] = teachers
            qual_rate = rng.uniform(0.80, 0.97) if stage == "primary" else rng.uniform(0.72, 0.90)
            row[f"qualified_teachers_{stage}"] = min(teachers, round(teachers * qual_rate))
            row[f"backbone_teachers_{stage}"] = min(teachers, max(1, round(n_st * rng.uniform(0.011, 0.02))))
            row[f"pe_art_teachers_{stage}"] = min(teachers, max(1, round(n_st * rng.uniform(0.0095, 0.014))))
            weighted += n_st * (1.0 if stage == "primary" else 1.28)
        weighted += st["senior"] * 1.4
        crowded = locality == "城区" and rng.random() < 0.25
        row["teaching_area"] = round(weighted * rng.uniform(4.2, 4.7) if crowded else weighted * rng.uniform(4.8, 6.5), 1)
        row["sports_area"] = round(weighted * (rng.uniform(6.0, 7.4) if crowded else rng.uniform(8.2, 12.0)), 1)
        row["equipment_value"] = round(weighted * rng.uniform(2150, 3600), -2)
        row["multimedia_rooms"] = max(1, math.ceil(weighted / 100 * rng.uniform(2.45, 3.4)))
        compulsory = st["primary"] + st["junior"]
        base = 720 * st["primary"] + 940 * st["junior"]
        if compulsory < 100 and (stype == "教学点" or locality == "乡村"):
            base = 720 * 100  # funded as if it had 100 students (2.6)
        row["public_funds"] = float(base)
        row["public_funds_budget"] = float(base)
        row["training_funds"] = round(base * (rng.uniform(0.051, 0.08) if rng.random() < 0.98 else 0.04), 0)
        row["has_charter_and_ict"] = True
        row["moral_education_rating"] = "优秀" if rng.random() < 0.4 else "良好"
        row["curriculum_complete"] = True
        row["founded_year"] = int(rng.integers(1950, 2021))
        row["boarding"] = bool(rural and rng.random() < 0.5)
        row["migrant_students"] = int(compulsory * rng.uniform(0.0, 0.3))
        school_rows.append(row)
        classes_total = row["classes_primary"] + row["classes_junior"]
        need = math.ceil(classes_total / 12)
        for rtype, area in (("音乐", 96.0), ("美术", 90.0)):
            have = need - (1 if (crowded or rng.random() < 0.12) and need > 1 else 0)
            for k in range(have):
                small = k == 0 and rng.random() < 0.08
                room_rows.append({"school_code": code, "room_type": rtype,
                                  "area": round(area * (0.8 if small else rng.uniform(1.0, 1.35)), 1)})
    schools_df = pd.DataFrame(school_rows)
    t_primary = int(schools_df["teachers_primary"].sum())
    t_junior = int(schools_df["teachers_junior"].sum())
    teachers = t_primary + t_junior
    county: dict[str, Any] = {
        "county_code": f"{370300 + seed % 100:06d}", "county_name": f"演示县{seed}" if seed else "演示县",
        "province": "山东省", "basic_balanced_year": 2016, "assessment_year": 2024,
        "layout_plan_ok": True, "four_unified_construction": True, "four_unified_staffing": True,
        "four_unified_funding": True, "four_unified_equipment": True,
        "public_funds_base_primary": 720, "public_funds_base_junior": 940,
        "special_ed_public_funds": 86 * 6500, "special_ed_students": 86,
        "teacher_avg_salary": 112000, "civil_servant_avg_salary": 109500, "performance_pay_ok": True,
        "teachers_360h_completed": teachers, "teachers_360h_in_scope": teachers,
        "staffing_allocated_by_county": True,
        "rotated_teachers": math.ceil(teachers * 0.11), "rotation_eligible_teachers": teachers,
        "rotated_backbone_teachers": math.ceil(teachers * 0.11 * 0.25),
        "certified_teachers": teachers, "full_time_teachers": teachers,
        "zone_admitted_primary": 4200, "admitted_primary": 4200, "zone_admitted_junior": 3900,
        "admitted_junior": 4050, "hs_quota_allocated": 1300, "hs_quota_total": 2400, "hs_quota_rural_tilt": True,
        "left_behind_care_ok": True, "migrant_in_public_or_purchased": 1830, "migrant_eligible": 2010,
        "retention_final": 3868, "retention_entry": 4012, "disabled_enrolled": 212, "disabled_school_age": 219,
        "ict_teaching_ok": True, "no_excess_burden": True, "monitoring_status": "已抽测",
        "monitoring_math_level": "Ⅲ", "monitoring_math_diff": 0.11,
        "monitoring_chinese_level": "Ⅳ", "monitoring_chinese_diff": 0.09,
        "monitoring_science_level": "Ⅲ", "monitoring_science_diff": 0.13,
        "veto_exam_admission": False, "veto_school_choice": False, "veto_key_schools": False,
        "veto_unfilled_posts": False, "veto_major_incident": False, "veto_fraud": False,
    }
    rect = [["2.3", "调整功能用房，新建、改建音乐美术专用教室", "2025年9月", "教育局、财政局"],
            ["2.5", "严格控制起始年级班额，逐年消化超额班级", "2026年9月", "教育局"]]
    return {"schools": schools_df, "classes": pd.DataFrame(class_rows), "rooms": pd.DataFrame(room_rows),
            "county": county, "rectification": rect}


def demo_workbook(path: str | Path, seed: int = 0, schools: int = 32) -> Path:
    """Write a realistic demo county workbook (see ``demo_frames``) to ``path`` (.xlsx or a folder)."""
    return write_workbook(path, demo_frames(seed, schools))
