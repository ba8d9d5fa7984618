"""Social-recognition estimator (docs/rules.md §6, default of the national rule-set).

Notation: respondent i of group g at school s answers items; a_i = approving answers,
v_i = answers in the denominator (all but 不了解 under the policy ``exclude``; all
answers under ``as_no``), d_i = 不了解 answers, t_i = answered items.

1. Quality filters (filters.py) drop speeders and fast straight-liners.
2. Within-group weight w_i = N_gs / n_gs: N_gs = enrolment (students, parents), 专任教师
   headcount (teachers), 1 (principals); n_gs = kept respondents in the cell (before any
   不了解 exclusion). County-level groups (人大代表, 政协委员, 其他群众): one cell, w = 1.
3. Group ratio p_g = Σ w·a / Σ w·v.
4. County score P = Σ_g W_g·p_g, W_g the configured group weights (sum 1). A group with
   W_g > 0 and Σ w·v = 0 is an InputError, never renormalised away.
5. Taylor linearisation, strata = groups, clusters = schools (each respondent of a
   county-level group is its own cluster): z_i = w_i(a_i − p_g·v_i)/Σ_g w·v,
   Z_gc = Σ_{i∈c} z_i, Var(p_g) = m_g/(m_g − 1)·Σ_c (Z_gc − Z̄_g)², Var(P) = Σ W_g²·Var(p_g),
   df = Σ_g (m_g − 1); CI = expit(logit P ± t_{df}·SE/(P(1 − P))). This equals R
   survey's svydesign(ids = ~cluster, strata = ~group, weights = ~w) with svyratio and
   svycontrast (with-replacement first stage, no fpc), which the tests check to 1e-9.
6. Domains of the full design (same m_g and df, Z = 0 outside the domain): groups (their
   CIs use the full design's df, as R's svyciprop on a domain does) and items
   (P_k = Σ W̃_g·p_gk, W̃ renormalised over the weighted groups that were asked item k;
   each item lists those groups).
   A school is a single cluster, so its full-design domain SE is identically 0; the
   per-school SE reported is therefore the within-school one (respondents as units,
   strata = groups, without-replacement with fpc n_gs/N_gs when the frame is known;
   single-respondent cells contribute 0, like R's ``survey.lonely.psu = "certainty"``).
7. Design effects (Kish decomposition): Var_srs(p_g) = S²/n_g, the with-replacement
   simple-random-sampling variance, S² = n_g/(n_g − 1)·Σw(a − p_g·v)² / Σw / v̄²,
   v̄ = Σw·v/Σw; deff_total = Var/Var_srs (R survey's svyratio(deff = "replace"));
   deff_kish = n·Σw²/(Σw)²; deff_cluster = deff_total / deff_kish. County figures use
   Var_srs(P) = Σ W_g²·Var_srs(p_g) and the Var_srs-weighted mean of deff_kish.
8. Census variant (optional, labelled): every school surveyed, so schools are strata and
   respondents are sampled without replacement within them:
   Var(p_g) = Σ_s (1 − n_gs/N_gs)·n_gs/(n_gs − 1)·Σ_{i∈s}(z_i − z̄_s)², df = Σ (n_gs − 1).

Everything reduces to sums per (group, school) cell — n, a, v, d, t and a², a·v, v² — and
per (group, school, item) cell (n, a, v, d, t), so a database can aggregate in SQL and call
:func:`estimate_from_cells`; :func:`recognize` takes the same path.

Length: over the ~500-line guide on purpose: the numbered steps above are one computation on
the same cell arrays (weights, ratios, linearised SE, CI, design effects and the group, item and
school breakdowns); split across modules they would pass those arrays around for no reader's gain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluator.errors import InputError
from evaluator.groups import GROUPS, group_key
from evaluator.outcome import meets
from evaluator.recognition.filters import quality_flags
from evaluator.recognition.result import (
    CountyEstimate,
    GroupEstimate,
    ItemEstimate,
    RecognitionResult,
    SchoolTable,
)
from evaluator.recognition.rules import RecognitionRules, validate_group_weights

GROUP_KEYS: tuple[str, ...] = tuple(GROUPS)
LINKED = np.array([GROUPS[g].school_linked for g in GROUP_KEYS])
META_COLUMNS = ("group", "school_code", "response_id", "submitted_at", "duration_seconds", "instrument")
_G = len(GROUP_KEYS)


@dataclass(frozen=True, eq=False)
class CellTotals:
    """Sums per (group, school) cell and per (group, school, item) cell.

    Cell arrays are parallel: ``group`` (index into GROUP_KEYS), ``school`` (index into
    ``schools``; −1 for county-level groups), and the sums n, a, v, d, t, aa, av, vv.
    ``item_sums``: array 4 × K × cells of the per-item sums a, v, d, t (per item each
    respondent's a, v, d, t are 0 or 1, so t is also the number answering the item).
    """

    schools: tuple[str, ...]
    items: tuple[str, ...]
    group: np.ndarray
    school: np.ndarray
    n: np.ndarray
    a: np.ndarray
    v: np.ndarray
    d: np.ndarray
    t: np.ndarray
    aa: np.ndarray
    av: np.ndarray
    vv: np.ndarray
    item_sums: np.ndarray
    dropped: Mapping[str, int]
    duration_unknown: int = 0

    def to_frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The cells and item cells as DataFrames (columns as in :meth:`from_frames`)."""
        codes = np.array(self.schools + ("",), dtype=object)
        cells = pd.DataFrame({
            "group": np.array(GROUP_KEYS, dtype=object)[self.group], "school_code": codes[self.school],
            "n": self.n, "a": self.a, "v": self.v, "d": self.d, "t": self.t,
            "aa": self.aa, "av": self.av, "vv": self.vv})
        jj, cc = np.nonzero(self.item_sums[3])
        a, v, d, t = (self.item_sums[q][jj, cc] for q in range(4))
        items = pd.DataFrame({
            "group": cells["group"].to_numpy()[cc], "school_code": cells["school_code"].to_numpy()[cc],
            "item": np.array(self.items, dtype=object)[jj], "n": t, "a": a, "v": v, "d": d, "t": t})
        return cells, items

    @classmethod
    def from_frames(cls, cells: pd.DataFrame, item_cells: pd.DataFrame | None = None, *,
                    dropped: Mapping[str, int] | None = None, duration_unknown: int = 0) -> CellTotals:
        """Cells aggregated elsewhere (e.g. SQL ``GROUP BY group, school_code``).

        ``cells`` columns: group, school_code (empty/None for county-level groups), n, a, v,
        d, t, aa, av, vv — sums over kept respondents of 1, a_i, v_i, d_i, t_i, a_i², a_i·v_i,
        v_i². ``item_cells`` columns: group, school_code, item, n, a, v, d, t (per item each
        respondent's a, v, d, t are 0 or 1). With one row per kept response holding a, v, d, t:

            SELECT "group", school_code, COUNT(*) AS n, SUM(a) AS a, SUM(v) AS v, SUM(d) AS d,
                   SUM(t) AS t, SUM(a*a) AS aa, SUM(a*v) AS av, SUM(v*v) AS vv
            FROM kept_responses GROUP BY "group", school_code

        and the same per answer row (response, item) for ``item_cells``."""
        need = ("group", "school_code", "n", "a", "v", "d", "t", "aa", "av", "vv")
        for col in need:
            if col not in cells.columns:
                raise InputError(f"单元汇总表缺少列 {col}", column=col)
        gkeys = cells["group"].map(lambda x: group_key(x) if isinstance(x, str) else None)
        if gkeys.isna().any():
            bad = cells.loc[gkeys.isna(), "group"].iloc[0]
            raise InputError(f"未知的调查对象组别“{bad}”", column="group")
        gi = gkeys.map({g: i for i, g in enumerate(GROUP_KEYS)}).to_numpy(dtype=np.int64)
        sc = cells["school_code"].map(lambda x: "" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x))
        sc = np.where(LINKED[gi], sc.to_numpy(dtype=object), "")
        keys = pd.Series(list(zip(gi, sc, strict=True)))
        if keys.duplicated().any():
            raise InputError("单元汇总表中同一组别与学校出现多行", column="school_code")
        schools = tuple(sorted({s for s in sc if s}))
        sidx = {s: i for i, s in enumerate(schools)}
        school = np.array([sidx.get(s, -1) for s in sc], dtype=np.int64)
        arr = {c: cells[c].to_numpy(dtype=float) for c in need[2:]}
        items: tuple[str, ...] = ()
        item_sums = np.zeros((4, 0, len(gi)))
        if item_cells is not None and len(item_cells):
            cell_of = {k: i for i, k in enumerate(zip(gi, sc, strict=True))}
            ig = item_cells["group"].map(lambda x: group_key(x) if isinstance(x, str) else None)
            if ig.isna().any():
                raise InputError(f"题目汇总表中有未知的组别“{item_cells['group'][ig.isna()].iloc[0]}”", column="group")
            ig = ig.map({g: i for i, g in enumerate(GROUP_KEYS)})
            isc = item_cells["school_code"].map(lambda x: "" if not isinstance(x, str) else x)
            isc = np.where(LINKED[ig.to_numpy(dtype=np.int64)], isc.to_numpy(dtype=object), "")
            i_cell = np.array([cell_of.get(k, -1) for k in zip(ig, isc, strict=True)], dtype=np.int64)
            if (i_cell < 0).any():
                raise InputError("题目汇总表中有单元汇总表没有的组别与学校", column="school_code")
            items = tuple(dict.fromkeys(item_cells["item"].astype(str)))
            i_item = item_cells["item"].astype(str).map({k: i for i, k in enumerate(items)}).to_numpy(np.int64)
            item_sums = np.zeros((4, len(items), len(gi)))
            for q, col in enumerate(("a", "v", "d", "t")):
                np.add.at(item_sums[q], (i_item, i_cell), item_cells[col].to_numpy(dtype=float))
        return cls(schools, items, gi, school, arr["n"], arr["a"], arr["v"], arr["d"], arr["t"],
                   arr["aa"], arr["av"], arr["vv"], item_sums, dict(dropped or {}), duration_unknown)


