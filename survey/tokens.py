"""Signed values: the questionnaire's start token and the per-browser id cookie.

The start token carries a fresh idempotency key and the server's start time, so a retried
POST stores one response and the duration cannot be forged by the client.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

BROWSER_COOKIE = "yzjh_b"


def _timed() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="questionnaire-start")


def new_start_token(link_code: str, now: datetime) -> str:
    return _timed().dumps({"k": secrets.token_hex(16), "c": link_code, "t": now.timestamp()})


def read_start_token(token: str, link_code: str) -> tuple[str, datetime] | None:
    """(idempotency key, start time) when the token is genuine, for this link and not stale."""
    try:
        data = _timed().loads(token or "", max_age=current_app.config["RESPONSE_TOKEN_MAX_AGE"])
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") != link_code:
        return None
    return str(data["k"]), datetime.fromtimestamp(float(data["t"]), UTC)


def _browser() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="browser-id")


def read_browser_id(cookie: str | None) -> str | None:
    try:
        value = _browser().loads(cookie or "")
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def new_browser_cookie() -> tuple[str, str]:
    """(browser id, signed cookie value)."""
    bid = secrets.token_hex(16)
    return bid, _browser().dumps(bid)
