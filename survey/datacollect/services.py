"""Data collection (填报) services: open a data round, parse and save a school's sheet and the
county sheet (with the audit trail), plausibility flags, return, evidence, export to the
CONTRACTS §2 workbook and close the round into an evaluation.

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
from dataclasses import dataclass, field
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
    school_stages,
)
from evaluator.errors import InputError
from evaluator.questionnaire import Catalogue
from evaluator.roster import RosterSchool
from evaluator.rules import available_rulesets
from evaluator.workbook import read_workbook, write_workbook
from evaluator.workbook.schema import (
    COUNTY_BY_KEY,
    COUNTY_KEYS,
    LOCALITIES,
    RATINGS,
    SCHOOL_COLUMNS,
    SHEETS,
    SUBJECT_NAMES,
    TYPE_STAGES,
    Column,
    CountyKey,
    Workbook,
)
from survey.datacollect.models import DataChange, DataFlag, DataRound, Evidence, SchoolSheet
from survey.db import db
from survey.models import County, Evaluation, User, utcnow
from survey.services import ServiceError
from survey.services.evaluations import run_evaluation, safe_filename

SCHOOL_ACTOR = "学校填报链接"
FIXED = ("school_code", "school_name", "school_type")  # from the roster: staff own them
STAGE_STEMS = ("students", "classes", "teachers", "qualified_teachers", "backbone_teachers", "pe_art_teachers")
MONITORED = ("chinese", "math", "science")  # subjects offered on the county form [D]
LEVELS = ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ")
COMMENT_MAX = 1000
EXPLANATION_MAX = 1000
# Magic numbers of the accepted evidence types: the extension must agree with the content.
_MAGIC = {
    "pdf": (b"%PDF-",), "png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"), "doc": (b"\xd0\xcf\x11\xe0",), "xls": (b"\xd0\xcf\x11\xe0",),
    "ppt": (b"\xd0\xcf\x11\xe0",), "docx": (b"PK\x03\x04",), "xlsx": (b"PK\x03\x04",), "pptx": (b"PK\x03\x04",),
}
EVIDENCE_MIMETYPES = {
    "pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "doc": "application/msword", "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_ITEM = re.compile(r"^(\d\.\d+)")


def new_token() -> str:
    """A school's link key: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def checks_of(rnd: DataRound) -> Checks:
    return load_checks(rnd.checks)


# ----------------------------------------------------------------------------- fields
def school_fields(school_type: str) -> list[Column]:
    """The schools-sheet columns a school of this type fills in (other stages are fixed at 0)."""
    stages = set(TYPE_STAGES.get(school_type, ()))
    out = []
    for c in SCHOOL_COLUMNS:
        if c.key in FIXED:
            continue
        stem, _, stage = c.key.rpartition("_")
        if stage in ("primary", "junior", "senior") and stem in STAGE_STEMS and stage not in stages:
            continue
        out.append(c)
    return out


def _other_stage_zero(school_type: str) -> dict[str, int]:
    stages = set(TYPE_STAGES.get(school_type, ()))
    out = {}
    for stage in ("primary", "junior"):
        if stage not in stages:
            for stem in STAGE_STEMS:
                out[f"{stem}_{stage}"] = 0
    if "senior" not in stages:
        out["students_senior"] = 0
    return out


def choices(c: Column) -> tuple[str, ...]:
    if c.kind == "yesno":
        return ("是", "否")
    if c.key == "locality":
        return LOCALITIES
    if c.key == "moral_education_rating":
        return RATINGS
    return c.choices


def county_fields() -> list[CountyKey]:
    """The county sheet's keys staff fill in (code, name and year come from the round)."""
    keys = [k for k in COUNTY_KEYS if k.key not in ("county_code", "county_name", "assessment_year")]
    for subject in MONITORED:
        zh = SUBJECT_NAMES[subject]
        keys.append(CountyKey(f"monitoring_{subject}_level", f"3.9 {zh}学业水平等级（Ⅰ–Ⅳ）", "level", "", "Ⅲ"))
        keys.append(CountyKey(f"monitoring_{subject}_diff", f"3.9 {zh}校际差异率（0–1）", "diff", "", 0.12))
    return keys


