"""Corrections of a round after it opened: its settings, its roster, closing and reopening,
deleting an unused round and copying one as next year's. Every change is recorded in
``RoundChange`` (who, when, what in Chinese) and shown on the round page.

The round's questionnaire and rule-set stay those it opened with: nothing here touches them.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from evaluator.errors import InputError
from evaluator.groups import GROUPS
from evaluator.roster import MAX_COUNT, SCHOOL_TYPES, STAGES_OF_TYPE, RosterSchool
from survey.db import db, savepoint
from survey.i18n import _, _l
from survey.models import (
    County,
    EntryLink,
    Response,
    RoundChange,
    School,
    SurveyRound,
    User,
    utcnow,
)
from survey.services import ServiceError
from survey.services.rounds import (
    close_round,
    new_link_code,
    open_round,
    propose_quotas,
    recognition_rules,
)

BEIJING = ZoneInfo("Asia/Shanghai")
_NO_LIMIT = "不限"


def _bj(value: datetime | None, empty: str = _NO_LIMIT) -> str:
    if value is None:
        return empty
    v = value.astimezone(BEIJING)
    return f"{v.year}年{v.month}月{v.day}日 {v:%H:%M}"


def record_change(rnd: SurveyRound, by: User | None, kind: str, detail: str) -> RoundChange:
    change = RoundChange(round_id=rnd.id, by_id=by.id if by else None, kind=kind, detail=detail[:1000], at=utcnow())
    db.session.add(change)
    return change


def history(rnd: SurveyRound) -> list[RoundChange]:
    return list(db.session.scalars(select(RoundChange).where(RoundChange.round_id == rnd.id)
                                   .order_by(RoundChange.at.desc(), RoundChange.id.desc())))


def _responses(rnd: SurveyRound, school: School | None = None) -> int:
    q = select(func.count()).select_from(Response).where(Response.round_id == rnd.id)
    if school is not None:
        q = q.where(Response.school_id == school.id)
    return db.session.scalar(q) or 0


def _clean_text(value: str | None, field: str, label: str, max_len: int = 200) -> str | None:
    text = (value or "").strip()
    if any(ord(c) < 32 for c in text):
        raise InputError(_("%(label)s含有控制字符", label=label), field=field)
    if len(text) > max_len:
        raise InputError(_("%(label)s最多 %(n)s 字", label=label, n=max_len), field=field)
    return text or None


def update_round(rnd: SurveyRound, *, by: User | None, name: str, opens_at: datetime | None,
                 closes_at: datetime | None, stop_when_full: bool, organiser: str | None,
                 contact: str | None) -> list[str]:
    """Change the round's settings; returns (and records) what changed, in Chinese."""
    name = _clean_text(name, "name", _("名称")) or ""
    if not name:
        raise InputError(_("请填写调查轮次名称"), field="name")
    if opens_at and closes_at and closes_at <= opens_at:
        raise InputError(_("结束时间必须晚于开始时间"), field="closes")
    organiser = _clean_text(organiser, "organiser", _("主办单位"))
    contact = _clean_text(contact, "contact", _("联系方式"))
    changes: list[str] = []
    if name != rnd.name:
        changes.append(f"名称“{rnd.name}”改为“{name}”")
        rnd.name = name
    if opens_at != rnd.opens_at:
        changes.append(f"开始时间 {_bj(rnd.opens_at, '立即')} 改为 {_bj(opens_at, '立即')}")
        rnd.opens_at = opens_at
    if closes_at != rnd.closes_at:
        changes.append(f"结束时间 {_bj(rnd.closes_at, '手动结束')} 改为 {_bj(closes_at, '手动结束')}")
        rnd.closes_at = closes_at
    if bool(stop_when_full) != rnd.stop_when_full:
        changes.append("配额满后停止收集" if stop_when_full else "配额满后继续收集")
        rnd.stop_when_full = bool(stop_when_full)
    if organiser != rnd.organiser:
        changes.append(f"主办单位改为“{organiser or '（空）'}”")
        rnd.organiser = organiser
    if contact != rnd.contact:
        changes.append(f"联系方式改为“{contact or '（空）'}”")
        rnd.contact = contact
    if changes:
        record_change(rnd, by, "settings", "；".join(changes))
    db.session.flush()
    return changes


