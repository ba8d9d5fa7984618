"""Sample-size planner: hand-computed sizes (docs/rules.md §6) and quota invariants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluator.errors import InputError
from evaluator.recognition import plan_sample, population_total_n
from evaluator.recognition.planner import apportion, required_n

NATIONAL = {"parent": 0.40, "student": 0.20, "teacher": 0.15, "principal": 0.05,
            "npc_deputy": 0.05, "cppcc_member": 0.05, "public": 0.10}


def frame(k: int = 30, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"school_code": [f"S{i:02d}" for i in range(k)],
                         "students": rng.integers(50, 2000, k), "teachers": rng.integers(5, 120, k)})


@pytest.mark.parametrize(("deff", "n"), [(1.0, 545), (1.5, 817), (2.0, 1089)])
def test_domain_sizes(deff, n):
    # docs/rules.md §6: p = 0.85, e = 0.03 gives 545 / 817 / 1 089
    assert required_n(0.03, 0.85, deff, 0.95) == n


def test_single_group_equals_simple_formula():
    plan = plan_sample(frame(), group_weights={"parent": 1.0}, deff=1.5)
    assert plan.total_n == 817 and plan.per_group == {"parent": 817}


def test_parent_share_raises_n_by_sum_w2_over_s():
    w = {"parent": 0.4, "public": 0.6}
    plan = plan_sample(frame(), group_weights=w, deff=1.0, min_parent_share=0.5)
    # shares 0.5 / 0.5; factor = 0.16/0.5 + 0.36/0.5 = 1.04
    z = 1.959963984540054
    expect = math.ceil(z * z * 0.85 * 0.15 * 1.04 / 0.0009)
    assert plan.required_n == expect
    assert abs(plan.per_group["parent"] - plan.per_group["public"]) <= 1
    assert sum(plan.per_group.values()) == plan.total_n == expect


def test_quotas_proportional_and_at_least_one():
    f = frame()
    plan = plan_sample(f, group_weights=NATIONAL, total_n=2000)
    q = plan.quotas
    for g, n in plan.per_group.items():
        assert q.loc[q.group == g, "quota"].sum() == n
    par = q[q.group == "parent"].set_index("school_code")["quota"]
    assert (par >= 1).all() and len(par) == 30
    ideal = plan.per_group["parent"] * f.set_index("school_code")["students"] / f["students"].sum()
    assert (par - ideal.loc[par.index]).abs().max() < 1.0 + 1e-9
    assert (q.loc[q.group == "principal", "quota"] == 1).all()
    assert q.loc[q.group == "public", "school_code"].tolist() == [""]


def test_fixed_county_groups_and_total():
    plan = plan_sample(frame(), group_weights=NATIONAL, county_groups_n={"npc_deputy": 20})
    assert plan.per_group["npc_deputy"] == 20
    with pytest.raises(InputError, match="county_groups_n"):
        plan_sample(frame(), group_weights=NATIONAL, county_groups_n={"npc_deputy": 1})


def test_bad_weights():
    with pytest.raises(InputError, match="group_weights"):
        plan_sample(frame(), group_weights={"parent": 0.5})
    with pytest.raises(InputError, match="未知"):
        plan_sample(frame(), group_weights={"alien": 1.0})


def test_unknown_teachers_equal_quota_noted():
    f = frame().assign(teachers=np.nan)
    plan = plan_sample(f, group_weights={"teacher": 1.0}, total_n=60)
    assert plan.quotas["quota"].tolist() == [2] * 30
    assert "均等" in plan.assumptions["说明"]


def test_apportion_caps_and_floor():
    q = apportion(10, np.array([1.0, 1.0, 100.0, 0.0]))
    assert q.tolist() == [1, 1, 8, 0]
    assert apportion(3, np.array([5.0, 5.0, 5.0])).tolist() == [1, 1, 1]


def test_population_rule():
    assert population_total_n(100_000) == 600
    assert population_total_n(1_000_000) == 1500
    assert population_total_n(1_000_001) == 1501


def test_defaults_come_from_the_rule_set():
    import dataclasses

    from evaluator.recognition import rules_of

    rules = rules_of(None)
    assert plan_sample(frame(), group_weights={"parent": 1.0}).total_n == 817  # national: deff 1.5
    custom = dataclasses.replace(rules, planning=dataclasses.replace(rules.planning, deff=2.0, per_mille=2.0))
    assert plan_sample(frame(), group_weights={"parent": 1.0}, rules=custom).total_n == 1089
    assert population_total_n(1_000_000, rules=custom) == 2000


def test_few_schools_noted():
    plan = plan_sample(frame(k=5), group_weights={"parent": 1.0})
    assert "少于建议的 20 所" in plan.assumptions["说明"]
    assert "说明" not in plan_sample(frame(k=25), group_weights={"parent": 1.0}).assumptions
