"""Signed values: the questionnaire's start token and the per-browser id cookie.

The start token carries a fresh idempotency key and the server's start time, so a retried
POST stores one response and the duration cannot be forged by the client.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

BROWSER_COOKIE = "yzjh_b"


def _timed() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="questionnaire-start")


def browser_tag(browser_id: str) -> str:
    """What a start token carries of the browser it was issued to (not the id itself)."""
    return hashlib.sha256(f"start|{browser_id}".encode()).hexdigest()[:16]


def new_start_token(link_code: str, now: datetime, browser_id: str = "") -> str:
    return _timed().dumps({"k": secrets.token_hex(16), "c": link_code, "t": now.timestamp(),
                           "b": browser_tag(browser_id)})


def read_start_token(token: str, link_code: str, browser_id: str | None = None) -> tuple[str, datetime, bool] | None:
    """(idempotency key, start time, issued to ``browser_id``) when the token is genuine, for
    this link and not stale. A farmed token posted from another browser, or after the cookie
    was dropped, is genuine but not this browser's (tokens from before the binding count as
    this browser's)."""
    try:
        data = _timed().loads(token or "", max_age=current_app.config["RESPONSE_TOKEN_MAX_AGE"])
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") != link_code:
        return None
    tag = browser_tag(browser_id or "")
    return str(data["k"]), datetime.fromtimestamp(float(data["t"]), UTC), data.get("b", tag) == tag


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
