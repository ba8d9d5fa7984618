"""What protects the respondent POST instead of a session and a CSRF token.

A questionnaire form carries a signed start token (survey.tokens) that names its entry link,
its start time and the browser it was issued to (a hash of the ``yzjh_b`` cookie's id). That
cookie is SameSite=Lax, so a form posted from another site arrives without it and the
binding refuses it ("请重新打开链接作答"); a token copied to another browser is refused the
same way, and a replayed one stores nothing twice (its idempotency key is unique). A CSRF
token in a Flask session would only repeat that binding at the price of a signed session
cookie on every respondent, so the respondent blueprint has neither (survey/__init__.py
exempts it from CSRFProtect and gives it no session at all: ``RespondentSessionInterface``).

On top of that, ``check_origin`` refuses a POST whose browser says it comes from another
site. Policy: an ``Origin`` header, when present and not ``null``, must be this site's; else a
``Referer``, when present, must be this site's; a POST with neither is accepted, because
WeChat's in-app browser and some older Android WebViews send no Referer (and not always an
Origin) on form posts, and refusing them would refuse real parents. Such a POST still needs a
start token bound to the cookie it brings. "This site" is the request's own scheme and host
and, when set, the origin of PUBLIC_BASE_URL (the printed links' host behind a proxy).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, render_template, request
from flask.sessions import SecureCookieSessionInterface

from survey.i18n import _

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def own_origins(scheme: str, host: str, public_base_url: str | None) -> set[str]:
    """This site: the request's own scheme and host, and the origin of PUBLIC_BASE_URL."""
    own = {f"{scheme}://{host.lower()}"}
    if public_base_url:
        origin = _origin_of(str(public_base_url))
        if origin:
            own.add(origin)
    return own


def is_cross_site(origin: str | None, referer: str | None, own: set[str]) -> bool:
    """The policy above, on the two headers as the browser sent them."""
    if origin and origin.strip().lower() != "null":
        return _origin_of(origin) not in own
    if referer:
        return _origin_of(referer) not in own
    return False  # neither header: WeChat and older WebViews; the start token's binding still holds


def cross_site() -> bool:
    """True when the browser tells us this request was made from a page of another site."""
    own = own_origins(request.scheme, request.host, current_app.config.get("PUBLIC_BASE_URL"))
    return is_cross_site(request.headers.get("Origin"), request.headers.get("Referer"), own)


def check_origin():
    """``before_request`` of the respondent blueprint: a cross-site POST gets a clear 403 page."""
    if request.method in UNSAFE_METHODS and cross_site():
        return render_template(
            "collect/error.html", code=403, title=_("无法提交"),
            text=_("这份问卷只能在本调查网站打开的问卷页面上提交，不能从其他网站或页面转交提交。"
                   "请重新扫描海报上的二维码（或打开学校发来的链接），在打开的页面里填写并提交。"),
        ), 403
    return None


class RespondentSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except on the respondent pages (``prefix``): there no
    session cookie is read or written (a null session: writing to it is a programming error),
    so a respondent request spends nothing on session signing."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/") + "/"

    def open_session(self, app, request):
        if request.path.startswith(self.prefix):
            return self.make_null_session(app)
        return super().open_session(app, request)
