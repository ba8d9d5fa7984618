"""The county verdict (docs/rules.md §7) and the report dict (docs/interfaces.md §4 + REPORT_SCHEMA.md).

Recognised iff: the prerequisite holds (基本均衡 at least ``prerequisite.basic_balanced_min_years``
years before the assessment), every school passes 1.8, 1.9 passes, all of 2.1–2.15 and
3.1–3.9 pass, social recognition (item 5) passes and no veto practice (4.1–4.6) is present.
Items 1.1–1.7 describe single indicators; the per-school rule 1.8 decides. "n/a" never
blocks. Any FAIL gives "not_recognized"; otherwise any PENDING gives "incomplete".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from evaluator.assurance import evaluate_assurance
from evaluator.fields import field_zh
from evaluator.indicators import ResourceResult, evaluate_resources
from evaluator.labels import STATUS_WORD
from evaluator.local_scoring import evaluate_local_items
from evaluator.outcome import (
    FAIL,
    NA,
    PASS,
    PENDING,
    ItemResult,
    RecognitionSummary,
    Shortfall,
    fmt,
    meets,
)
from evaluator.quality import evaluate_quality
from evaluator.report.model import SCHEMA_VERSION, Report
from evaluator.rules import INDICATOR_KEYS, ITEM_CODES, STAGES, RuleSet
from evaluator.veto import evaluate_veto
from evaluator.workbook import Workbook

if TYPE_CHECKING:
    from evaluator.recognition.result import RecognitionResult

Verdict = Literal["recognized", "not_recognized", "incomplete"]
SOFTWARE_VERSION = "evaluator 0.1"
NON_BLOCKING = {f"1.{i}" for i in range(1, 8)}


@dataclass(frozen=True)
class ShortfallTotal:
    """County total of one kind of shortfall, e.g. 共缺少10间音乐教室 (2.3)."""

    item: str
    what: str
    amount: float
    unit: str
    schools: int


@dataclass(frozen=True)
class EvaluationReport:
    """Everything the writers need; ``to_dict()`` is the report dict."""

    verdict: Verdict
    ruleset: RuleSet
    items: tuple[ItemResult, ...]
    prerequisite: ItemResult
    resources: ResourceResult
    recognition: RecognitionSummary | None
    shortfalls: tuple[Shortfall, ...]
    shortfall_totals: tuple[ShortfallTotal, ...]
    reasons: tuple[str, ...]
    county: Mapping[str, Any]
    rectification: Mapping[str, Mapping[str, str]]
    inputs: tuple[tuple[str, str], ...]
    generated_at: str
    extra_provenance: Mapping[str, Any] = field(default_factory=dict)

    def item(self, code: str) -> ItemResult:
        for it in self.items:
            if it.code == code:
                return it
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        """The report dict: docs/interfaces.md §4 keys plus the REPORT_SCHEMA.md extensions."""
        rr = self.ruleset.resources
        items = []
        for it in self.items:
            d: dict[str, Any] = {"code": it.code, "title": it.title, "status": it.status, "detail": it.detail,
                                 "area": it.area, "problem": it.problem, "missing": list(it.missing),
                                 "figures": _jsonable(dict(it.figures))}
            if it.code in self.rectification:
                d["rectification"] = dict(self.rectification[it.code])
            items.append(d)
        schools = []
        for p in self.resources.parts:
            inds = {}
            for key in INDICATOR_KEYS:
                iv = p.indicators[key]
                inds[key] = {"value": iv.value, "threshold": iv.threshold, "met": iv.met, "ratio": iv.ratio,
                             "band": iv.band}
            schools.append({
                "school_code": p.school_code, "name": p.name, "stage": p.stage, "indicators": inds,
                "met_count": p.met_count, "pass": None if p.status in (PENDING, NA) else p.status == PASS,
                "label": p.label, "school_type": p.school_type, "students": p.students, "excluded": p.excluded,
                "status": p.status, "reason": p.reason, "missing": list(p.missing),
            })
        out: dict[str, Any] = {
            "verdict": self.verdict,
            "rules": self.ruleset.id,
            "items": items,
            "schools": schools,
            "cv": {st: dict(self.resources.cv[st]) for st in STAGES},
            "recognition": self.recognition.to_dict() if self.recognition is not None else None,
            "shortfalls": [{"school_code": s.school_code, "what": s.what, "amount": s.amount, "unit": s.unit,
                            "school_name": s.school_name, "item": s.item} for s in self.shortfalls],
            "shortfall_totals": [{"item": t.item, "what": t.what, "amount": t.amount, "unit": t.unit,
                                  "schools": t.schools} for t in self.shortfall_totals],
            "reasons": list(self.reasons),
            "cv_limits": dict(rr.cv_limits if rr.cv_mode == "weighted" else rr.cv_composite_limits),
            "cv_notes": {st: dict(self.resources.cv_notes[st]) for st in STAGES if self.resources.cv_notes[st]},
            "cv_mode": rr.cv_mode,
            "prerequisite": {"status": self.prerequisite.status, "detail": self.prerequisite.detail,
                             "missing": list(self.prerequisite.missing)},
            "county": dict(self.county),
            "provenance": {
                "ruleset_id": self.ruleset.id, "ruleset_version": self.ruleset.version,
                "ruleset_sha256": self.ruleset.sha256,
                "ruleset_sources": [p.name for p in self.ruleset.sources],
                "ruleset_files": [{"name": n, "sha256": h} for n, h in self.ruleset.files.items()],
                "inputs": [{"name": n, "sha256": h} for n, h in self.inputs],
                "generated_at": self.generated_at, "software_version": SOFTWARE_VERSION,
                **dict(self.extra_provenance),
            },
        }
        if rr.cv_mode == "composite":
            out["cv_composite"] = dict(self.resources.cv_composite)
        out["schema_version"] = SCHEMA_VERSION
        return _jsonable(out)

    def report(self) -> Report:
        """The typed stored form (what the writers and the comparison read)."""
        return Report.from_dict(self.to_dict())


def _jsonable(value: Any) -> Any:
    """Plain JSON types; NaN becomes null (json would write an invalid NaN)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    return value


