"""Sample-size planning for the social-recognition survey (docs/rules.md §6, last point).

Formula (simple random sampling inflated by a design effect, normal approximation):

    n = z² · p(1 − p) · deff / e²

with z the two-sided normal quantile of the confidence level, p the expected
approval rate, e the target half-width of the CI. With p = 0.85, e = 0.03, 95 %:
545 at deff 1, 817 at deff 1.5, 1 089 at deff 2 (docs/rules.md §6).

With group weights W_g the county score is P = Σ W_g·p_g and, with the same p and
deff in every group, Var(P) ≈ p(1 − p)·deff · Σ W_g² / n_g. Allocating n_g = s_g·n
gives n = z²·p(1 − p)·deff·Σ(W_g²/s_g) / e²; with s_g = W_g this is the formula above.
A minimum parent share (national practice: parents ≥ 50 % of respondents) raises
s_parent above W_parent; the other weighted groups share the rest in proportion to
W_g, and the required n grows by the factor Σ W_g²/s_g. County-level groups whose
size is fixed in advance (``county_groups_n``, e.g. the number of 人大代表 reached)
enter the variance with their fixed n_g; the free groups make up the rest.

Per-school quotas are proportional to N_gs (enrolment for students and parents,
teacher headcount for teachers, one for principals), so that the weights N_gs/n_gs
of the estimator come out nearly equal (no weighting design effect); every school
with N_gs > 0 gets at least one and never more than N_gs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluator.errors import InputError
from evaluator.groups import GROUPS


@dataclass(frozen=True)
class SamplePlan:
    """A proposed sample: respondents per group and per (school, group) quotas.

    ``quotas`` has columns school_code ("" for county-level groups), group, quota.
    ``assumptions`` maps Chinese labels to Chinese explanations of the formula and inputs.
    """

    total_n: int
    per_group: Mapping[str, int]
    quotas: pd.DataFrame
    assumptions: Mapping[str, str]
    required_n: int
    expected_half_width: float
    notes: tuple[str, ...] = field(default=())


def _rules(rules: Any) -> Any:
    """``rules`` (RecognitionRules), else the national default rule-set's: the planner's
    defaults are data (``recognition.planning``), not code."""
    if rules is None:
        from evaluator.recognition.responses import rules_of

        rules = rules_of(None)
    return rules


def population_total_n(resident_population: float, per_mille: float | None = None, minimum: int | None = None,
                       *, rules: Any = None) -> int:
    """National practice [P]: survey about ``per_mille`` ‰ of the resident population,
    at least ``minimum`` respondents: n = max(minimum, ceil(population · per_mille / 1000)).
    Unset numbers come from the rule-set's ``recognition.planning`` (national: 1.5‰, 600)."""
    plan = _rules(rules).planning if per_mille is None or minimum is None else None
    per_mille = plan.per_mille if per_mille is None else per_mille
    minimum = plan.minimum_n if minimum is None else minimum
    if resident_population is None or not np.isfinite(resident_population) or resident_population < 0:
        raise InputError("常住人口应为非负数", field="resident_population")
    return int(max(minimum, math.ceil(resident_population * per_mille / 1000.0 - 1e-9)))


def z_value(confidence: float) -> float:
    """Two-sided normal quantile z = Φ⁻¹(1 − (1 − confidence)/2)."""
    if not 0 < confidence < 1:
        raise InputError("置信水平应在 0 与 1 之间", field="confidence")
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def required_n(half_width: float, p: float, deff: float, confidence: float) -> int:
    """n = ceil(z² · p(1 − p) · deff / e²) (docs/rules.md §6)."""
    z = z_value(confidence)
    return int(math.ceil(z * z * p * (1 - p) * deff / (half_width * half_width) - 1e-9))


def _shares(weights: Mapping[str, float], min_parent_share: float) -> dict[str, float]:
    """Sample shares s_g: W_g, except that parents get at least ``min_parent_share``."""
    shares = dict(weights)
    wp = weights.get("parent", 0.0)
    if wp > 0 and wp < min_parent_share:
        rest = 1.0 - wp
        shares = {g: (min_parent_share if g == "parent" else w * (1 - min_parent_share) / rest)
                  for g, w in weights.items()}
    return shares