def rename_county(county: County, name: str, *, by: User | None, rnd: SurveyRound) -> None:
    name = _clean_text(name, "county_name", _("县名称"), 100) or ""
    if not name:
        raise InputError(_("请填写县名称"), field="county_name")
    if name != county.name:
        record_change(rnd, by, "county", f"县名称“{county.name}”改为“{name}”")
        county.name = name
        db.session.flush()


def close(rnd: SurveyRound, *, by: User | None) -> None:
    if rnd.closed_at is None:
        close_round(rnd)
        record_change(rnd, by, "close", "结束调查")
        db.session.flush()


def reopen_round(rnd: SurveyRound, *, by: User | None, closes_at: datetime | None = None,
                 now: datetime | None = None) -> str:
    """Accept responses again (also to extend a round whose closing time has passed). A new
    closing time must lie in the future; without one, a passed closing time is cleared (the
    round then runs until closed by hand). Returns the Chinese description recorded."""
    now = now or utcnow()
    if closes_at is not None and closes_at <= now:
        raise InputError(_("新的结束时间 %(time)s 已经过去，请填写以后的时间", time=_bj(closes_at)), field="--closes")
    if rnd.opens_at and closes_at and closes_at <= rnd.opens_at:
        raise InputError(_("结束时间必须晚于开始时间"), field="--closes")
    if rnd.state(now) == "open" and closes_at is None:
        raise ServiceError(_("本轮调查正在收集中，无需重新开放（要延长请填写新的结束时间）"))
    was = rnd.closes_at
    rnd.closed_at = None
    if closes_at is not None:
        rnd.closes_at = closes_at
    elif rnd.closes_at is not None and rnd.closes_at <= now:
        rnd.closes_at = None
    until = _bj(rnd.closes_at, "手动结束")
    detail = f"重新开放调查，结束时间 {_bj(was, '手动结束')} 改为 {until}" if was != rnd.closes_at \
        else f"重新开放调查，结束时间 {until}"
    record_change(rnd, by, "reopen", detail)
    db.session.flush()
    return detail


