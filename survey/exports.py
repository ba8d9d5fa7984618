"""Read-only views of a round: entry links, progress, and responses in CONTRACTS.md §3 format."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select

from evaluator.cells import neutralise, neutralise_row
from evaluator.groups import GROUPS
from evaluator.questionnaire import Catalogue
from survey.db import db
from survey.models import EntryLink, Response, School, SurveyRound


def link_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/s/{code}"


def links_table(rnd: SurveyRound, base_url: str) -> list[dict[str, str]]:
    """Rows of `round links`: school_code, school_name, group, url (school order, then county groups)."""
    links = db.session.scalars(
        select(EntryLink).where(EntryLink.round_id == rnd.id).outerjoin(School, EntryLink.school_id == School.id)
        .order_by(School.code.is_(None), School.code, EntryLink.id)
    )
    return [
        {
            "school_code": ln.school.code if ln.school else "",
            "school_name": ln.school.name if ln.school else "",
            "group": ln.group,
            "url": link_url(base_url, ln.code),
            "code": ln.code,
        }
        for ln in links
    ]


LINKS_HEADER = ("school_code", "school_name", "group", "url")


def links_csv_text(rnd: SurveyRound, base_url: str) -> str:
    """The entry-link CSV (CONTRACTS.md §1 `round links`; the staff page's download is the same
    text): header ``school_code,school_name,group,url``, ``\n`` line ends, cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LINKS_HEADER)
    for row in links_table(rnd, base_url):
        writer.writerow(neutralise_row(row[k] for k in LINKS_HEADER))
    return out.getvalue()


@dataclass(frozen=True)
class ProgressRow:
    school_code: str
    school_name: str
    cells: dict[str, tuple[int, int]]  # group -> (responses taking a quota place, quota)
    stored: dict[str, int] | None = None  # group -> every stored response, speeders included


@dataclass(frozen=True)
class Progress:
    rows: list[ProgressRow]  # schools, then one row "全县" for county-level groups
    groups: list[str]
    totals: dict[str, tuple[int, int]]
    total: tuple[int, int]


def progress(rnd: SurveyRound) -> Progress:
    """Responses against quota per school × group, from the links' counters (one query)."""
    rows: dict[int | None, dict[str, tuple[int, int]]] = defaultdict(dict)
    schools = {s.id: s for s in rnd.schools}
    stored: dict[int | None, dict[str, int]] = defaultdict(dict)
    counts = dict(db.session.execute(select(Response.link_id, func.count(Response.id))
                                     .where(Response.round_id == rnd.id).group_by(Response.link_id)).all())
    for ln in db.session.scalars(select(EntryLink).where(EntryLink.round_id == rnd.id)):
        rows[ln.school_id][ln.group] = (ln.responses_count, ln.quota)
        stored[ln.school_id][ln.group] = counts.get(ln.id, 0)
    groups = list(GROUPS)
    out = [
        ProgressRow(s.code, s.name, rows.get(s.id, {}), stored.get(s.id, {}))
        for s in sorted(schools.values(), key=lambda s: s.code)
    ]
    if None in rows:
        out.append(ProgressRow("", "全县（不分学校）", rows[None], stored[None]))
    totals = {g: (sum(r.cells.get(g, (0, 0))[0] for r in out), sum(r.cells.get(g, (0, 0))[1] for r in out))
              for g in groups}
    total = (sum(v[0] for v in totals.values()), sum(v[1] for v in totals.values()))
    return Progress(out, groups, totals, total)


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
    round's rule-set thresholds (DOMAIN.md §6.1), so the export flags exactly what the score drops."""
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
    if fmt not in (*EXPORT_FORMATS, "sav"):
        raise ValueError(fmt)
    buf = io.BytesIO()
    if fmt == "sav" or labels == "zh":
        from survey.exports_zh import labelled_frame, write_sav, write_table

        if fmt == "sav":
            write_sav(rnd, catalogue, buf)
        else:
            write_table(labelled_frame(rnd, catalogue), buf, fmt, sheet="回答")
        return buf.getvalue()
    frame = spreadsheet_safe(responses_frame(rnd, catalogue))
    if fmt == "csv":
        buf.write(frame.to_csv(index=False).encode("utf-8-sig"))
    else:
        frame.to_excel(buf, index=False, sheet_name="responses", engine="openpyxl")
    return buf.getvalue()
