"""The live page's estimate from cell sums aggregated in SQL equals the estimator run on the
respondent-level answers (itself checked against R's survey package in tests/evaluator/recognition),
on SQLite and PostgreSQL, including speeders, fast straight-liners, 不了解 and county-level groups."""

from __future__ import annotations

import math

import numpy as np

from evaluator.groups import GROUPS
from survey.db import db
from survey.instruments import catalogue
from survey.services.round_recognition import round_recognition, round_recognition_sql
from survey.services.rounds import recognition_rules
from tests.survey.helpers import link_for, make_round, store_answers


def _same(a, b, path=""):
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _same(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, str):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), (path, a, b)
    else:
        assert a == b, (path, a, b)


def test_sql_cells_give_the_respondent_level_estimate(app):
    rng = np.random.default_rng(7)
    with app.app_context():
        rnd = make_round()
        q_of = {g: catalogue().current_for(g) for g in GROUPS}
        scale = list(q_of["parent"].scale)
        for ln in rnd.links:
            ln.quota = 50
        db.session.commit()
        for ln in rnd.links:
            q = q_of[ln.group]
            n = int(rng.integers(2, 6))
            if ln.group == "principal":
                n = 1  # one principal per school: no cell larger than its roster population
            elif ln.group == "teacher" and ln.school.code == "S05":
                n = min(n, 3)
            for _ in range(n):
                kind = rng.random()
                if kind < 0.1:  # fast straight-liner (kept if slow, dropped if fast)
                    store_answers(ln, "满意", duration=float(rng.uniform(31, 59)))
                elif kind < 0.15:  # speeder
                    store_answers(ln, "不满意", duration=5)
                else:
                    answers = {it.id: str(rng.choice(scale, p=[0.45, 0.25, 0.12, 0.1, 0.08])) for it in q.items}
                    store_answers(ln, answers, duration=float(rng.uniform(40, 300)))
        for policy in ("exclude", "as_no"):
            rules = recognition_rules("national-2017")
            if policy == "as_no":
                import dataclasses

                rules = dataclasses.replace(rules, dont_know_policy="as_no")
            ref = round_recognition(rnd, catalogue(), rules=rules).to_dict()
            sql = round_recognition_sql(rnd, catalogue(), rules=rules).to_dict()
            assert ref["n_dropped"] > 0 and ref["dropped"]["straightliner_fast"] > 0
            _same(ref, sql)


def test_sql_cells_need_every_weighted_group(app):
    import pytest

    from evaluator.errors import InputError

    with app.app_context():
        rnd = make_round()
        store_answers(link_for(rnd, "parent", "S01"), "满意")
        with pytest.raises(InputError):
            round_recognition_sql(rnd, catalogue())
