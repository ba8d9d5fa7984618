"""Data collection (填报) services: open a data round, save a school's sheet and the county
sheet (with the audit trail), plausibility flags, return, export to the workbook of
docs/interfaces.md#data-workbook and close the round into an evaluation. The forms' fields and
parsing are survey.datacollect.fields, evidence files survey.datacollect.evidence.

Explicit arguments (never ``request`` or ``g``); add and flush, never commit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import secrets
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from evaluator.cells import neutralise
from evaluator.checks import (
    Checks,
    Finding,
    check_county,
    check_school,
    load_checks,
    plausibility,
)
from evaluator.errors import InputError
from evaluator.questionnaire import Catalogue
from evaluator.roster import RosterSchool
from evaluator.rules import available_rulesets
from evaluator.workbook import read_workbook, write_workbook
from evaluator.workbook.schema import (
    SCHOOL_COLUMNS,
    SHEETS,
    Workbook,
)
from survey.datacollect.audit import audit, checks_of
from survey.datacollect.evidence import (  # noqa: F401  (survey.datacollect.views uses them as svc.*)
    EVIDENCE_MIMETYPES,
    accept_evidence,
    add_evidence,
    evidence_inputs,
    evidence_item,
    round_evidence,
)
from survey.datacollect.fields import (  # noqa: F401  (survey.datacollect.views uses them as svc.*)
    EXPLANATION_MAX,
    FIXED,
    LEVELS,
    MONITORED,
    SheetInput,
    choices,
    county_fields,
    finding_key,
    flag_key,
    other_stage_zero,
    parse_sheet_form,
    parse_value,
    school_fields,
)
from survey.datacollect.models import DataChange, DataFlag, DataRound, SchoolSheet
from survey.db import db, savepoint
from survey.i18n import _
from survey.models import County, Evaluation, User, utcnow
from survey.services import ServiceError
from survey.services.evaluations import run_evaluation, safe_filename

SCHOOL_ACTOR = "学校填报链接"
COMMENT_MAX = 1000


def new_token() -> str:
    """A school's link key: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


# ----------------------------------------------------------------------------- rounds
def visible_data_rounds(user: User) -> list[DataRound]:
    query = select(DataRound).order_by(DataRound.year.desc(), DataRound.id.desc())
    ids = user.county_ids()
    if ids is not None:
        query = query.where(DataRound.county_id.in_(ids or {-1}))
    return list(db.session.scalars(query))


def read_previous_workbook(data: bytes, filename: str) -> Workbook | None:
    """Last year's CONTRACTS §2 workbook, when the uploaded file is one (it has a county
    sheet); None for a plain roster. Raises InputError naming file, sheet, row and column."""
    if Path(filename).suffix.lower() != ".xlsx":
        return None
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True)
        names = list(book.sheetnames)
        book.close()
    except Exception:  # not an XLSX file: the roster reader says so in its own words
        return None
    wanted = {n.lower() for n in SHEETS["county"]}
    if not any(n.strip().lower() in wanted for n in names):
        return None
    with tempfile.TemporaryDirectory(prefix="datacollect-") as tmp:
        path = Path(tmp) / safe_filename(filename, "data.xlsx")
        path.write_bytes(data)
        return read_workbook(path)


