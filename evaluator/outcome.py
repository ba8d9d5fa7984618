"""Result types shared by every area of the evaluation: items, shortfalls, statuses, and the
social-recognition summary a report keeps (light: the writers import it without the estimator)."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "pending", "n/a"]
PASS: Status = "pass"
FAIL: Status = "fail"
PENDING: Status = "pending"
NA: Status = "n/a"
# Relative tolerance for "at least" comparisons, so that a value equal to the threshold
# on paper (e.g. 100 × 42 / 1000 = 4.2) is not lost to binary rounding.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class ItemResult:
    """One row of the national table: status, the figures behind it and the 存在问题 text."""

    code: str
    title: str
    area: str
    status: Status
    detail: str
    problem: str = ""
    missing: tuple[str, ...] = ()
    figures: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Shortfall:
    """What one school lacks for one item, e.g. 2 间 音乐专用教室 for 2.3."""

    school_code: str
    school_name: str
    item: str
    what: str
    amount: float
    unit: str


def at_least(value: float, threshold: float) -> bool:
    """value ≥ threshold, with the relative tolerance TOLERANCE."""
    return value >= threshold - TOLERANCE * max(1.0, abs(threshold))


def at_most(value: float, limit: float) -> bool:
    """value ≤ limit, with the relative tolerance TOLERANCE."""
    return value <= limit + TOLERANCE * max(1.0, abs(limit))


Comparison = Literal["at_least", "at_most", "above", "below"]


def meets(value: float, threshold: float, how: Comparison) -> bool:
    """The one threshold comparison of the engine (items, relaxations, the recognition
    estimator): ≥, ≤, > or < with the relative tolerance TOLERANCE, so a value equal to the
    threshold on paper is equal in the comparison too. "above"/"below" are the strict forms:
    a value within the tolerance of the threshold is neither above nor below it. NaN never
    meets anything (callers treat missing data before comparing)."""
    if value != value or threshold != threshold:
        return False
    if how == "at_least":
        return at_least(value, threshold)
    if how == "at_most":
        return at_most(value, threshold)
    if how == "above":
        return not at_most(value, threshold)
    if how == "below":
        return not at_least(value, threshold)
    raise ValueError(how)


def combine(statuses: Iterable[Status]) -> Status:
    """Fail beats pending beats pass; only n/a everywhere gives n/a."""
    seen = set(statuses)
    if FAIL in seen:
        return FAIL
    if PENDING in seen:
        return PENDING
    if PASS in seen:
        return PASS
    return NA


def name_list(names: list[str], limit: int = 8) -> str:
    """``A、B、C``; long lists end in ``等N所``."""
    if len(names) <= limit:
        return "、".join(names)
    return "、".join(names[:limit]) + f"等{len(names)}所"


def fmt(value: float | None, digits: int = 2) -> str:
    """Display a number without trailing zeros (full precision stays in the data)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return text or "0"


def pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{fmt(value * 100, digits)}%"


def round_up(amount: float, unit: str) -> float:
    """Shortfall amounts: whole persons, rooms, classes and 元; 平方米 to 0.1, rounded up."""
    if unit == "平方米":
        return math.ceil(amount * 10 - 1e-9) / 10
    return float(math.ceil(amount - 1e-9))


def missing_item(code: str, title: str, area: str, missing: Iterable[str], what: str = "") -> ItemResult:
    fields = tuple(dict.fromkeys(missing))
    return ItemResult(code, title, area, PENDING, f"缺少数据：{'、'.join(fields)}" + (f"（{what}）" if what else ""),
                      missing=fields)


def conclude(code: str, title: str, area: str, problems: list[str], details: list[str], missing: list[str],
             figures: Mapping[str, Any], *, joiner: str = "；", missing_label: str = "缺少数据") -> ItemResult:
    """An item judged over many schools: FAIL when any problem was found, else PENDING when
    data is missing, else PASS. ``problems`` become the 存在问题 text."""
    status: Status = FAIL if problems else (PENDING if missing else PASS)
    if missing:
        details = details + [f"{missing_label}：" + "、".join(missing)]
    return ItemResult(code, title, area, status, "；".join(details),
                      joiner.join(problems) + ("。" if problems else ""),
                      tuple(missing) if status == PENDING else (), figures)


def _number(value: Any) -> float | None:
    """A JSON number as float; anything else (null, text, a boolean) as None."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _interval(value: Any) -> tuple[float, float] | None:
    if isinstance(value, list | tuple) and len(value) == 2 and all(_number(v) is not None for v in value):
        return (float(value[0]), float(value[1]))
    return None


@dataclass(frozen=True)
class RecognitionSummary:
    """The ``recognition`` object of a report as a typed result: the county figures the
    verdict and the writers read, and the whole object (``data``) for the breakdowns.

    Built from a ``RecognitionResult`` (``evaluator.recognition.RecognitionResult.summary()``) or from a stored
    report's JSON (``from_dict``); ``to_dict()`` gives that JSON back unchanged. Figures that
    are absent or not numbers are ``None``; ``status`` keeps whatever the object says, so a
    caller can tell an unknown status from a missing one."""

    status: Any
    score: float | None
    ci: tuple[float, float] | None
    threshold: float | None
    confidence: float | None
    borderline: bool
    n_kept: int | None
    n_dropped: int | None
    se: float | None
    df: int | None
    dont_know_rate: float | None
    dont_know_as_no: float | None
    dont_know_as_no_status: str | None
    min_cell: int | None
    warnings: tuple[str, ...]
    data: Mapping[str, Any]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecognitionSummary:
        status = data.get("dont_know_as_no_status")
        return cls(status=data.get("status"), score=_number(data.get("score")), ci=_interval(data.get("ci")),
                   threshold=_number(data.get("threshold")), confidence=_number(data.get("confidence")),
                   borderline=bool(data.get("borderline")), n_kept=_count(data.get("n_kept")),
                   n_dropped=_count(data.get("n_dropped")), se=_number(data.get("se")), df=_count(data.get("df")),
                   dont_know_rate=_number(data.get("dont_know_rate")),
                   dont_know_as_no=_number(data.get("dont_know_as_no")),
                   dont_know_as_no_status=status if isinstance(status, str) else None,
                   min_cell=_count(data.get("min_cell")), warnings=tuple(map(str, data.get("warnings") or ())),
                   data=dict(data))

    def _table(self, key: str) -> Mapping[str, Any]:
        value = self.data.get(key)
        return value if isinstance(value, Mapping) else {}

    @property
    def groups(self) -> Mapping[str, Mapping[str, Any]]:
        """Per respondent group: {score, n, se, ci, weight, label, dont_know_rate, deff …}."""
        return self._table("groups")

    @property
    def items(self) -> Mapping[str, Mapping[str, Any]]:
        """Per questionnaire item: {score, se, n, dont_know_rate, text}."""
        return self._table("items")

    @property
    def schools(self) -> Mapping[str, Mapping[str, Any]]:
        """Per school: {score, se, n} or {n, suppressed: true}."""
        return self._table("schools")

    @property
    def deff(self) -> Mapping[str, float | None]:
        return self._table("deff")

    @property
    def unfiltered(self) -> Mapping[str, Any]:
        """The estimate without the quality filters: {score, ci, n}."""
        return self._table("unfiltered")

    @property
    def dropped(self) -> Mapping[str, int]:
        """Answers the filters dropped, by reason (speeder, straightliner_fast, empty)."""
        return self._table("dropped")

    @property
    def without_flagged(self) -> Mapping[str, Any]:
        """The score without integrity-flagged answers (survey rounds; empty otherwise)."""
        return self._table("without_flagged")

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.data))
