"""Judging local items (地方指标, declared in ``evaluator.local_items``) on a county's data.

A county item compares its ratios of county-sheet values with the thresholds; a school item
judges every school part (school × 学段) of the types it applies to. Missing data makes an
item PENDING (schools and fields named in Chinese), a zero denominator follows the item's
``on_zero_denominator``; shortfalls are the numerator units missing to reach the threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evaluator.local_items import BUILTIN_SCHOOL_STEMS, LOCAL_STAGES, LocalItem
from evaluator.outcome import (
    FAIL,
    NA,
    PASS,
    PENDING,
    ItemResult,
    Shortfall,
    Status,
    combine,
    fmt,
    name_list,
    round_up,
)
from evaluator.tables import SCHOOL_TYPES, SPLIT_TYPES, STAGES, TYPE_STAGES
from evaluator.workbook.coerce import number

# Compulsory 学段 of each school type, and the types whose parts are named with their 学段.
_TYPE_STAGES = {t: tuple(s for s in TYPE_STAGES[t] if s in STAGES) for t in SCHOOL_TYPES}
_SPLIT = SPLIT_TYPES


def _field_zh(item: LocalItem, key: str, builtin: Mapping[str, str]) -> str:
    """Chinese name of a field: declared by this item, else by another item or the national sheet."""
    f = item.field(key)
    return f.zh if f is not None else builtin.get(key, key)


@dataclass(frozen=True)
class LocalResult:
    items: tuple[ItemResult, ...]
    shortfalls: tuple[Shortfall, ...] = ()


def _zero(item: LocalItem, what: str) -> tuple[Status, str]:
    """Status and sentence for a zero denominator, by the item's stated policy."""
    policy = item.on_zero_denominator
    if policy == "fail":
        return FAIL, f"{what}为0，按规则集规定判为未达标"
    if policy == "n/a":
        return NA, f"{what}为0，按规则集规定不适用"
    return PENDING, f"{what}为0，无法计算，待核实"


def county_item(item: LocalItem, county: Mapping[str, Any], names: Mapping[str, str] | None = None) -> ItemResult:
    """A county local item: every ratio per × county[num] / county[den] meets its threshold.
    ``names``: Chinese names of fields declared by the rule-set's other local items."""
    from evaluator.workbook.schema import COUNTY_BY_KEY

    builtin = {**{k: v.zh for k, v in COUNTY_BY_KEY.items()}, **dict(names or {})}
    statuses: list[Status] = []
    details, problems, missing = [], [], []
    rows = []
    for r in item.ratios:
        n, d = number(county.get(r.numerator)), number(county.get(r.denominator))
        absent = [f"{_field_zh(item, k, builtin)}（{k}）" for k, v in ((r.numerator, n), (r.denominator, d)) if v is None]
        row: dict[str, Any] = {"label": r.label, "numerator": n, "denominator": d, "value": None,
                               "threshold": r.thresholds["county"], "met": None}
        rows.append(row)
        if absent:
            statuses.append(PENDING)
            missing.extend(absent)
            continue
        assert n is not None and d is not None
        if d == 0:
            st, text = _zero(item, f"{_field_zh(item, r.denominator, builtin)}（{r.denominator}）")
            statuses.append(st)
            details.append(f"{r.label}：{text}")
            if st == FAIL:
                problems.append(f"{r.label}：{text}")
            elif st == PENDING:
                missing.append(f"{_field_zh(item, r.denominator, builtin)}（{r.denominator}，为0）")
            continue
        value = r.per * n / d
        ok = r.met(value, "county")
        row.update(value=value, met=ok)
        statuses.append(PASS if ok else FAIL)
        details.append(f"{r.label}{r.show(value)}（{fmt(n)}/{fmt(d)}{'' if r.per == 1 else f'×{fmt(r.per)}'}，"
                       f"标准{r.standard('county')}）")
        if not ok:
            problems.append(f"{r.label}为{r.show(value)}，未达到{r.standard('county')}的标准")
    status = combine(statuses)
    missing = list(dict.fromkeys(missing))  # ratios may share a denominator
    detail = "；".join(details)
    if status == PENDING and missing:
        detail = (detail + "；" if detail else "") + "缺少数据：" + "、".join(missing)
    return ItemResult(item.code, item.title, item.section, status, detail,
                      "；".join(problems) + ("。" if problems else ""),
                      tuple(missing) if status == PENDING else (), _figures(item, {"ratios": rows}))


def _part_label(name: str, school_type: str, stage: str) -> str:
    """某校（小学部）/（初中部） for split schools, as in the 1.8 matrix."""
    return f"{name}（{LOCAL_STAGES[stage]}部）" if school_type in _SPLIT else name


