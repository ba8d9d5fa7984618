"""Today's exports before streaming (main 142cb97, survey/exports.py and survey/exports_zh.py,
the CSV/XLSX export functions; the SPSS writer did not change but for its input, the frame), kept as the oracle the streamed service must match byte for byte
(tests/survey/test_exports_stream.py) and as the in-memory baseline of bench/export.py."""

from __future__ import annotations

import io
from typing import BinaryIO

import pandas as pd
from sqlalchemy import select

from evaluator.cells import neutralise
from evaluator.groups import GROUPS
from evaluator.questionnaire import Catalogue
from survey.db import db
from survey.models import Response, School, SurveyRound

# the labels themselves are not what changed: taken from the service
from survey.services.exports_zh import HEADERS, _instrument_names, _item_titles

FLAG_COLUMNS = ("flag_speeder", "flag_straightline_fast", "integrity_flags")
META_COLUMNS = ("group", "school_code", "response_id", "submitted_at", "duration_seconds", "instrument")


def responses_frame(rnd: SurveyRound, catalogue: Catalogue, *, flags: bool = True) -> pd.DataFrame:
    """All responses of a round: group, school_code, response_id, submitted_at (ISO 8601, UTC),
    duration_seconds, instrument (id.vN), one column per item id (answer label, empty when not
    answered), and quality flags computed with the round's rule-set thresholds."""
    item_ids: list[str] = []
    for q in catalogue.questionnaires:
        item_ids += [it.id for it in q.items if it.id not in item_ids]
    stmt = (
        select(Response, School.code)
        .outerjoin(School, Response.school_id == School.id)
        .where(Response.round_id == rnd.id)
        .order_by(Response.id)
    )
    records = []
    for resp, school_code in db.session.execute(stmt):
        rec = {
            "group": resp.group,
            "school_code": school_code or "",
            "response_id": resp.id,
            "submitted_at": resp.submitted_at.isoformat(timespec="seconds"),
            "duration_seconds": round(resp.duration_seconds, 1),
            "instrument": f"{resp.instrument}.v{resp.instrument_version}",
        }
        rec.update({i: resp.answers.get(i) for i in item_ids})
        records.append(rec)
    frame = pd.DataFrame.from_records(records, columns=[*META_COLUMNS, *item_ids])
    used = [i for i in item_ids if frame[i].notna().any()] if len(frame) else item_ids
    frame = frame[[*META_COLUMNS, *used]]
    if flags:
        from survey.integrity.report import round_integrity

        frame = add_quality_flags(frame, rnd.ruleset, used)
        report = round_integrity(rnd)[0]  # CONTRACTS §5: the kinds concerning each response, empty when none
        frame["integrity_flags"] = [report.flags_of(i) for i in frame["response_id"]]
    return frame


def add_quality_flags(frame: pd.DataFrame, ruleset: str, items: list[str]) -> pd.DataFrame:
    """Speeders and fast straight-liners, by the estimator's own coding and filters with the
    round's rule-set thresholds (docs/rules.md §6.1), so the export flags exactly what the score drops."""
    from evaluator.recognition import encode
    from evaluator.recognition.filters import quality_flags
    from survey.services.rounds import recognition_rules

    rules = recognition_rules(ruleset)
    frame = frame.copy()
    if frame.empty:
        frame["flag_speeder"] = pd.Series(dtype=bool)
        frame["flag_straightline_fast"] = pd.Series(dtype=bool)
        return frame
    coded = frame[["group", "school_code", "duration_seconds", *items]].copy()
    coded["school_code"] = coded["school_code"].where(coded["school_code"] != "", None)
    _, _, _, codes, _, duration = encode(coded, rules)
    flags = quality_flags((codes > 0).sum(axis=1), codes, duration, rules)
    frame["flag_speeder"] = flags.speeder
    frame["flag_straightline_fast"] = flags.straightliner_fast
    return frame


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell passed through ``evaluator.cells.neutralise`` (for CSV/XLSX files)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(neutralise)
    return out


EXPORT_FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_bytes(rnd: SurveyRound, catalogue: Catalogue, fmt: str, labels: str | None = None) -> bytes:
    """All responses of a round as a file (`round export` and the staff page's downloads: one
    service). Default: the machine format (CONTRACTS §3 plus export columns), ``responses_frame``
    with every text cell neutralised; CSV is UTF-8 with a byte-order mark (Excel), XLSX one sheet
    ``responses``. ``labels="zh"``: the form a bureau reads (survey.exports_zh); ``fmt="sav"``:
    SPSS with variable and value labels."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(fmt)
    buf = io.BytesIO()
    if labels == "zh":
        write_table(labelled_frame(rnd, catalogue), buf, fmt, sheet="回答")
        return buf.getvalue()
    frame = spreadsheet_safe(responses_frame(rnd, catalogue))
    if fmt == "csv":
        buf.write(frame.to_csv(index=False).encode("utf-8-sig"))
    else:
        frame.to_excel(buf, index=False, sheet_name="responses", engine="openpyxl")
    return buf.getvalue()


BEIJING = "Asia/Shanghai"
YES_NO = {True: "是", False: "否"}


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
