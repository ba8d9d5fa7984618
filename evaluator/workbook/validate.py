"""Validation across cells and sheets: school types vs 学段, children vs schools, the county sheet.

Each check raises the first problem as an ``InputError`` naming file, sheet, row and column
(key, Chinese header and Excel column letter), in the order a person reading the sheet
top to bottom would meet it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from evaluator.errors import InputError
from evaluator.workbook.coerce import blank, norm_header, parse_yesno
from evaluator.workbook.schema import (
    COUNTY_BY_KEY,
    COUNTY_KEYS,
    MONITOR_KEY,
    STAGE_NAMES,
    TYPE_STAGES,
    ZH,
    CountyKey,
)


def label(df: pd.DataFrame, key: str) -> str:
    """A column as named in messages: key, Chinese header and Excel column letter."""
    zh = ZH.get(key, key)
    letter = df.attrs.get("letters", {}).get(key)
    return f"{key}（{zh}，{letter}列）" if letter else f"{key}（{zh}）"


def check_schools(s: pd.DataFrame, file: str, sheet: str) -> None:
    col = label(s, "school_code")
    dup = s["school_code"].duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        code = s["school_code"].iloc[i]
        first = int(s.loc[s["school_code"] == code, "_row"].iloc[0])
        raise InputError(f"学校代码“{code}”重复（第 {first} 行已使用）", file=file, sheet=sheet,
                         row=int(s["_row"].iloc[i]), column=col)
    rows = s["_row"].tolist()
    values = {k: s[k].tolist() for k in s.columns}  # plain lists: no per-row pandas access
    for i, row in enumerate(rows):
        stype = values["school_type"][i]
        if not isinstance(stype, str):  # empty, or a formula cell without a cached value
            raise InputError("学校类型不能为空（公式单元格请先在 Excel 中计算并保存）", file=file, sheet=sheet, row=row,
                             column=label(s, "school_type"))
        if stype not in TYPE_STAGES:
            raise InputError(f"学校类型“{stype}”无效，应为：{'、'.join(TYPE_STAGES)}", file=file, sheet=sheet, row=row,
                             column=label(s, "school_type"))
        allowed = TYPE_STAGES[stype]
        for stage, zh in (("primary", "小学"), ("junior", "初中"), ("senior", "高中")):
            stems = ("students", "classes", "teachers") if stage != "senior" else ("students",)
            for stem in stems:
                v = values[f"{stem}_{stage}"][i] if f"{stem}_{stage}" in values else None
                if stage not in allowed and v is not None and not math.isnan(v) and v > 0:
                    raise InputError(f"学校类型为{stype}，不应有{zh}数据（{v:g}）；学段数据与学校类型不一致",
                                     file=file, sheet=sheet, row=row, column=label(s, f"{stem}_{stage}"))
            if stage == "senior":
                continue
            st = values[f"students_{stage}"][i]
            for stem in ("teachers", "classes"):
                v = values[f"{stem}_{stage}"][i]
                if st == 0 and v is not None and not math.isnan(v) and v > 0:
                    raise InputError(f"{zh}学生数为 0，但{stem}_{stage}为 {v:g}；请核对学段数据",
                                     file=file, sheet=sheet, row=row, column=label(s, f"{stem}_{stage}"))
            t = values[f"teachers_{stage}"][i]
            for stem in ("qualified_teachers", "backbone_teachers", "pe_art_teachers"):
                v = values[f"{stem}_{stage}"][i]
                if not math.isnan(v) and not math.isnan(t) and v > t:
                    raise InputError(f"{v:g} 超过该学段专任教师数 {t:g}", file=file, sheet=sheet, row=row,
                                     column=label(s, f"{stem}_{stage}"))


def check_children(df: pd.DataFrame, schools: pd.DataFrame, file: str, sheet: str, stage_col: bool) -> None:
    codes = df["school_code"].to_numpy(dtype=object)
    rows = df["_row"].to_numpy()
    valid = set(schools["school_code"])
    known = np.fromiter((c in valid for c in codes), dtype=bool, count=len(codes))
    if not known.all():
        i = int(np.argmin(known))
        raise InputError(f"学校代码“{codes[i]}”不在 schools 表中", file=file, sheet=sheet, row=int(rows[i]),
                         column=label(df, "school_code"))
    if stage_col:
        types = dict(zip(schools["school_code"], schools["school_type"], strict=True))
        for i, (code, stage_name) in enumerate(zip(codes, df["stage"].tolist(), strict=True)):
            if stage_name not in STAGE_NAMES:  # empty, or a formula cell without a cached value
                raise InputError("学段不能为空，应为 小学 或 初中（公式单元格请先在 Excel 中计算并保存）", file=file,
                                 sheet=sheet, row=int(rows[i]), column=label(df, "stage"))
            if STAGE_NAMES[stage_name] not in TYPE_STAGES[types[code]]:
                raise InputError(f"该校类型为{types[code]}，不应有{stage_name}班级", file=file, sheet=sheet,
                                 row=int(rows[i]), column=label(df, "stage"))


def county_sheet(rows: list[tuple[Any, ...]], file: str, sheet: str,
            extra: tuple[CountyKey, ...] = ()) -> tuple[dict[str, Any], dict[str, int]]:
    if not rows:
        raise InputError("工作表为空，第 1 行应为表头 key,value,note", file=file, sheet=sheet)
    head = [norm_header(h) for h in rows[0]]
    try:
        ki = next(i for i, h in enumerate(head) if h in ("key", "指标", "项目", "键"))
        vi = next(i for i, h in enumerate(head) if h in ("value", "值", "数值"))
    except StopIteration:
        raise InputError("表头应为 key,value（可加 note）", file=file, sheet=sheet, row=1) from None
    values: dict[str, Any] = {}
    where: dict[str, int] = {}
    by_key = {**COUNTY_BY_KEY, **{k.key: k for k in extra}}  # extra: the rule-set's local items
    zh_to_key = {norm_header(k.zh): k.key for k in (*COUNTY_KEYS, *extra)}
    for n, r in enumerate(rows[1:], start=2):
        key_raw = r[ki] if ki < len(r) else None
        if blank(key_raw):
            continue
        key = str(key_raw).strip()
        key = zh_to_key.get(norm_header(key), key)
        spec = by_key.get(key)
        m = MONITOR_KEY.match(key)
        if spec is None and m is None:
            raise InputError(f"未知的县级指标键“{key}”（地方指标的字段须选择定义它的规则集，--rules）", file=file,
                             sheet=sheet, row=n, column="key")
        if key in where:
            raise InputError(f"键“{key}”重复（第 {where[key]} 行已填写）", file=file, sheet=sheet, row=n, column="key")
        where[key] = n
        v = r[vi] if vi < len(r) else None
        if blank(v):
            values[key] = None
            continue
        kind = spec.kind if spec else ("diff" if m and m["what"] == "diff" else "level")
        values[key] = county_value(v, kind, file, sheet, n)
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


def county_value(v: Any, kind: str, file: str, sheet: str, row: int) -> Any:
    if kind == "yesno":
        try:
            return parse_yesno(v)
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


def check_class_counts(classes: pd.DataFrame, schools: pd.DataFrame, file: str, sheet: str) -> None:
    counts = classes.groupby(["school_code", "stage"]).size().to_dict()
    columns = ("school_code", "school_name", "classes_primary", "classes_junior")
    for code, name, *declared_by_stage in zip(*(schools[c].tolist() for c in columns), strict=True):
        for stage, declared in zip(("primary", "junior"), declared_by_stage, strict=True):
            n = int(counts.get((code, stage), 0))
            if n and not np.isnan(declared) and n != int(declared):
                row = int(classes.loc[(classes["school_code"] == code) & (classes["stage"] == stage),
                                      "_row"].iloc[0])
                raise InputError(
                    f"{name}（{code}）在本表有{'小学' if stage == 'primary' else '初中'}班级 {n} 个，"
                    f"与 schools 表 classes_{stage}（{int(declared)}）不一致",
                    file=file, sheet=sheet, row=row, column=label(classes, "school_code"))