def recognition_item(recognition: RecognitionSummary | None, rules: RuleSet) -> ItemResult:
    """Item 5 from the social-recognition result; PENDING when none is supplied. PASS iff
    score ≥ threshold (``outcome.meets``, the result's own threshold when it carries one); a
    pending result stays pending."""
    title = rules.item_titles["5"]
    raw_threshold = rules.section("recognition").get("threshold")
    threshold = float(raw_threshold) if isinstance(raw_threshold, int | float) else None
    if recognition is None:
        return ItemResult("5", title, "recognition", PENDING, "未提供社会认可度调查结果（--responses 或 --round）",
                          "", (field_zh("responses"),))
    status = recognition.status
    if status not in (PASS, FAIL, PENDING):
        return ItemResult("5", title, "recognition", PENDING, f"社会认可度结果状态无法识别：{status!r}", "",
                          ("社会认可度结果状态",))
    score, ci = recognition.score, recognition.ci
    if recognition.threshold is not None:
        threshold = recognition.threshold
    if status in (PASS, FAIL) and score is None:
        return ItemResult("5", title, "recognition", PENDING, "社会认可度结果没有认可度得分（score），不能判定", "",
                          ("社会认可度得分",))
    if status in (PASS, FAIL) and threshold is not None:
        status = PASS if meets(float(score), threshold, "at_least") else FAIL  # the engine's one comparison
    standard = f"（标准≥{fmt(threshold * 100)}%）" if threshold is not None else ""
    detail = f"社会认可度{fmt(score * 100 if score is not None else None)}%{standard}"
    if ci:
        detail += f"，{_confidence_label(recognition, rules)}置信区间{fmt(ci[0] * 100)}%–{fmt(ci[1] * 100)}%"
    if recognition.borderline:
        detail += "，置信区间包含标准值（临界）"
    if recognition.n_kept is not None:
        detail += f"，有效样本{recognition.n_kept}份"
    problem = ""
    if status == FAIL:
        problem = f"社会认可度为{fmt(score * 100 if score is not None else None)}%，未达到标准{standard}。"
    return ItemResult("5", title, "recognition", status, detail, problem,
                      (field_zh("responses"),) if status == PENDING else (), {"score": score})


def _confidence_label(recognition: RecognitionSummary, rules: RuleSet) -> str:
    """"95%" — the level the result was computed with, else the rule-set's ``recognition.confidence``."""
    level = recognition.confidence
    if level is None:
        level = rules.section("recognition").get("confidence")
    if not isinstance(level, int | float) or isinstance(level, bool):
        return ""
    return f"{fmt(float(level) * 100, 4)}%"


def as_recognition(recognition: RecognitionResult | RecognitionSummary | Mapping[str, Any] | None
                   ) -> RecognitionSummary | None:
    """The typed recognition part of a report: from the estimator's result, a stored
    report's ``recognition`` object, or None (item 5 pending)."""
    if recognition is None or isinstance(recognition, RecognitionSummary):
        return recognition
    if isinstance(recognition, Mapping):
        return RecognitionSummary.from_dict(recognition)
    if callable(getattr(recognition, "to_dict", None)):  # RecognitionResult, or another with its JSON form
        return RecognitionSummary.from_dict(recognition.to_dict())
    raise TypeError(f"recognition: {type(recognition).__name__}")


def prerequisite_item(county: Mapping[str, Any], rules: RuleSet) -> ItemResult:
    """Prerequisite: assessment_year − basic_balanced_year ≥ basic_balanced_min_years."""
    years = rules.prerequisite_years
    a, b = county.get("assessment_year"), county.get("basic_balanced_year")
    title = f"通过基本均衡认定满{years}年"
    missing = tuple(field_zh(k) for k, v in (("basic_balanced_year", b), ("assessment_year", a)) if v is None)
    if missing:
        return ItemResult("0", title, "prerequisite", PENDING, "缺少数据：" + "、".join(missing), "", missing)
    gap = int(a) - int(b)
    ok = meets(gap, years, "at_least")
    detail = f"{int(b)}年通过基本均衡认定，{int(a)}年评估，相隔{gap}年（要求≥{years}年）"
    return ItemResult("0", title, "prerequisite", PASS if ok else FAIL, detail,
                      "" if ok else f"通过基本均衡认定不满{years}年。")


