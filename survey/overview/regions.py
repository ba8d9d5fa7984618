"""Regions (cities, provinces) of counties and the evaluators assigned to them: who sees
which counties on the overview. Explicit arguments; add and flush, never commit."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select

from survey.db import db, savepoint
from survey.i18n import _
from survey.models import County, User
from survey.overview.models import (
    REGION_LEVELS,
    Region,
    descendant_region_ids,
    evaluator_regions,
)
from survey.services import ServiceError

_CODE = re.compile(r"^\d{2,12}$")


def create_region(code: str, name: str, level: str, parent: Region | None = None) -> Region:
    """A city or province; ``code`` its administrative code (2–12 digits)."""
    code, name = (code or "").strip(), (name or "").strip()
    if not _CODE.match(code):
        raise ServiceError(_("区域代码应为 2–12 位数字（行政区划代码）"))
    if not name or len(name) > 100:
        raise ServiceError(_("请填写区域名称（不超过 100 字）"))
    if level not in REGION_LEVELS:
        raise ServiceError(_("区域级别应为 市 或 省"))
    if db.session.scalar(select(Region).where(Region.code == code)):
        raise ServiceError(_("区域代码 %(code)s 已存在", code=code))
    if parent is not None and parent.level != "province":
        raise ServiceError(_("上级区域只能是省"))
    region = Region(code=code, name=name, level=level, parent=parent)
    db.session.add(region)
    db.session.flush()
    return region


@savepoint()
def set_region_counties(region: Region, county_codes: Iterable[str]) -> None:
    """Replace the counties the region contains directly (codes already registered)."""
    codes = [c.strip() for c in county_codes if c.strip()]
    counties = list(db.session.scalars(select(County).where(County.code.in_(codes)))) if codes else []
    unknown = sorted(set(codes) - {c.code for c in counties})
    if unknown:
        raise ServiceError(_("以下县代码尚未登记：%(codes)s", codes="、".join(unknown)))
    region.counties = sorted(counties, key=lambda c: c.code)
    db.session.flush()


def assign_region(region: Region, username: str) -> User:
    """Give an evaluator account the whole region (and its sub-regions)."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise ServiceError(_("用户“%(username)s”不存在", username=username))
    if user.role != "evaluator":
        raise ServiceError(_("只有评估人员（evaluator）账号可以按区域分配"))
    if user not in region.evaluators:
        region.evaluators.append(user)
    db.session.flush()
    return user


def visible_regions(user: User) -> list[Region]:
    """Regions whose overview the user may open: all (admin), assigned ones and below (evaluator)."""
    q = select(Region).order_by(Region.level.desc(), Region.code)
    if user.role == "admin":
        return list(db.session.scalars(q))
    if user.role != "evaluator":
        return []
    assigned = set(db.session.scalars(select(evaluator_regions.c.region_id)
                                      .where(evaluator_regions.c.user_id == user.id)))
    ids = descendant_region_ids(assigned) if assigned else set()
    return list(db.session.scalars(q.where(Region.id.in_(ids or {-1}))))


def region_county_set(region: Region) -> set[int]:
    from survey.overview.models import region_counties

    ids = descendant_region_ids({region.id})
    return set(db.session.scalars(select(region_counties.c.county_id).where(region_counties.c.region_id.in_(ids))))


def counties_in_scope(user: User, region: Region | None = None) -> list[County]:
    """Counties the user can see (User.county_ids), narrowed to a region when given."""
    ids = user.county_ids()
    q = select(County).order_by(County.code)
    if ids is not None:
        q = q.where(County.id.in_(ids or {-1}))
    if region is not None:
        q = q.where(County.id.in_(region_county_set(region) or {-1}))
    return list(db.session.scalars(q))
