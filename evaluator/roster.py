"""School roster for a survey round: the few columns of the schools sheet a round needs.

Reads XLSX (sheet ``schools`` / ``学校``, else the first sheet) or CSV (UTF-8, UTF-8 with
BOM, or GBK as saved by Chinese Excel). Headers may be the English key or a Chinese name.
Every problem raises ``InputError`` naming file, sheet, row and column; nothing is
returned half-read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from evaluator.errors import InputError
from evaluator.tables import SCHOOL_TYPES, STAGES, TYPE_STAGES
from evaluator.workbook.coerce import csv_rows
from evaluator.workbook.schema import SCHOOL_COLUMNS

# key -> (Chinese header of the data workbook, other spellings seen in bureau rosters)
_OTHER_SPELLINGS: dict[str, tuple[str, ...]] = {
    "school_code": ("学校编码", "学校标识码", "代码"),
    "school_name": ("校名", "名称"),
    "school_type": ("办学类型", "类型"),
    "students_primary": ("小学在校生数", "小学学生数"),
    "students_junior": ("初中在校生数", "初中学生数"),
    "students_senior": ("高中在校生数", "高中学生数"),
    "teachers_primary": ("小学专任教师数", "小学教师数"),
    "teachers_junior": ("初中专任教师数", "初中教师数"),
}
_WORKBOOK_ZH = {c.key: c.zh for c in SCHOOL_COLUMNS}
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    key: (_WORKBOOK_ZH[key], spellings) for key, spellings in _OTHER_SPELLINGS.items()
}
REQUIRED = ("school_code", "school_name", "school_type")
# Which enrolment columns each school type must fill (the weighting frame needs them).
STAGES_OF_TYPE = {t: tuple(f"students_{s}" for s in TYPE_STAGES[t] if s in STAGES) for t in SCHOOL_TYPES}
MAX_COUNT = 100_000  # no school part has more students or teachers; guards against typos and overflow
_CONTROL = {chr(c) for c in range(32)} - {"\t"}
_NUMERIC = ("students_primary", "students_junior", "students_senior", "teachers_primary", "teachers_junior")


@dataclass(frozen=True)
class RosterSchool:
    school_code: str
    school_name: str
    school_type: str
    students_primary: int
    students_junior: int
    students_senior: int
    teachers: int | None  # 专任教师 headcount of the compulsory stages; None when not given

    @property
    def students(self) -> int:
        return self.students_primary + self.students_junior


def _norm(text: str) -> str:
    """Headers compare without spaces and with full-width brackets: 在校生数(小学) = 在校生数（小学）."""
    return text.replace("(", "（").replace(")", "）").replace(" ", "").replace("\u3000", "").strip().lower()


def _header_map(headers: list[str], file: str, sheet: str | None) -> dict[str, int]:
    lookup: dict[str, str] = {}
    for key, (zh, spellings) in COLUMNS.items():
        for name in (key, zh, *spellings):
            lookup[_norm(name)] = key
    found: dict[str, int] = {}
    for idx, h in enumerate(headers):
        key = lookup.get(_norm(str(h or "")))
        if key and key in found:
            raise InputError(f"第 1 行（表头）中“{COLUMNS[key][0]}（{key}）”出现了两次（第 {found[key] + 1} 列和第 {idx + 1} 列）",
                             file=file, sheet=sheet, row=1)
        if key:
            found[key] = idx
    missing = [k for k in REQUIRED if k not in found]
    if missing:
        names = "、".join(f"{COLUMNS[k][0]}（{k}）" for k in missing)
        raise InputError(f"第 1 行（表头）缺少必需的列：{names}", file=file, sheet=sheet, row=1)
    if not any(k in found for k in ("students_primary", "students_junior")):
        raise InputError("表头中没有在校生数的列（小学在校生数 students_primary 或 初中在校生数 students_junior）",
                         file=file, sheet=sheet, row=1)
    return found


def _rows_from_xlsx(data: bytes, file: str) -> tuple[str, list[list[object]]]:
    from evaluator.workbook.xlsx import read_sheets

    def choose(names: list[str]) -> list[str]:
        return [next((n for n in names if n.strip().lower() in ("schools", "学校", "学校名单")), names[0])]

    ((sheet, rows),) = read_sheets(data, file, choose=choose).items()
    return sheet, [list(r) for r in rows]


def _rows_from_csv(data: bytes, file: str) -> list[list[object]]:
    rows = csv_rows(data)
    if rows is None:  # pragma: no cover - gb18030 decodes any byte string
        raise InputError("无法识别文件编码，请另存为 UTF-8 的 CSV", file=file)
    return list(rows)


def _cell_int(value: object, *, file: str, sheet: str | None, row: int, column: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InputError(f"应为非负整数，实际为“{value}”", file=file, sheet=sheet, row=row, column=column)
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value).strip().replace(",", ""))
        except ValueError:
            raise InputError(f"应为非负整数，实际为“{value}”", file=file, sheet=sheet, row=row, column=column) from None
    if not math.isfinite(number) or number < 0 or number != int(number):
        raise InputError(f"应为非负整数，实际为“{value}”", file=file, sheet=sheet, row=row, column=column)
    if number > MAX_COUNT:
        raise InputError(f"数值 {value} 超出合理范围（每所学校每学段不超过 {MAX_COUNT} 人）", file=file, sheet=sheet,
                         row=row, column=column)
    return int(number)


def _text(value: object, *, file: str, sheet: str | None, row: int, column: str, limit: int) -> str:
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value or "").strip()
    if any(ch in _CONTROL for ch in text):
        raise InputError("含有不可见的控制字符，请删除后重新保存", file=file, sheet=sheet, row=row, column=column)
    if len(text) > limit:
        raise InputError(f"过长（最多 {limit} 个字符）", file=file, sheet=sheet, row=row, column=column)
    return text


def read_roster(source: str | Path | BinaryIO, filename: str | None = None, *,
                max_schools: int | None = None) -> list[RosterSchool]:
    """Read and validate a roster. ``filename`` names an uploaded stream in messages;
    more than ``max_schools`` non-blank rows are refused before any row is checked."""
    if isinstance(source, str | Path):
        path = Path(source)
        file = filename or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"无法读取文件：{exc.strerror}", file=file) from None
    else:
        data = source.read()
        file = filename or "上传文件"
    suffix = Path(file).suffix.lower()
    if suffix == ".xlsx":
        sheet, rows = _rows_from_xlsx(data, file)
    elif suffix == ".csv":
        sheet, rows = None, _rows_from_csv(data, file)
    else:
        raise InputError("学校名单只接受 .xlsx 或 .csv 文件", file=file)
    if not rows:
        raise InputError("文件是空的", file=file, sheet=sheet)

    if max_schools is not None:
        n = sum(1 for raw in rows[1:] if any(v is not None and not (isinstance(v, str) and not v.strip())
                                             for v in raw))
        if n > max_schools:
            raise InputError(f"名单共有 {n} 所学校，超过上限 {max_schools} 所（一个县的名单；"
                             "如确需更多，请管理员调整配置 MAX_ROSTER_SCHOOLS）", file=file, sheet=sheet)
    cols = _header_map([str(h) if h is not None else "" for h in rows[0]], file, sheet)
    label = {k: f"{COLUMNS[k][0]}（{k}）" for k in COLUMNS}
    schools: list[RosterSchool] = []
    seen: dict[str, int] = {}
    for offset, raw in enumerate(rows[1:], start=2):
        def cell(key: str, raw=raw) -> object:
            i = cols.get(key)
            return raw[i] if i is not None and i < len(raw) else None

        if all(v is None or (isinstance(v, str) and not v.strip()) for v in raw):
            continue
        where = {"file": file, "sheet": sheet, "row": offset}
        code = _text(cell("school_code"), column=label["school_code"], limit=40, **where)
        if not code:
            raise InputError("学校代码不能为空", column=label["school_code"], **where)
        if code in seen:
            raise InputError(f"学校代码“{code}”与第 {seen[code]} 行重复", column=label["school_code"], **where)
        seen[code] = offset
        name = _text(cell("school_name"), column=label["school_name"], limit=200, **where)
        if not name:
            raise InputError("学校名称不能为空", column=label["school_name"], **where)
        stype = str(cell("school_type") or "").strip()
        if stype not in SCHOOL_TYPES:
            raise InputError(f"学校类型“{stype}”无效，应为：{'、'.join(SCHOOL_TYPES)}", column=label["school_type"], **where)
        nums = {k: _cell_int(cell(k), column=label[k], **where) for k in _NUMERIC}
        for k in STAGES_OF_TYPE[stype]:
            if nums[k] is None:
                raise InputError(f"{stype}必须填写{COLUMNS[k][0]}（空白表示缺失，不按 0 处理）", column=label[k], **where)
        if stype in ("小学", "教学点") and nums["students_junior"]:
            raise InputError(f"{stype}不应有初中在校生", column=label["students_junior"], **where)
        if stype == "初中" and nums["students_primary"]:
            raise InputError("初中不应有小学在校生", column=label["students_primary"], **where)
        teachers = None
        if nums["teachers_primary"] is not None or nums["teachers_junior"] is not None:
            teachers = (nums["teachers_primary"] or 0) + (nums["teachers_junior"] or 0)
        schools.append(RosterSchool(
            code, name, stype, nums["students_primary"] or 0, nums["students_junior"] or 0,
            nums["students_senior"] or 0, teachers,
        ))
    if not schools:
        raise InputError("名单中没有学校（表头以下都是空行）", file=file, sheet=sheet)
    return schools
