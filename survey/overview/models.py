"""Tables of the overview: regions above the county (city, province), and each county's
roadmap (target year, measures per item and year, planned projects, enrolment projection).

Imported once from the end of survey/models.py so the metadata (and Alembic) see them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base, db
from survey.models import County, User, UTCDateTime, utcnow

REGION_LEVELS = ("city", "province")

region_counties = Table(
    "region_counties",
    Base.metadata,
    Column("region_id", ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True),
    Column("county_id", ForeignKey("counties.id", ondelete="CASCADE"), primary_key=True),
)

evaluator_regions = Table(
    "evaluator_regions",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("region_id", ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True),
)


class Region(Base):
    """A city or province: the counties it contains directly, and those of its sub-regions."""

    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))  # city | province
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id", ondelete="SET NULL"))

    parent: Mapped[Region | None] = relationship(remote_side=[id])
    counties: Mapped[list[County]] = relationship(secondary=region_counties, order_by=County.code)
    evaluators: Mapped[list[User]] = relationship(secondary=evaluator_regions)


def descendant_region_ids(region_ids: set[int]) -> set[int]:
    """The regions and every region below them (a province's cities)."""
    out = set(region_ids)
    frontier = set(region_ids)
    while frontier:
        below = set(db.session.scalars(select(Region.id).where(Region.parent_id.in_(frontier)))) - out
        out |= below
        frontier = below
    return out


def region_county_ids(user: User) -> set[int]:
    """Counties the user sees through the regions assigned to them (evaluators)."""
    assigned = set(db.session.scalars(select(evaluator_regions.c.region_id)
                                      .where(evaluator_regions.c.user_id == user.id)))
    if not assigned:
        return set()
    regions = descendant_region_ids(assigned)
    return set(db.session.scalars(select(region_counties.c.county_id)
                                  .where(region_counties.c.region_id.in_(regions))))


class CountyPlan(Base):
    """A county's roadmap: the year it plans to be accepted, and the evaluation its plan
    starts from (for tracking; the live projection starts from the latest evaluation)."""

    __tablename__ = "county_plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id", ondelete="CASCADE"), unique=True)
    target_year: Mapped[int] = mapped_column(Integer)
    baseline_evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluations.id", ondelete="SET NULL"))
    source_name: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    county: Mapped[County] = relationship()


class PlanMeasure(Base):
    """The measure planned for one item in one year (a cell of seed 000's annex table)."""

    __tablename__ = "plan_measures"
    __table_args__ = (UniqueConstraint("county_id", "item_code", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id", ondelete="CASCADE"), index=True)
    item_code: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(2000))


class PlanProject(Base):
    """A planned project (evaluator.projection.Project): new school, extension or closure.
    ``quantities`` holds what it adds (classes, teachers by kind, areas, equipment value,
    multimedia rooms, music/art rooms and their areas)."""

    __tablename__ = "plan_projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    school_code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200), default="")
    school_name: Mapped[str] = mapped_column(String(200), default="")
    school_type: Mapped[str] = mapped_column(String(20), default="")
    locality: Mapped[str] = mapped_column(String(10), default="")
    seats_primary: Mapped[int] = mapped_column(Integer, default=0)
    seats_junior: Mapped[int] = mapped_column(Integer, default=0)
    transfer_schools: Mapped[str] = mapped_column(String(400), default="")
    quantities: Mapped[dict] = mapped_column(JSON, default=dict)


class EnrolmentProjection(Base):
    """Projected students of one school in one year (optional; entered or imported)."""

    __tablename__ = "enrolment_projections"
    __table_args__ = (UniqueConstraint("county_id", "school_code", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id", ondelete="CASCADE"), index=True)
    school_code: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    students_primary: Mapped[int | None] = mapped_column(Integer)
    students_junior: Mapped[int | None] = mapped_column(Integer)
