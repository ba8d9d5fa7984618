"""Reading a county data workbook (docs/interfaces.md §2): sheets → typed, validated DataFrames.

Input is an XLSX file with sheets schools / classes / rooms / county (and optionally
rectification), or a folder of CSV files named after the sheets. Headers may be the
English key or the Chinese name. Every problem raises ``InputError`` naming the file,
sheet, row (Excel numbering, header = row 1) and column, and the expected type or range.
An empty cell is missing — kept as NaN/None, never 0 — and the items that need it become
PENDING. The cross-sheet checks live in ``evaluator.workbook.validate``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluator.errors import InputError
from evaluator.workbook.coerce import blank, column_letter, csv_rows, norm_header, parse_yesno
from evaluator.workbook.schema import (
    CLASS_COLUMNS,
    EXAMPLE_PREFIX,
    MUST,
    RECTIFICATION_COLUMNS,
    ROOM_COLUMNS,
    SCHOOL_COLUMNS,
    SHEETS,
    STAGE_NAMES,
    Column,
    Workbook,
    local_county_keys,
    local_school_columns,
)
from evaluator.workbook.validate import (
    check_children,
    check_class_counts,
    check_schools,
    county_sheet,
    label,
)
from evaluator.workbook.xlsx import read_sheets


def read_xlsx(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Cell values of every sheet, streamed with hard limits (evaluator.workbook.xlsx)."""
    return read_sheets(path, path.name)


def read_csv_rows(path: Path) -> list[tuple[Any, ...]]:
    """Rows of a CSV file in UTF-8 (with or without BOM) or GBK/GB18030."""
    rows = csv_rows(path.read_bytes())
    if rows is None:
        raise InputError("无法识别文件编码（应为 UTF-8 或 GBK）", file=path.name)
    return [tuple(r) for r in rows]


def _sheet_lookup(names: list[str], sheet: str) -> str | None:
    wanted = {norm_header(n) for n in SHEETS[sheet]}
    for n in names:
        if norm_header(n) in wanted:
            return n
    return None


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
        by_name[norm_header(c.key)] = c.key
        by_name[norm_header(c.zh)] = c.key
    positions: dict[str, int] = {}
    for i, h in enumerate(header):
        if blank(h):
            continue
        key = by_name.get(norm_header(h))
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
    cleaned: dict[str, list[Any]] = {key: _cleaned_column(body, i) for key, i in positions.items()}
    first = columns[0].key
    filled = np.zeros(len(body), dtype=bool)
    for values in cleaned.values():
        filled |= np.fromiter((v is not None for v in values), dtype=bool, count=len(body))
    lead = cleaned.get(first)
    if lead is not None:
        filled &= np.fromiter((not (v.__class__ is str and v.startswith(EXAMPLE_PREFIX)) for v in lead), dtype=bool,
                              count=len(body))
    keep = np.flatnonzero(filled)
    everything = len(keep) == len(body)
    data = {}
    for c in columns:
        values = cleaned.get(c.key)
        if values is None:
            data[c.key] = np.full(len(keep), None, dtype=object)
        else:
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            data[c.key] = arr if everything else arr[keep]
    df = pd.DataFrame({k: pd.Series(v, dtype=object, copy=False) for k, v in data.items()})
    df["_row"] = (keep + 2).astype(np.int64)
    df.attrs["letters"] = {k: column_letter(i) for k, i in positions.items()}
    return df


def _cleaned_column(body: list[tuple[Any, ...]], i: int) -> list[Any]:
    """Column ``i`` of the body rows, as ``clean`` leaves each cell (inlined: it runs per cell)."""
    out: list[Any] = []
    append = out.append
    for r in body:
        v = r[i] if i < len(r) else None
        if v.__class__ is str:
            v = v.strip() or None
        elif v.__class__ is float and v != v:
            v = None
        append(v)
    return out


def _numbers(values: np.ndarray) -> np.ndarray | None:
    """Float array of a column whose cells are all numbers or empty (None → NaN); None otherwise."""
    plain = (int, float, type(None))
    if all(v.__class__ in plain for v in values):
        return np.array(values, dtype=float)
    return None


def _coerce(df: pd.DataFrame, columns: tuple[Column, ...], file: str, sheet: str) -> pd.DataFrame:
    """Convert raw object columns to typed ones, raising on the first bad cell."""
    out = pd.DataFrame({"_row": df["_row"].to_numpy()})
    rows = df["_row"].to_numpy()
    letters = df.attrs.get("letters", {})
    for c in columns:
        col = df[c.key]
        header = f"{c.key}（{c.zh}，{letters[c.key]}列）" if c.key in letters else f"{c.key}（{c.zh}）"
        if c.kind in ("count", "number", "year"):
            arr = _numbers(col.to_numpy())
            if arr is None:  # text cells ("1,200", "abc"): pandas parses what it can
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
                    vals.append(parse_yesno(v))
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
            sheets[stem] = read_csv_rows(csvs[stem])
            inputs.append((csvs[stem].name, hashlib.sha256(csvs[stem].read_bytes()).hexdigest()))

        def fname(sheet_name: str) -> str:
            return csvs[sheet_name].name

        def sname(sheet_name: str) -> str | None:
            return None
    else:
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise InputError("数据文件应为 .xlsx 工作簿或 CSV 文件夹", file=path.name, field="--data")
        sheets = read_xlsx(path)
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
        must = MUST.get(sheet, frozenset(c.key for c in columns))
        raw = _frame(sheets[name], columns, fname(name), sname(name) or name, must)
        return _coerce(raw, columns, fname(name), sname(name) or name)

    sn = found["schools"]
    assert sn is not None
    schools = load("schools", SCHOOL_COLUMNS + local_school_columns(rules))
    if schools.empty:
        raise InputError("schools 表没有学校", file=fname(sn), sheet=sname(sn) or sn)
    check_schools(schools, fname(sn), sname(sn) or sn)
    classes = rooms = None
    if found["classes"]:
        cn = found["classes"]
        classes = load("classes", CLASS_COLUMNS)
        check_children(classes, schools, fname(cn), sname(cn) or cn, stage_col=True)
        classes["stage"] = classes["stage"].map(STAGE_NAMES)
        check_class_counts(classes, schools, fname(cn), sname(cn) or cn)
    if found["rooms"]:
        rn = found["rooms"]
        rooms = load("rooms", ROOM_COLUMNS)
        check_children(rooms, schools, fname(rn), sname(rn) or rn, stage_col=False)
        zero = rooms["area"].to_numpy() <= 0
        if zero.any():
            i = int(np.argmax(zero))
            raise InputError("专用教室面积应大于 0", file=fname(rn), sheet=sname(rn) or rn,
                             row=int(rooms["_row"].iloc[i]), column=label(rooms, "area"))
    kn = found["county"]
    assert kn is not None
    county, county_rows = county_sheet(sheets[kn], fname(kn), sname(kn) or kn, local_county_keys(rules))
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


