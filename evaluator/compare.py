"""Year-on-year progress of a county (seed 000 年度进展): two stored reports compared item
by item, with the county shortfall totals then and now. Pure logic over ``Report`` objects
(evaluator.report.model); the web workspace only calls ``compare_reports``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from evaluator.outcome import FAIL, PASS, PENDING
from evaluator.report.model import Report, ReportItem, as_report

Change = Literal["better", "worse", "same", "other"]
_RANK = {FAIL: 0, PENDING: 1, PASS: 2}


@dataclass(frozen=True)
class ItemChange:
    """One item's status then and now; ``change`` is "other" for n/a or an item in one report only."""

    code: str
    title: str
    then: str | None
    now: str | None
    change: Change
    detail_then: str
    detail_now: str


@dataclass(frozen=True)
class ShortfallChange:
    """A county total (e.g. 音乐专用教室, 间) then and now; 0 when a report has none."""

    item: str
    what: str
    unit: str
    then: float
    now: float


@dataclass(frozen=True)
class Comparison:
    items: tuple[ItemChange, ...]
    shortfalls: tuple[ShortfallChange, ...]
    verdict_then: str
    verdict_now: str
    score_then: float | None
    score_now: float | None
    passing_then: int
    passing_now: int

    def count(self, change: Change) -> int:
        return sum(1 for it in self.items if it.change == change)


def _change(then: str | None, now: str | None) -> Change:
    if then == now:
        return "same"
    if then in _RANK and now in _RANK:
        return "better" if _RANK[now] > _RANK[then] else "worse"
    return "other"


def _code_key(code: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in code.split("."))


def _score(report: Report) -> float | None:
    return report.recognition.score if report.recognition is not None else None


def _totals(report: Report) -> dict[tuple[str, str, str], float]:
    """County shortfall totals by (item, what, unit), summed from the rows when absent."""
    rows = report.shortfall_totals if report.shortfall_totals is not None else report.shortfalls
    out: dict[tuple[str, str, str], float] = {}
    for row in rows:
        key = (str(row.item or ""), str(row.what or ""), str(row.unit or ""))
        out[key] = out.get(key, 0.0) + float(row.amount or 0)
    return out


def compare_reports(then: Report | Mapping[str, Any], now: Report | Mapping[str, Any]) -> Comparison:
    """Item-by-item status of two reports of a county: better (fail → pending → pass),
    worse, same, or other; the now-report's items first, then those only in the older one."""
    then, now = as_report(then), as_report(now)
    a = {it.code: it for it in then.items}
    b = {it.code: it for it in now.items}
    blank = ReportItem()

    def row(code: str) -> ItemChange:
        old, new = a.get(code, blank), b.get(code, blank)
        return ItemChange(code=code, title=(b.get(code) or a.get(code) or blank).title, then=old.status,
                          now=new.status, change=_change(old.status, new.status), detail_then=old.detail,
                          detail_now=new.detail)

    ta, tb = _totals(then), _totals(now)
    return Comparison(
        items=tuple(row(c) for c in list(b) + [c for c in a if c not in b]),
        shortfalls=tuple(ShortfallChange(item=k[0], what=k[1], unit=k[2], then=ta.get(k, 0.0), now=tb.get(k, 0.0))
                         for k in sorted(set(ta) | set(tb), key=lambda k: (_code_key(k[0]), k[1]))),
        verdict_then=then.verdict, verdict_now=now.verdict, score_then=_score(then), score_now=_score(now),
        passing_then=sum(1 for it in a.values() if it.status == PASS),
        passing_now=sum(1 for it in b.values() if it.status == PASS),
    )
