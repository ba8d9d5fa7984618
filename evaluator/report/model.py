"""The stored report as typed objects: ``Report.from_dict`` reads a report dict (report.json,
an Evaluation's stored JSON), ``Report.to_dict`` writes it back key for key.

The writers and the year-on-year comparison read these attributes, not string keys. A dict
may be sparse (a hand-made or contract-only report: docs/interfaces.md §4 keys only); absent values
read as ``None`` / empty, and keys this module does not know are kept in ``extra`` so
nothing stored is lost.

``schema_version`` (REPORT_SCHEMA.md): 2 since the key exists; a stored dict without it is
version 1, the same layout, and loads unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from evaluator.outcome import RecognitionSummary

SCHEMA_VERSION = 2

_ITEM_KEYS = ("code", "title", "status", "detail", "area", "problem", "missing", "figures", "rectification")
_IND_KEYS = ("value", "threshold", "met", "ratio", "band")
_SCHOOL_KEYS = ("school_code", "name", "stage", "indicators", "met_count", "pass", "label", "school_type", "students",
                "excluded", "status", "reason", "missing")
_SHORTFALL_KEYS = ("school_code", "what", "amount", "unit", "school_name", "item")
_TOTAL_KEYS = ("item", "what", "amount", "unit", "schools")
_PREREQ_KEYS = ("status", "detail", "missing")
_COUNTY_KEYS = ("code", "name", "province", "assessment_year", "basic_balanced_year")
_PROV_KEYS = ("ruleset_id", "ruleset_version", "ruleset_sha256", "ruleset_sources", "ruleset_files", "inputs",
              "generated_at", "software_version")
_REPORT_KEYS = ("verdict", "rules", "items", "schools", "cv", "recognition", "shortfalls", "shortfall_totals",
                "reasons", "cv_limits", "cv_notes", "cv_mode", "prerequisite", "county", "provenance", "cv_composite",
                "schema_version")


def _extra(data: Mapping[str, Any], known: Iterable[str]) -> dict[str, Any]:
    known = set(known)
    return {k: copy.deepcopy(v) for k, v in data.items() if k not in known}


@dataclass(frozen=True, kw_only=True)
class _Stored:
    """Shared by the stored objects: ``present`` is the source dict's keys in its order (None for
    an object built in code), ``extra`` the keys this module does not know. ``to_dict`` writes
    the source's keys back in their order; an object built in code writes every known key."""

    present: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    _keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:
        """Plain fields named as the keys (the subclasses with nested objects override this)."""
        return cls(**{k: d.get(k) for k in cls._keys}, present=tuple(d), extra=_extra(d, cls._keys))

    def _value(self, key: str) -> Any:
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        present, extra = self.present, self.extra
        order = self._keys + tuple(extra) if present is None else present
        return {k: copy.deepcopy(extra[k]) if k in extra else _plain(self._value(k)) for k in order}


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Indicator(_Stored):
    """One school part's indicator: value, threshold, met, ratio (value/threshold) and band."""

    value: float | None = None
    threshold: float | None = None
    met: bool | None = None
    ratio: float | None = None
    band: str | None = None
    _keys: ClassVar[tuple[str, ...]] = _IND_KEYS


@dataclass(frozen=True)
class ReportItem(_Stored):
    """One item of the national table (or a local item L<n>)."""

    code: str = ""
    title: str = ""
    status: str | None = None
    detail: str = ""
    area: str = ""
    problem: str = ""
    missing: tuple[str, ...] = ()
    figures: Mapping[str, Any] = field(default_factory=dict)
    rectification: Mapping[str, str] | None = None
    _keys: ClassVar[tuple[str, ...]] = _ITEM_KEYS

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReportItem:
        return cls(code=str(d.get("code") or ""), title=str(d.get("title") or ""), status=d.get("status"),
                   detail=d.get("detail") or "", area=d.get("area") or "", problem=d.get("problem") or "",
                   missing=tuple(d.get("missing") or ()), figures=copy.deepcopy(dict(d.get("figures") or {})),
                   rectification=dict(d["rectification"]) if d.get("rectification") else None,
                   present=tuple(d), extra=_extra(d, _ITEM_KEYS))


@dataclass(frozen=True)
class SchoolRow(_Stored):
    """One school (or stage part of a split school) of ``schools[]``; ``passed`` is the ``pass`` key."""

    school_code: str = ""
    name: str = ""
    stage: str = ""
    indicators: Mapping[str, Indicator] = field(default_factory=dict)
    met_count: int | None = None
    passed: bool | None = None
    label: str | None = None
    school_type: str | None = None
    students: int | None = None
    excluded: bool = False
    status: str | None = None
    reason: str | None = None
    missing: tuple[str, ...] = ()
    _keys: ClassVar[tuple[str, ...]] = _SCHOOL_KEYS

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SchoolRow:
        return cls(school_code=d.get("school_code"), name=d.get("name"), stage=d.get("stage") or "",
                   indicators={k: Indicator.from_dict(v) for k, v in (d.get("indicators") or {}).items()},
                   met_count=d.get("met_count"), passed=d.get("pass"), label=d.get("label"),
                   school_type=d.get("school_type"), students=d.get("students"), excluded=d.get("excluded"),
                   status=d.get("status"), reason=d.get("reason"), missing=tuple(d.get("missing") or ()),
                   present=tuple(d), extra=_extra(d, _SCHOOL_KEYS))

    def _value(self, key: str) -> Any:
        return self.passed if key == "pass" else getattr(self, key)