def _parse_value(raw: str | None, kind: str, options: Sequence[str] = (), maximum: float = math.inf) -> Any:
    """A form value as the workbook would read it; raises ValueError with a Chinese message."""
    text = (raw or "").strip().replace(",", "").replace("，", "")
    if not text:
        return None
    if kind == "yesno":
        if text not in ("是", "否"):
            raise ValueError("请选择 是 或 否")
        return text == "是"
    if kind in ("enum", "level", "status"):
        allowed = options or (LEVELS if kind == "level" else ("已抽测", "未抽测"))
        if text not in allowed:
            raise ValueError(f"应为 {'/'.join(allowed)} 之一")
        return text
    if kind == "text":
        if len(text) > 200:
            raise ValueError("最多 200 字")
        return text
    try:
        number = float(text)
    except ValueError:
        raise ValueError("应填写数字") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError("应为非负数")
    if kind in ("count", "year") and not number.is_integer():
        raise ValueError("应为整数")
    if kind == "year" and not 1800 <= number <= 2100:
        raise ValueError("年份应在 1800–2100 之间")
    if kind == "diff" and number > 1:
        raise ValueError("应在 0–1 之间")
    if number > maximum:
        raise ValueError(f"超出合理范围（不超过 {maximum:g}），请核对是否多输入了位数")
    return int(number) if kind in ("count", "year") else number


@dataclass
class SheetInput:
    values: dict[str, Any]
    classes: list[dict[str, Any]]
    rooms: list[dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)  # form field name -> message
    explanations: dict[str, str] = field(default_factory=dict)  # flag key (rule--field) -> text


def parse_sheet_form(sheet: SchoolSheet, form: Mapping[str, str], checks: Checks) -> SheetInput:
    """The school form (field names: schools-sheet keys, ``c-<i>-stage|grade|students``,
    ``r-<i>-room_type|area``, ``explain-<flag id>``) parsed to typed values; problems go to
    ``errors`` keyed by form field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = dict(_other_stage_zero(sheet.school_type))
    for c in school_fields(sheet.school_type):
        try:
            values[c.key] = _parse_value(form.get(c.key), c.kind, choices(c), checks.maximum(c.key))
        except ValueError as exc:
            errors[c.key] = str(exc)
    stages = school_stages(sheet.school_type)
    classes: list[dict[str, Any]] = []
    for i in range(_count(form.get("c-n"))):
        raw = {k: (form.get(f"c-{i}-{k}") or "").strip() for k in ("stage", "grade", "students")}
        if len(stages) == 1:
            raw["stage"] = raw["stage"] or stages[0]
        if not raw["grade"] and not raw["students"]:
            continue
        try:
            stage = {"小学": "primary", "初中": "junior"}.get(raw["stage"], raw["stage"])
            if stage not in stages:
                raise ValueError("请选择学段")
            grade = _parse_value(raw["grade"], "count", maximum=9)
            students = _parse_value(raw["students"], "count", maximum=checks.maximum("class_students"))
            if grade is None or students is None or grade < 1:
                raise ValueError("请填写年级（1–9）和班级学生数")
        except ValueError as exc:
            errors[f"c-{i}"] = f"第 {i + 1} 行：{exc}"
            continue
        classes.append({"stage": stage, "grade": grade, "students": students})
    rooms: list[dict[str, Any]] = []
    for i in range(_count(form.get("r-n"))):
        rtype = (form.get(f"r-{i}-room_type") or "").strip()
        area_raw = (form.get(f"r-{i}-area") or "").strip()
        if not area_raw:
            continue
        try:
            if rtype not in ("音乐", "美术"):
                raise ValueError("请选择 音乐 或 美术")
            area = _parse_value(area_raw, "number", maximum=checks.maximum("room_area"))
            if not area:
                raise ValueError("面积应大于 0")
        except ValueError as exc:
            errors[f"r-{i}"] = f"第 {i + 1} 行：{exc}"
            continue
        rooms.append({"room_type": rtype, "area": area})
    explanations: dict[str, str] = {}
    for key, text in form.items():
        if key.startswith("explain-") and (text or "").strip():
            text = text.strip()
            if len(text) > EXPLANATION_MAX:
                errors[key] = f"说明最多 {EXPLANATION_MAX} 字"
            explanations[key[8:]] = text[:EXPLANATION_MAX]
    return SheetInput(values=values, classes=classes, rooms=rooms, errors=errors, explanations=explanations)


def _count(raw: str | None) -> int:
    try:
        return max(0, min(int(raw or 0), 500))  # at most 500 rows per list
    except ValueError:
        return 0


def flag_key(flag: DataFlag) -> str:
    """A flag's name in the form (stable across attempts: rule and field)."""
    return f"{flag.rule}--{flag.field}"