def _luts(rules: RecognitionRules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup tables over the answer code (0 = not answered, 1.. = the scale in order):
    approve, denominator, 不了解."""
    approve = np.array([0] + [s in rules.approve for s in rules.scale], dtype=np.int64)
    dk = np.array([0] + [s in rules.dont_know for s in rules.scale], dtype=np.int64)
    answered = np.array([0] + [1] * len(rules.scale), dtype=np.int64)
    den = answered if rules.dont_know_policy == "as_no" else answered - dk
    return approve, den, dk


def respondent_sums(codes: np.ndarray, rules: RecognitionRules) -> dict[str, np.ndarray]:
    """Per respondent: a (approving), v (denominator), d (不了解) and t (answered) over the
    items, in one gather-and-add per item column through a packed lookup table: bit fields
    of b bits, b = bit length of K, in the narrowest integer that holds them (int16 for up
    to 31 items). Under the ``exclude`` policy d = t − v and is not packed."""
    n, k = codes.shape
    bits = max(k, 1).bit_length()
    lut_a, lut_v, lut_d = _luts(rules)
    answered = np.array([0] + [1] * len(rules.scale), dtype=np.int64)
    fields = {"a": lut_a, "v": lut_v, "t": answered}
    if rules.dont_know_policy != "exclude":
        fields["d"] = lut_d
    width = bits * len(fields)
    dtype = np.int16 if width <= 15 else np.int32 if width <= 31 else np.int64
    table = np.zeros(256, dtype=dtype)
    table[: len(rules.scale) + 1] = sum(lut << (i * bits) for i, lut in enumerate(fields.values()))
    acc = np.zeros(n, dtype=dtype)
    buf = np.empty(n, dtype=dtype)  # reused: fresh arrays per column cost page faults
    for j in range(k):
        np.take(table, codes[:, j], out=buf)
        acc += buf
    mask = (1 << bits) - 1
    out = {name: (acc >> (i * bits)) & mask for i, name in enumerate(fields)}
    if "d" not in out:
        out["d"] = out["t"] - out["v"]
    return out


PACK = 2.0 ** 26  # two per-cell integer sums below this share one float64 bincount weight


def _cell_sums(rid: np.ndarray, ncell: int, values: Mapping[str, np.ndarray], max_value: int,
               max_n: int) -> dict[str, np.ndarray]:
    """Σ per cell of integer-valued arrays (values ≤ ``max_value``, cells ≤ ``max_n`` rows).
    When every per-cell sum stays below 2**26, two arrays share one weighted bincount:
    lo + hi·2**26 summed stays below 2**53, so the split back (floor, subtract) is exact."""
    names = list(values)
    out: dict[str, np.ndarray] = {}
    pack = max_value * max_n < PACK
    i = 0
    while i < len(names):
        if pack and i + 1 < len(names):
            lo, hi = names[i], names[i + 1]
            total = np.bincount(rid, weights=values[lo] + values[hi] * PACK, minlength=ncell + 1)[:ncell]
            out[hi] = np.floor(total / PACK)
            out[lo] = total - out[hi] * PACK
            i += 2
        else:
            out[names[i]] = np.bincount(rid, weights=values[names[i]], minlength=ncell + 1)[:ncell]
            i += 1
    return out


def cells_from_codes(group: np.ndarray, school: np.ndarray, schools: Sequence[str], codes: np.ndarray,
                     items: Sequence[str], duration: np.ndarray | None, rules: RecognitionRules, *,
                     apply_filters: bool = True, per_item: bool = True) -> CellTotals:
    """Cell totals from coded respondents (the fast path).

    ``group``: index into GROUP_KEYS per respondent; ``school``: index into ``schools``
    (ignored, use −1, for county-level groups); ``codes``: n × K uint8, 0 = not answered,
    1..len(scale) = the scale's labels in order (column-major input avoids a copy);
    ``duration``: seconds (NaN = unknown).

    Two passes per item column: a packed gather-and-add for the per-respondent sums (for
    the filters and the sums of squares), then a histogram of (cell, code) that gives the
    cell and item sums of a, v, d, t. Dropped respondents go to a discarded bin.
    Straight-lining is checked only on the (few) fast rows."""
    group = np.asarray(group, dtype=np.intp)
    school = np.asarray(school, dtype=np.intp)
    codes = np.asfortranarray(codes, dtype=np.uint8)
    n_rows, k = codes.shape
    dur = np.full(n_rows, np.nan) if duration is None else np.asarray(duration, dtype=float)
    per = respondent_sums(codes, rules)
    flags = quality_flags(per["t"], codes, dur, rules)
    keep = ~flags.drop if apply_filters else ~flags.empty
    dropped = flags.counts() if apply_filters else {"speeder": 0, "straightliner_fast": 0}
    dropped["empty"] = int(flags.empty.sum())
    unknown = int((flags.duration_unknown & keep).sum())
    n_s = len(schools)
    linked = LINKED[group]
    if (linked & (school < 0)).any():
        raise InputError("学校相关组别的作答缺少学校", column="school_code")
    size = _G * (n_s + 1)
    cell_id = group * (n_s + 1) + np.where(linked, school, n_s)
    cell_id[~keep] = size  # the discarded bin
    n = np.bincount(cell_id, minlength=size + 1)[:size]
    used = np.flatnonzero(n)
    ncell = len(used)
    remap = np.full(size + 1, ncell, dtype=np.intp)
    remap[used] = np.arange(ncell)
    rid = remap[cell_id]
    lut_a, lut_v, lut_d = (x.astype(np.float64) for x in _luts(rules))
    ncodes = len(rules.scale) + 1
    lut_t = np.ones(ncodes)
    lut_t[0] = 0.0
    af, vf = per["a"].astype(np.float64), per["v"].astype(np.float64)
    sums: dict[str, np.ndarray] = {"aa": af * af, "av": af * vf, "vv": vf * vf}
    item_sums = np.zeros((4, 0, ncell))
    first: dict[str, np.ndarray] = {}
    if per_item and k:
        # one (cell, code) histogram per item gives the item sums and, added up, the cell sums;
        # kept code-major so each label's plane is contiguous (sums by plain additions)
        counts = np.empty((ncodes, k, ncell), dtype=np.float64)  # exact below 2**53
        base = rid * ncodes
        key = np.empty(n_rows, dtype=np.intp)
        for j in range(k):
            np.add(base, codes[:, j], out=key)
            counts[:, j, :] = np.bincount(key, minlength=(ncell + 1) * ncodes)[: ncell * ncodes].reshape(
                ncell, ncodes).T
        item_sums = np.stack([counts[np.flatnonzero(lut)].sum(axis=0) for lut in (lut_a, lut_v, lut_d, lut_t)])
        first = dict(zip(("a", "v", "d", "t"), item_sums.sum(axis=1), strict=True))
    else:  # county and group figures only: the per-respondent sums suffice
        sums = {"a": af, "v": vf, "t": per["t"].astype(np.float64), **sums}
        if rules.dont_know_policy != "exclude":  # otherwise d = t − v per cell
            sums["d"] = per["d"].astype(np.float64)
    first |= _cell_sums(rid, ncell, sums, max(k, 1) ** 2, int(n[used].max()) if ncell else 0)
    if "d" not in first:
        first["d"] = first["t"] - first["v"]
    cgroup = used // (n_s + 1)
    cschool = used % (n_s + 1)
    cschool = np.where(cschool == n_s, -1, cschool)
    return CellTotals(tuple(schools), tuple(items) if per_item else (), cgroup, cschool, n[used].astype(float),
                      first["a"], first["v"], first["d"], first["t"],
                      first["aa"], first["av"], first["vv"], item_sums, dropped, unknown)


def sampling_frame(schools: pd.DataFrame) -> pd.DataFrame:
    """school_code, students, teachers from either that shape or the schools sheet of a
    data workbook (students = students_primary + students_junior, the compulsory stages;
    teachers = teachers_primary + teachers_junior; empty cells stay missing)."""
    codes = schools["school_code"]
    if pd.api.types.is_float_dtype(codes):  # codes read as numbers by a spreadsheet
        codes = codes.map(lambda x: str(int(x)) if x == x and float(x).is_integer() else str(x))
    out = pd.DataFrame({"school_code": codes.astype(str).str.strip()})
    for target, parts in (("students", ("students_primary", "students_junior")),
                          ("teachers", ("teachers_primary", "teachers_junior"))):
        if target in schools.columns:
            out[target] = pd.to_numeric(schools[target], errors="coerce")
        elif any(p in schools.columns for p in parts):
            cols = [p for p in parts if p in schools.columns]
            out[target] = schools[cols].apply(pd.to_numeric, errors="coerce").sum(axis=1, min_count=1)
        else:
            raise InputError(f"学校名册缺少列 {target}（或 {'、'.join(parts)}）", column=target)
    return out


def _population(cells: CellTotals, frame: pd.DataFrame | None, notes: list[str] | None = None) -> np.ndarray:
    """N_gs per cell (NaN for county-level cells and when there is no frame). A frame column
    that is empty for every school (e.g. a roster without teacher counts) leaves that group
    equally weighted, with a note; empty or 0 for only some schools is an error."""
    out = np.full(len(cells.n), np.nan)
    if frame is None:
        return out
    if "school_code" not in frame.columns:
        raise InputError("学校名册缺少列 school_code", column="school_code")
    f = sampling_frame(frame).drop_duplicates("school_code").set_index("school_code")
    codes = np.array(cells.schools, dtype=object)
    missing = codes[~pd.Index(codes).isin(f.index)].tolist()
    if missing:
        raise InputError(f"学校 {missing[0]} 不在学校名册中（共 {len(missing)} 所学校缺失）", column="school_code")
    src = {"students": pd.to_numeric(f["students"], errors="coerce").reindex(codes).to_numpy(float),
           "teachers": pd.to_numeric(f["teachers"], errors="coerce").reindex(codes).to_numpy(float),
           "one": np.ones(len(codes))}
    for gi, g in enumerate(GROUP_KEYS):
        pop = GROUPS[g].population
        if pop is None:
            continue
        sel = (cells.group == gi) & (cells.school >= 0)
        vals = src[pop][cells.school[sel]]
        bad = ~(vals > 0)
        what = "在校生数" if pop == "students" else "专任教师数"
        if bad.any() and np.isnan(src[pop]).all():
            if notes is not None:
                notes.append(f"学校名册没有{what}：{GROUPS[g].label}在组内按等权处理（未按 N/n 加权）")
            continue
        if bad.any():
            code = codes[cells.school[sel][bad][0]]
            raise InputError(f"学校 {code} 的{what}为空或为 0，但有{GROUPS[g].label}作答，无法计算权重 N/n",
                             column=pop)
        out[sel] = vals
    return out


def _cell_weights(cells: CellTotals, population: np.ndarray) -> np.ndarray:
    """w = N_gs/n_gs for school cells with a frame; 1 otherwise (equal within group)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        w = population / cells.n
    return np.where(np.isfinite(w), w, 1.0)


@dataclass(frozen=True)
class _Ratio:
    p: np.ndarray        # per key
    var: np.ndarray      # per key, NaN when m ≤ 1
    num: np.ndarray      # Σ w·a
    den: np.ndarray      # Σ w·v


def _ratio(key: np.ndarray, size: int, w: np.ndarray, a: np.ndarray, v: np.ndarray, aa: np.ndarray,
           av: np.ndarray, vv: np.ndarray, clustered: np.ndarray, m: np.ndarray) -> _Ratio:
    """Ratio p = Σw·a/Σw·v per key and its linearised variance with m clusters per key
    (module docstring, step 5): Var = m/(m − 1)·(ΣZ² − (ΣZ)²/m)."""
    num = np.bincount(key, weights=w * a, minlength=size)
    den = np.bincount(key, weights=w * v, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = num / den
        pc = np.where(np.isfinite(p), p, 0.0)[key]
        dc = den[key]
        s1 = np.where(dc > 0, w * (a - pc * v) / dc, 0.0)
        e2 = aa - 2 * pc * av + pc * pc * vv
        s2 = np.where(clustered, s1 * s1, np.where(dc > 0, (w / dc) ** 2 * e2, 0.0))
        z1 = np.bincount(key, weights=s1, minlength=size)
        z2 = np.bincount(key, weights=s2, minlength=size)
        var = np.where(m > 1, m / (m - 1) * (z2 - z1 * z1 / m), np.nan)
    return _Ratio(p, np.maximum(var, 0.0, where=np.isfinite(var), out=var.copy()), num, den)


def logit_ci(p: float, se: float | None, df: int, confidence: float) -> tuple[float, float] | None:
    """expit(logit p ± t_{df, 1−α/2}·se/(p(1 − p))); None when p ∈ {0, 1}, se unknown or df < 1."""
    if se is None or not np.isfinite(se) or df < 1 or not 0 < p < 1:
        return None
    t = float(stats.t.ppf(1 - (1 - confidence) / 2, df))
    half = t * se / (p * (1 - p))
    lg = np.log(p / (1 - p))
    return float(1 / (1 + np.exp(-(lg - half)))), float(1 / (1 + np.exp(-(lg + half))))


def _fin(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _weights_vector(weights: Mapping[str, float]) -> np.ndarray:
    return np.array([float(weights.get(g, 0.0)) for g in GROUP_KEYS])


def estimate_from_cells(cells: CellTotals, frame: pd.DataFrame | None, rules: RecognitionRules,
                        weights: Mapping[str, float] | None = None, *,
                        item_texts: Mapping[str, str] | None = None,
                        unfiltered: CellTotals | None = None, census: bool | None = None,
                        warnings: Iterable[str] = ()) -> RecognitionResult:
    """The estimate of the module docstring from cell totals. ``weights`` replaces the
    rule-set's group weights (groups not named get 0). ``frame`` gives N_gs per school
    (columns school_code, students, teachers); without it school-linked groups get equal
    weights within group and the result warns. Raises InputError when a group with
    W_g > 0 has no valid answer or a school is missing from the frame."""
    notes = list(warnings)
    wsrc = "rules" if weights is None else "option"
    wmap = validate_group_weights(rules.group_weights if weights is None else weights,
                                  file=rules.file if weights is None else None,
                                  field="recognition.group_weights" if weights is None else "--weights")
    W = _weights_vector(wmap)
    pop = _population(cells, frame, notes)
    if frame is None and (LINKED[cells.group]).any():
        notes.append("未提供学校名册：学校相关组别在组内按等权处理（未按 N/n 加权）")
    over = np.flatnonzero(np.isfinite(pop) & (cells.n > pop))
    if len(over):
        c = over[0]
        notes.append(f"{len(over)} 个学校×组别单元的作答人数超过名册人数（如学校 {cells.schools[cells.school[c]]} "
                     f"的{GROUPS[GROUP_KEYS[cells.group[c]]].label}：{int(cells.n[c])} 人作答，名册 {int(pop[c])} 人），"
                     "请核对学校名册；这些单元的权重小于 1，校内标准误不作有限总体校正")
    w = _cell_weights(cells, pop)
    gi = cells.group
    clustered = LINKED[gi]
    kc = np.where(clustered, 1.0, cells.n)
    m = np.bincount(gi, weights=kc, minlength=_G)
    n_g = np.bincount(gi, weights=cells.n, minlength=_G)
    g_ratio = _ratio(gi, _G, w, cells.a, cells.v, cells.aa, cells.av, cells.vv, clustered, m)
    for j, g in enumerate(GROUP_KEYS):
        if W[j] > 0 and not g_ratio.den[j] > 0:
            why = "没有作答" if n_g[j] == 0 else "的作答全部为“不了解”或被质量筛查剔除"
            raise InputError(f"组别“{GROUPS[g].label}”权重为 {W[j]:g}，但{why}，不能计算社会认可度；"
                             "请补充该组调查或调整组别权重（不自动重新分配权重）",
                             file=None if weights is not None else rules.file,
                             field="--weights" if weights is not None else "recognition.group_weights")
    active = W > 0
    score = float(np.sum(W[active] * g_ratio.p[active]))
    var = float(np.sum(W[active] ** 2 * g_ratio.var[active]))
    df = int(np.sum(m[active] - 1))
    se = _fin(np.sqrt(var)) if np.isfinite(var) else None
    if se is None:
        notes.append("至少一个组别只有 1 个抽样单元（学校），无法估计标准误与置信区间")
    ci = logit_ci(score, se, df, rules.confidence)

    # weighted 不了解 rate and the "不了解 as no" sensitivity: Σw·d/Σw·t and Σw·a/Σw·t
    wt = np.bincount(gi, weights=w * cells.t, minlength=_G)
    wd = np.bincount(gi, weights=w * cells.d, minlength=_G)
    with np.errstate(invalid="ignore", divide="ignore"):
        dk_g = wd / wt
        as_no_g = g_ratio.num / wt
    dk = float(np.sum(W[active] * dk_g[active]))
    as_no = float(np.sum(W[active] * as_no_g[active]))

    # design effects (Kish decomposition, module docstring step 7)
    sw = np.bincount(gi, weights=w * cells.n, minlength=_G)
    sw2 = np.bincount(gi, weights=w * w * cells.n, minlength=_G)
    pc = np.where(np.isfinite(g_ratio.p), g_ratio.p, 0.0)[gi]
    ssq = np.bincount(gi, weights=w * (cells.aa - 2 * pc * cells.av + pc * pc * cells.vv), minlength=_G)
    with np.errstate(invalid="ignore", divide="ignore"):
        vbar = g_ratio.den / sw
        var_srs = ssq / sw / vbar ** 2 / (n_g - 1)
        kish = n_g * sw2 / sw ** 2
        deff_g = g_ratio.var / var_srs
        srs_total = np.sum(W[active] ** 2 * var_srs[active])
        deff_total = np.float64(var) / srs_total
        deff_kish = np.sum(W[active] ** 2 * var_srs[active] * kish[active]) / srs_total
    deff = {"cluster": _fin(deff_total / deff_kish), "kish": _fin(deff_kish), "total": _fin(deff_total)}

    groups = []
    for j, g in enumerate(GROUP_KEYS):
        if n_g[j] == 0 and W[j] == 0:
            continue
        se_j = _fin(np.sqrt(g_ratio.var[j]))
        p_j = _fin(g_ratio.p[j])
        groups.append(GroupEstimate(
            g, GROUPS[g].label, float(W[j]), p_j, se_j,
            None if p_j is None else logit_ci(p_j, se_j, df, rules.confidence),
            int(n_g[j]), int(m[j]), _fin(dk_g[j]), _fin(as_no_g[j]), _fin(kish[j]), _fin(deff_g[j])))

    items = _items(cells, w, W, m, clustered, item_texts or {})
    schools = _schools(cells, w, W, pop, rules.min_cell)
    n_kept = int(cells.n.sum())
    n_dropped = int(sum(cells.dropped.get(k, 0) for k in ("speeder", "straightliner_fast")))
    if cells.duration_unknown:
        notes.append(f"{cells.duration_unknown} 份作答缺少作答时长，无法判断是否过快或直线作答，已保留")
    unf = None
    if unfiltered is not None:
        unf = _county_only(unfiltered, frame, rules, W)
    cen = None
    if census if census is not None else rules.census:
        if frame is None:
            notes.append("普查口径需要学校名册（N_gs），未计算")
        else:
            cen = _census(cells, w, W, pop, g_ratio.p, g_ratio.den, score, rules.confidence)
    # the engine's one threshold comparison (outcome.meets): 17/20 in every group is 0.85,
    # whatever the binary sum Σ W_g·p_g comes to
    status = "pass" if meets(score, rules.threshold, "at_least") else "fail"
    return RecognitionResult(
        score=score, se=se, df=df, ci=ci, n_kept=n_kept, n_dropped=n_dropped, status=status,
        borderline=ci is not None and meets(ci[0], rules.threshold, "at_most") and meets(ci[1], rules.threshold,
                                                                                        "at_least"),
        threshold=rules.threshold, confidence=rules.confidence, groups=tuple(groups),
        dont_know_as_no=as_no, dont_know_as_no_status="pass" if meets(as_no, rules.threshold, "at_least") else "fail",
        dont_know_rate=dk, dont_know_policy=rules.dont_know_policy, deff=deff,
        dropped=dict(cells.dropped), duration_unknown=cells.duration_unknown, unfiltered=unf,
        items=items, school_table=schools,
        school_se="within_school" if frame is not None else "within_school_no_fpc",
        min_cell=rules.min_cell, weights_source=wsrc, census=cen, warnings=tuple(notes))


def _items(cells: CellTotals, w: np.ndarray, W: np.ndarray, m: np.ndarray, clustered: np.ndarray,
           texts: Mapping[str, str]) -> tuple[ItemEstimate, ...]:
    """Item domains of the full design: per (item, group) ratio with the group's m_g."""
    if not len(cells.items):
        return ()
    nc = len(cells.n)
    a, v, d, t = cells.item_sums
    member = np.zeros((nc, _G))  # cell → group indicator: group sums are BLAS products
    member[np.arange(nc), cells.group] = 1.0
    num, den = (a * w) @ member, (v * w) @ member
    with np.errstate(invalid="ignore", divide="ignore"):
        p = num / den
        pc = np.where(np.isfinite(p), p, 0.0)[:, cells.group]
        scale = w / den[:, cells.group]
        scale[~np.isfinite(scale)] = 0.0
        # per item a_i, v_i are 0/1, so Σa² = Σa·v = Σa and Σv² = Σv
        s1 = scale * (a - pc * v)
        s2 = np.where(clustered, s1 * s1, scale * scale * (a - 2 * pc * a + pc * pc * v))
        z1, z2 = s1 @ member, s2 @ member
        var_kg = np.where(m > 1, m / (m - 1) * (z2 - z1 * z1 / m), np.nan)
    r = _Ratio(p.ravel(), np.maximum(var_kg, 0.0, where=np.isfinite(var_kg), out=var_kg.copy()).ravel(),
               num.ravel(), den.ravel())
    n_item = t.sum(axis=1)
    wt = ((t * w) @ member).ravel()
    wd = ((d * w) @ member).ravel()
    out = []
    for j, item in enumerate(cells.items):
        sl = slice(j * _G, (j + 1) * _G)
        ok = (W > 0) & (r.den[sl] > 0)
        tot = W[ok].sum()
        if tot == 0:
            out.append(ItemEstimate(item, texts.get(item, ""), None, None, int(n_item[j]), None, ()))
            continue
        wt_ = W[ok] / tot
        var = float(np.sum(wt_ ** 2 * r.var[sl][ok]))
        with np.errstate(invalid="ignore", divide="ignore"):
            dk = float(np.sum(wt_ * (wd[sl][ok] / wt[sl][ok])))
        out.append(ItemEstimate(item, texts.get(item, ""), float(np.sum(wt_ * r.p[sl][ok])),
                                _fin(np.sqrt(var)), int(n_item[j]), _fin(dk),
                                tuple(g for g, o in zip(GROUP_KEYS, ok, strict=True) if o)))
    return tuple(out)


def _schools(cells: CellTotals, w: np.ndarray, W: np.ndarray, pop: np.ndarray,
             min_cell: int) -> SchoolTable:
    """Per school: P_s = Σ W̃_g·p_gs over its weighted groups with valid answers, with the
    within-school SE (module docstring step 6)."""
    sel = (cells.school >= 0) & (W[cells.group] > 0)
    s, g = cells.school[sel], cells.group[sel]
    n, a, v = cells.n[sel], cells.a[sel], cells.v[sel]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = a / v
        f = np.clip(np.where(np.isfinite(pop[sel]), n / pop[sel], 0.0), 0.0, 1.0)
        pz = np.where(np.isfinite(p), p, 0.0)
        e2 = cells.aa[sel] - 2 * pz * cells.av[sel] + pz * pz * cells.vv[sel]
        var = np.where(n > 1, (1 - f) * n / (n - 1) * e2 / v ** 2, 0.0)
    ok = v > 0
    ns = len(cells.schools)
    wsum = np.bincount(s[ok], weights=W[g[ok]], minlength=ns)
    with np.errstate(invalid="ignore", divide="ignore"):
        wt = np.where(ok, W[g] / wsum[s], 0.0)
    score = np.bincount(s[ok], weights=(wt * pz)[ok], minlength=ns)
    vs = np.bincount(s[ok], weights=(wt * wt * var)[ok], minlength=ns)
    n_s = np.bincount(s, weights=n, minlength=ns).astype(int)
    shown = (n_s >= min_cell) & (wsum > 0)
    present = n_s > 0
    return SchoolTable(tuple(np.asarray(cells.schools, dtype=object)[present]), n_s[present], score[present],
                       np.sqrt(np.maximum(vs, 0.0))[present], shown[present])


def _county_only(cells: CellTotals, frame: pd.DataFrame | None, rules: RecognitionRules,
                 W: np.ndarray) -> CountyEstimate:
    """County score, SE and CI of another set of cells (the unfiltered responses)."""
    w = _cell_weights(cells, _population(cells, frame))
    gi = cells.group
    clustered = LINKED[gi]
    m = np.bincount(gi, weights=np.where(clustered, 1.0, cells.n), minlength=_G)
    r = _ratio(gi, _G, w, cells.a, cells.v, cells.aa, cells.av, cells.vv, clustered, m)
    act = W > 0
    score = float(np.sum(W[act] * r.p[act]))
    var = float(np.sum(W[act] ** 2 * r.var[act]))
    se = _fin(np.sqrt(var)) if np.isfinite(var) else None
    df = int(np.sum(m[act] - 1))
    return CountyEstimate(score, se, df, logit_ci(score, se, df, rules.confidence), int(cells.n.sum()))


def _census(cells: CellTotals, w: np.ndarray, W: np.ndarray, pop: np.ndarray, p: np.ndarray,
            den: np.ndarray, score: float, confidence: float) -> CountyEstimate:
    """Census variant (module docstring step 8): schools are strata, respondents are
    sampled without replacement within them (fpc n_gs/N_gs); county-level groups stay
    with-replacement with respondents as units."""
    gi = cells.group
    n = cells.n
    pc = np.where(np.isfinite(p), p, 0.0)[gi]
    with np.errstate(invalid="ignore", divide="ignore"):
        e1 = cells.a - pc * cells.v
        e2 = cells.aa - 2 * pc * cells.av + pc * pc * cells.vv
        scale = (w / den[gi]) ** 2
        within = scale * (e2 - e1 * e1 / n)
        f = np.clip(np.where(LINKED[gi] & np.isfinite(pop), n / pop, 0.0), 0.0, 1.0)
        cell_var = np.where(n > 1, (1 - f) * n / (n - 1) * within, 0.0)
    var_g = np.bincount(gi, weights=cell_var, minlength=_G)
    act = W > 0
    var = float(np.sum(W[act] ** 2 * var_g[act]))
    df = int(np.sum((n - 1)[act[gi]]))
    se = float(np.sqrt(var))
    return CountyEstimate(score, se, df, logit_ci(score, se, df, confidence), int(n.sum()))


def encode(responses: pd.DataFrame, rules: RecognitionRules, *, file: str | None = None
           ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], np.ndarray, tuple[str, ...], np.ndarray]:
    """Validate a responses frame (docs/interfaces.md §3) and code it:
    (group index, school index (−1 county-level), schools, codes n × K uint8 with
    0 = not answered and 1.. the scale's labels, items, duration).
    Errors name the row (``responses.index`` when it is named ``row``, else position + 2,
    the header being row 1) and the column."""
    for col in ("group", "school_code"):
        if col not in responses.columns:
            raise InputError(f"缺少列 {col}", file=file, column=col)
    rows = (responses.index.to_numpy() if responses.index.name == "row"
            else np.arange(len(responses)) + 2)

    def row_of(mask: np.ndarray) -> int:
        return int(rows[np.flatnonzero(mask)[0]])

    def by_value(values: pd.Series, decode: Any) -> tuple[np.ndarray, np.ndarray]:
        """``decode`` applied once per distinct value (factorize, then take): per-row results
        and the row positions of each value's first occurrence (−1 for empty cells)."""
        idx, uniq = pd.factorize(values, use_na_sentinel=True)
        out = np.array([decode(u) for u in uniq] + [decode(None)], dtype=object)
        return out[idx], idx

    def blank(x: Any) -> bool:
        return x is None or (isinstance(x, float) and np.isnan(x)) or (isinstance(x, str) and not x.strip())

    graw = responses["group"]
    gkey, _ = by_value(graw, lambda x: None if blank(x) else group_key(str(x)))
    bad = np.array([k is None for k in gkey], dtype=bool)
    if bad.any():
        val = graw.to_numpy()[np.flatnonzero(bad)[0]]
        raise InputError(f"未知的调查对象组别“{'' if blank(val) else val}”，可选："
                         + "、".join(f"{g.key}/{g.label}" for g in GROUPS.values()),
                         file=file, row=row_of(bad), column="group")
    group = pd.Index(GROUP_KEYS).get_indexer(gkey).astype(np.int64)

    def code_text(x: Any) -> str:
        if blank(x):
            return ""
        if isinstance(x, float) and x.is_integer():  # codes read as numbers by spreadsheets
            x = int(x)
        text = str(x).strip()
        return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text

    sc, _ = by_value(responses["school_code"], code_text)
    linked = LINKED[group]
    no_school = linked & (sc == "")
    if no_school.any():
        g = GROUP_KEYS[group[np.flatnonzero(no_school)[0]]]
        raise InputError(f"{GROUPS[g].label}属于学校相关组别，学校代码不能为空", file=file,
                         row=row_of(no_school), column="school_code")
    codes_s, uniques = pd.factorize(pd.Series(np.where(linked, sc, None)), sort=True)
    schools = tuple(str(u) for u in uniques)
    items = tuple(c for c in responses.columns
                  if c not in META_COLUMNS and not str(c).startswith(("flag_", "_")))
    if not items:
        raise InputError("没有题目列（除 group、school_code 等以外的列都视为题目）", file=file)
    codes = np.zeros((len(responses), len(items)), dtype=np.uint8, order="F")
    label_code = {label: i + 1 for i, label in enumerate(rules.scale)}
    for j, item in enumerate(items):
        col = responses[item]
        c, _ = by_value(col, lambda x: 0 if blank(x) else label_code.get(str(x).strip(), -1))
        c = c.astype(np.int64)
        unknown = c < 0
        if unknown.any():
            val = col.to_numpy()[np.flatnonzero(unknown)[0]]
            raise InputError(f"无法识别的答案“{val}”，可选：{'、'.join(rules.scale)}（空白表示未作答）",
                             file=file, row=row_of(unknown), column=str(item))
        codes[:, j] = c
    if "duration_seconds" in responses.columns:
        raw = responses["duration_seconds"]
        dur = pd.to_numeric(raw, errors="coerce")
        bad = dur.isna().to_numpy() & raw.notna().to_numpy()
        if bad.any():  # blank strings are unknown durations, anything else is an error
            bad[bad] = ~raw[bad].map(blank).to_numpy(dtype=bool)
        if bad.any():
            raise InputError("作答时长应为秒数", file=file, row=row_of(bad), column="duration_seconds")
        if (dur < 0).any():
            raise InputError("作答时长不能为负数", file=file, row=row_of((dur < 0).to_numpy()),
                             column="duration_seconds")
        duration = dur.to_numpy(dtype=float)
    else:
        duration = np.full(len(responses), np.nan)
    return group, codes_s.astype(np.int64), schools, codes, items, duration


def questionnaire_texts(questionnaire_items: Any) -> dict[str, str]:
    """Item id → wording, from a mapping, an iterable of items with .id/.text, or the
    national questionnaire catalogue (when None)."""
    if questionnaire_items is None:
        from evaluator.questionnaire import load_catalogue

        return {it.id: it.text for q in load_catalogue().questionnaires for it in q.items}
    if isinstance(questionnaire_items, Mapping):
        return {str(k): str(v) for k, v in questionnaire_items.items()}
    return {it.id: it.text for it in questionnaire_items}


def recognize(responses: pd.DataFrame, frame: pd.DataFrame | None, rules: RecognitionRules,
              weights: Mapping[str, float] | None = None, questionnaire_items: Any = None, *,
              file: str | None = None) -> RecognitionResult:
    """Estimate the county's social recognition from respondent-level answers.

    ``responses``: group, school_code, optional duration_seconds, one column per item
    (labels of ``rules.scale`` or empty). ``frame``: school_code, students, teachers.
    Goes through :func:`cells_from_codes` and :func:`estimate_from_cells` (see the module
    docstring for the formulas). Missing schools in the frame name the responses row."""
    group, school, schools, codes, items, duration = encode(responses, rules, file=file)
    if frame is not None:
        if "school_code" not in frame.columns:
            raise InputError("学校名册缺少列 school_code", column="school_code")
        known = set(sampling_frame(frame)["school_code"])
        miss = np.array([s not in known for s in schools])
        if miss.any():
            bad = (school >= 0) & miss[np.maximum(school, 0)]
            rows = (responses.index.to_numpy() if responses.index.name == "row"
                    else np.arange(len(responses)) + 2)
            first = np.flatnonzero(bad)[0]
            raise InputError(f"学校代码 {schools[school[first]]} 不在学校名册中", file=file,
                             row=int(rows[first]), column="school_code")
    notes = []
    if np.isnan(duration).all():
        notes.append("作答数据没有作答时长（duration_seconds），未能进行过快与直线作答筛查")
    cells = cells_from_codes(group, school, schools, codes, items, duration, rules)
    unfiltered = cells_from_codes(group, school, schools, codes, items, duration, rules,
                                  apply_filters=False, per_item=False)
    return estimate_from_cells(cells, frame, rules, weights, item_texts=questionnaire_texts(questionnaire_items),
                               unfiltered=unfiltered, warnings=notes)
