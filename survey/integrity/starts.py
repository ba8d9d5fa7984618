"""Counting started questionnaires per (link, address hash, device class, minute).

One upsert per blank form served: ``starts`` always, ``fresh`` when the browser came without
our cookie (a new phone, or a client that drops cookies to farm start tokens). Nothing is
ever refused because of these counts (school Wi-Fi and carrier NAT share addresses); the
token_farming signal reads them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from survey.db import db
from survey.models import LinkStart

_UPSERTS: dict[str, object] = {}


def _upsert(dialect: str):
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        base = make(LinkStart).values(link_id=bindparam("link_id"), ip_hash=bindparam("ip_hash"),
                                      ua_class=bindparam("ua_class"), minute=bindparam("minute"),
                                      starts=1, fresh=bindparam("fresh"))
        stmt = _UPSERTS[dialect] = base.on_conflict_do_update(
            index_elements=["link_id", "ip_hash", "ua_class", "minute"],
            set_={"starts": LinkStart.starts + 1, "fresh": LinkStart.fresh + base.excluded.fresh})
    return stmt


def record_start(*, link_id: int, ip_hash: str, ua_class: str, now: datetime, fresh: bool) -> None:
    conn = db.session.connection()
    conn.execute(_upsert(conn.dialect.name), {
        "link_id": link_id, "ip_hash": ip_hash, "ua_class": ua_class,
        "minute": now.replace(second=0, microsecond=0), "fresh": 1 if fresh else 0,
    })