def finding_key(f: Finding) -> str:
    """The form field a finding is shown at."""
    m = re.fullmatch(r"rooms\[(\d+)\]", f.field)
    return f"r-{m.group(1)}" if m else f.field


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
        raise InputError("请填写名称（不超过 200 字）", field="name")
    if not 2000 <= year <= 2100:
        raise InputError("年份应在 2000–2100 之间", field="year")
    if ruleset not in available_rulesets():
        raise InputError("未知的规则集", field="ruleset")
    load_checks(checks)
    if sum(x is not None for x in (roster, previous, previous_workbook)) != 1:
        raise ServiceError("请上传学校名单或上一年的数据表，或选择上一年的填报轮次（三选一）")
    if previous_workbook is not None:
        code = str(previous_workbook.county_value("county_code") or "").strip()
        if code != county.code:
            raise InputError(f"数据表 county 工作表的 county_code（{code or '空'}）与所选县（{county.code}）不一致",
                             file=previous_workbook.source, sheet="county", column="value")
    if previous is not None and previous.county_id != county.id:
        raise ServiceError("上一年的填报轮次不属于该县")
    exists = db.session.scalar(select(DataRound).where(DataRound.county_id == county.id, DataRound.year == year,
                                                       DataRound.name == name))
    if exists is not None:
        raise ServiceError(f"{county.name} {year} 年已有名为“{name}”的填报轮次")
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
            values.update(_other_stage_zero(s.school_type))
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
def _audit(rnd: DataRound, sheet: SchoolSheet | None, field_name: str, old: Any, new: Any, *, actor: str,
           user: User | None, action: str, now: datetime) -> None:
    db.session.add(DataChange(round_id=rnd.id, sheet=sheet, field=field_name, old=old, new=new, actor=actor,
                              user_id=user.id if user else None, action=action, at=now))


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


