"""Staff accounts: roles scoped to counties; passwords stored only as scrypt hashes."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from evaluator.errors import InputError
from survey.db import db
from survey.i18n import _
from survey.models import ROLES, County, User
from survey.services import ServiceError, sessions
from survey.services.passwords import MIN_LENGTH, check_password_strength

# Letters of any script (Chinese names such as 张老师 included), digits, _ . -
_USERNAME = re.compile(r"^[^\W_][\w.\-]{1,63}$")
MIN_PASSWORD = MIN_LENGTH  # the policy lives in survey.services.passwords
# A fixed hash to compare against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = generate_password_hash("timing-equaliser")


def create_user(username: str, password: str, role: str, counties: list[County], *,
                check_strength: bool = True) -> User:
    """admin: no county; staff: exactly one county; evaluator: one or more assigned counties.
    ``check_strength=False`` only for the demo's published password."""
    username = (username or "").strip()
    if not _USERNAME.match(username):
        raise InputError(_("用户名应为 2–64 位汉字、字母、数字、下划线、点或减号，以汉字、字母或数字开头"),
                         field="--username")
    if role not in ROLES:
        raise InputError(_("角色应为 %(roles)s", roles=" / ".join(ROLES)), field="--role")
    check_password(password, username, check_strength=check_strength)
    if find_user(username):
        raise InputError(_("用户名“%(username)s”已存在（忘记密码请用 users passwd 或在“账号管理”中重设）", username=username),
                         field="--username")
    _check_scope(role, counties)
    user = User(username=username, password_hash="!", role=role)
    _assign(user, role, counties)
    db.session.add(user)
    set_password(user, password, check_strength=check_strength)
    return user


def _check_scope(role: str, counties: list[County]) -> None:
    if role not in ROLES:
        raise InputError(_("角色应为 %(roles)s", roles=" / ".join(ROLES)), field="--role")
    if role == "staff" and len(counties) != 1:
        raise InputError(_("工作人员（staff）必须指定一个县（--county）"), field="--county")
    if role == "evaluator" and not counties:
        raise InputError(_("评估人员（evaluator）至少指定一个县（--county）"), field="--county")
    if role == "admin" and counties:
        raise InputError(_("管理员（admin）可查看所有县，不需要 --county"), field="--county")


def _assign(user: User, role: str, counties: list[County]) -> None:
    user.role = role
    user.county = counties[0] if role == "staff" else None
    user.assigned_counties = list(counties) if role == "evaluator" else []


def check_password(password: str, username: str | None = None, *, check_strength: bool = True) -> None:
    """The one place a new password is judged: length, not the username, zxcvbn strength
    (survey.services.passwords); ``check_strength=False`` checks the length only (demo)."""
    if check_strength:
        check_password_strength(password, username)
    elif len(password or "") < MIN_PASSWORD:
        raise InputError(_("密码至少 %(n)s 位", n=MIN_PASSWORD), field="password")


def set_password(user: User, new: str, *, check_strength: bool = True, keep_session: str | None = None) -> None:
    """Every password set or changed goes through here (create, reset by an admin, change
    by the user, `users passwd`), so checks and session ending live in one place: every
    session of the user ends, except ``keep_session`` (the user changing their own password)."""
    check_password(new, user.username, check_strength=check_strength)
    user.password_hash = generate_password_hash(new)
    db.session.flush()
    sessions.password_changed(user, keep=keep_session)


def deactivate(user: User) -> None:
    """Block an account (its sessions end: the user loader refuses inactive users).
    The last active administrator cannot be blocked, or nobody could manage accounts."""
    if user.role == "admin" and user.active:
        others = db.session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True), User.id != user.id)
        )
        if not others:
            raise ServiceError(_("“%(username)s”是唯一可用的管理员账号，不能停用", username=user.username))
    user.active = False
    db.session.flush()
    sessions.deactivated(user)


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
            raise ServiceError(_("“%(username)s”是唯一可用的管理员账号，不能改为其他角色", username=user.username))
    _assign(user, role, counties)
    db.session.flush()


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == (username or "").strip()))


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.username)))


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, else None. Every path checks one
    scrypt hash (the user's, or a fixed one), so timing tells nothing about whether the
    account exists or is deactivated."""
    user = find_user(username)
    ok = check_password_hash(user.password_hash if user is not None else _DUMMY_HASH, password or "")
    if user is None or not user.active or not ok:
        return None
    return user
