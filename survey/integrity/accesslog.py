"""gunicorn access log without raw client addresses or entry and slip codes (issue 9 item 5).

An access log that pairs client addresses with entry-link codes would undo the anonymity the
keyed hashes give. By default (``ACCESS_LOG`` unset or ``anonymous``) each line keeps time,
method, path with every ``/s/<code>`` replaced by ``/s/…`` and no query string, status, size
and duration; ``ACCESS_LOG=off`` writes none; ``ACCESS_LOG=full`` is gunicorn's usual format.
"""

from __future__ import annotations

import os
import re

from gunicorn.glogging import Logger

ANONYMOUS_FORMAT = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
_CODE = re.compile(r"/s/[^/?#\s]+")


def redact(path: str) -> str:
    return _CODE.sub("/s/…", path.split("?", 1)[0])


class AnonymousLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact(str(atoms.get("U", "")))
        for key in ("h", "q", "f", "r", "a"):
            atoms[key] = "-"
        return atoms


def configure(cfg) -> None:
    """Apply the access-log setting to a gunicorn config (``serve``)."""
    mode = (os.environ.get("ACCESS_LOG") or "anonymous").strip().lower()
    if mode == "off":
        cfg.set("accesslog", None)
        return
    cfg.set("accesslog", "-")
    if mode != "full":
        cfg.set("logger_class", "survey.integrity.accesslog.AnonymousLogger")
        cfg.set("access_log_format", ANONYMOUS_FORMAT)
