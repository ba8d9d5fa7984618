"""Tables of the survey service.

Respondents are anonymous: a response holds answers, timings and fraud features only
(salted IP hash, coarse user-agent class, a hash of a random per-browser id). No names,
no phone numbers, no raw IPs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from survey.db import Base, db


def utcnow() -> datetime:
    return datetime.now(UTC)


def round_state(opens_at: datetime | None, closes_at: datetime | None, closed_at: datetime | None,
                now: datetime | None = None) -> str:
    """'scheduled', 'open' or 'closed'."""
    now = now or utcnow()
    if closed_at is not None or (closes_at is not None and now >= closes_at):
        return "closed"
    if opens_at is not None and now < opens_at:
        return "scheduled"
    return "open"


class UTCDateTime(db.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class County(Base):
    __tablename__ = "counties"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(100))


evaluator_counties = Table(
    "evaluator_counties",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("county_id", ForeignKey("counties.id", ondelete="CASCADE"), primary_key=True),
)

ROLES = ("admin", "staff", "evaluator")


class User(UserMixin, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"))  # staff: their county
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    county: Mapped[County | None] = relationship()
    assigned_counties: Mapped[list[County]] = relationship(secondary=evaluator_counties)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def county_ids(self) -> set[int] | None:
        """Counties this user may see; None means all (admin)."""
        if self.role == "admin":
            return None
        if self.role == "staff":
            return {self.county_id} if self.county_id else set()
        from survey.overview.models import region_county_ids  # a city/province assigned as a whole

        return {c.id for c in self.assigned_counties} | region_county_ids(self)


class SurveyRound(Base):
    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"))
    name: Mapped[str] = mapped_column(String(200))
    ruleset: Mapped[str] = mapped_column(String(200), default="national-2017")
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_when_full: Mapped[bool] = mapped_column(Boolean, default=True)
    target_n: Mapped[int | None] = mapped_column(Integer)
    resident_population: Mapped[int | None] = mapped_column(Integer)
    ip_salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Tamper-evident log (survey.integrity.chain): the hash of the last response and how many
    # are chained; updated in each response's insert transaction (the row lock orders them).
    chain_head: Mapped[str | None] = mapped_column(String(64))
    chain_length: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Groups whose links accept several answers from one browser (computer room, shared phone).
    repeat_groups: Mapped[list | None] = mapped_column(JSON)
    organiser: Mapped[str | None] = mapped_column(String(200))  # 主办单位, printed on posters
    contact: Mapped[str | None] = mapped_column(String(200))  # 联系方式 line on posters

    county: Mapped[County] = relationship()
    schools: Mapped[list[School]] = relationship(back_populates="round", order_by="School.code")
    links: Mapped[list[EntryLink]] = relationship(back_populates="round")

    def state(self, now: datetime | None = None) -> str:
        return round_state(self.opens_at, self.closes_at, self.closed_at, now)


class School(Base):
    """A school of a round's roster (a snapshot: enrolment is the weighting frame N_gs)."""

    __tablename__ = "schools"
    __table_args__ = (UniqueConstraint("round_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    school_type: Mapped[str] = mapped_column(String(20))
    students_primary: Mapped[int] = mapped_column(Integer, default=0)
    students_junior: Mapped[int] = mapped_column(Integer, default=0)
    students_senior: Mapped[int] = mapped_column(Integer, default=0)
    teachers: Mapped[int | None] = mapped_column(Integer)

    round: Mapped[SurveyRound] = relationship(back_populates="schools")

    @property
    def students(self) -> int:
        """Compulsory-education students (senior-high students of 完全中学 are out of scope)."""
        return self.students_primary + self.students_junior


class EntryLink(Base):
    """One per (round, school, group), or per (round, group) for county-level groups.

    ``responses_count`` is the quota counter, updated in the same transaction as the insert.
    """

    __tablename__ = "entry_links"
    __table_args__ = (UniqueConstraint("round_id", "school_id", "group"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    group: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    quota: Mapped[int] = mapped_column(Integer, default=0)
    responses_count: Mapped[int] = mapped_column(Integer, default=0)
    code_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())  # slip codes

    round: Mapped[SurveyRound] = relationship(back_populates="links")
    school: Mapped[School | None] = relationship()


class Response(Base):
    __tablename__ = "responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("entry_links.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    group: Mapped[str] = mapped_column(String(20))
    instrument: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_seconds: Mapped[float] = mapped_column(Float)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    ip_hash: Mapped[str] = mapped_column(String(64))
    ua_class: Mapped[str] = mapped_column(String(20))
    counted: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())  # took a quota place
    chain_seq: Mapped[int | None] = mapped_column(Integer)  # position in the round's log, from 1
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    link: Mapped[EntryLink] = relationship()
    school: Mapped[School | None] = relationship()

    __table_args__ = (UniqueConstraint("link_id", "browser_hash"), UniqueConstraint("round_id", "chain_seq"))


class InstrumentUse(Base):
    """Fingerprint of every questionnaire version a round has used: it is frozen from then on."""

    __tablename__ = "instrument_uses"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)  # e.g. social.v1
    sha256: Mapped[str] = mapped_column(String(64))
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Evaluation(Base):
    """One run of the evaluator, kept whole for audit: the exact inputs (bytes and sha256),
    the rule-set and its fingerprint, and the report dict exactly as produced. The only
    later change is the rectification (整改措施/整改时限/责任部门) that staff fill in."""

    __tablename__ = "evaluations"
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ruleset: Mapped[str] = mapped_column(String(200))
    rules_sha256: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(20))
    assessment_year: Mapped[int | None] = mapped_column(Integer)
    workbook_name: Mapped[str] = mapped_column(String(255))
    workbook_data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    workbook_sha256: Mapped[str] = mapped_column(String(64))
    responses_name: Mapped[str | None] = mapped_column(String(255))
    responses_data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    responses_sha256: Mapped[str | None] = mapped_column(String(64))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"))
    report: Mapped[dict] = mapped_column(JSON, deferred=True)
    rectification: Mapped[dict] = mapped_column(JSON, default=dict)
    rectified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rectified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    label: Mapped[str | None] = mapped_column(String(20))  # self / city_review / province / annual
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    county: Mapped[County] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    rectified_by: Mapped[User | None] = relationship(foreign_keys=[rectified_by_id])
    round: Mapped[SurveyRound | None] = relationship()


