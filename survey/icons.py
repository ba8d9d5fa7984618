"""The icons a phone asks for on its first visit, served before Flask sees the request.

Every respondent's browser fetches ``/favicon.ico`` (and iOS ``/apple-touch-icon.png``) once:
at 300 respondents a second that is 300 more requests, and through Flask (request context,
every before/after hook, ``send_from_directory``'s stat and open) each cost about as much as a
small page. ``IconMiddleware`` answers them from bytes read once at start-up, with a content
hash as ETag (``If-None-Match`` gets 304) and a week's public caching; any other method, and
every other path, goes on to the app. nginx may serve the same files itself (deploy/).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ICONS = {"/favicon.ico": ("favicon.ico", "image/x-icon"), "/apple-touch-icon.png": ("apple-touch-icon.png", "image/png")}
MAX_AGE = 7 * 24 * 3600


class IconMiddleware:
    def __init__(self, app, static_folder: str | Path) -> None:
        self.app = app
        self.icons: dict[str, tuple[bytes, str, list[tuple[str, str]]]] = {}
        for path, (name, mimetype) in ICONS.items():
            body = (Path(static_folder) / name).read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers = [("Content-Type", mimetype), ("Content-Length", str(len(body))), ("ETag", etag),
                       ("Cache-Control", f"public, max-age={MAX_AGE}"), ("X-Content-Type-Options", "nosniff")]
            self.icons[path] = (body, etag, headers)

    def __call__(self, environ, start_response):
        icon = self.icons.get(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD")
        if icon is None or method not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        body, etag, headers = icon
        if etag in (environ.get("HTTP_IF_NONE_MATCH") or ""):
            start_response("304 Not Modified", [h for h in headers if h[0] != "Content-Length"])
            return [b""]
        start_response("200 OK", headers)
        return [b"" if method == "HEAD" else body]
