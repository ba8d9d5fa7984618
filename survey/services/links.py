"""A round's entry links as rows and as the CSV of `round links` (docs/interfaces.md §1)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from evaluator.cells import neutralise_row
from survey.db import db
from survey.models import EntryLink, School, SurveyRound

LINKS_HEADER = ("school_code", "school_name", "group", "url")


def link_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/s/{code}"


def links_table(rnd: SurveyRound, base_url: str) -> list[dict[str, str]]:
    """Rows of `round links`: school_code, school_name, group, url (school order, then county groups)."""
    links = db.session.scalars(
        select(EntryLink).where(EntryLink.round_id == rnd.id).outerjoin(School, EntryLink.school_id == School.id)
        .order_by(School.code.is_(None), School.code, EntryLink.id)
    )
    return [
        {
            "school_code": ln.school.code if ln.school else "",
            "school_name": ln.school.name if ln.school else "",
            "group": ln.group,
            "url": link_url(base_url, ln.code),
            "code": ln.code,
        }
        for ln in links
    ]


def links_csv_text(rnd: SurveyRound, base_url: str) -> str:
    """The entry-link CSV (docs/interfaces.md §1 `round links`; the staff page's download is the same
    text): header ``school_code,school_name,group,url``, ``\\n`` line ends, cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LINKS_HEADER)
    for row in links_table(rnd, base_url):
        writer.writerow(neutralise_row(row[k] for k in LINKS_HEADER))
    return out.getvalue()
