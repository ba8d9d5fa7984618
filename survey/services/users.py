"""Staff accounts: roles scoped to counties; passwords stored only as scrypt hashes."""

from __future__ import annotations

import re

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from evaluator.errors import InputError
from survey.db import db
from survey.models import ROLES, County, User
from survey.services.passwords import MIN_LENGTH, check_password_strength

_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD = MIN_LENGTH  # kept for callers; the policy lives in survey.services.passwords
# A fixed hash to compare against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = generate_password_hash("timing-equaliser")


def create_user(username: str, password: str, role: str, counties: list[County], *,
                check_strength: bool = True) -> User:
    """admin: no county; staff: exactly one county; evaluator: one or more assigned counties.
    ``check_strength=False`` only for the demo's published password."""
    if not _USERNAME.match(username or ""):
        raise InputError("用户名应为 3–64 位字母、数字、下划线、点或减号", field="--username")
    if role not in ROLES:
        raise InputError(f"角色应为 {' / '.join(ROLES)}", field="--role")
    if check_strength:
        check_password_strength(password, username)
    elif len(password or "") < MIN_PASSWORD:
        raise InputError(f"密码至少 {MIN_PASSWORD} 位", field="password")
    if db.session.scalar(select(User).where(User.username == username)):
        raise InputError(f"用户名“{username}”已存在", field="--username")
    if role == "staff" and len(counties) != 1:
        raise InputError("工作人员（staff）必须指定一个县（--county）", field="--county")
    if role == "evaluator" and not counties:
        raise InputError("评估人员（evaluator）至少指定一个县（--county）", field="--county")
    if role == "admin" and counties:
        raise InputError("管理员（admin）可查看所有县，不需要 --county", field="--county")
    user = User(username=username, password_hash=generate_password_hash(password), role=role)
    if role == "staff":
        user.county = counties[0]
    elif role == "evaluator":
        user.assigned_counties = list(counties)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, else None. Every path checks one
    scrypt hash (the user's, or a fixed one), so timing tells nothing about whether the
    account exists or is deactivated."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    ok = check_password_hash(user.password_hash if user is not None else _DUMMY_HASH, password or "")
    if user is None or not user.active or not ok:
        return None
    return user
