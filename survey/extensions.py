"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, request
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

#: Respondent pages are gzipped only when that saves a phone on a weak 2G/3G link real time:
#: the questionnaire (≈9 KB → ≈3 KB) is; the thank-you and refusal pages (≈2 KB, a kilobyte
#: saved at most, inside the first round trip either way) go out as they are.
RESPONDENT_GZIP_MIN_BYTES = 4 * 1024

_HOOKS = ("before_request_funcs", "after_request_funcs", "teardown_request_funcs")


def init_skipping(ext, app: Flask, skip: Callable[[object], bool]) -> None:
    """``ext.init_app(app)``, with the app-wide request hooks it registers skipped when
    ``skip(response)`` is true (``None`` for before-request and teardown hooks). Flask runs
    every app-wide hook on every request, also on blueprints an extension has nothing to do
    for (Flask-Limiter's bookkeeping on the respondent pages, which are never limited)."""
    known = {kind: list(getattr(app, kind).get(None, ())) for kind in _HOOKS}
    ext.init_app(app)
    for kind in _HOOKS:
        funcs = getattr(app, kind).get(None, [])
        for i, func in enumerate(funcs):
            if not any(func is f for f in known[kind]):
                funcs[i] = _skipping(kind, func, skip)


def _skipping(kind: str, func, skip):
    if kind == "after_request_funcs":
        def after(response):
            return response if skip(response) else func(response)
        return after
    if kind == "teardown_request_funcs":
        def teardown(exc=None):
            return None if skip(None) else func(exc)
        return teardown

    def before():
        return None if skip(None) else func()
    return before


def respondent(_response=None) -> bool:
    """The request is for a respondent page (the ``collect`` blueprint)."""
    return request.blueprint == "collect"


def respondent_page_too_small_to_gzip(response) -> bool:
    """Compress a respondent response only when it is big enough to pay (see above)."""
    if request.blueprint != "collect" or response is None:
        return False
    return (response.content_length or 0) < RESPONDENT_GZIP_MIN_BYTES