def shortfall_totals(shortfalls: Sequence[Shortfall]) -> tuple[ShortfallTotal, ...]:
    """County totals per (item, what, unit), in item order."""
    order = {c: i for i, c in enumerate(ITEM_CODES)}
    acc: dict[tuple[str, str, str], tuple[float, set[str]]] = {}
    for s in shortfalls:
        amount, codes = acc.get((s.item, s.what, s.unit), (0.0, set()))
        codes.add(s.school_code)
        acc[(s.item, s.what, s.unit)] = (amount + s.amount, codes)
    rows = [ShortfallTotal(i, w, round(a, 2), u, len(c)) for (i, w, u), (a, c) in acc.items()]
    return tuple(sorted(rows, key=lambda t: order.get(t.item, 99)))


def verdict_of(items: Sequence[ItemResult], prerequisite: ItemResult) -> tuple[Verdict, tuple[str, ...]]:
    """Verdict and the Chinese reason for every blocking item that is not a pass."""
    blocking = [prerequisite] + [i for i in items if i.code not in NON_BLOCKING]
    reasons = []
    for it in blocking:
        if it.status in (FAIL, PENDING):
            text = it.problem.rstrip("。") if it.status == FAIL and it.problem else it.detail
            label = "前提条件" if it.code == "0" else it.code
            reasons.append(f"{label}（{STATUS_WORD[it.status]}）{_short_title(it.title)}：{text}")
    if any(i.status == FAIL for i in blocking):
        return "not_recognized", tuple(reasons)
    if any(i.status == PENDING for i in blocking):
        return "incomplete", tuple(reasons)
    return "recognized", ()


def _short_title(title: str) -> str:
    return title.split("，")[0].split("；")[0].split("：")[0].split("（")[0]


def evaluate(schools: pd.DataFrame, county: Mapping[str, Any], rules: RuleSet, *,
             classes: pd.DataFrame | None = None, rooms: pd.DataFrame | None = None,
             recognition: RecognitionResult | RecognitionSummary | Mapping[str, Any] | None = None,
             rectification: Mapping[str, Mapping[str, str]] | None = None,
             inputs: Sequence[tuple[str, str]] = (), generated_at: str | None = None) -> EvaluationReport:
    """Full evaluation of one county: items 1.1–5, the verdict and the shortfalls.

    ``schools``/``classes``/``rooms`` are the validated sheets of ``evaluator.workbook``
    (``read_workbook``), ``county`` the county sheet as key → value, ``recognition`` the
    social-recognition result: ``evaluator.recognition.RecognitionResult``, its summary, or a
    stored report's ``recognition`` object (None → item 5 PENDING); the report keeps it typed
    (``RecognitionSummary``)."""
    recognition = as_recognition(recognition)
    resources = evaluate_resources(schools, rules)
    assurance = evaluate_assurance(schools, classes, rooms, county, rules)
    quality = evaluate_quality(schools, county, rules)
    veto = evaluate_veto(county, rules)
    items = resources.items + assurance.items + quality.items + veto.items + (recognition_item(recognition, rules),)
    assert tuple(i.code for i in items) == ITEM_CODES, [i.code for i in items]
    local = evaluate_local_items(schools, county, rules.local_items)  # L1, L2, … after the national table
    items = items + local.items
    prereq = prerequisite_item(county, rules)
    verdict, reasons = verdict_of(items, prereq)
    shortfalls = resources.shortfalls + assurance.shortfalls + quality.shortfalls + local.shortfalls
    county_info = {"code": county.get("county_code"), "name": county.get("county_name"),
                   "province": county.get("province"), "assessment_year": county.get("assessment_year"),
                   "basic_balanced_year": county.get("basic_balanced_year")}
    return EvaluationReport(
        verdict=verdict, ruleset=rules, items=items, prerequisite=prereq, resources=resources,
        recognition=recognition, shortfalls=shortfalls, shortfall_totals=shortfall_totals(shortfalls),
        reasons=reasons, county=county_info, rectification=dict(rectification or {}), inputs=tuple(inputs),
        generated_at=generated_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def evaluate_workbook(workbook: Workbook, rules: RuleSet,
                      recognition: RecognitionResult | RecognitionSummary | Mapping[str, Any] | None = None,
                      extra_inputs: Sequence[tuple[str, str]] = ()) -> EvaluationReport:
    """``evaluate`` on a workbook read by ``evaluator.workbook.read_workbook``."""
    return evaluate(workbook.schools, workbook.county, rules, classes=workbook.classes, rooms=workbook.rooms,
                    recognition=recognition, rectification=workbook.rectification,
                    inputs=tuple(workbook.inputs) + tuple(extra_inputs))
