"""Staff accounts: roles scoped to counties; passwords stored only as scrypt hashes."""

from __future__ import annotations

import re

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from evaluator.errors import InputError
from survey.db import db
from survey.models import ROLES, County, User

_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD = 8
# A fixed hash to compare against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = generate_password_hash("timing-equaliser")


def create_user(username: str, password: str, role: str, counties: list[County]) -> User:
    """admin: no county; staff: exactly one county; evaluator: one or more assigned counties."""
    if not _USERNAME.match(username or ""):
        raise InputError("用户名应为 3–64 位字母、数字、下划线、点或减号", field="--username")
    if role not in ROLES:
        raise InputError(f"角色应为 {' / '.join(ROLES)}", field="--role")
    if len(password or "") < MIN_PASSWORD:
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
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not user.active or not check_password_hash(user.password_hash, password or ""):
        return None
    return user