def school_item(item: LocalItem, schools: pd.DataFrame,
                names: Mapping[str, str] | None = None) -> tuple[ItemResult, list[Shortfall]]:
    """A per-school local item: for every school of ``applies_to`` and every 学段 it has
    (students > 0) with a threshold, per × num_<stage> / den_<stage> meets thresholds[stage]."""
    r = item.ratios[0]
    builtin = {**BUILTIN_SCHOOL_STEMS, **dict(names or {})}
    statuses: list[Status] = []
    rows, bad, missing, zero_notes, shortfalls = [], [], [], [], []
    judged = 0
    for s in schools.to_dict("records"):
        stype = s.get("school_type")
        if stype not in item.applies_to:
            continue
        for stage in _TYPE_STAGES.get(str(stype), ()):
            if stage not in r.thresholds:
                continue
            students = number(s.get(f"students_{stage}"))
            if students == 0:
                continue  # the school has no such part
            name = str(s.get("school_name"))
            label = _part_label(name, str(stype), stage)
            num_key, den_key = f"{r.numerator}_{stage}", f"{r.denominator}_{stage}"
            n, d = number(s.get(num_key)), number(s.get(den_key))
            row: dict[str, Any] = {"school_code": str(s.get("school_code")), "name": name, "label": label,
                                   "stage": stage, "numerator": n, "denominator": d, "value": None,
                                   "threshold": r.thresholds[stage], "met": None, "status": PENDING}
            rows.append(row)
            judged += 1
            absent = [f"{label}：{LOCAL_STAGES[stage]}{_field_zh(item, stem, builtin)}（{key}）"
                      for stem, key, v in ((r.numerator, num_key, n), (r.denominator, den_key, d)) if v is None]
            if absent:
                statuses.append(PENDING)
                missing.extend(absent)
                continue
            assert n is not None and d is not None
            if d == 0:
                st, text = _zero(item, f"{label}：{LOCAL_STAGES[stage]}{_field_zh(item, r.denominator, builtin)}"
                                       f"（{den_key}）")
                statuses.append(st)
                row["status"] = st
                zero_notes.append(text)
                if st == FAIL:
                    bad.append(text)
                elif st == PENDING:
                    missing.append(f"{label}：{LOCAL_STAGES[stage]}{_field_zh(item, r.denominator, builtin)}"
                                   f"（{den_key}，为0）")
                continue
            value = r.per * n / d
            ok = r.met(value, stage)
            row.update(value=value, met=ok, status=PASS if ok else FAIL)
            statuses.append(PASS if ok else FAIL)
            if not ok:
                bad.append(f"{label}{r.show(value)}")
                fld = item.field(r.numerator)
                if r.direction == "at_least" and fld is not None and fld.unit:
                    gap = round_up(r.thresholds[stage] * d / r.per - n, fld.unit)
                    if gap > 0:
                        shortfalls.append(Shortfall(row["school_code"], name, item.code,
                                                    f"{r.label}（{LOCAL_STAGES[stage]}）：{fld.zh}", gap, fld.unit))
    standard = "、".join(f"{LOCAL_STAGES[st]}{r.standard(st)}" for st in LOCAL_STAGES if st in r.thresholds)
    figures = _figures(item, {"schools": rows})
    if not judged:
        return ItemResult(item.code, item.title, item.section, NA, f"县域内没有适用本指标的学校（{standard}）",
                          figures=figures), []
    status = combine(statuses)
    details = [f"核查学校（部）{judged}个，{r.label}标准：{standard}"]
    failing = [x for x in rows if x["status"] == FAIL]
    if failing:
        details.append(f"未达标{len(failing)}个")
    details.extend(zero_notes)
    if status == PENDING and missing:
        details.append("缺少数据：" + "、".join(missing))
    problem = f"{name_list(bad, 12)}，{r.label}未达到标准（{standard}）。" if bad else ""
    return (ItemResult(item.code, item.title, item.section, status, "；".join(details), problem,
                       tuple(missing) if status == PENDING else (), figures), shortfalls)


def _figures(item: LocalItem, extra: Mapping[str, Any]) -> dict[str, Any]:
    """What the report writers need to show the item (report.json items[].figures)."""
    r = item.ratios[0]
    return {"local": True, "kind": item.kind, "source": item.source, "section": item.section,
            "label": r.label, "unit": r.unit, "direction": r.direction,
            "thresholds": {k: v for k, v in r.thresholds.items()},
            "ratios_spec": [{"label": x.label, "numerator": x.numerator, "denominator": x.denominator, "per": x.per,
                             "threshold": x.thresholds.get("county"), "direction": x.direction, "unit": x.unit}
                            for x in item.ratios],
            **extra}


def evaluate_local_items(schools: pd.DataFrame, county: Mapping[str, Any],
                         items: tuple[LocalItem, ...]) -> LocalResult:
    """Every local item of a rule-set, in code order (L1, L2, …)."""
    out: list[ItemResult] = []
    shortfalls: list[Shortfall] = []
    names = {f.key: f.zh for it in items for f in it.fields}
    for it in items:
        if it.kind == "county":
            out.append(county_item(it, county, names))
        else:
            res, sf = school_item(it, schools, names)
            out.append(res)
            shortfalls.extend(sf)
    return LocalResult(tuple(out), tuple(shortfalls))
