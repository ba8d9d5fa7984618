"""Exports a bureau reads (issue 11, item 6): the responses of a round with Chinese headers,
the school name beside its code, the question text as item headers, Chinese group names,
Beijing time and 是/否 flags (CSV, XLSX), and an SPSS .sav file with variable and value labels.

Built row by row from the machine export (``survey.services.exports.machine_table``, which
stays the CLI default), so CSV and XLSX stream like it; columns added there later and not
known here keep their own name. Every string cell of CSV/XLSX goes through
``evaluator.cells.neutralise`` (in the writers of survey.services.exports).

The .sav file is written from one in-memory frame: pyreadstat has no incremental writer, so
rounds above ``EXPORT_SAV_MAX_ROWS`` responses are refused (``refuse_large_sav``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from evaluator.groups import GROUPS
from evaluator.questionnaire import Catalogue
from survey.models import SurveyRound
from survey.services.exports import FLAG_COLUMNS, Table, machine_table, responses_frame

BEIJING = "Asia/Shanghai"
COUNTY_LEVEL = "全县（不分学校）"
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
FIRST = ("response_id", "group", "school_code", "school_name", "submitted_at")
YES_NO = {True: "是", False: "否"}


def _item_titles(catalogue: Catalogue) -> dict[str, str]:
    titles: dict[str, str] = {}
    for q in catalogue.questionnaires:
        for it in q.items:
            titles.setdefault(it.id, f"{it.id} {it.text}")
    return titles


def _instrument_names(catalogue: Catalogue) -> dict[str, str]:
    return {f"{q.id}.v{q.version}": f"{q.title}（第 {q.version} 版）" for q in catalogue.questionnaires}


def beijing_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(BEIJING)).strftime("%Y-%m-%d %H:%M:%S")


def labelled_table(rnd: SurveyRound, catalogue: Catalogue) -> Table:
    """The responses of ``rnd`` as a bureau reads them (one row per response): response id,
    group, school code and name, Beijing time first, then the other machine columns."""
    machine = machine_table(rnd, catalogue)
    names = {s.code: s.name for s in rnd.schools}
    titles = _item_titles(catalogue)
    instruments = _instrument_names(catalogue)
    cols = list(machine.columns)
    at = cols.index("school_code") + 1
    order = [*FIRST, *[c for c in [*cols[:at], "school_name", *cols[at:]] if c not in FIRST]]
    headers = [HEADERS.get(c) or titles.get(c) or c for c in order]
    pos = {c: i for i, c in enumerate(cols)}

    def value(col: str, row: tuple) -> Any:
        if col == "school_name":
            code = row[pos["school_code"]]
            return names.get(code, "") if code else COUNTY_LEVEL
        v = row[pos[col]]
        if col == "group":
            return GROUPS[v].label if v in GROUPS else v
        if col == "submitted_at":
            return beijing_time(v)
        if col == "instrument":
            return instruments.get(v, v)
        if col.startswith("flag_") or isinstance(v, bool):
            return "" if v is None else YES_NO[bool(v)]
        return v

    def rows() -> Iterator[tuple]:
        for row in machine.rows:
            yield tuple(value(c, row) for c in order)

    return Table(headers, rows())


def zh_sheet_setup(ws: Any, columns: list[str]) -> None:
    """Header row frozen; columns as wide as their (Chinese) header, 8 to 40 characters."""
    from openpyxl.utils import get_column_letter

    from evaluator.cells import neutralise

    ws.freeze_panes = "A2"
    for idx, col in enumerate(columns, start=1):
        name = str(neutralise(col))
        width = min(40, max(8, len(name) * 2 if any(ord(ch) > 127 for ch in name) else len(name)))
        ws.column_dimensions[get_column_letter(idx)].width = width


def refuse_large_sav(rnd: SurveyRound) -> None:
    """A ``ServiceError`` naming the limit when ``rnd`` has more responses than the .sav file
    may hold (Config ``EXPORT_SAV_MAX_ROWS``: it is built in memory)."""
    from flask import current_app
    from sqlalchemy import func, select

    from survey.db import db
    from survey.i18n import _
    from survey.models import Response
    from survey.services import ServiceError

    limit = current_app.config["EXPORT_SAV_MAX_ROWS"]
    count = db.session.scalar(select(func.count()).select_from(Response).where(Response.round_id == rnd.id))
    if count > limit:
        raise ServiceError(_("本轮共有 %(count)s 条回答，超过 SPSS 文件（.sav）的上限 %(limit)s 条"
                             "（SPSS 文件须在内存中整体生成，上限由 EXPORT_SAV_MAX_ROWS 设置）。"
                             "请导出 CSV 或 XLSX 文件，二者不受条数限制。", count=count, limit=limit))


def write_sav(rnd: SurveyRound, catalogue: Catalogue, path: str) -> None:
    """SPSS .sav at ``path``: machine variable names (SPSS needs short ASCII names), Chinese
    variable labels, answers coded 1..k in scale order with the scale labels as value labels
    (不了解, the last label, is declared user-missing so SPSS's ordinal statistics leave it out),
    groups coded in the national order with their Chinese names. In memory (one frame)."""
    import pandas as pd
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
        "school_name": machine["school_code"].map(lambda c: names.get(c, "") if c else COUNTY_LEVEL).astype(str),
        "submitted_at": machine["submitted_at"].map(beijing_time).astype(str),
        "duration_seconds": machine["duration_seconds"].astype("float64"),
    })
    labels = {k: HEADERS[k] for k in ("response_id", "group", "school_code", "school_name", "submitted_at",
                                      "duration_seconds")}
    value_labels: dict[str, dict[float, str]] = {"group": {float(i): GROUPS[k].label for k, i in group_codes.items()}}
    item_cols = [c for c in machine.columns if c in titles]
    codes = {label: float(i) for i, label in enumerate(scale, start=1)}
    for col in item_cols:
        df[col] = machine[col].map(lambda v: codes.get(v, math.nan) if isinstance(v, str) else math.nan)
        labels[col] = titles[col]
        value_labels[col] = {v: k for k, v in codes.items()}
    for col in FLAG_COLUMNS:
        if col.startswith("flag_"):
            df[col] = machine[col].astype(bool).astype("float64")
            labels[col] = HEADERS.get(col, col)
            value_labels[col] = {1.0: "是", 0.0: "否"}
    pyreadstat.write_sav(df, path, file_label=rnd.name[:60], column_labels=labels,
                         variable_value_labels=value_labels,
                         missing_ranges={c: [float(len(scale))] for c in item_cols},
                         variable_measure={c: "ordinal" for c in item_cols} | {"group": "nominal"})
