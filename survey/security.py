"""Request hardening in one place: security headers, safe redirects, NUL paths, body limits.

``init_app`` registers everything; views only call ``safe_next`` and ``csp_nonce``.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, request

#: The respondent page needs no script at all; styles are inline in the page itself.
RESPONDENT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
                  "base-uri 'none'; frame-ancestors 'none'")
#: Staff pages: scripts only from us or with this response's nonce; framed only by ourselves (report preview).
STAFF_CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
             "img-src 'self' data:; frame-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
             "frame-ancestors 'self'")
HSTS = "max-age=31536000"


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a same-site relative path, else None.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    ``/\\t/evil.example`` becomes ``//evil.example``: any control character, whitespace or
    backslash refuses the target, and what is left must be a path starting with one slash."""
    if not target or any(ord(c) <= 0x20 or c in "\\\x7f" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def csp_nonce() -> str:
    """This response's script nonce (templates: ``<script nonce="{{ csp_nonce() }}">``)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _refuse_nul_paths() -> None:
    """No database stores NUL faithfully (PostgreSQL refuses it): such a URL names nothing."""
    if "\x00" in request.path:
        abort(404)


def _limit_body_stream() -> None:
    """Enforce the body limit on the stream too: a chunked body has no Content-Length, and
    werkzeug would otherwise read up to MAX_CONTENT_LENGTH (and silently cut it there).
    Respondent POSTs are limited to MAX_FORM_BYTES; everything else to MAX_CONTENT_LENGTH."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    limit = (current_app.config["MAX_FORM_BYTES"] if request.blueprint == "collect"
             else current_app.config["MAX_CONTENT_LENGTH"])
    if request.content_length is not None:
        if request.content_length > limit:
            abort(413)
        return
    if "wsgi.input_terminated" not in request.environ:
        return  # werkzeug reads nothing from a body of unknown length then
    data = request.environ["wsgi.input"].read(limit + 1)
    if len(data) > limit:
        abort(413)
    import io

    request.environ["wsgi.input"] = io.BytesIO(data)
    request.environ["CONTENT_LENGTH"] = str(len(data))
    request.environ.pop("HTTP_TRANSFER_ENCODING", None)
    request.__dict__.pop("content_length", None)  # cached property: recompute from the new header


def _headers(response):
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    if request.blueprint == "collect":
        h.setdefault("Content-Security-Policy", RESPONDENT_CSP)
        h.setdefault("X-Frame-Options", "DENY")
    else:
        h.setdefault("Content-Security-Policy", STAFF_CSP.format(nonce=csp_nonce()))
        h.setdefault("X-Frame-Options", "SAMEORIGIN")
    if str(current_app.config.get("PUBLIC_BASE_URL") or "").startswith("https://"):
        h.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    """Call before the other ``before_request`` hooks so a huge or NUL request is refused first."""
    app.before_request(_refuse_nul_paths)
    app.before_request(_limit_body_stream)
    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