def _counts(values: dict[str, int | None]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for key, v in values.items():
        if v is None:
            out[key] = None
            continue
        if not isinstance(v, int) or v < 0 or v > MAX_COUNT:
            raise InputError(_("应为 0–%(max)s 的整数", max=MAX_COUNT), field=key)
        out[key] = v
    return out


def edit_school(rnd: SurveyRound, school: School, *, by: User | None, name: str, students_primary: int,
                students_junior: int, students_senior: int, teachers: int | None) -> list[str]:
    """Correct a school's name or enrolment (the weighting frame N_gs). Posters, pages and
    exports read the school from here, so they follow."""
    name = _clean_text(name, "school_name", _("学校名称")) or ""
    if not name:
        raise InputError(_("请填写学校名称"), field="school_name")
    nums = _counts({"students_primary": students_primary, "students_junior": students_junior,
                    "students_senior": students_senior, "teachers": teachers})
    for key in STAGES_OF_TYPE[school.school_type]:
        if not nums[key]:
            raise InputError(_("%(type)s的%(field)s不能为空或 0", type=school.school_type, field=_LABELS[key]), field=key)
    changes: list[str] = []
    if name != school.name:
        changes.append(f"学校名称“{school.name}”改为“{name}”")
        school.name = name
    for key, label in _LABELS.items():
        new = nums[key] if key == "teachers" else (nums[key] or 0)
        if new != getattr(school, key):
            changes.append(f"{label} {getattr(school, key) if getattr(school, key) is not None else '空'} 改为 "
                           f"{new if new is not None else '空'}")
            setattr(school, key, new)
    if changes:
        record_change(rnd, by, "school", f"{school.code}：" + "；".join(changes))
    db.session.flush()
    return changes


_LABELS = {"students_primary": _l("小学在校生数"), "students_junior": _l("初中在校生数"),
           "students_senior": _l("高中在校生数"), "teachers": _l("专任教师数")}


@savepoint()
def add_school(rnd: SurveyRound, *, by: User | None, code: str, name: str, school_type: str,
               students_primary: int, students_junior: int, students_senior: int = 0,
               teachers: int | None = None) -> School:
    """Add a school to a round that is not closed, with its entry links and quotas proposed
    by the sample-size rule for the enlarged roster."""
    if rnd.state() == "closed":
        raise ServiceError(_("本轮调查已结束，不能再添加学校（请先重新开放）"))
    code = (code or "").strip()
    if not code or len(code) > 40 or any(ord(c) < 32 for c in code):
        raise InputError(_("请填写学校代码（最多 40 个字符）"), field="school_code")
    if any(s.code == code for s in rnd.schools):
        raise InputError(_("学校代码 %(code)s 已在本轮名单中", code=code), field="school_code")
    name = _clean_text(name, "school_name", _("学校名称")) or ""
    if not name:
        raise InputError(_("请填写学校名称"), field="school_name")
    if school_type not in SCHOOL_TYPES:
        raise InputError(_("学校类型应为 %(types)s", types=" / ".join(SCHOOL_TYPES)), field="school_type")
    nums = _counts({"students_primary": students_primary, "students_junior": students_junior,
                    "students_senior": students_senior, "teachers": teachers})
    for key in STAGES_OF_TYPE[school_type]:
        if not nums[key]:
            raise InputError(_("%(type)s的%(field)s不能为空或 0", type=school_type, field=_LABELS[key]), field=key)
    school = School(round=rnd, code=code, name=name, school_type=school_type,
                    students_primary=nums["students_primary"] or 0, students_junior=nums["students_junior"] or 0,
                    students_senior=nums["students_senior"] or 0, teachers=nums["teachers"])
    db.session.add(school)
    db.session.flush()
    plan = propose_quotas([*rnd.schools], recognition_rules(rnd.ruleset), target_n=rnd.target_n,
                          resident_population=rnd.resident_population)
    taken = set(db.session.scalars(select(EntryLink.code)))
    for g in GROUPS.values():
        if g.school_linked:
            link_code = new_link_code()
            while link_code in taken:  # pragma: no cover - astronomically unlikely
                link_code = new_link_code()
            db.session.add(EntryLink(round=rnd, school=school, group=g.key, code=link_code,
                                     quota=plan.quotas.get((code, g.key), 0)))
    record_change(rnd, by, "school_added", f"添加学校 {code} {name}（{school_type}）")
    db.session.flush()
    return school


@savepoint()
def remove_school(rnd: SurveyRound, school: School, *, by: User | None) -> None:
    """Remove a school that has no responses; refused with the reason otherwise."""
    n = _responses(rnd, school)
    if n:
        raise ServiceError(_("“%(school)s”已有 %(n)s 份回答，不能删除（如不再收集，可把它的配额改为 0）", school=school.name, n=n))
    db.session.execute(delete(EntryLink).where(EntryLink.school_id == school.id))
    record_change(rnd, by, "school_removed", f"删除学校 {school.code} {school.name}")
    db.session.delete(school)
    db.session.flush()


@savepoint()
def delete_round(rnd: SurveyRound) -> None:
    """Delete a round nobody has answered yet (e.g. created by mistake)."""
    n = _responses(rnd)
    if n:
        raise ServiceError(_("“%(name)s”已有 %(n)s 份回答，不能删除（可结束调查）", name=rnd.name, n=n))
    db.session.execute(delete(RoundChange).where(RoundChange.round_id == rnd.id))
    db.session.execute(delete(EntryLink).where(EntryLink.round_id == rnd.id))
    db.session.execute(delete(School).where(School.round_id == rnd.id))
    db.session.delete(rnd)
    db.session.flush()


@savepoint()
def copy_round(rnd: SurveyRound, *, by: User | None, name: str, catalogue, opens_at: datetime | None = None,
               closes_at: datetime | None = None) -> SurveyRound:
    """Next year's round: the same roster (as last corrected), organiser and settings, new links."""
    roster = [
        RosterSchool(school_code=s.code, school_name=s.name, school_type=s.school_type,
                     students_primary=s.students_primary, students_junior=s.students_junior,
                     students_senior=s.students_senior, teachers=s.teachers)
        for s in rnd.schools
    ]
    new = open_round(county=rnd.county, name=name, roster=roster, catalogue=catalogue,
                     rules=recognition_rules(rnd.ruleset), ruleset=rnd.ruleset, opens_at=opens_at,
                     closes_at=closes_at, target_n=rnd.target_n, resident_population=rnd.resident_population,
                     stop_when_full=rnd.stop_when_full, created_by=by)
    new.organiser, new.contact = rnd.organiser, rnd.contact
    db.session.flush()
    record_change(new, by, "copied", f"由“{rnd.name}”（编号 {rnd.id}）复制名单创建")
    db.session.flush()
    return new