def _plain(value: Any, kind: str) -> Any:
    """A workbook cell as stored in a sheet's JSON (None for missing, ints for counts)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "yesno":
        return bool(value)
    if kind in ("count", "year"):
        return int(value)
    if kind == "number":
        return float(value)
    return str(value)


def _sheets_from_workbook(wb: Workbook) -> list[dict[str, Any]]:
    kinds = {c.key: c.kind for c in SCHOOL_COLUMNS}
    classes: dict[str, list[dict[str, Any]]] = {}
    if wb.classes is not None:
        for r in wb.classes.to_dict("records"):
            classes.setdefault(str(r["school_code"]), []).append(
                {"stage": r["stage"], "grade": int(r["grade"]), "students": int(r["students"])})
    rooms: dict[str, list[dict[str, Any]]] = {}
    if wb.rooms is not None:
        for r in wb.rooms.to_dict("records"):
            rooms.setdefault(str(r["school_code"]), []).append({"room_type": r["room_type"], "area": float(r["area"])})
    out = []
    for r in wb.schools.to_dict("records"):
        code = str(r["school_code"])
        values = {k: _plain(r.get(k), kind) for k, kind in kinds.items() if k not in FIXED}
        out.append({"code": code, "name": str(r["school_name"]), "school_type": str(r["school_type"]),
                    "values": values, "classes": classes.get(code, []), "rooms": rooms.get(code, [])})
    return out


@savepoint()
def open_data_round(*, county: County, year: int, name: str, user: User | None,
                    roster: Sequence[RosterSchool] | None = None, previous: DataRound | None = None,
                    previous_workbook: Workbook | None = None,
                    deadline: datetime | None = None, ruleset: str = "national-2017",
                    checks: str = "national-2017") -> DataRound:
    """A data round with one sheet (and link) per school, prefilled from the roster's
    enrolment and teachers, or from the previous round of the county (last year's values
    kept as the history that plausibility compares with)."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InputError(_("请填写名称（不超过 200 字）"), field="name")
    if not 2000 <= year <= 2100:
        raise InputError(_("年份应在 2000–2100 之间"), field="year")
    if ruleset not in available_rulesets():
        raise InputError(_("未知的规则集"), field="ruleset")
    load_checks(checks)
    if sum(x is not None for x in (roster, previous, previous_workbook)) != 1:
        raise ServiceError(_("请上传学校名单或上一年的数据表，或选择上一年的填报轮次（三选一）"))
    if previous_workbook is not None:
        code = str(previous_workbook.county_value("county_code") or "").strip()
        if code != county.code:
            raise InputError(_("数据表 county 工作表的 county_code（%(code)s）与所选县（%(county)s）不一致",
                               code=code or _("空"), county=county.code),
                             file=previous_workbook.source, sheet="county", column="value")
    if previous is not None and previous.county_id != county.id:
        raise ServiceError(_("上一年的填报轮次不属于该县"))
    exists = db.session.scalar(select(DataRound).where(DataRound.county_id == county.id, DataRound.year == year,
                                                       DataRound.name == name))
    if exists is not None:
        raise ServiceError(_("%(county)s %(year)s 年已有名为“%(name)s”的填报轮次", county=county.name, year=year, name=name))
    rnd = DataRound(county=county, year=year, name=name, ruleset=ruleset, checks=checks, deadline=deadline,
                    created_by=user, created_at=utcnow(), county_values={}, previous_id=previous.id if previous else None)
    db.session.add(rnd)
    if previous is not None:
        rnd.county_values = {k: v for k, v in (previous.county_values or {}).items()}
        for old in previous.sheets:
            db.session.add(SchoolSheet(round=rnd, code=old.code, name=old.name, school_type=old.school_type,
                                       token=new_token(), values=dict(old.values or {}),
                                       classes=list(old.classes or []), rooms=list(old.rooms or []),
                                       previous=dict(old.values or {}), state="empty"))
    elif previous_workbook is not None:
        rnd.county_values = {k: v for k, v in previous_workbook.county.items()
                             if k not in ("county_code", "county_name", "assessment_year")}
        for row in _sheets_from_workbook(previous_workbook):
            db.session.add(SchoolSheet(round=rnd, code=row["code"], name=row["name"], school_type=row["school_type"],
                                       token=new_token(), values=dict(row["values"]), classes=row["classes"],
                                       rooms=row["rooms"], previous=dict(row["values"]), state="empty"))
    else:
        for s in roster or ():
            values: dict[str, Any] = {"students_primary": s.students_primary, "students_junior": s.students_junior,
                                      "students_senior": s.students_senior}
            values.update(other_stage_zero(s.school_type))
            db.session.add(SchoolSheet(round=rnd, code=s.school_code, name=s.school_name, school_type=s.school_type,
                                       token=new_token(), values=values, classes=[], rooms=[], previous=None,
                                       state="empty"))
    db.session.flush()
    return rnd


def sheet_by_token(token: str) -> SchoolSheet | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(SchoolSheet).where(SchoolSheet.token == token))


def is_late(sheet: SchoolSheet, now: datetime | None = None) -> bool:
    deadline = sheet.round.deadline
    return deadline is not None and sheet.state != "submitted" and (now or utcnow()) > deadline


# ----------------------------------------------------------------------------- saving


def _peers(sheet: SchoolSheet) -> list[Mapping[str, Any]]:
    return [s.values or {} for s in sheet.round.sheets if s.id != sheet.id and s.state != "empty"]


