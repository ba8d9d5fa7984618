"""Survey rounds: open (with roster, links and proposed quotas), edit quotas, close."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from evaluator.errors import InputError
from evaluator.groups import GROUPS
from evaluator.questionnaire import Catalogue
from evaluator.recognition import plan_sample, population_total_n
from evaluator.recognition.rules import RecognitionRules
from evaluator.roster import RosterSchool, read_roster
from evaluator.rules import DEFAULT_RULESET, RuleSet, load_ruleset
from survey.db import db, savepoint
from survey.i18n import _
from survey.models import County, EntryLink, Response, School, SurveyRound, User, utcnow
from survey.pins import pin_round, round_ruleset
from survey.services import ServiceError
from survey.services.counties import placeholder_name

_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: easy to type from a poster
CODE_LENGTH = 10  # 31^10 ≈ 8·10^14 codes: not guessable, short enough to type
_COUNTY_CODE = re.compile(r"^\d{6}$")


def new_link_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


def get_or_create_county(code: str, name: str | None) -> County:
    """The county with this 6-digit code, registered with ``name`` (or a placeholder naming the
    province, see ``counties.placeholder_name``) if new. Two requests
    registering the same new county at once both get it (INSERT … ON CONFLICT DO NOTHING)."""
    code = (code or "").strip()
    if not _COUNTY_CODE.match(code):
        raise InputError(_("县级行政区划代码应为 6 位数字"), field="county")
    county = db.session.scalar(select(County).where(County.code == code))
    if county is None:
        if not (name or "").strip():
            name = placeholder_name(code)  # staff rename it on the round page
        dialect_insert = pg_insert if db.session.connection().dialect.name == "postgresql" else sqlite_insert
        db.session.execute(dialect_insert(County).values(code=code, name=name.strip())
                           .on_conflict_do_nothing(index_elements=["code"]))
        county = db.session.scalar(select(County).where(County.code == code))
    return county


@dataclass(frozen=True)
class QuotaProposal:
    total_n: int
    per_group: dict[str, int]
    quotas: dict[tuple[str | None, str], int]  # (school_code or None, group) -> quota
    assumptions: dict


def sampling_frame(schools: Sequence[RosterSchool | School]) -> pd.DataFrame:
    """N_gs sources per school: compulsory-stage students and 专任教师 headcount."""
    return pd.DataFrame(
        {
            "school_code": [s.school_code if isinstance(s, RosterSchool) else s.code for s in schools],
            "students": [s.students for s in schools],
            "teachers": [float("nan") if s.teachers is None else s.teachers for s in schools],
        }
    )


def propose_quotas(
    schools: Sequence[RosterSchool | School],
    rules: RecognitionRules,
    *,
    target_n: int | None = None,
    resident_population: int | None = None,
) -> QuotaProposal:
    """Quotas from the sample-size rule (docs/rules.md#sample-size) via the evaluator's planner, with the
    rule-set's planning inputs (half-width, expected p, design effect, 1.5‰ rule, parents ≥50%)."""
    pl = rules.planning
    total = target_n
    if total is None and resident_population:
        total = population_total_n(resident_population, per_mille=pl.per_mille, minimum=pl.minimum_n)
    plan = plan_sample(
        sampling_frame(schools), group_weights=rules.group_weights, total_n=total, half_width=pl.half_width,
        p=pl.expected_p, deff=pl.deff, confidence=rules.confidence, min_parent_share=pl.min_parent_share,
    )
    quotas: dict[tuple[str | None, str], int] = {}
    for row in plan.quotas.itertuples(index=False):
        code = row.school_code if isinstance(row.school_code, str) and row.school_code else None
        quotas[(code, row.group)] = int(row.quota)
    return QuotaProposal(int(plan.total_n), dict(plan.per_group), quotas, dict(plan.assumptions))


@savepoint()
def open_round(
    *,
    county: County,
    name: str,
    roster: Sequence[RosterSchool],
    catalogue: Catalogue,
    rules: RecognitionRules,
    ruleset: str = "national-2017",
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    target_n: int | None = None,
    resident_population: int | None = None,
    stop_when_full: bool = True,
    created_by: User | None = None,
    ruleset_file: RuleSet | None = None,
) -> SurveyRound:
    """Create a round, its roster snapshot, one entry link per (school, group) or per
    county-level group, and quotas proposed from the sample-size rule; pin the newest
    questionnaire of each group and the rule-set (``ruleset_file``, else loaded by name)."""
    name = (name or "").strip()
    if not name:
        raise InputError(_("请填写调查轮次名称"), field="name")
    if opens_at and closes_at and closes_at <= opens_at:
        raise InputError(_("结束时间必须晚于开始时间"), field="closes")
    if target_n is not None and target_n < 1:
        raise InputError(_("目标样本量应为正整数"), field="target_n")
    proposal = propose_quotas(roster, rules, target_n=target_n, resident_population=resident_population)

    rnd = SurveyRound(
        county=county, name=name, ruleset=ruleset, opens_at=opens_at, closes_at=closes_at,
        target_n=target_n, resident_population=resident_population, stop_when_full=stop_when_full,
        ip_salt=secrets.token_hex(16), created_by_id=created_by.id if created_by else None,
    )
    db.session.add(rnd)
    by_code: dict[str, School] = {}
    for r in roster:
        school = School(
            round=rnd, code=r.school_code, name=r.school_name, school_type=r.school_type,
            students_primary=r.students_primary, students_junior=r.students_junior,
            students_senior=r.students_senior, teachers=r.teachers,
        )
        db.session.add(school)
        by_code[r.school_code] = school
    used_codes: set[str] = set()

    def link(school: School | None, group: str) -> None:
        code = new_link_code()
        while code in used_codes:  # pragma: no cover - astronomically unlikely
            code = new_link_code()
        used_codes.add(code)
        quota = proposal.quotas.get((school.code if school else None, group), 0)
        db.session.add(EntryLink(round=rnd, school=school, group=group, code=code, quota=quota))

    for g in GROUPS.values():
        if g.school_linked:
            for school in by_code.values():
                link(school, g.key)
        else:
            link(None, g.key)
    pin_round(rnd, catalogue, ruleset_file or load_ruleset(ruleset))
    db.session.flush()
    return rnd


@savepoint()
def create_round(
    *,
    county_code: str,
    county_name: str | None,
    name: str,
    roster_source: str | Path | BinaryIO,
    roster_filename: str | None = None,
    catalogue: Catalogue,
    ruleset: str = DEFAULT_RULESET,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    target_n: int | None = None,
    resident_population: int | None = None,
    stop_when_full: bool = True,
    created_by: User | None = None,
    max_schools: int | None = None,
) -> SurveyRound:
    """Round creation, the one implementation behind `round create` and the new-round form:
    read the roster, load the rule-set, register the county if new, open and pin the round.

    Raises ``InputError`` naming the file/field (nothing is added then: the caller rolls back)."""
    roster = read_roster(roster_source, filename=roster_filename, max_schools=max_schools)
    rules = load_ruleset(ruleset or DEFAULT_RULESET)  # fails early, naming the file and field
    county = get_or_create_county(county_code, county_name)
    return open_round(
        county=county, name=name, roster=roster, catalogue=catalogue,
        rules=RecognitionRules.from_ruleset(rules), ruleset=ruleset or DEFAULT_RULESET, ruleset_file=rules,
        opens_at=opens_at, closes_at=closes_at, target_n=target_n, resident_population=resident_population,
        stop_when_full=stop_when_full, created_by=created_by,
    )


def set_quotas(rnd: SurveyRound, quotas: Mapping[int, int]) -> None:
    """Replace quotas by link id. Everything is checked before anything changes: a link of
    another round, a negative quota, or a quota below what the link has already collected
    (its quota places taken) is refused, naming the school and group."""
    links = {ln.id: ln for ln in rnd.links}
    for link_id, quota in quotas.items():
        ln = links.get(link_id)
        if ln is None:
            raise ServiceError(_("入口 %(link)s 不属于本轮调查", link=link_id))
        if quota < 0:
            raise ServiceError(_("%(where)s：配额不能为负数", where=describe_link(ln)))
        if quota < (ln.responses_count or 0):
            raise ServiceError(_("%(where)s：配额 %(quota)s 低于已收到的 %(n)s 份回答", where=describe_link(ln),
                                 quota=quota, n=ln.responses_count))
    for link_id, quota in quotas.items():
        links[link_id].quota = quota
    db.session.flush()


def answered_by_school(rnd: SurveyRound) -> dict[int, int]:
    """Stored responses per school id (county-level groups under ``None``)."""
    rows = db.session.execute(select(Response.school_id, func.count()).where(Response.round_id == rnd.id)
                              .group_by(Response.school_id))
    return {sid: n for sid, n in rows}


def close_round(rnd: SurveyRound) -> None:
    if rnd.closed_at is None:
        rnd.closed_at = utcnow()
        db.session.flush()


def describe_link(ln: EntryLink) -> str:
    group = GROUPS[ln.group].label
    return f"{ln.school.name}·{group}" if ln.school else f"全县·{group}"


def visible_rounds(user: User) -> list[SurveyRound]:
    q = select(SurveyRound).order_by(SurveyRound.created_at.desc())
    ids = user.county_ids()
    if ids is not None:
        q = q.where(SurveyRound.county_id.in_(ids or {-1}))
    return list(db.session.scalars(q))


def recognition_rules(ruleset: str) -> RecognitionRules:
    """The validated ``recognition`` section of a rule-set (name or path)."""
    return RecognitionRules.from_ruleset(load_ruleset(ruleset))


def round_recognition_rules(rnd: SurveyRound) -> RecognitionRules:
    """The ``recognition`` section of the rule-set pinned to ``rnd`` (checked against the pin)."""
    return RecognitionRules.from_ruleset(round_ruleset(rnd))
