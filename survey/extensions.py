"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
compress = Compress()
login_manager = LoginManager()


def _login_key() -> str:
    """Login attempts are limited per (address, username), so one school's shared address
    cannot lock out its colleagues, while guessing one account's password stays slow."""
    username = (request.form.get("username") or "").strip().lower()
    return f"{get_remote_address()}|{username}"


# No default limits: respondents are never limited by address (school Wi-Fi, carrier NAT).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
login_key = _login_key
