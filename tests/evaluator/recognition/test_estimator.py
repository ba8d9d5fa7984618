"""The estimator against R's survey package (committed outputs of reference.R),
statsmodels' cluster-robust WLS as a second oracle for the group SEs, and small
hand-checkable counties."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evaluator.errors import InputError
from evaluator.recognition import (
    CellTotals,
    RecognitionRules,
    estimate_from_cells,
    recognize,
)
from evaluator.rules import load_ruleset
from tests.evaluator.recognition import synth

DATA = Path(__file__).resolve().parent / "data"
REL = 1e-9


@pytest.fixture(scope="module")
def rules() -> RecognitionRules:
    return dataclasses.replace(RecognitionRules.from_ruleset(load_ruleset("national-2017")), census=True)


def load(county: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    resp = pd.read_csv(DATA / f"{county}_responses.csv", dtype={"school_code": str})
    schools = pd.read_csv(DATA / f"{county}_schools.csv", dtype={"school_code": str})
    return resp, schools


def r_reference(county: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{county}_r.csv", keep_default_na=False, dtype={"key": str})


def close(mine: float, ref: float) -> bool:
    return math.isclose(mine, ref, rel_tol=REL, abs_tol=1e-14)


@pytest.mark.parametrize("county", list(synth.WEIGHTS))
def test_committed_data_is_the_generator_output(county):
    resp, schools = synth.datasets()[county]
    committed, committed_schools = load(county)
    committed["school_code"] = committed["school_code"].fillna("")
    pd.testing.assert_frame_equal(resp.fillna(np.nan).reset_index(drop=True),
                                  committed.reset_index(drop=True), check_dtype=False)
    pd.testing.assert_frame_equal(schools, committed_schools, check_dtype=False)


@pytest.mark.parametrize("county", list(synth.WEIGHTS))
def test_agrees_with_r_survey(county, rules):
    resp, schools = load(county)
    out = recognize(resp, schools, rules, synth.WEIGHTS[county]).to_dict()
    as_no_rules = dataclasses.replace(rules, dont_know_policy="as_no")
    as_no = recognize(resp, schools, as_no_rules, synth.WEIGHTS[county]).to_dict()
    ref = r_reference(county)
    checked = {"county": 0, "group": 0, "item": 0, "school": 0, "census": 0, "unfiltered": 0, "as_no_policy": 0}
    for row in ref.itertuples():
        value = float(row.value)
        if row.what == "county":
            mine = {"score": out["score"], "se": out["se"], "df": out["df"], "ci_lo": out["ci"][0],
                    "ci_hi": out["ci"][1], "n_kept": out["n_kept"], "dont_know_as_no": out["dont_know_as_no"],
                    "dont_know_rate": out["dont_know_rate"], "speeder": out["dropped"]["speeder"],
                    "straightliner_fast": out["dropped"]["straightliner_fast"]}[row.stat]
        elif row.what == "group":
            mine = out["groups"][row.key]["deff"]["total"] if row.stat == "deff" else out["groups"][row.key][row.stat]
        elif row.what == "item":
            mine = out["items"][row.key][row.stat]
        elif row.what == "school":
            if row.stat == "full_design_domain_se_max":
                # a school is one cluster: its full-design domain SE is 0 in R too, which is
                # why the reported school SE is the within-school one
                assert abs(value) < 1e-12
                continue
            mine = out["schools"][row.key][row.stat]
        elif row.what == "census":
            mine = out["census"][row.stat]
        elif row.what == "as_no_policy":  # the rule-set option dont_know_policy: as_no
            mine = as_no[row.stat]
        else:  # unfiltered: the result keeps score, ci and n
            if row.stat == "se":
                continue
            mine = out["unfiltered"][row.stat]
        assert close(mine, value), (row, mine)
        checked[row.what] += 1
    assert all(checked.values()), checked
    # every unsuppressed school was checked against R
    shown = [k for k, s in out["schools"].items() if not s.get("suppressed")]
    assert len(shown) == len(ref[(ref.what == "school") & (ref.stat == "score")])


def kept(resp: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Respondents kept by the national filters (30 s speeders; straight-liners under 60 s;
    empty rows) and their answers, recomputed here from the labels, not by the library."""
    items = [c for c in resp.columns if c not in ("group", "school_code", "duration_seconds")]
    ans = resp[items]
    answered = ans.notna().sum(axis=1)
    straight = ans.nunique(axis=1).eq(1) & answered.ge(2)
    dur = resp["duration_seconds"]
    keep = ~(dur.lt(30) | (straight & dur.lt(60))) & answered.gt(0)
    return resp[keep].copy(), ans[keep]


