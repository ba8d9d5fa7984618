"""Exports a bureau reads (issue 11, item 6): the responses of a round with Chinese headers,
the school name beside its code, the question text as item headers, Chinese group names,
Beijing time and 是/否 flags (CSV, XLSX), and an SPSS .sav file with variable and value labels.

Built from the machine export (CONTRACTS.md §3, ``responses_frame``), which stays the CLI
default; columns added there later and not known here keep their own name. Every string
cell of CSV/XLSX goes through ``evaluator.cells.neutralise``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from evaluator.cells import neutralise
from evaluator.groups import GROUPS
from evaluator.questionnaire import Catalogue
from survey.exports import responses_frame
from survey.models import SurveyRound

BEIJING = "Asia/Shanghai"
# machine column -> Chinese header
HEADERS = {
    "response_id": "回答编号",
    "group": "调查对象",
    "school_code": "学校代码",
    "school_name": "学校名称",
    "submitted_at": "提交时间（北京时间）",
    "duration_seconds": "用时（秒）",
    "instrument": "问卷版本",
    "flag_speeder": "作答过快",
    "flag_straightline_fast": "快速且全部同一答案",
    "integrity_flags": "可疑情况",
}
YES_NO = {True: "是", False: "否"}


def _item_titles(catalogue: Catalogue) -> dict[str, str]:
    titles: dict[str, str] = {}
    for q in catalogue.questionnaires:
        for it in q.items:
            titles.setdefault(it.id, f"{it.id} {it.text}")
    return titles


def _instrument_names(catalogue: Catalogue) -> dict[str, str]:
    return {f"{q.id}.v{q.version}": f"{q.title}（第 {q.version} 版）" for q in catalogue.questionnaires}


def labelled_frame(rnd: SurveyRound, catalogue: Catalogue) -> pd.DataFrame:
    """The responses of ``rnd`` as a bureau reads them (one row per response)."""
    machine = responses_frame(rnd, catalogue)
    names = {s.code: s.name for s in rnd.schools}
    titles = _item_titles(catalogue)
    instruments = _instrument_names(catalogue)
    out = pd.DataFrame(index=machine.index)
    for col in machine.columns:
        values = machine[col]
        if col == "group":
            values = values.map(lambda g: GROUPS[g].label if g in GROUPS else g)
        elif col == "submitted_at":
            values = pd.to_datetime(values, utc=True).dt.tz_convert(BEIJING).dt.strftime("%Y-%m-%d %H:%M:%S") \
                if len(values) else values
        elif col == "instrument":
            values = values.map(lambda v: instruments.get(v, v))
        elif values.dtype == bool or col.startswith("flag_"):
            values = values.map(lambda v: YES_NO.get(bool(v), "") if pd.notna(v) else "")
        out[HEADERS.get(col) or titles.get(col) or col] = values
        if col == "school_code":
            out[HEADERS["school_name"]] = machine[col].map(lambda c: names.get(c, "") if c else "全县（不分学校）")
    first = [HEADERS[k] for k in ("response_id", "group", "school_code", "school_name", "submitted_at")]
    return out[[*first, *[c for c in out.columns if c not in first]]]


def _neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(neutralise).rename(columns=neutralise)


def write_table(frame: pd.DataFrame, out: BinaryIO, fmt: str, *, sheet: str) -> None:
    """CSV (UTF-8 with BOM, which Excel opens as Chinese) or XLSX, string cells neutralised."""
    safe = _neutralised(frame)
    if fmt == "csv":
        out.write(safe.to_csv(index=False).encode("utf-8-sig"))
    else:
        with pd.ExcelWriter(out, engine="openpyxl") as xw:
            safe.to_excel(xw, index=False, sheet_name=sheet)
            ws = xw.sheets[sheet]
            ws.freeze_panes = "A2"
            for idx, col in enumerate(safe.columns, start=1):
                width = min(40, max(8, len(str(col)) * 2 if any(ord(ch) > 127 for ch in str(col)) else len(str(col))))
                ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].width = width


def write_sav(rnd: SurveyRound, catalogue: Catalogue, out: BinaryIO) -> None:
    """SPSS .sav: machine variable names (SPSS needs short ASCII names), Chinese variable
    labels, answers coded 1..k in scale order with the scale labels as value labels (不了解, the
    last label, is declared user-missing so SPSS's ordinal statistics leave it out), groups
    coded in the national order with their Chinese names."""
    import pyreadstat

    machine = responses_frame(rnd, catalogue)
    names = {s.code: s.name for s in rnd.schools}
    titles = _item_titles(catalogue)
    scale = list(catalogue.questionnaires[0].scale)
    group_codes = {key: i for i, key in enumerate(GROUPS, start=1)}
    df = pd.DataFrame({
        "response_id": machine["response_id"].astype("float64"),
        "group": machine["group"].map(group_codes).astype("float64"),
        "school_code": machine["school_code"].astype(str),
        "school_name": machine["school_code"].map(lambda c: names.get(c, "") if c else "全县（不分学校）").astype(str),
        "submitted_at": (pd.to_datetime(machine["submitted_at"], utc=True).dt.tz_convert(BEIJING)
                         .dt.strftime("%Y-%m-%d %H:%M:%S") if len(machine) else machine["submitted_at"]).astype(str),
        "duration_seconds": machine["duration_seconds"].astype("float64"),
    })
    labels = {"response_id": HEADERS["response_id"], "group": HEADERS["group"], "school_code": HEADERS["school_code"],
              "school_name": HEADERS["school_name"], "submitted_at": HEADERS["submitted_at"],
              "duration_seconds": HEADERS["duration_seconds"]}
    value_labels: dict[str, dict[float, str]] = {"group": {float(i): GROUPS[k].label for k, i in group_codes.items()}}
    item_cols = [c for c in machine.columns if c in titles]
    codes = {label: float(i) for i, label in enumerate(scale, start=1)}
    for col in item_cols:
        df[col] = machine[col].map(lambda v: codes.get(v, float("nan")) if isinstance(v, str) else float("nan"))
        labels[col] = titles[col]
        value_labels[col] = {v: k for k, v in codes.items()}
    for col in machine.columns:
        if col.startswith("flag_"):
            df[col] = machine[col].astype(bool).astype("float64")
            labels[col] = HEADERS.get(col, col)
            value_labels[col] = {1.0: "是", 0.0: "否"}
    fd, tmp = tempfile.mkstemp(suffix=".sav")
    os.close(fd)
    try:
        pyreadstat.write_sav(df, tmp, file_label=rnd.name[:60], column_labels=labels,
                             variable_value_labels=value_labels,
                             missing_ranges={c: [float(len(scale))] for c in item_cols},
                             variable_measure={c: "ordinal" for c in item_cols} | {"group": "nominal"})
        out.write(Path(tmp).read_bytes())
    finally:
        os.unlink(tmp)