def save_sheet(sheet: SchoolSheet, data: SheetInput, *, submit: bool, actor: str = SCHOOL_ACTOR,
               user: User | None = None, now: datetime | None = None) -> SaveResult:
    """Save a school's sheet as a draft, or submit it.

    Every changed value is audited (old → new, who, when). A submission is refused
    (``SubmitRefused``; the caller rolls back) while a cross-field rule fails or a
    plausibility flag is neither explained nor overridden."""
    now = now or utcnow()
    rnd = sheet.round
    if rnd.closed_at is not None:
        raise ServiceError("本次填报已结束，数据不能再修改")
    if sheet.state == "submitted" and user is None:
        raise ServiceError("数据已提交；如需修改，请联系教育局退回")
    if data.errors:
        raise ServiceError("表单中有错误，请按提示修改")
    checks = checks_of(rnd)
    action = "submit" if submit else "draft"
    old_values = dict(sheet.values or {})
    for key, value in data.values.items():
        if old_values.get(key) != value:
            _audit(rnd, sheet, key, old_values.get(key), value, actor=actor, user=user, action=action, now=now)
    if (sheet.classes or []) != data.classes:
        _audit(rnd, sheet, "classes", sheet.classes, data.classes, actor=actor, user=user, action=action, now=now)
    if (sheet.rooms or []) != data.rooms:
        _audit(rnd, sheet, "rooms", sheet.rooms, data.rooms, actor=actor, user=user, action=action, now=now)
    sheet.values, sheet.classes, sheet.rooms = dict(data.values), list(data.classes), list(data.rooms)
    sheet.saved_at = now
    if sheet.state in ("empty",):
        sheet.state = "draft"
    db.session.flush()
    flags = _sync_flags(sheet, checks, now)
    for flag in flags:
        text = data.explanations.get(flag_key(flag))
        if text and text != flag.explanation:
            _audit(rnd, sheet, f"flag:{flag.field}", flag.explanation, text, actor=actor, user=user, action="flag",
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
        raise ServiceError("本次填报已结束")
    if sheet.state != "submitted":
        raise ServiceError(f"{sheet.name}尚未提交，无需退回")
    if not comment or len(comment) > COMMENT_MAX:
        raise ServiceError(f"请填写退回原因（不超过 {COMMENT_MAX} 字）")
    sheet.state, sheet.returned_at, sheet.return_comment = "returned", now, comment
    _audit(sheet.round, sheet, "state", "submitted", "returned", actor=user.username, user=user, action="return",
           now=now)
    db.session.flush()


def override_flag(flag: DataFlag, note: str, *, user: User, now: datetime | None = None) -> None:
    """Staff accept a flagged value (the school's explanation, if any, is kept beside it)."""
    now = now or utcnow()
    note = (note or "").strip()
    if not note or len(note) > EXPLANATION_MAX:
        raise ServiceError(f"请填写核实意见（不超过 {EXPLANATION_MAX} 字）")
    if flag.sheet.round.closed_at is not None:
        raise ServiceError("本次填报已结束")
    flag.override_note, flag.overridden_at, flag.overridden_by = note, now, user
    _audit(flag.sheet.round, flag.sheet, f"flag:{flag.field}", None, note, actor=user.username, user=user,
           action="override", now=now)
    db.session.flush()


def parse_county_form(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for k in county_fields():
        opts = ("是", "否") if k.kind == "yesno" else ()
        kind = "number" if k.kind == "number" else k.kind
        try:
            values[k.key] = _parse_value(form.get(k.key), kind, opts)
        except ValueError as exc:
            errors[k.key] = str(exc)
    return values, errors


def save_county(rnd: DataRound, values: Mapping[str, Any], *, user: User, now: datetime | None = None) -> tuple[Finding, ...]:
    """Replace the county sheet (audited per key). Raises ServiceError with the findings' text
    when a part exceeds its whole (nothing saved)."""
    now = now or utcnow()
    if rnd.closed_at is not None:
        raise ServiceError("本次填报已结束，数据不能再修改")
    findings = check_county(checks_of(rnd), values)
    if findings:
        raise ServiceError("；".join(f.message for f in findings))
    old = dict(rnd.county_values or {})
    for key, value in values.items():
        if old.get(key) != value:
            _audit(rnd, None, f"county.{key}", old.get(key), value, actor=user.username, user=user, action="county",
                   now=now)
    rnd.county_values = {**old, **values}
    db.session.flush()
    return findings


# ----------------------------------------------------------------------------- evidence
def evidence_item(sheet: SchoolSheet | None, key: str, checks: Checks) -> str | None:
    """The item code a piece of evidence belongs to, or None when the field takes none."""
    if sheet is not None:
        return checks.evidence.school_items.get(key)
    spec = COUNTY_BY_KEY.get(key)
    if spec is None or spec.kind != "yesno":
        return None
    m = _ITEM.match(spec.zh)
    return m.group(1) if m else None


def add_evidence(rnd: DataRound, sheet: SchoolSheet | None, key: str, filename: str | None, data: bytes, *,
                 actor: str, user: User | None = None, now: datetime | None = None) -> Evidence:
    """Store an evidence file: allow-listed type whose content matches its extension, within
    the size limit, with its sha256."""
    now = now or utcnow()
    checks = checks_of(rnd)
    if rnd.closed_at is not None:
        raise ServiceError("本次填报已结束")
    if evidence_item(sheet, key, checks) is None:
        raise ServiceError("该项不需要佐证材料")
    name = safe_filename(filename, "")
    ext = Path(name).suffix.lower().lstrip(".")
    if not name or ext not in checks.evidence.types:
        raise ServiceError(f"文件“{name or '（未命名）'}”类型不允许；可上传 {'、'.join(checks.evidence.types)}")
    if not data:
        raise ServiceError(f"文件“{name}”是空的")
    if len(data) > checks.evidence.max_bytes:
        raise ServiceError(f"文件“{name}”超过 {checks.evidence.max_bytes // (1024 * 1024)} MB")
    if not data.startswith(_MAGIC[ext]):
        raise ServiceError(f"文件“{name}”的内容与扩展名 .{ext} 不符")
    ev = Evidence(round_id=rnd.id, sheet=sheet, field=key, filename=name, content_type=EVIDENCE_MIMETYPES[ext],
                  size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data, uploaded_at=now,
                  uploaded_by=actor)
    db.session.add(ev)
    _audit(rnd, sheet, f"evidence:{key}", None, f"{name} sha256={ev.sha256}", actor=actor, user=user,
           action="evidence", now=now)
    db.session.flush()
    return ev


def accept_evidence(ev: Evidence, *, user: User, now: datetime | None = None) -> None:
    """A reviewer marks evidence accepted; the item's status still comes from the data."""
    now = now or utcnow()
    if db.session.get(DataRound, ev.round_id).closed_at is not None:
        raise ServiceError("本次填报已结束，评估已按结束时的佐证材料生成")
    ev.accepted_at, ev.accepted_by = now, user
    rnd = db.session.get(DataRound, ev.round_id)
    _audit(rnd, ev.sheet, f"evidence:{ev.field}", None, f"已认可 {ev.filename}", actor=user.username, user=user,
           action="evidence", now=now)
    db.session.flush()


def round_evidence(rnd: DataRound) -> list[Evidence]:
    return list(db.session.scalars(select(Evidence).where(Evidence.round_id == rnd.id).order_by(Evidence.id)))


def evidence_inputs(rnd: DataRound) -> tuple[tuple[str, str], ...]:
    """The evidence as report inputs (name, sha256), one per file, naming item and status."""
    checks = checks_of(rnd)
    out = []
    for ev in round_evidence(rnd):
        item = evidence_item(ev.sheet, ev.field, checks) or ""
        who = f"{ev.sheet.name}（{ev.sheet.code}）" if ev.sheet else rnd.county.name
        status = "已认可" if ev.accepted_at else "未认可"
        out.append((f"佐证材料 {item} {who}：{ev.filename}（{status}）", ev.sha256))
    return tuple(out)


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


def close_data_round(rnd: DataRound, *, user: User, catalogue: Catalogue | None = None,
                     now: datetime | None = None) -> Evaluation:
    """Close the round and evaluate it directly: the §2 workbook built from the round is the
    evaluation's stored input (the same bytes the export gives), evidence files are listed
    among the report's inputs. Refused while a school has not submitted."""
    now = now or utcnow()
    if rnd.closed_at is not None:
        raise ServiceError("本次填报已经结束")
    waiting = [s for s in rnd.sheets if s.state != "submitted"]
    if waiting:
        names = "、".join(f"{s.name}（{s.code}）" for s in waiting[:10])
        more = f"等 {len(waiting)} 所学校" if len(waiting) > 10 else ""
        raise ServiceError(f"还有学校未提交数据：{names}{more}")
    data = workbook_bytes(rnd)
    audit = audit_csv(rnd)
    n_changes = audit.count(b"\n") - 1
    extra = (*evidence_inputs(rnd), (f"数据填报 {rnd.id} 修改记录（{n_changes} 条，history.csv）", hashlib.sha256(audit).hexdigest()))
    evaluation = run_evaluation(user=user, workbook_name=workbook_name(rnd), workbook_bytes=data,
                                ruleset=rnd.ruleset, catalogue=catalogue, extra_inputs=extra)
    rnd.closed_at, rnd.closed_by_id, rnd.evaluation = now, user.id, evaluation
    _audit(rnd, None, "state", "open", "closed", actor=user.username, user=user, action="close", now=now)
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
