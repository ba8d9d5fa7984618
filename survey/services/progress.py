"""A round's progress: responses against quota per school × group (the progress page)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from evaluator.groups import GROUPS
from survey.db import db
from survey.models import EntryLink, Response, SurveyRound


@dataclass(frozen=True)
class ProgressRow:
    school_code: str
    school_name: str
    cells: dict[str, tuple[int, int]]  # group -> (responses taking a quota place, quota)
    stored: dict[str, int] | None = None  # group -> every stored response, speeders included


@dataclass(frozen=True)
class Progress:
    rows: list[ProgressRow]  # schools, then one row "全县" for county-level groups
    groups: list[str]
    totals: dict[str, tuple[int, int]]
    total: tuple[int, int]


def progress(rnd: SurveyRound) -> Progress:
    """Responses against quota per school × group, from the links' counters (one query)."""
    rows: dict[int | None, dict[str, tuple[int, int]]] = defaultdict(dict)
    schools = {s.id: s for s in rnd.schools}
    stored: dict[int | None, dict[str, int]] = defaultdict(dict)
    counts = dict(db.session.execute(select(Response.link_id, func.count(Response.id))
                                     .where(Response.round_id == rnd.id).group_by(Response.link_id)).all())
    for ln in db.session.scalars(select(EntryLink).where(EntryLink.round_id == rnd.id)):
        rows[ln.school_id][ln.group] = (ln.responses_count, ln.quota)
        stored[ln.school_id][ln.group] = counts.get(ln.id, 0)
    groups = list(GROUPS)
    out = [
        ProgressRow(s.code, s.name, rows.get(s.id, {}), stored.get(s.id, {}))
        for s in sorted(schools.values(), key=lambda s: s.code)
    ]
    if None in rows:
        out.append(ProgressRow("", "全县（不分学校）", rows[None], stored[None]))
    totals = {g: (sum(r.cells.get(g, (0, 0))[0] for r in out), sum(r.cells.get(g, (0, 0))[1] for r in out))
              for g in groups}
    total = (sum(v[0] for v in totals.values()), sum(v[1] for v in totals.values()))
    return Progress(out, groups, totals, total)
