"""Staff accounts: roles scoped to counties; passwords stored only as scrypt hashes."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from evaluator.errors import InputError
from survey.db import db
from survey.models import ROLES, County, User
from survey.services import ServiceError

# Letters of any script (Chinese names such as 张老师 included), digits, _ . -
_USERNAME = re.compile(r"^[^\W_][\w.\-]{1,63}$")
MIN_PASSWORD = 8
# A fixed hash to compare against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = generate_password_hash("timing-equaliser")


def create_user(username: str, password: str, role: str, counties: list[County]) -> User:
    """admin: no county; staff: exactly one county; evaluator: one or more assigned counties."""
    username = (username or "").strip()
    if not _USERNAME.match(username):
        raise InputError("用户名应为 2–64 位汉字、字母、数字、下划线、点或减号，以汉字、字母或数字开头",
                         field="--username")
    if role not in ROLES:
        raise InputError(f"角色应为 {' / '.join(ROLES)}", field="--role")
    check_password(password)
    if find_user(username):
        raise InputError(f"用户名“{username}”已存在（忘记密码请用 users passwd 或在“账号管理”中重设）",
                         field="--username")
    _check_scope(role, counties)
    user = User(username=username, password_hash="!", role=role)
    _assign(user, role, counties)
    db.session.add(user)
    set_password(user, password)
    return user


def _check_scope(role: str, counties: list[County]) -> None:
    if role not in ROLES:
        raise InputError(f"角色应为 {' / '.join(ROLES)}", field="--role")
    if role == "staff" and len(counties) != 1:
        raise InputError("工作人员（staff）必须指定一个县（--county）", field="--county")
    if role == "evaluator" and not counties:
        raise InputError("评估人员（evaluator）至少指定一个县（--county）", field="--county")
    if role == "admin" and counties:
        raise InputError("管理员（admin）可查看所有县，不需要 --county", field="--county")


def _assign(user: User, role: str, counties: list[County]) -> None:
    user.role = role
    user.county = counties[0] if role == "staff" else None
    user.assigned_counties = list(counties) if role == "evaluator" else []


def check_password(password: str) -> None:
    """The one place a new password is judged (minimum length for now; a strength check plugs in here)."""
    if len(password or "") < MIN_PASSWORD:
        raise InputError(f"密码至少 {MIN_PASSWORD} 位", field="password")


def set_password(user: User, new: str) -> None:
    """Every password set or changed goes through here (create, reset by an admin, change
    by the user, `users passwd`), so checks and session ending live in one place."""
    check_password(new)
    user.password_hash = generate_password_hash(new)
    db.session.flush()


def deactivate(user: User) -> None:
    """Block an account (its sessions end: the user loader refuses inactive users).
    The last active administrator cannot be blocked, or nobody could manage accounts."""
    if user.role == "admin" and user.active:
        others = db.session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True), User.id != user.id)
        )
        if not others:
            raise ServiceError(f"“{user.username}”是唯一可用的管理员账号，不能停用")
    user.active = False
    db.session.flush()


def reactivate(user: User) -> None:
    user.active = True
    db.session.flush()


def update_user(user: User, role: str, counties: list[County]) -> None:
    """Change role and counties (same rules as when creating)."""
    _check_scope(role, counties)
    if user.role == "admin" and role != "admin" and user.active:
        others = db.session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True), User.id != user.id)
        )
        if not others:
            raise ServiceError(f"“{user.username}”是唯一可用的管理员账号，不能改为其他角色")
    _assign(user, role, counties)
    db.session.flush()


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == (username or "").strip()))


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.username)))


def authenticate(username: str, password: str) -> User | None:
    user = find_user(username)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not user.active or not check_password_hash(user.password_hash, password or ""):
        return None
    return user