def apportion(n: int, sizes: np.ndarray, *, capped: bool = True) -> np.ndarray:
    """Integers q_s summing to n, proportional to ``sizes`` by largest remainders,
    with q_s ≥ 1 wherever sizes_s > 0 (0 where sizes_s == 0) and, when ``capped``,
    q_s ≤ floor(sizes_s).

    Requires #(sizes > 0) ≤ n (≤ Σ floor(sizes) when capped); callers clamp n first."""
    sizes = np.asarray(sizes, dtype=float)
    if not np.isfinite(sizes).all() or (sizes > 1e9).any():
        raise InputError(f"无法把 {n} 份配额按学校人数分配：学校人数超出范围", field="quotas")
    pos = sizes > 0
    ideal = np.zeros_like(sizes)
    ideal[pos] = n * sizes[pos] / sizes[pos].sum()
    cap = np.floor(sizes).astype(np.int64) if capped else np.full(len(sizes), n, dtype=np.int64)
    q = np.where(pos, np.clip(np.floor(ideal), 1, cap), 0).astype(np.int64)
    while True:
        diff = n - int(q.sum())
        if diff == 0:
            return q
        remainder = ideal - q
        if diff > 0:
            room = pos & (q < cap)
            order = np.argsort(-np.where(room, remainder, -np.inf), kind="stable")
            take = order[: min(diff, int(room.sum()))]
            q[take] += 1
        else:
            room = pos & (q > 1)
            order = np.argsort(np.where(room, remainder, np.inf), kind="stable")
            take = order[: min(-diff, int(room.sum()))]
            q[take] -= 1
        if len(take) == 0:  # no school can move: the inputs are infeasible (or overflowed); never loop
            raise InputError(f"无法把 {n} 份配额按学校人数分配（学校人数超出范围或样本量不可行）", field="quotas")