def current_findings(sheet: SchoolSheet, checks: Checks | None = None) -> tuple[Finding, ...]:
    checks = checks or checks_of(sheet.round)
    return check_school(checks, sheet.school_type, sheet.values or {}, sheet.classes or [], sheet.rooms or [])


def open_flags(sheet: SchoolSheet) -> list[DataFlag]:
    return list(db.session.scalars(select(DataFlag).where(DataFlag.sheet_id == sheet.id, DataFlag.cleared_at.is_(None))
                                   .order_by(DataFlag.id)))


def _sync_flags(sheet: SchoolSheet, checks: Checks, now: datetime) -> list[DataFlag]:
    """Raise new flags, keep unchanged ones (with their explanation), clear the ones that no
    longer apply (kept, with the time they cleared)."""
    wanted = {(f.rule, f.field): f for f in plausibility(checks, sheet.values or {}, sheet.previous, _peers(sheet))}
    kept: list[DataFlag] = []
    for flag in open_flags(sheet):
        new = wanted.get((flag.rule, flag.field))
        if new is not None and math.isclose(float(flag.value), new.value, rel_tol=1e-9):
            kept.append(flag)
            del wanted[(flag.rule, flag.field)]
        else:
            flag.cleared_at = now
    for f in wanted.values():
        flag = DataFlag(sheet=sheet, rule=f.rule, field=f.field, message=f.message, value=f.value,
                        previous=f.previous, raised_at=now)
        db.session.add(flag)
        kept.append(flag)
    db.session.flush()
    return kept


@dataclass(frozen=True)
class SaveResult:
    findings: tuple[Finding, ...]
    flags: tuple[DataFlag, ...]
    submitted: bool


class SubmitRefused(ServiceError):
    def __init__(self, message: str, findings: tuple[Finding, ...] = (), flags: tuple[DataFlag, ...] = ()):
        super().__init__(message)
        self.findings, self.flags = findings, flags


@savepoint()
def save_sheet(sheet: SchoolSheet, data: SheetInput, *, submit: bool, actor: str = SCHOOL_ACTOR,
               user: User | None = None, now: datetime | None = None) -> SaveResult:
    """Save a school's sheet as a draft, or submit it.

    Every changed value is audited (old → new, who, when). A submission is refused
    (``SubmitRefused``; the caller rolls back) while a cross-field rule fails or a
    plausibility flag is neither explained nor overridden."""
    now = now or utcnow()
    rnd = sheet.round
    if rnd.closed_at is not None:
        raise ServiceError(_("本次填报已结束，数据不能再修改"))
    if sheet.state == "submitted" and user is None:
        raise ServiceError(_("数据已提交；如需修改，请联系教育局退回"))
    if data.errors:
        raise ServiceError(_("表单中有错误，请按提示修改"))
    checks = checks_of(rnd)
    action = "submit" if submit else "draft"
    old_values = dict(sheet.values or {})
    for key, value in data.values.items():
        if old_values.get(key) != value:
            audit(rnd, sheet, key, old_values.get(key), value, actor=actor, user=user, action=action, now=now)
    if (sheet.classes or []) != data.classes:
        audit(rnd, sheet, "classes", sheet.classes, data.classes, actor=actor, user=user, action=action, now=now)
    if (sheet.rooms or []) != data.rooms:
        audit(rnd, sheet, "rooms", sheet.rooms, data.rooms, actor=actor, user=user, action=action, now=now)
    sheet.values, sheet.classes, sheet.rooms = dict(data.values), list(data.classes), list(data.rooms)
    sheet.saved_at = now
    if sheet.state in ("empty",):
        sheet.state = "draft"
    db.session.flush()
    flags = _sync_flags(sheet, checks, now)
    for flag in flags:
        text = data.explanations.get(flag_key(flag))
        if text and text != flag.explanation:
            audit(rnd, sheet, f"flag:{flag.field}", flag.explanation, text, actor=actor, user=user, action="flag",
                   now=now)
            flag.explanation, flag.explained_at = text, now
    findings = check_school(checks, sheet.school_type, sheet.values, sheet.classes, sheet.rooms)
    if submit and checks.complete_on_submit:
        findings += tuple(Finding("complete_on_submit", c.key, "提交前请填写此项（没有的填 0）")
                          for c in school_fields(sheet.school_type) if c.required and sheet.values.get(c.key) is None)
    if submit:
        unsettled = tuple(f for f in flags if not f.settled)
        if findings or unsettled:
            raise SubmitRefused("未能提交：请先修改标红的错误，并对需要核实的数据填写说明", findings, unsettled)
        sheet.state, sheet.submitted_at = "submitted", now
        sheet.return_comment = None
    elif sheet.state == "submitted":
        sheet.state = "draft"
    db.session.flush()
    return SaveResult(findings=findings, flags=tuple(flags), submitted=submit)