class RoundPin(Base):
    """The rule-set a round was opened with, pinned at creation: its id, the SHA-256 of the
    named file and of every file of its ``extends`` chain. Closing and reopening a round
    never changes it; the files themselves are frozen (RulesetUse)."""

    __tablename__ = "round_pins"
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    ruleset: Mapped[str] = mapped_column(String(200))  # rule-set id (the file stem)
    ruleset_sha256: Mapped[str] = mapped_column(String(64))
    ruleset_files: Mapped[dict] = mapped_column(JSON)  # file name -> sha256, base first
    pinned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[SurveyRound] = relationship(
        backref=backref("pin", uselist=False, cascade="all, delete-orphan", passive_deletes=True))


class RoundQuestionnaire(Base):
    """The questionnaire version each group of a round answers, pinned at creation: the
    respondent page serves exactly this version even after a newer file is added."""

    __tablename__ = "round_questionnaires"
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    group: Mapped[str] = mapped_column(String(20), primary_key=True)
    questionnaire: Mapped[str] = mapped_column(String(40))  # questionnaire id, e.g. social
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))

    round: Mapped[SurveyRound] = relationship(
        backref=backref("questionnaire_pins", cascade="all, delete-orphan", passive_deletes=True,
                        order_by="RoundQuestionnaire.group"))

    @property
    def key(self) -> str:
        """``id.vN``, as in the catalogue and on each stored response."""
        return f"{self.questionnaire}.v{self.version}"