def _population(frame: pd.DataFrame, group: str, notes: list[str]) -> tuple[np.ndarray, bool]:
    """N_gs for one school-linked group and whether it is known (then it caps the quota);
    unknown values (NaN) are imputed and noted."""
    source = GROUPS[group].population
    if source == "one":
        return np.ones(len(frame)), True
    values = pd.to_numeric(frame[source], errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(values)
    label = GROUPS[group].label
    if not known.any():
        notes.append(f"{label}：学校名册缺少{'教师数' if source == 'teachers' else '学生数'}，各校配额按均等分配")
        return np.ones(len(frame)), False
    if not known.all():
        fill = float(np.mean(values[known]))
        notes.append(f"{label}：{int((~known).sum())} 所学校缺少规模数据，按已知学校的平均值 {fill:.0f} 计")
        return np.where(known, values, fill), False
    return values, True


def plan_sample(
    frame: pd.DataFrame,
    *,
    group_weights: Mapping[str, float],
    total_n: int | None = None,
    half_width: float | None = None,
    p: float | None = None,
    deff: float | None = None,
    confidence: float | None = None,
    min_parent_share: float | None = None,
    county_groups_n: Mapping[str, int] | None = None,
    rules: Any = None,
) -> SamplePlan:
    """Respondents per group and per-school quotas for a target CI half-width.

    Required total: n = z²·p(1 − p)·deff·Σ_g(W_g²/s_g) / e² (module docstring), where
    s_g are the sample shares (W_g, parents raised to ``min_parent_share``). When
    ``total_n`` is given (e.g. from :func:`population_total_n`, the 1.5‰ rule) it is
    used as the total and the expected half-width at that n is reported. Unset inputs come
    from ``rules`` (RecognitionRules) or the national rule-set: ``recognition.planning``
    (half_width 0.03, expected_p 0.85, deff 1.5, min_parent_share 0.5) and
    ``recognition.confidence`` (0.95).
    """
    if None in (half_width, p, deff, confidence, min_parent_share):
        rules = _rules(rules)
        plan = rules.planning
        half_width = plan.half_width if half_width is None else half_width
        p = plan.expected_p if p is None else p
        deff = plan.deff if deff is None else deff
        confidence = rules.confidence if confidence is None else confidence
        min_parent_share = plan.min_parent_share if min_parent_share is None else min_parent_share
    for name, value, lo, hi in (("half_width", half_width, 0, 1), ("p", p, 0, 1),
                                ("min_parent_share", min_parent_share, -1e-12, 1)):
        if not lo < value < hi:
            raise InputError(f"{name} 应在 {lo} 与 {hi} 之间，实际为 {value}", field=name)
    if not deff > 0:
        raise InputError(f"设计效应应为正数，实际为 {deff}", field="deff")
    for col in ("school_code", "students", "teachers"):
        if col not in frame.columns:
            raise InputError(f"学校名册缺少列 {col}", field=col)
    weights = {g: float(w) for g, w in group_weights.items() if float(w) > 0}
    for g, w in group_weights.items():
        if g not in GROUPS:
            raise InputError(f"未知的调查对象组别“{g}”", field="group_weights")
        if not np.isfinite(float(w)) or float(w) < 0:
            raise InputError(f"组别 {g} 的权重应为非负数", field="group_weights")
    if abs(sum(weights.values()) - 1.0) > 1e-6:
        raise InputError(f"组别权重之和应为 1，实际为 {sum(weights.values()):.6g}", field="group_weights")
    school_groups = [g for g in weights if GROUPS[g].school_linked]
    if school_groups and len(frame) == 0:
        raise InputError("学校名册为空，无法为学校相关组别分配配额", field="schools")

    z = z_value(confidence)
    unit_var = p * (1 - p) * deff  # Var of one respondent's contribution, design-inflated
    fixed = {g: int(n) for g, n in (county_groups_n or {}).items() if g in weights}
    for g, n in fixed.items():
        if GROUPS[g].school_linked:
            raise InputError(f"{GROUPS[g].label}与学校相关，不能固定人数", field="county_groups_n")
        if n < 1:
            raise InputError(f"{GROUPS[g].label}的固定人数应为正整数", field="county_groups_n")
    free = {g: w for g, w in weights.items() if g not in fixed}
    shares = _shares(weights, min_parent_share)
    free_share = sum(shares[g] for g in free)
    s_free = {g: shares[g] / free_share for g in free} if free_share > 0 else {}
    fixed_var = sum(weights[g] ** 2 * unit_var / n for g, n in fixed.items())
    budget = (half_width / z) ** 2 - fixed_var
    if free and budget <= 0:
        raise InputError("固定人数的县级组别方差已超过目标精度，请增加其人数或放宽目标半宽", field="county_groups_n")
    factor = sum(weights[g] ** 2 / s_free[g] for g in free)
    need_free = math.ceil(unit_var * factor / budget - 1e-9) if free else 0
    need = need_free + sum(fixed.values())

    notes: list[str] = []
    n_free = need_free if total_n is None else max(int(total_n) - sum(fixed.values()), len(free))
    if total_n is not None and total_n < need:
        notes.append(f"给定总样本量 {total_n} 少于达到目标精度所需的 {need}")
    per_group: dict[str, int] = dict(fixed)
    # largest-remainder split of the free total by share
    free_keys = list(free)
    if free_keys:
        split = apportion(n_free, np.array([s_free[g] for g in free_keys]), capped=False)
        per_group.update({g: int(k) for g, k in zip(free_keys, split, strict=True)})

    min_schools = _rules(rules).planning.min_schools
    if school_groups and len(frame) < min_schools:
        notes.append(f"学校只有 {len(frame)} 所，少于建议的 {min_schools} 所：学校间差异对估计的影响较大，"
                     "实际设计效应可能高于假定值")
    rows: list[pd.DataFrame] = []
    codes = frame["school_code"].astype(str).to_numpy()
    for g in weights:
        if not GROUPS[g].school_linked:
            rows.append(pd.DataFrame({"school_code": [""], "group": [g], "quota": [per_group[g]]}))
            continue
        sizes, capped = _population(frame, g, notes)
        m = int((sizes > 0).sum())
        n_g = per_group[g]
        cap = int(np.floor(sizes).sum()) if capped else max(n_g, m)
        label = GROUPS[g].label
        if n_g < m:
            notes.append(f"{label}：按比例应调查 {n_g} 人，少于学校数 {m}，已提高到每校至少 1 人")
            n_g = m
        if n_g > cap:
            notes.append(f"{label}：按比例应调查 {n_g} 人，超过总体 {cap} 人，改为全部调查")
            n_g = cap
        per_group[g] = n_g
        q = apportion(n_g, sizes, capped=capped)
        keep = q > 0
        rows.append(pd.DataFrame({"school_code": codes[keep], "group": g, "quota": q[keep]}))
    quotas = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        {"school_code": [], "group": [], "quota": []})
    quotas["quota"] = quotas["quota"].astype("int64")
    total = int(sum(per_group.values()))
    var = sum(weights[g] ** 2 * unit_var / per_group[g] for g in weights if per_group[g] > 0)
    expected = float(z * math.sqrt(var))

    assumptions: dict[str, Any] = {
        "公式": "n = z²·p(1−p)·deff/e²；按组别权重分配时 n = z²·p(1−p)·deff·Σ(W_g²/s_g)/e²，"
                "其中 W_g 为组别权重，s_g 为该组占样本的比例",
        "置信水平": f"{confidence:.0%}（z = {z:.4f}）",
        "预期认可率 p": f"{p:g}",
        "设计效应 deff": f"{deff:g}（整群抽样与加权使方差放大的倍数）",
        "目标半宽 e": f"±{half_width:g}",
        "组别权重": "，".join(f"{GROUPS[g].label} {w:g}" for g, w in weights.items()),
        "家长最低占比": f"{min_parent_share:.0%}（国家实践：家长不少于一半）",
        "所需样本量": f"{need} 人",
        "总样本量": f"{total} 人" + ("（按给定总量）" if total_n is not None else "（按目标精度）"),
        "预期半宽": f"±{expected:.4f}（按各组实际人数计算，不计有限总体校正，偏保守）",
        "学校配额": "按各校该组总体人数 N_gs（学生、家长按在校生数，教师按专任教师数，校长每校 1 人）"
                  "成比例分配，最大余数取整，每校至少 1 人且不超过 N_gs",
    }
    if notes:
        assumptions["说明"] = "；".join(notes)
    return SamplePlan(total, per_group, quotas, assumptions, int(need), expected, tuple(notes))