def return_sheet(sheet: SchoolSheet, comment: str, *, user: User, now: datetime | None = None) -> None:
    """Return a submitted sheet to the school for correction, with a comment it sees."""
    now = now or utcnow()
    comment = (comment or "").strip()
    if sheet.round.closed_at is not None:
        raise ServiceError(_("本次填报已结束"))
    if sheet.state != "submitted":
        raise ServiceError(_("%(school)s尚未提交，无需退回", school=sheet.name))
    if not comment or len(comment) > COMMENT_MAX:
        raise ServiceError(_("请填写退回原因（不超过 %(n)s 字）", n=COMMENT_MAX))
    sheet.state, sheet.returned_at, sheet.return_comment = "returned", now, comment
    audit(sheet.round, sheet, "state", "submitted", "returned", actor=user.username, user=user, action="return",
           now=now)
    db.session.flush()


def override_flag(flag: DataFlag, note: str, *, user: User, now: datetime | None = None) -> None:
    """Staff accept a flagged value (the school's explanation, if any, is kept beside it)."""
    now = now or utcnow()
    note = (note or "").strip()
    if not note or len(note) > EXPLANATION_MAX:
        raise ServiceError(_("请填写核实意见（不超过 %(n)s 字）", n=EXPLANATION_MAX))
    if flag.sheet.round.closed_at is not None:
        raise ServiceError(_("本次填报已结束"))
    flag.override_note, flag.overridden_at, flag.overridden_by = note, now, user
    audit(flag.sheet.round, flag.sheet, f"flag:{flag.field}", None, note, actor=user.username, user=user,
           action="override", now=now)
    db.session.flush()


