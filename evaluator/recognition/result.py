"""Result objects of the social-recognition estimator.

``RecognitionResult.to_dict()`` is the ``recognition`` object of docs/interfaces.md §4 (contract
keys first) plus the extensions listed in evaluator/report/REPORT_SCHEMA.md. Numbers keep
full precision; displays round. A figure that cannot be computed (e.g. a standard error
with a single cluster) is ``None`` (JSON null) and ``warnings`` says why.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evaluator.outcome import RecognitionSummary


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _ci(ci: tuple[float, float] | None) -> list[float] | None:
    return None if ci is None else [float(ci[0]), float(ci[1])]


@dataclass(frozen=True)
class GroupEstimate:
    """p_g = Σw·a / Σw·v within group g, with its linearised SE and deffs."""

    group: str
    label: str
    weight: float
    score: float | None
    se: float | None
    ci: tuple[float, float] | None
    n: int
    clusters: int
    dont_know_rate: float | None
    dont_know_as_no: float | None
    deff_kish: float | None
    deff_total: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"score": _num(self.score), "n": self.n, "se": _num(self.se), "ci": _ci(self.ci),
                "weight": self.weight, "dont_know_rate": _num(self.dont_know_rate), "label": self.label,
                "clusters": self.clusters, "dont_know_as_no": _num(self.dont_know_as_no),
                "deff": {"kish": _num(self.deff_kish), "total": _num(self.deff_total)}}


@dataclass(frozen=True)
class ItemEstimate:
    """Item domain: P_k = Σ_g W̃_g·p_gk over the weighted groups that answered item k,
    W̃_g = W_g / Σ W over those groups (the groups are listed)."""

    item: str
    text: str
    score: float | None
    se: float | None
    n: int
    dont_know_rate: float | None
    groups: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"score": _num(self.score), "se": _num(self.se), "n": self.n,
                "dont_know_rate": _num(self.dont_know_rate), "text": self.text,
                "groups": list(self.groups)}


@dataclass(frozen=True)
class SchoolEstimate:
    """School domain; cells under the minimum size are suppressed (score and se withheld)."""

    school_code: str
    n: int
    score: float | None
    se: float | None
    suppressed: bool

    def to_dict(self) -> dict[str, Any]:
        if self.suppressed:
            return {"n": self.n, "suppressed": True}
        return {"score": _num(self.score), "se": _num(self.se), "n": self.n}


@dataclass(frozen=True, eq=False)
class SchoolTable:
    """Per-school figures as parallel arrays (20 000 schools need no 20 000 objects until
    someone asks): codes, respondents n, score, se, and whether the cell is shown."""

    codes: tuple[str, ...]
    n: np.ndarray
    score: np.ndarray
    se: np.ndarray
    shown: np.ndarray

    def estimates(self) -> tuple[SchoolEstimate, ...]:
        return tuple(
            SchoolEstimate(code, k, sc, _num(e), False) if ok else SchoolEstimate(code, k, None, None, True)
            for code, k, ok, sc, e in zip(self.codes, self.n.tolist(), self.shown.tolist(),
                                          self.score.tolist(), self.se.tolist(), strict=True))


@dataclass(frozen=True)
class CountyEstimate:
    """P = Σ W_g·p_g with Var(P) = Σ W_g²·Var(p_g), df = Σ (m_g − 1), logit-scale CI."""

    score: float
    se: float | None
    df: int
    ci: tuple[float, float] | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"score": _num(self.score), "se": _num(self.se), "df": self.df, "ci": _ci(self.ci), "n": self.n}


@dataclass(frozen=True)
class RecognitionResult:
    """The county social-recognition estimate (docs/rules.md §6) and its breakdowns."""

    score: float
    se: float | None
    df: int
    ci: tuple[float, float] | None
    n_kept: int
    n_dropped: int
    status: str
    borderline: bool
    threshold: float
    confidence: float
    groups: tuple[GroupEstimate, ...]
    dont_know_as_no: float
    dont_know_as_no_status: str
    dont_know_rate: float
    dont_know_policy: str
    deff: Mapping[str, float | None]
    dropped: Mapping[str, int]
    duration_unknown: int
    unfiltered: CountyEstimate | None
    items: tuple[ItemEstimate, ...]
    school_table: SchoolTable
    school_se: str
    min_cell: int
    weights_source: str
    census: CountyEstimate | None = None
    warnings: tuple[str, ...] = field(default=())
    #: The score without the responses carrying integrity flags (survey rounds, CONTRACTS §5).
    without_flagged: Mapping[str, Any] | None = None

    @functools.cached_property
    def schools(self) -> tuple[SchoolEstimate, ...]:
        """Per-school domains (schools with respondents in a weighted school group)."""
        return self.school_table.estimates()

    def group(self, key: str) -> GroupEstimate:
        for g in self.groups:
            if g.group == key:
                return g
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "score": _num(self.score), "ci": _ci(self.ci), "se": _num(self.se), "df": self.df,
            "n_kept": self.n_kept, "n_dropped": self.n_dropped, "status": self.status,
            "borderline": self.borderline,
            "groups": {g.group: g.to_dict() for g in self.groups},
            "dont_know_as_no": _num(self.dont_know_as_no),
            "threshold": self.threshold,
            "confidence": self.confidence,
            "deff": {k: _num(v) for k, v in self.deff.items()},
            "unfiltered": None if self.unfiltered is None else {
                "score": _num(self.unfiltered.score), "ci": _ci(self.unfiltered.ci), "n": self.unfiltered.n},
            "dropped": dict(self.dropped),
            "duration_unknown": self.duration_unknown,
            "dont_know_rate": _num(self.dont_know_rate),
            "dont_know_policy": self.dont_know_policy,
            "dont_know_as_no_status": self.dont_know_as_no_status,
            "items": {i.item: i.to_dict() for i in self.items},
            "schools": {s.school_code: s.to_dict() for s in self.schools},
            "school_se": self.school_se,
            "min_cell": self.min_cell,
            "weights_source": self.weights_source,
            "warnings": list(self.warnings),
        }
        if self.census is not None:
            out["census"] = self.census.to_dict() | {
                "note": "普查口径：全部学校均参与调查，按学校分层、校内无放回抽样并作有限总体校正"}
        if self.without_flagged is not None:
            out["without_flagged"] = dict(self.without_flagged)
        return out

    def summary(self) -> RecognitionSummary:
        """The typed summary the report keeps (what report.json stores of this result)."""
        return RecognitionSummary.from_dict(self.to_dict())