class RulesetUse(Base):
    """Fingerprint of every rule-set file a round or a stored evaluation has used: frozen from
    then on (start-up refuses a changed file, as for questionnaires in InstrumentUse)."""

    __tablename__ = "ruleset_uses"
    file: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. national-2017.yaml
    sha256: Mapped[str] = mapped_column(String(64))
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkStart(Base):
    """Questionnaires started (blank forms served) per link, network-address hash, coarse
    device class and minute; ``fresh`` counts those from a browser without our cookie.
    Token farming shows as many fresh starts from one address and device class."""

    __tablename__ = "link_starts"
    __table_args__ = (UniqueConstraint("link_id", "ip_hash", "ua_class", "minute"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("entry_links.id", ondelete="CASCADE"), index=True)
    ip_hash: Mapped[str] = mapped_column(String(64))
    ua_class: Mapped[str] = mapped_column(String(20))
    minute: Mapped[datetime] = mapped_column(UTCDateTime)
    starts: Mapped[int] = mapped_column(Integer, default=0)
    fresh: Mapped[int] = mapped_column(Integer, default=0)


class SlipCode(Base):
    """A one-time code printed on a slip: only its keyed hash is stored. Using it deletes the
    row in the response's transaction (nothing is left to compare with the response: no flag,
    time or row version), so a response cannot be linked to its slip."""

    __tablename__ = "slip_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("entry_links.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    batch: Mapped[int] = mapped_column(SmallInteger, default=1)


class StaffSession(Base):
    """A staff sign-in, revocable on the server: the cookie carries only a random token whose
    SHA-256 is kept here. Logout, a password change or deactivation sets ``ended_at``; idle
    and absolute lifetimes are checked on every request (survey.services.sessions)."""

    __tablename__ = "staff_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed sign-ins per normalised username (or per address), shared by all workers when
    no Redis is configured (survey.services.throttle)."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RoundChange(Base):
    """One correction of a round (name, dates, a school's name or enrolment, schools added or
    removed, closing and reopening): who, when, and what in plain Chinese, for the round page."""

    __tablename__ = "round_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(1000))

    by: Mapped[User | None] = relationship()


from survey.datacollect import models as _datacollect_models  # noqa: E402,F401 - the 填报 tables
from survey.overview import models as _overview_models  # noqa: E402,F401  (regions, roadmaps: same metadata)


# ------------------------------------------------------------------ live results (issue 12)
class CellState(Base):
    """How far a round's cell sums (LinkCell, AnswerCell, DroppedResponse, ResponseBucket) are
    current: every response with ``chain_seq <= watermark`` is summed, with the quality-filter
    rules whose fingerprint is ``rules_key``. The row is also the refresh lock: a refresh
    advances ``watermark`` by compare-and-swap before it adds anything, so two workers never
    add the same responses (survey.services.cell_sums). ``flags_seq``/``flags_at``: the
    watermark and time of the integrity flags kept in FlaggedResponse; ``flagged_cells``: the
    flagged responses' own cell sums, computed with them (subtracted for the score without
    flagged responses)."""

    __tablename__ = "cell_states"
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    watermark: Mapped[int] = mapped_column(Integer, default=0)
    rules_key: Mapped[str] = mapped_column(String(64), default="")
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flags_seq: Mapped[int | None] = mapped_column(Integer)
    flags_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flagged_cells: Mapped[dict | None] = mapped_column(JSON)


class LinkCell(Base):
    """Sums over one link's responses (a link is one group × school cell): ``responses`` stored,
    ``all_*`` over respondents with at least one answer, ``kept_*`` over those the quality
    filters keep (n, a, v, d, t, aa, av, vv as in evaluator.recognition.CellTotals), and how
    many the filters dropped."""

    __tablename__ = "link_cells"
    link_id: Mapped[int] = mapped_column(ForeignKey("entry_links.id", ondelete="CASCADE"), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    responses: Mapped[int] = mapped_column(BigInteger, default=0)
    speeder: Mapped[int] = mapped_column(BigInteger, default=0)
    straightliner_fast: Mapped[int] = mapped_column(BigInteger, default=0)
    all_n: Mapped[int] = mapped_column(BigInteger, default=0)
    all_a: Mapped[int] = mapped_column(BigInteger, default=0)
    all_v: Mapped[int] = mapped_column(BigInteger, default=0)
    all_d: Mapped[int] = mapped_column(BigInteger, default=0)
    all_t: Mapped[int] = mapped_column(BigInteger, default=0)
    all_aa: Mapped[int] = mapped_column(BigInteger, default=0)
    all_av: Mapped[int] = mapped_column(BigInteger, default=0)
    all_vv: Mapped[int] = mapped_column(BigInteger, default=0)
    kept_n: Mapped[int] = mapped_column(BigInteger, default=0)
    kept_a: Mapped[int] = mapped_column(BigInteger, default=0)
    kept_v: Mapped[int] = mapped_column(BigInteger, default=0)
    kept_d: Mapped[int] = mapped_column(BigInteger, default=0)
    kept_t: Mapped[int] = mapped_column(BigInteger, default=0)
    kept_aa: Mapped[int] = mapped_column(BigInteger, default=0)
    kept_av: Mapped[int] = mapped_column(BigInteger, default=0)
    kept_vv: Mapped[int] = mapped_column(BigInteger, default=0)


class AnswerCell(Base):
    """Answers per link × item × answer label: ``total`` over every response, ``kept`` over
    those the quality filters keep (item sums and the option distribution come from here)."""

    __tablename__ = "answer_cells"
    link_id: Mapped[int] = mapped_column(ForeignKey("entry_links.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(40), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    kept: Mapped[int] = mapped_column(BigInteger, default=0)


class ItemCell(Base):
    """Item sums per link × item over the responses the quality filters keep: ``n`` answers,
    ``a`` approving, ``d`` 不了解 (by the round's rules; the live results page's item cells)."""

    __tablename__ = "item_cells"
    link_id: Mapped[int] = mapped_column(ForeignKey("entry_links.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[str] = mapped_column(String(40), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    n: Mapped[int] = mapped_column(BigInteger)
    a: Mapped[int] = mapped_column(BigInteger)
    d: Mapped[int] = mapped_column(BigInteger)


class DroppedResponse(Base):
    """A response the quality filters drop, with the reason ('speeder' or 'straightliner_fast')."""

    __tablename__ = "dropped_responses"
    __table_args__ = (Index("ix_dropped_responses_round_id_response_id", "round_id", "response_id"),)  # first 500
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(20))


class ResponseBucket(Base):
    """Responses per 15-minute slot of submission (``slot`` = UTC epoch seconds // 900): the
    answers-per-day chart in any time zone whose offset is a multiple of 15 minutes."""

    __tablename__ = "response_buckets"
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class FlaggedResponse(Base):
    """A response with at least one integrity signal, as of CellState.flags_seq."""

    __tablename__ = "flagged_responses"
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
