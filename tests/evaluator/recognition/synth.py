"""Synthetic counties for the recognition tests, reproducible from a seed.

``python -m tests.evaluator.recognition.synth`` rewrites the committed CSVs in
``data/`` that ``reference.R`` reads; the tests check that the generator still produces
exactly those files, so the R outputs stay tied to the data they were computed from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent / "data"
SCALE = ("满意", "比较满意", "基本满意", "不满意", "不了解")
FORMS = {
    "student": [f"x{i:02d}" for i in range(1, 11)],
    "parent": [f"s{i:02d}" for i in range(1, 12)],
    "teacher": [f"t{i:02d}" for i in range(1, 12)],
    "principal": [f"t{i:02d}" for i in range(1, 12)],
    "npc_deputy": [f"s{i:02d}" for i in range(1, 12)],
    "cppcc_member": [f"s{i:02d}" for i in range(1, 12)],
    "public": [f"s{i:02d}" for i in range(1, 12)],
}
CELL_SIZE = {"student": (0, 16), "parent": (3, 22), "teacher": (1, 9), "principal": (0, 2)}
COUNTY_SIZE = {"npc_deputy": 14, "cppcc_member": 11, "public": 37}

# weights used for each synthetic county (county_b leaves the county-level groups out)
WEIGHTS = {
    "county_a": {"parent": 0.40, "student": 0.20, "teacher": 0.15, "principal": 0.05,
                 "npc_deputy": 0.05, "cppcc_member": 0.05, "public": 0.10},
    "county_b": {"parent": 0.5, "student": 0.3, "teacher": 0.2},
}


def make_county(seed: int, n_schools: int, county_groups: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(responses, schools): labels per docs/interfaces.md §3 with speeders, fast and slow
    straight-liners, unknown durations, 不了解 and unanswered items."""
    rng = np.random.default_rng(seed)
    codes = [f"S{i:02d}" for i in range(1, n_schools + 1)]
    schools = pd.DataFrame({"school_code": codes,
                            "students": rng.integers(80, 1800, n_schools),
                            "teachers": rng.integers(8, 120, n_schools)})
    effect = rng.normal(0, 0.9, n_schools)
    items = sorted({i for form in FORMS.values() for i in form})
    rows: list[dict[str, object]] = []

    def respondent(group: str, school: str, shift: float) -> None:
        latent = shift + rng.normal(0, 0.7)
        probs = np.array([0.50, 0.20, 0.12, 0.10, 0.08]) * np.exp(np.array([1, 0.5, 0, -1.5, 0]) * latent)
        probs /= probs.sum()
        ans = rng.choice(len(SCALE), size=len(FORMS[group]), p=probs)
        row: dict[str, object] = {"group": group, "school_code": school}
        kind = rng.random()
        if kind < 0.06:
            duration: float = float(rng.uniform(5, 29.9))          # speeder
        elif kind < 0.11:
            ans[:] = 0
            duration = float(rng.uniform(30, 59.9))                # fast straight-liner
        elif kind < 0.14:
            ans[:] = 0
            duration = float(rng.uniform(61, 400))                 # slow straight-liner: kept
        elif kind < 0.17:
            duration = float("nan")                                # unknown duration
        else:
            duration = float(np.round(rng.lognormal(5, 0.5), 1))
        row["duration_seconds"] = duration
        for item, a in zip(FORMS[group], ans, strict=True):
            row[item] = None if rng.random() < 0.05 else SCALE[a]
        rows.append(row)

    for s, code in enumerate(codes):
        for group, (lo, hi) in CELL_SIZE.items():
            if group == "principal" and s == 0:
                continue
            for _ in range(int(rng.integers(lo, hi))):
                respondent(group, code, effect[s])
    if county_groups:
        for group, k in COUNTY_SIZE.items():
            for _ in range(k):
                respondent(group, "", rng.normal(0.3, 0.5))
    else:
        for _ in range(5):  # present but weighted 0 in county_b
            respondent("public", "", 0.0)
    resp = pd.DataFrame(rows, columns=["group", "school_code", "duration_seconds", *items])
    return resp, schools


def datasets() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    return {"county_a": make_county(20261123, 24), "county_b": make_county(7, 6, county_groups=False)}


def write(directory: Path = DATA) -> None:
    directory.mkdir(exist_ok=True)
    for name, (resp, schools) in datasets().items():
        resp.to_csv(directory / f"{name}_responses.csv", index=False)
        schools.to_csv(directory / f"{name}_schools.csv", index=False)


if __name__ == "__main__":
    write()
