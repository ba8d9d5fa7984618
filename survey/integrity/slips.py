"""One-time slip codes (答题码) for an entry link, and the per-group setting for answering
several times from one browser. Services: explicit arguments; add and flush, never commit.

The codes exist only in what ``issue_slips`` returns: the database keeps their keyed hashes."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from evaluator.cells import neutralise_row
from evaluator.groups import GROUPS
from survey.db import db
from survey.i18n import _
from survey.models import EntryLink, SlipCode, SurveyRound
from survey.services import ServiceError
from survey.services.links import link_url
from survey.services.responses import slip_hash
from survey.services.rounds import describe_link

MAX_SLIPS = 2000
SLIP_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
SLIP_LENGTH = 8  # 31^8 ≈ 8.5·10^11: not guessable, short enough to type from paper


@dataclass(frozen=True)
class SlipBatch:
    batch: int
    codes: tuple[str, ...]  # in code order: the printed order says nothing about who answers when
    base: str  # the link's address; a slip's address is ``f"{base}?slip={code}"``
    csv_text: str  # school_code, school_name, group, code, url (formula-like cells neutralised)

    def url(self, code: str) -> str:
        return f"{self.base}?slip={code}"


def parse_slip_count(ln: EntryLink, text: str | None) -> int:
    """The number of slips typed on the round page (1–MAX_SLIPS), or a refusal naming the link."""
    text = (text or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_SLIPS:
        raise ServiceError(_("%(where)s：纸条张数应为 1–%(max)s 的整数，您填写的是“%(v)s”。",
                             where=describe_link(ln), max=MAX_SLIPS, v=text))
    return int(text)


def issue_slips(ln: EntryLink, n: int, base_url: str) -> SlipBatch:
    """Switch ``ln`` to "code required" and store ``n`` new one-time codes (as keyed hashes)."""
    codes: set[str] = set()
    while len(codes) < n:
        codes.add("".join(secrets.choice(SLIP_ALPHABET) for _i in range(SLIP_LENGTH)))
    last = db.session.scalar(select(func.max(SlipCode.batch)).where(SlipCode.link_id == ln.id))
    batch = 1 + (last or 0)
    ordered = tuple(sorted(codes))
    db.session.add_all(SlipCode(link_id=ln.id, code_hash=slip_hash(ln.code, c), batch=batch) for c in ordered)
    ln.code_required = True
    db.session.flush()
    base = link_url(base_url, ln.code)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["school_code", "school_name", "group", "code", "url"])
    for c in ordered:
        w.writerow(neutralise_row([ln.school.code if ln.school else "", ln.school.name if ln.school else "", ln.group,
                                   c, f"{base}?slip={c}"]))
    return SlipBatch(batch=batch, codes=ordered, base=base, csv_text=out.getvalue())


def stop_slips(ln: EntryLink) -> None:
    """Answering needs no code again (codes already issued stay stored, unused)."""
    ln.code_required = False
    db.session.flush()


def set_repeat_groups(rnd: SurveyRound, groups: Iterable[str]) -> list[str]:
    """Which groups may answer several times from one browser (computer room, shared phone)."""
    chosen = [g for g in GROUPS if g in set(groups)]
    rnd.repeat_groups = chosen or None
    db.session.flush()
    return chosen
