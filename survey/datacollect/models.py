"""Tables of the data collection (填报): a data round per county and year, one sheet per
school (its schools-sheet row, classes and rooms), the county sheet, an audit row for every
changed value, plausibility flags with their explanations, and evidence files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base
from survey.models import County, Evaluation, User, UTCDateTime, utcnow

SHEET_STATES = ("empty", "draft", "submitted", "returned")


class DataRound(Base):
    __tablename__ = "data_rounds"
    __table_args__ = (UniqueConstraint("county_id", "year", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    ruleset: Mapped[str] = mapped_column(String(200), default="national-2017")
    checks: Mapped[str] = mapped_column(String(200), default="national-2017")
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    county_values: Mapped[dict] = mapped_column(JSON, default=dict)  # the county sheet, key -> value
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("data_rounds.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluations.id", ondelete="SET NULL"))

    county: Mapped[County] = relationship()
    sheets: Mapped[list[SchoolSheet]] = relationship(back_populates="round", order_by="SchoolSheet.code")
    evaluation: Mapped[Evaluation | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class SchoolSheet(Base):
    """One school's data in a round. ``token`` is the school's unguessable link (its only key)."""

    __tablename__ = "data_school_sheets"
    __table_args__ = (UniqueConstraint("round_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("data_rounds.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    school_type: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    values: Mapped[dict] = mapped_column(JSON, default=dict)  # schools-sheet key -> value (None = missing)
    classes: Mapped[list] = mapped_column(JSON, default=list)  # [{stage, grade, students}]
    rooms: Mapped[list] = mapped_column(JSON, default=list)  # [{room_type, area}]
    previous: Mapped[dict | None] = mapped_column(JSON)  # last year's values (history flags)
    state: Mapped[str] = mapped_column(String(12), default="empty")
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_comment: Mapped[str | None] = mapped_column(Text)

    round: Mapped[DataRound] = relationship(back_populates="sheets")


class DataChange(Base):
    """Audit: who changed which value of which sheet, when (old and new value)."""

    __tablename__ = "data_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("data_rounds.id", ondelete="CASCADE"), index=True)
    sheet_id: Mapped[int | None] = mapped_column(ForeignKey("data_school_sheets.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(80))
    old: Mapped[object | None] = mapped_column(JSON)
    new: Mapped[object | None] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(80))  # "学校填报链接" or the staff username
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))  # draft | submit | return | county | flag | evidence
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sheet: Mapped[SchoolSheet | None] = relationship()


class DataFlag(Base):
    """A plausibility flag; kept after it clears, with the school's explanation and any override."""

    __tablename__ = "data_flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("data_school_sheets.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    field: Mapped[str] = mapped_column(String(80))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(JSON)
    previous: Mapped[float | None] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    explanation: Mapped[str | None] = mapped_column(Text)
    explained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    override_note: Mapped[str | None] = mapped_column(Text)
    overridden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overridden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    sheet: Mapped[SchoolSheet] = relationship()
    overridden_by: Mapped[User | None] = relationship()

    @property
    def settled(self) -> bool:
        return bool(self.explanation) or self.overridden_at is not None


class Evidence(Base):
    """An uploaded 佐证材料 file for a yes/no item of a school or a county item. Never changes
    a status by itself: a reviewer marks it accepted."""

    __tablename__ = "data_evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("data_rounds.id", ondelete="CASCADE"), index=True)
    sheet_id: Mapped[int | None] = mapped_column(ForeignKey("data_school_sheets.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(80))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    sheet: Mapped[SchoolSheet | None] = relationship()
    accepted_by: Mapped[User | None] = relationship()