@dataclass(frozen=True)
class ShortfallRow(_Stored):
    """What one school lacks for one item (``shortfalls[]``)."""

    school_code: str = ""
    what: str = ""
    amount: float | None = None
    unit: str = ""
    school_name: str = ""
    item: str = ""
    _keys: ClassVar[tuple[str, ...]] = _SHORTFALL_KEYS


@dataclass(frozen=True)
class ShortfallTotalRow(_Stored):
    """A county total of one kind of shortfall (``shortfall_totals[]``)."""

    item: str = ""
    what: str = ""
    amount: float | None = None
    unit: str = ""
    schools: int | None = None
    _keys: ClassVar[tuple[str, ...]] = _TOTAL_KEYS


@dataclass(frozen=True)
class Prerequisite(_Stored):
    status: str | None = None
    detail: str = ""
    missing: tuple[str, ...] = ()
    _keys: ClassVar[tuple[str, ...]] = _PREREQ_KEYS

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Prerequisite:
        return cls(d.get("status"), d.get("detail") or "", tuple(d.get("missing") or ()),
                   present=tuple(d), extra=_extra(d, _PREREQ_KEYS))


@dataclass(frozen=True)
class County(_Stored):
    code: str | None = None
    name: str | None = None
    province: str | None = None
    assessment_year: int | None = None
    basic_balanced_year: int | None = None
    _keys: ClassVar[tuple[str, ...]] = _COUNTY_KEYS


@dataclass(frozen=True)
class Provenance(_Stored):
    """Rule-set, inputs with SHA-256, time and software; ``extra`` holds added keys (survey_round …)."""

    ruleset_id: str | None = None
    ruleset_version: Any = None
    ruleset_sha256: str | None = None
    ruleset_sources: tuple[str, ...] = ()
    ruleset_files: tuple[Mapping[str, Any], ...] = ()
    inputs: tuple[Mapping[str, Any], ...] = ()
    generated_at: str | None = None
    software_version: str | None = None
    _keys: ClassVar[tuple[str, ...]] = _PROV_KEYS

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Provenance:
        return cls(d.get("ruleset_id"), d.get("ruleset_version"), d.get("ruleset_sha256"),
                   tuple(d.get("ruleset_sources") or ()), tuple(dict(f) for f in d.get("ruleset_files") or ()),
                   tuple(dict(i) for i in d.get("inputs") or ()), d.get("generated_at"), d.get("software_version"),
                   present=tuple(d), extra=_extra(d, _PROV_KEYS))


@dataclass(frozen=True)
class Report(_Stored):
    """A stored evaluation report (REPORT_SCHEMA.md) as typed objects."""

    verdict: str = ""
    rules: str | None = None
    items: tuple[ReportItem, ...] = ()
    schools: tuple[SchoolRow, ...] = ()
    cv: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    recognition: RecognitionSummary | None = None
    shortfalls: tuple[ShortfallRow, ...] = ()
    #: None when the stored dict has no totals (the writers then sum the rows and say so).
    shortfall_totals: tuple[ShortfallTotalRow, ...] | None = None
    reasons: tuple[str, ...] = ()
    cv_limits: Mapping[str, float | None] = field(default_factory=dict)
    cv_notes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    cv_mode: str | None = None
    prerequisite: Prerequisite | None = None
    county: County = field(default_factory=County)
    provenance: Provenance = field(default_factory=Provenance)
    cv_composite: Mapping[str, float | None] | None = None
    schema_version: int = SCHEMA_VERSION
    _keys: ClassVar[tuple[str, ...]] = _REPORT_KEYS

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Report:
        """A report dict of any schema version so far (1: no ``schema_version`` key)."""
        rec = d.get("recognition")
        totals = d.get("shortfall_totals")
        prereq = d.get("prerequisite")
        version = d.get("schema_version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version > SCHEMA_VERSION:
            raise ValueError(f"评估结果的版本 {version!r} 不受支持（本软件支持到 {SCHEMA_VERSION}）")
        return cls(
            verdict=str(d.get("verdict") or ""), rules=d.get("rules"),
            items=tuple(ReportItem.from_dict(i) for i in d.get("items") or ()),
            schools=tuple(SchoolRow.from_dict(s) for s in d.get("schools") or ()),
            cv=copy.deepcopy(dict(d.get("cv") or {})),
            recognition=RecognitionSummary.from_dict(rec) if isinstance(rec, Mapping) and rec else None,
            shortfalls=tuple(ShortfallRow.from_dict(s) for s in d.get("shortfalls") or ()),
            shortfall_totals=None if totals is None else tuple(ShortfallTotalRow.from_dict(t) for t in totals),
            reasons=tuple(d.get("reasons") or ()), cv_limits=dict(d.get("cv_limits") or {}),
            cv_notes=copy.deepcopy(dict(d.get("cv_notes") or {})), cv_mode=d.get("cv_mode"),
            prerequisite=Prerequisite.from_dict(prereq) if isinstance(prereq, Mapping) and prereq else None,
            county=County.from_dict(d.get("county") or {}), provenance=Provenance.from_dict(d.get("provenance") or {}),
            cv_composite=d.get("cv_composite"), schema_version=version,
            present=tuple(d), extra=_extra(d, _REPORT_KEYS),
        )

    def item(self, code: str) -> ReportItem | None:
        return next((it for it in self.items if it.code == code), None)


def as_report(report: Report | Mapping[str, Any]) -> Report:
    """A ``Report`` from either form (writers accept both)."""
    return report if isinstance(report, Report) else Report.from_dict(report)