@pytest.mark.parametrize("county", list(synth.WEIGHTS))
def test_group_se_matches_statsmodels_cluster_wls(county, rules):
    """Second oracle: WLS of a/v on a constant with weights w·v and cluster-robust SE
    (CRV1 without the (N−1)/(N−K) factor) equals the linearised SE of the ratio."""
    resp, schools = load(county)
    res = recognize(resp, schools, rules, synth.WEIGHTS[county])
    d, x = kept(resp)
    a = x.isin(["满意", "比较满意", "基本满意"]).sum(axis=1)
    v = (x.notna() & ~x.eq("不了解")).sum(axis=1)
    linked = d["group"].isin(["student", "parent", "teacher", "principal"])
    pop = schools.set_index("school_code")
    size = np.where(d["group"].isin(["student", "parent"]), pop["students"].reindex(d["school_code"]).to_numpy(),
                    np.where(d["group"] == "teacher", pop["teachers"].reindex(d["school_code"]).to_numpy(), 1))
    n_gs = d.groupby(["group", "school_code"], dropna=False)["group"].transform("size")
    w = np.where(linked, size / n_gs, 1.0)
    cluster = np.where(linked, d["group"] + "|" + d["school_code"].fillna(""), np.arange(len(d)).astype(str))
    for g in synth.WEIGHTS[county]:
        sel = (d["group"] == g).to_numpy()
        y = np.where(v[sel] > 0, a[sel] / v[sel].where(v[sel] > 0, 1), 0.0)
        groups = pd.factorize(cluster[sel])[0]
        fit = sm.WLS(y, np.ones((sel.sum(), 1)), weights=(w[sel] * v[sel]).to_numpy(dtype=float)).fit(
            cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
        m = groups.max() + 1
        se = math.sqrt(fit.cov_params()[0, 0] * m / (m - 1))
        ge = res.group(g)
        assert close(ge.score, float(fit.params[0]))
        assert close(ge.se, se)


def test_cells_round_trip_through_frames(rules):
    """The SQL path: cell totals as DataFrames give the same result as recognize()."""
    from evaluator.recognition.estimator import cells_from_codes, encode

    resp, schools = load("county_a")
    group, school, codes_s, codes, items, dur = encode(resp, rules)
    cells = cells_from_codes(group, school, codes_s, codes, items, dur, rules)
    cell_df, item_df = cells.to_frames()
    again = CellTotals.from_frames(cell_df.sample(frac=1, random_state=1), item_df.sample(frac=1, random_state=2),
                                   dropped=cells.dropped)
    a = estimate_from_cells(cells, schools, rules).to_dict()
    b = estimate_from_cells(again, schools, rules).to_dict()
    lean = cells_from_codes(group, school, codes_s, codes, items, dur, rules, per_item=False)
    c = estimate_from_cells(lean, schools, rules).to_dict()  # group-only path: no item histograms
    assert c["items"] == {} and all(close(c[k], a[k]) for k in ("score", "se", "dont_know_rate", "dont_know_as_no"))
    assert close(a["score"], b["score"]) and close(a["se"], b["se"])
    for k, it in a["items"].items():
        assert close(it["score"], b["items"][k]["score"]) and close(it["se"], b["items"][k]["se"])
    assert a["schools"].keys() == b["schools"].keys()
    for k, sch in a["schools"].items():
        assert sch.get("suppressed") == b["schools"][k].get("suppressed")
        if not sch.get("suppressed"):
            assert close(sch["score"], b["schools"][k]["score"]) and close(sch["se"], b["schools"][k]["se"])


# --- hand-checkable counties -------------------------------------------------------------

def tiny(rows: list[tuple[str, str, float, list[str | None]]]) -> pd.DataFrame:
    k = max(len(r[3]) for r in rows)
    return pd.DataFrame([{"group": g, "school_code": s, "duration_seconds": t,
                          **{f"q{j + 1}": (ans + [None] * k)[j] for j in range(k)}} for g, s, t, ans in rows])


FRAME = pd.DataFrame({"school_code": ["A", "B"], "students": [100, 300], "teachers": [10, 30]})


def test_one_school_all_satisfied(rules):
    resp = tiny([("parent", "A", 100, ["满意", "满意"])] * 3)
    res = recognize(resp, FRAME, rules, {"parent": 1.0})
    assert res.score == 1.0 and res.status == "pass"
    assert res.se is None and res.df == 0 and res.ci is None and not res.borderline
    assert any("1 个抽样单元" in w for w in res.warnings)


def test_all_dont_know_group_is_an_error(rules):
    resp = tiny([("parent", "A", 100, ["满意", "不满意"]), ("public", "", 100, ["不了解", "不了解"])])
    with pytest.raises(InputError, match="社会人士.*不了解"):
        recognize(resp, FRAME, rules, {"parent": 0.5, "public": 0.5})


def test_configured_group_missing_is_an_error_not_renormalised(rules):
    resp = tiny([("parent", "A", 100, ["满意", "不满意"])])
    with pytest.raises(InputError, match="学生.*没有作答"):
        recognize(resp, FRAME, rules, {"parent": 0.5, "student": 0.5})


def test_hand_computed_two_schools(rules):
    # parents at A (N=100): 2 respondents, a/v = (2/2), (1/2)   -> w = 50
    # parents at B (N=300): 1 respondent,  a/v = (0/1), 不了解 excluded -> w = 300
    # p = (50·3 + 300·0) / (50·4 + 300·1) = 150/500 = 0.3
    # z_A = 50·(3 − 0.3·4)/500 = 0.18, z_B = 300·(0 − 0.3·1)/500 = −0.18
    # Var = 2/1·(0.18² + 0.18²) = 0.1296, se = 0.36
    resp = tiny([("parent", "A", 100, ["满意", "满意"]), ("parent", "A", 100, ["满意", "不满意"]),
                 ("parent", "B", 100, ["不满意", "不了解"])])
    res = recognize(resp, FRAME, rules, {"parent": 1.0})
    assert res.score == pytest.approx(0.3, rel=1e-12)
    assert res.se == pytest.approx(0.36, rel=1e-12)
    assert res.df == 1
    # as-no: 150 / (50·4 + 300·2) = 0.1875; 不了解 rate 300/800
    assert res.dont_know_as_no == pytest.approx(0.1875, rel=1e-12)
    assert res.dont_know_rate == pytest.approx(300 / 800, rel=1e-12)
    lo, hi = res.ci
    half = 12.706204736174698 * 0.36 / (0.3 * 0.7)  # t_{1, 0.975}
    assert lo == pytest.approx(1 / (1 + math.exp(-(math.log(0.3 / 0.7) - half))), rel=1e-9)
    assert hi == pytest.approx(1 / (1 + math.exp(-(math.log(0.3 / 0.7) + half))), rel=1e-9)
    # Kish deff = n·Σw²/(Σw)² = 3·(50²·2 + 300²)/(400²)
    assert res.group("parent").deff_kish == pytest.approx(3 * (2 * 2500 + 90000) / 160000, rel=1e-12)


def test_filters_and_unknown_duration(rules):
    resp = tiny([
        ("public", "", 10, ["不满意", "满意"]),        # speeder
        ("public", "", 45, ["满意", "满意"]),          # fast straight-liner
        ("public", "", 300, ["满意", "满意"]),         # slow straight-liner: genuine
        ("public", "", float("nan"), ["满意", "满意"]),  # unknown duration: kept, reported
        ("public", "", 100, ["不满意", "满意"]),
    ])
    res = recognize(resp, None, rules, {"public": 1.0})
    assert res.dropped["speeder"] == 1 and res.dropped["straightliner_fast"] == 1
    assert res.n_kept == 3 and res.n_dropped == 2 and res.duration_unknown == 1
    assert res.score == pytest.approx(5 / 6)
    assert res.unfiltered is not None and res.unfiltered.score == pytest.approx(8 / 10)
    assert any("作答时长" in w for w in res.warnings)


def test_borderline_and_dont_know_flip(rules):
    rows = [("public", "", 100, ["满意", "满意", "不了解"])] * 17 + [("public", "", 100, ["不满意", "满意", "满意"])] * 3
    res = recognize(tiny(rows), None, rules, {"public": 1.0})
    # 17·2 + 3·2 = 40 approvals over 17·2 + 3·3 = 43 valid -> 0.930; as-no: 40 / 60 = 0.667
    assert res.score == pytest.approx(40 / 43)
    assert res.status == "pass" and res.dont_know_as_no_status == "fail"
    assert res.borderline == (res.ci[0] <= 0.85 <= res.ci[1])


def test_school_missing_from_frame_names_row(rules):
    resp = tiny([("parent", "A", 100, ["满意"]), ("parent", "Z", 100, ["满意"])])
    with pytest.raises(InputError, match="第 3 行.*school_code"):
        recognize(resp, FRAME, rules, {"parent": 1.0})


def test_unknown_label_names_row_and_column(rules):
    resp = tiny([("parent", "A", 100, ["满意", "很好"])])
    with pytest.raises(InputError, match="第 2 行，列 q2"):
        recognize(resp, FRAME, rules, {"parent": 1.0})


def test_without_frame_equal_weights_warns(rules):
    resp = tiny([("parent", "A", 100, ["满意", "满意"]), ("parent", "B", 100, ["不满意", "满意"])])
    res = recognize(resp, None, rules, {"parent": 1.0})
    assert res.score == pytest.approx(3 / 4)
    assert any("学校名册" in w for w in res.warnings)


def test_small_schools_suppressed(rules):
    resp, schools = load("county_a")
    res = recognize(resp, schools, rules, synth.WEIGHTS["county_a"])
    for s in res.schools:
        assert s.suppressed == (s.n < rules.min_cell)


def test_sql_style_aggregation_gives_the_same_result(rules):
    """What the survey database does: per-respondent a, v, d, t (and squares), summed with
    GROUP BY group, school_code (and item) — built here with pandas, not the library."""
    resp, schools = load("county_a")
    r, x = kept(resp)
    items = list(x.columns)
    approve = x.isin(["满意", "比较满意", "基本满意"])
    dk = x.eq("不了解")
    valid = x.notna() & ~dk
    r["school_code"] = r["school_code"].where(r["group"].isin(["student", "parent", "teacher", "principal"]))
    r["a"], r["v"], r["d"], r["t"] = approve.sum(axis=1), valid.sum(axis=1), dk.sum(axis=1), x.notna().sum(axis=1)
    r["aa"], r["av"], r["vv"] = r["a"] ** 2, r["a"] * r["v"], r["v"] ** 2
    r["n"] = 1
    keys = ["group", "school_code"]
    cells = r.groupby(keys, dropna=False)[["n", "a", "v", "d", "t", "aa", "av", "vv"]].sum().reset_index()
    long = pd.concat([
        pd.DataFrame({"group": r["group"], "school_code": r["school_code"], "item": item,
                      "a": approve[item].astype(int), "v": valid[item].astype(int), "d": dk[item].astype(int),
                      "t": x[item].notna().astype(int)}) for item in items])
    long = long[long["t"] > 0].assign(n=1)
    item_cells = long.groupby([*keys, "item"], dropna=False)[["n", "a", "v", "d", "t"]].sum().reset_index()
    w = synth.WEIGHTS["county_a"]
    via_sql = estimate_from_cells(CellTotals.from_frames(cells, item_cells), schools, rules, w).to_dict()
    direct = recognize(resp, schools, rules, w).to_dict()
    for key in ("score", "se", "df", "dont_know_as_no", "dont_know_rate"):
        assert close(via_sql[key], direct[key]), key
    for item, it in direct["items"].items():
        assert close(via_sql["items"][item]["score"], it["score"]) and close(via_sql["items"][item]["se"], it["se"])
    for code, sch in direct["schools"].items():
        if not sch.get("suppressed"):
            assert close(via_sql["schools"][code]["se"], sch["se"])


@pytest.mark.parametrize("per_item", [True, False])
def test_packed_and_plain_cell_sums_agree(rules, monkeypatch, per_item):
    """Two sums share one float64 bincount when small enough; the plain path must agree exactly."""
    from evaluator.recognition import estimator
    from evaluator.recognition.estimator import cells_from_codes, encode

    resp, _ = load("county_a")
    args = encode(resp, rules)
    packed = cells_from_codes(*args, rules, per_item=per_item)
    monkeypatch.setattr(estimator, "PACK", 1.0)  # forces one bincount per sum
    plain = cells_from_codes(*args, rules, per_item=per_item)
    for name in ("n", "a", "v", "d", "t", "aa", "av", "vv"):
        assert np.array_equal(getattr(packed, name), getattr(plain, name)), name


def test_roster_without_teacher_counts_weights_teachers_equally(rules):
    resp = tiny([("teacher", "A", 100, ["满意", "满意"]), ("teacher", "B", 100, ["不满意", "满意"]),
                 ("teacher", "B", 100, ["不满意", "不满意"])])
    res = recognize(resp, FRAME.assign(teachers=np.nan), rules, {"teacher": 1.0})
    assert res.score == pytest.approx(3 / 6)  # equal weights, not N/n
    assert any("专任教师数" in w for w in res.warnings)
    with pytest.raises(InputError, match="学校 B 的专任教师数"):
        recognize(resp, FRAME.assign(teachers=[10, np.nan]), rules, {"teacher": 1.0})
