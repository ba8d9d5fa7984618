"""A county's roadmap workbook (seed 000, Dalian 高新区: 重点任务推进规划 and its building projects).

Sheets (headers Chinese or the English key; the sheet names below or their English keys):
- **规划** (``plan``): rows key / value: ``target_year`` (目标验收年份, required).
- **推进规划** (``measures``): one row per item: 指标编号 (``item``, e.g. 2.3), optional 指标 (title),
  then one column per year (header ``2019`` or ``2019年``) holding that year's measures.
- **建设项目** (``projects``, optional): one row per project (``PROJECT_COLUMNS``).
- **学生数预测** (``enrolment``, optional): school_code, year, students_primary, students_junior.

Errors name file, sheet, row and column (``InputError``), like the data workbook's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evaluator.errors import InputError
from evaluator.projection import ADDED, KIND_BY_NAME, Project
from evaluator.rules import ITEM_CODES, SCHOOL_TYPES
from evaluator.workbook.coerce import clean, column_letter, norm_header
from evaluator.workbook.read import read_xlsx
from evaluator.workbook.schema import LOCALITIES

YEAR_MIN, YEAR_MAX = 2000, 2100


@dataclass(frozen=True)
class RCol:
    key: str
    zh: str
    kind: str  # text | year | kind | count | number | codes | type | locality
    note: str
    example: Any


PROJECT_COLUMNS: tuple[RCol, ...] = (
    RCol("key", "项目编号", "text", "可选；项目的唯一编号，缺省为行号", "P1"),
    RCol("year", "完成年份", "year", "项目完工并投入使用的年份", 2022),
    RCol("kind", "项目类型", "kind", "新建/改扩建/撤并", "新建"),
    RCol("school_code", "学校代码", "text", "新建学校填新代码；改扩建、撤并填现有学校代码", "NEW001"),
    RCol("name", "项目名称", "text", "可选", "未名山小区配套学校"),
    RCol("school_name", "学校名称", "text", "新建学校必填", "未名山学校"),
    RCol("school_type", "学校类型", "type", "新建学校必填：小学/初中/九年一贯制/十二年一贯制/完全中学/教学点", "九年一贯制"),
    RCol("locality", "城乡类别", "locality", "新建学校可选：城区/镇区/乡村", "城区"),
    RCol("seats_primary", "新增学位（小学）", "count", "当年转入或新招的小学生数", 540),
    RCol("seats_junior", "新增学位（初中）", "count", "当年转入或新招的初中生数", 270),
    RCol("transfer_schools", "分流或接收学校代码", "codes",
         "新建/改扩建：学生来自的学校；撤并：接收学生的学校；多个用顿号或逗号分隔", "S01、S02"),
    RCol("classes_primary", "新增班级数（小学）", "count", "", 12),
    RCol("classes_junior", "新增班级数（初中）", "count", "", 6),
    RCol("teachers_primary", "新增专任教师（小学）", "count", "", 30),
    RCol("teachers_junior", "新增专任教师（初中）", "count", "", 20),
    RCol("qualified_teachers_primary", "其中高于规定学历（小学）", "count", "", 28),
    RCol("qualified_teachers_junior", "其中高于规定学历（初中）", "count", "", 19),
    RCol("backbone_teachers_primary", "其中县级以上骨干（小学）", "count", "", 6),
    RCol("backbone_teachers_junior", "其中县级以上骨干（初中）", "count", "", 4),
    RCol("pe_art_teachers_primary", "其中体育艺术（小学）", "count", "", 5),
    RCol("pe_art_teachers_junior", "其中体育艺术（初中）", "count", "", 3),
    RCol("teaching_area", "新增教学及辅助用房面积", "number", "平方米", 6000),
    RCol("sports_area", "新增体育运动场馆面积", "number", "平方米", 9000),
    RCol("equipment_value", "新增教学仪器设备值", "number", "元", 2500000),
    RCol("multimedia_rooms", "新增网络多媒体教室数", "count", "间", 24),
    RCol("music_rooms", "新增音乐专用教室", "count", "间", 2),
    RCol("music_room_area", "音乐教室每间面积", "number", "平方米；有新增音乐教室时必填", 100),
    RCol("art_rooms", "新增美术专用教室", "count", "间", 2),
    RCol("art_room_area", "美术教室每间面积", "number", "平方米；有新增美术教室时必填", 95),
)
ENROLMENT_COLUMNS: tuple[RCol, ...] = (
    RCol("school_code", "学校代码", "text", "现有或新建学校的代码", "S01"),
    RCol("year", "年份", "year", "", 2023),
    RCol("students_primary", "在校生数（小学）", "count", "空白表示不变", 1100),
    RCol("students_junior", "在校生数（初中）", "count", "空白表示不变", None),
)
SHEETS = {"plan": ("规划", "plan"), "measures": ("推进规划", "measures", "重点任务推进规划"),
          "projects": ("建设项目", "projects"), "enrolment": ("学生数预测", "enrolment")}
_YEAR_HEADER = re.compile(r"^(\d{4})年?$")
_SPLIT = re.compile(r"[,，、;；\s]+")


@dataclass(frozen=True)
class Roadmap:
    target_year: int
    measures: Mapping[tuple[str, int], str]  # (item code, year) → text
    projects: tuple[Project, ...]
    enrolment: pd.DataFrame  # school_code, year, students_primary, students_junior (may be empty)


def _find(sheets: Mapping[str, Any], key: str) -> str | None:
    wanted = {norm_header(n) for n in SHEETS[key]}
    return next((n for n in sheets if norm_header(n) in wanted), None)


def _num(v: Any, kind: str, where: dict[str, Any]) -> Any:
    if v is None:
        return None
    if isinstance(v, bool):
        raise InputError(f"“{v}”不是数字", **where)
    try:
        x = float(str(v).replace(",", "")) if isinstance(v, str) else float(v)
    except ValueError:
        raise InputError(f"“{v}”不是数字", **where) from None
    if math.isnan(x) or math.isinf(x) or x < 0:
        raise InputError(f"“{v}”应为非负数", **where)
    if kind in ("count", "year"):
        if not x.is_integer():
            raise InputError(f"“{v}”应为整数", **where)
        x = int(x)
        if kind == "year" and not YEAR_MIN <= x <= YEAR_MAX:
            raise InputError(f"年份 {x} 不在 {YEAR_MIN}–{YEAR_MAX} 之间", **where)
    return x


def _table(rows: list[tuple[Any, ...]], columns: tuple[RCol, ...], file: str, sheet: str,
           required: tuple[str, ...]) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
    """(Excel row, values by key, column header by key) of every non-empty row, typed."""
    if not rows:
        raise InputError("工作表为空，第 1 行应为表头", file=file, sheet=sheet)
    by_name = {}
    for c in columns:
        by_name[norm_header(c.key)] = c
        by_name[norm_header(c.zh)] = c
    pos: dict[str, int] = {}
    heads: dict[str, str] = {}
    for i, h in enumerate(rows[0]):
        if clean(h) is None:
            continue
        c = by_name.get(norm_header(h))
        if c is None:
            raise InputError(f"未知的列“{h}”；可用列名：{'、'.join(c.zh for c in columns)}", file=file, sheet=sheet,
                             row=1, column=f"{column_letter(i)}（{h}）")
        if c.key in pos:
            raise InputError(f"列“{h}”重复", file=file, sheet=sheet, row=1, column=f"{column_letter(i)}（{h}）")
        pos[c.key] = i
        heads[c.key] = f"{column_letter(i)}（{h}）"
    for key in required:
        if key not in pos:
            c = next(c for c in columns if c.key == key)
            raise InputError(f"缺少必需的列“{c.zh}”（{c.key}）", file=file, sheet=sheet, row=1)
    out = []
    for r, raw in enumerate(rows[1:], start=2):
        vals = {k: clean(raw[i]) if i < len(raw) else None for k, i in pos.items()}
        if all(v is None for v in vals.values()):
            continue
        if isinstance(vals.get(columns[0].key), str) and str(vals[columns[0].key]).startswith("示例"):
            continue
        typed: dict[str, Any] = {}
        for c in columns:
            v = vals.get(c.key)
            where = {"file": file, "sheet": sheet, "row": r, "column": heads.get(c.key, c.zh)}
            if c.key in required and v is None:
                raise InputError(f"“{c.zh}”不能为空", **where)
            if c.kind in ("count", "number", "year"):
                typed[c.key] = _num(v, c.kind, where)
            elif c.kind == "kind":
                kind = KIND_BY_NAME.get(str(v).strip()) if v is not None else None
                if kind is None:
                    raise InputError(f"项目类型“{v}”应为 新建/改扩建/撤并", **where)
                typed[c.key] = kind
            elif c.kind == "type":
                if v is not None and str(v) not in SCHOOL_TYPES:
                    raise InputError(f"学校类型“{v}”应为 {'/'.join(SCHOOL_TYPES)}", **where)
                typed[c.key] = str(v) if v is not None else ""
            elif c.kind == "locality":
                if v is not None and str(v) not in LOCALITIES:
                    raise InputError(f"城乡类别“{v}”应为 {'/'.join(LOCALITIES)}", **where)
                typed[c.key] = str(v) if v is not None else ""
            elif c.kind == "codes":
                typed[c.key] = tuple(x for x in _SPLIT.split(str(v)) if x) if v is not None else ()
            else:
                s = "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                if len(s) > 200:
                    raise InputError("内容过长（不超过 200 字）", **where)
                typed[c.key] = s
        out.append((r, typed, heads))
    return out


def _projects(rows: list[tuple[Any, ...]], file: str, sheet: str) -> tuple[Project, ...]:
    out: list[Project] = []
    keys: dict[str, int] = {}
    new_codes: dict[str, int] = {}
    for r, v, heads in _table(rows, PROJECT_COLUMNS, file, sheet, ("year", "kind", "school_code")):
        def where(key: str, r: int = r, heads: dict[str, str] = heads) -> dict[str, Any]:
            c = next(c for c in PROJECT_COLUMNS if c.key == key)
            return {"file": file, "sheet": sheet, "row": r, "column": heads.get(key, c.zh)}

        key = v["key"] or f"第{r}行"
        if key in keys:
            raise InputError(f"项目编号“{key}”与第 {keys[key]} 行重复", **where("key"))
        keys[key] = r
        if v["kind"] == "new":
            if not v["school_name"]:
                raise InputError("新建学校须填写学校名称", **where("school_name"))
            if not v["school_type"]:
                raise InputError("新建学校须填写学校类型", **where("school_type"))
            if v["school_code"] in new_codes:
                raise InputError(f"学校代码 {v['school_code']} 已在第 {new_codes[v['school_code']]} 行新建",
                                 **where("school_code"))
            new_codes[v["school_code"]] = r
        for rooms, area in (("music_rooms", "music_room_area"), ("art_rooms", "art_room_area")):
            if (v[rooms] or 0) > 0 and not (v[area] or 0) > 0:
                raise InputError("新增专用教室时须填写每间面积（大于 0）", **where(area))
        if v["kind"] == "closure" and any(v[k] for k in ADDED + ("seats_primary", "seats_junior", "music_rooms",
                                                               "art_rooms")):
            raise InputError("撤并项目不应填写新增数量（撤并学校的学生转入“分流或接收学校代码”所列学校）",
                             **where("kind"))
        out.append(Project(
            key=key, year=v["year"], kind=v["kind"], school_code=v["school_code"], name=v["name"],
            school_name=v["school_name"], school_type=v["school_type"], locality=v["locality"],
            seats_primary=v["seats_primary"] or 0, seats_junior=v["seats_junior"] or 0,
            added={k: v[k] for k in ADDED if v[k]}, music_rooms=v["music_rooms"] or 0,
            music_room_area=float(v["music_room_area"] or 0), art_rooms=v["art_rooms"] or 0,
            art_room_area=float(v["art_room_area"] or 0), transfer_schools=v["transfer_schools"]))
    return tuple(out)


def _measures(rows: list[tuple[Any, ...]], file: str, sheet: str) -> dict[tuple[str, int], str]:
    if not rows:
        raise InputError("工作表为空，第 1 行应为表头（指标编号、指标、各年份）", file=file, sheet=sheet)
    code_col = None
    years: dict[int, int] = {}
    for i, h in enumerate(rows[0]):
        text = norm_header(h)
        if not text:
            continue
        m = _YEAR_HEADER.match(text)
        if m:
            y = int(m[1])
            if not YEAR_MIN <= y <= YEAR_MAX or y in years.values():
                raise InputError(f"年份列“{h}”无效或重复", file=file, sheet=sheet, row=1, column=f"{column_letter(i)}（{h}）")
            years[i] = y
        elif text in ("指标编号", "item", "编号"):
            code_col = i
        elif text not in ("指标", "title", "指标内容", "领域", "评估内容"):
            raise InputError(f"未知的列“{h}”；应为 指标编号、指标 和年份列（如 2019）", file=file, sheet=sheet,
                             row=1, column=f"{column_letter(i)}（{h}）")
    if code_col is None:
        raise InputError("缺少“指标编号”列", file=file, sheet=sheet, row=1)
    if not years:
        raise InputError("没有年份列（表头如 2019 或 2019年）", file=file, sheet=sheet, row=1)
    out: dict[tuple[str, int], str] = {}
    seen: dict[str, int] = {}
    for r, raw in enumerate(rows[1:], start=2):
        cells = {i: clean(raw[i]) if i < len(raw) else None for i in [code_col, *years]}
        if all(v is None for v in cells.values()):
            continue
        code = cells[code_col]
        code = str(int(code)) if isinstance(code, float) and code.is_integer() else (
            f"{code:g}" if isinstance(code, float) else code)
        col = f"{column_letter(code_col)}（指标编号）"
        if code is None or str(code) not in ITEM_CODES:
            raise InputError(f"指标编号“{code}”不是国家指标表中的编号（1.1–5）", file=file, sheet=sheet, row=r,
                             column=col)
        code = str(code)
        if code in seen:
            raise InputError(f"指标 {code} 与第 {seen[code]} 行重复", file=file, sheet=sheet, row=r, column=col)
        seen[code] = r
        for i, y in years.items():
            text = cells[i]
            if text is None:
                continue
            text = str(text)
            if len(text) > 2000:
                raise InputError("措施内容过长（不超过 2000 字）", file=file, sheet=sheet, row=r,
                                 column=f"{column_letter(i)}（{y}）")
            out[(code, y)] = text
    return out


def read_roadmap(path: str | Path, name: str | None = None) -> Roadmap:
    """Read and validate a roadmap workbook (.xlsx). ``name`` is the file name shown in errors."""
    path = Path(path)
    file = name or path.name
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise InputError("规划文件应为 .xlsx 工作簿", file=file)
    sheets = read_xlsx(path)
    found = {k: _find(sheets, k) for k in SHEETS}
    if found["plan"] is None:
        raise InputError("缺少“规划”工作表（目标验收年份）", file=file)
    target = None
    for r, raw in enumerate(sheets[found["plan"]], start=1):
        key = norm_header(raw[0]) if raw else ""
        if key in ("target_year", "目标验收年份"):
            value = clean(raw[1]) if len(raw) > 1 else None
            target = _num(value, "year", {"file": file, "sheet": found["plan"], "row": r, "column": "B"})
    if target is None:
        raise InputError("缺少目标验收年份（第一列 target_year 或 目标验收年份，第二列填年份）", file=file,
                         sheet=found["plan"])
    measures = _measures(sheets[found["measures"]], file, found["measures"]) if found["measures"] else {}
    projects = _projects(sheets[found["projects"]], file, found["projects"]) if found["projects"] else ()
    rows = []
    if found["enrolment"]:
        seen: dict[tuple[str, int], int] = {}
        for r, v, heads in _table(sheets[found["enrolment"]], ENROLMENT_COLUMNS, file, found["enrolment"],
                                  ("school_code", "year")):
            k = (v["school_code"], v["year"])
            if k in seen:
                raise InputError(f"学校 {k[0]} 的 {k[1]} 年与第 {seen[k]} 行重复", file=file,
                                 sheet=found["enrolment"], row=r, column=heads.get("year"))
            seen[k] = r
            rows.append({c.key: v[c.key] for c in ENROLMENT_COLUMNS})
    enrolment = pd.DataFrame(rows, columns=[c.key for c in ENROLMENT_COLUMNS])
    for p in projects:
        if p.year > target:
            raise InputError(f"项目“{p.label()}”的完成年份 {p.year} 晚于目标验收年份 {target}", file=file,
                             sheet=found["projects"])
    return Roadmap(target_year=target, measures=measures, projects=projects, enrolment=enrolment)


def write_roadmap(path: str | Path, roadmap: Roadmap | None = None, *, years: range | None = None,
                  titles: Mapping[str, str] | None = None) -> Path:
    """Write a roadmap workbook: the template (with one example row per table) when
    ``roadmap`` is None, else the roadmap itself (read back by ``read_roadmap`` unchanged)."""
    from openpyxl import Workbook as XWorkbook
    from openpyxl.styles import Font

    from evaluator.cells import neutralise

    path = Path(path)
    wb = XWorkbook()
    ws = wb.active
    ws.title = "规划"
    ws.append(["target_year", roadmap.target_year if roadmap else None, "目标验收年份"])
    ws = wb.create_sheet("推进规划")
    if roadmap and roadmap.measures:
        ys = sorted({y for _, y in roadmap.measures})
    else:
        ys = list(years or range(2019, 2026))
    ws.append(["指标编号", "指标", *[str(y) for y in ys]])
    for code in ITEM_CODES:
        row = [code, neutralise((titles or {}).get(code, ""))]
        row += [neutralise(roadmap.measures.get((code, y), "")) if roadmap else "" for y in ys]
        ws.append(row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws = wb.create_sheet("建设项目")
    ws.append([c.zh for c in PROJECT_COLUMNS])
    if roadmap is None:
        ws.append(["示例" + str(PROJECT_COLUMNS[0].example)] + [c.example for c in PROJECT_COLUMNS[1:]])
    for p in roadmap.projects if roadmap else ():
        kind_zh = {"new": "新建", "extension": "改扩建", "closure": "撤并"}[p.kind]
        values = {"key": p.key, "year": p.year, "kind": kind_zh, "school_code": p.school_code, "name": p.name,
                  "school_name": p.school_name, "school_type": p.school_type, "locality": p.locality,
                  "seats_primary": p.seats_primary, "seats_junior": p.seats_junior,
                  "transfer_schools": "、".join(p.transfer_schools), "music_rooms": p.music_rooms,
                  "music_room_area": p.music_room_area or None, "art_rooms": p.art_rooms,
                  "art_room_area": p.art_room_area or None, **dict(p.added)}
        ws.append([neutralise(values.get(c.key)) for c in PROJECT_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws = wb.create_sheet("学生数预测")
    ws.append([c.zh for c in ENROLMENT_COLUMNS])
    if roadmap is not None:
        for rec in roadmap.enrolment.to_dict("records"):
            ws.append([neutralise(None if isinstance(rec[c.key], float) and math.isnan(rec[c.key]) else rec[c.key])
                       for c in ENROLMENT_COLUMNS])
    ws = wb.create_sheet("说明")
    ws.append(["县域义务教育优质均衡发展推进规划（模板）"])
    ws.append(["推进规划：每个指标一行，年份列填写当年措施；建设项目：每个项目一行，以“示例”开头的行不导入。"])
    ws.append(["列", "说明"])
    for c in PROJECT_COLUMNS + ENROLMENT_COLUMNS:
        ws.append([c.zh, c.note or ""])
    wb.save(path)
    return path