def parse_county_form(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for k in county_fields():
        opts = ("是", "否") if k.kind == "yesno" else ()
        kind = "number" if k.kind == "number" else k.kind
        try:
            values[k.key] = parse_value(form.get(k.key), kind, opts)
        except ValueError as exc:
            errors[k.key] = str(exc)
    return values, errors


@savepoint()
def save_county(rnd: DataRound, values: Mapping[str, Any], *, user: User, now: datetime | None = None) -> tuple[Finding, ...]:
    """Replace the county sheet (audited per key). Raises ServiceError with the findings' text
    when a part exceeds its whole (nothing saved)."""
    now = now or utcnow()
    if rnd.closed_at is not None:
        raise ServiceError(_("本次填报已结束，数据不能再修改"))
    findings = check_county(checks_of(rnd), values)
    if findings:
        raise ServiceError("；".join(f.message for f in findings))
    old = dict(rnd.county_values or {})
    for key, value in values.items():
        if old.get(key) != value:
            audit(rnd, None, f"county.{key}", old.get(key), value, actor=user.username, user=user, action="county",
                   now=now)
    rnd.county_values = {**old, **values}
    db.session.flush()
    return findings


# ----------------------------------------------------------------------------- workbook
def round_frames(rnd: DataRound) -> dict[str, Any]:
    """The round as CONTRACTS §2 sheets (user text neutralised against spreadsheet formulas)."""
    schools, classes, rooms = [], [], []
    for s in rnd.sheets:
        row = {c.key: None for c in SCHOOL_COLUMNS}
        row.update(s.values or {})
        row.update(school_code=neutralise(s.code), school_name=neutralise(s.name), school_type=s.school_type)
        schools.append(row)
        for c in s.classes or []:
            classes.append({"school_code": neutralise(s.code), "stage": "小学" if c["stage"] == "primary" else "初中",
                            "grade": c["grade"], "students": c["students"]})
        for r in s.rooms or []:
            rooms.append({"school_code": neutralise(s.code), "room_type": r["room_type"], "area": r["area"]})
    county = {k: v for k, v in (rnd.county_values or {}).items() if v is not None}
    county.update(county_code=rnd.county.code, county_name=neutralise(rnd.county.name), assessment_year=rnd.year)
    cols = [c.key for c in SCHOOL_COLUMNS]
    return {"schools": pd.DataFrame(schools, columns=cols),
            "classes": pd.DataFrame(classes, columns=["school_code", "stage", "grade", "students"]),
            "rooms": pd.DataFrame(rooms, columns=["school_code", "room_type", "area"]),
            "county": county}


_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def workbook_bytes(rnd: DataRound) -> bytes:
    """The round as a §2 workbook, byte for byte reproducible: the same data give the same
    bytes (zip entry times and the document's created/modified stamps are fixed to the
    round's opening), so the export can be matched to the evaluation's stored input."""
    with tempfile.TemporaryDirectory(prefix="datacollect-") as tmp:
        raw = write_workbook(Path(tmp) / "data.xlsx", round_frames(rnd)).read_bytes()
    stamp = rnd.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>" + stamp + rb"\g<2>", data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def workbook_name(rnd: DataRound) -> str:
    return f"{rnd.county.code}_{rnd.year}_数据填报_{rnd.id}.xlsx"


@savepoint()
def close_data_round(rnd: DataRound, *, user: User, catalogue: Catalogue | None = None,
                     now: datetime | None = None) -> Evaluation:
    """Close the round and evaluate it directly: the §2 workbook built from the round is the
    evaluation's stored input (the same bytes the export gives), evidence files are listed
    among the report's inputs. Refused while a school has not submitted."""
    now = now or utcnow()
    if rnd.closed_at is not None:
        raise ServiceError(_("本次填报已经结束"))
    waiting = [s for s in rnd.sheets if s.state != "submitted"]
    if waiting:
        names = "、".join(f"{s.name}（{s.code}）" for s in waiting[:10])
        more = _("等 %(n)s 所学校", n=len(waiting)) if len(waiting) > 10 else ""
        raise ServiceError(_("还有学校未提交数据：%(names)s%(more)s", names=names, more=more))
    data = workbook_bytes(rnd)
    history_csv = audit_csv(rnd)
    n_changes = history_csv.count(b"\n") - 1
    extra = (*evidence_inputs(rnd), (f"数据填报 {rnd.id} 修改记录（{n_changes} 条，history.csv）",
                                     hashlib.sha256(history_csv).hexdigest()))
    evaluation = run_evaluation(user=user, workbook_name=workbook_name(rnd), workbook_bytes=data,
                                ruleset=rnd.ruleset, catalogue=catalogue, extra_inputs=extra)
    rnd.closed_at, rnd.closed_by_id, rnd.evaluation = now, user.id, evaluation
    audit(rnd, None, "state", "open", "closed", actor=user.username, user=user, action="close", now=now)
    db.session.flush()
    return evaluation


AUDIT_HEADER = ("时间（UTC）", "学校代码", "学校名称", "数据", "原值", "新值", "操作人", "操作")


def _audit_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return neutralise(json.dumps(value, ensure_ascii=False, sort_keys=True))
    if isinstance(value, bool):
        return "是" if value else "否"
    return neutralise(value)


def audit_csv(rnd: DataRound) -> bytes:
    """Every entered or changed value of the round (UTF-8 with BOM for Excel). Its sha256 at
    closing is among the evaluation's inputs, so the printed report pins the trail."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(AUDIT_HEADER)
    for c in history(rnd):
        if c.action == "close":
            continue
        w.writerow([c.at.astimezone(UTC).isoformat(timespec="microseconds"),
                    _audit_cell(c.sheet.code if c.sheet else ""), _audit_cell(c.sheet.name if c.sheet else "县级"),
                    _audit_cell(c.field), _audit_cell(c.old), _audit_cell(c.new), _audit_cell(c.actor), c.action])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def history(rnd: DataRound, sheet: SchoolSheet | None = None, field_name: str | None = None) -> list[DataChange]:
    query = select(DataChange).where(DataChange.round_id == rnd.id).order_by(DataChange.at, DataChange.id)
    if sheet is not None:
        query = query.where(DataChange.sheet_id == sheet.id)
    if field_name:
        query = query.where(DataChange.field == field_name)
    return list(db.session.scalars(query))
