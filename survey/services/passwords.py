"""The password policy, in one place: length, not the username, and a strength estimate
(zxcvbn, which knows common passwords, keyboard patterns, dates and l33t spellings).
Passwords are stored only as scrypt hashes (survey.services.users)."""

from __future__ import annotations

from evaluator.errors import InputError
from survey.i18n import _

MIN_LENGTH = 8  # our own default
MAX_LENGTH = 200
MIN_SCORE = 3  # zxcvbn 0–4; 3 = "safely unguessable" for an online attack (our own default)
_CONTEXT = ["yzjh", "survey", "jiaoyu", "ducha", "pinggu", "admin", "staff", "evaluator", "demo"]


def check_password_strength(password: str | None, username: str | None = None, *,
                            field: str = "password") -> None:
    """Raise ``InputError`` (Chinese message) unless ``password`` is acceptable for ``username``."""
    from zxcvbn import zxcvbn

    password = password or ""
    if len(password) < MIN_LENGTH:
        raise InputError(_("密码至少 %(n)s 位", n=MIN_LENGTH), field=field)
    if len(password) > MAX_LENGTH:
        raise InputError(_("密码最多 %(n)s 位", n=MAX_LENGTH), field=field)
    name = (username or "").strip().lower()
    if name and name in password.lower():
        raise InputError(_("密码不能包含用户名"), field=field)
    score = zxcvbn(password[:100], user_inputs=[u for u in (name, *_CONTEXT) if u])["score"]
    if score < MIN_SCORE:
        raise InputError(_("密码太容易被猜到（强度 %(score)s/4，至少需要 %(min)s）："
                           "请避免常见密码、连续数字或字母、键盘顺序和用户名，"
                           "可用三四个不相关的词加数字或符号组成较长的密码", score=score, min=MIN_SCORE), field=field)
