"""The refactored fraud signals (evaluator.integrity.Signals, fed link by link; ``detect`` over
a frame) equal the signals as computed before (tests/evaluator/integrity_reference.py) on
generated rounds with planted fraud of every kind: the report's flags (kind, link, counts,
detail text, order), the kinds of every response and the flagged timeline bins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluator.integrity import KINDS, IntegrityRules, Signals, detect, straight_line, vector_key
from evaluator.rules import load_ruleset
from tests.evaluator.integrity_reference import detect_reference
from tests.evaluator.integrity_synth import ITEMS, SCALE, T0, genuine_county, stuffing

RULES = IntegrityRules.from_ruleset(load_ruleset("national-2017"))


def planted(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """A genuine county with the issue-9 attacks plus: a computer room (device cluster), a link of
    straight-liners, a county-level link, a student link answered at night, empty answer vectors,
    farming on a link that nobody submitted on; rows shuffled (the frame's order is not time order)."""
    responses, starts = genuine_county(seed, schools=8, days=7)
    responses, starts, _ = stuffing(responses, starts, seed)
    rng = np.random.default_rng(seed + 7)
    rid = int(responses["response_id"].max())
    extra = []

    def add(link, code, group, submitted, ips, uas, vectors, dur=150.0):
        nonlocal rid
        for s, ip, ua, v in zip(submitted, ips, uas, vectors, strict=True):
            rid += 1
            extra.append((rid, link, code, group, s - pd.Timedelta(seconds=dur), s, ip, ua, v))

    day = T0 + pd.Timedelta(days=2, hours=10)
    n = 70  # computer room: 50 of 70 teachers' answers from one address and device class
    add("S01-teacher", "S01", "teacher", day + pd.to_timedelta(np.sort(rng.uniform(0, 3 * 3600, n)), unit="s"),
        ["room"] * 50 + [f"t{i}" for i in range(20)], ["browser-desktop"] * 50 + ["wechat-ios"] * 20,
        ["|".join(f"q{j:02d}={SCALE[rng.integers(0, 4)]}" for j in range(ITEMS["teacher"])) for _ in range(n)])
    all_yes = "|".join(f"q{j:02d}={SCALE[0]}" for j in range(ITEMS["student"]))
    add("S02-student", "S02", "student",  # straight-liners spread over two days
        T0 + pd.Timedelta(days=3, hours=9) + pd.to_timedelta(np.sort(rng.uniform(0, 2 * 86400, 60)), unit="s"),
        [f"sl{i}" for i in range(60)], list(rng.choice(["wechat-android", "wechat-ios"], 60)), [all_yes] * 60)
    add("C-public", "", "public",  # a county-level link: one hall's Wi-Fi, one vector repeated, empty vectors
        T0 + pd.Timedelta(days=1, hours=20) + pd.to_timedelta(np.sort(rng.uniform(0, 4 * 3600, 40)), unit="s"),
        ["county-hall"] * 30 + [f"pub{i}" for i in range(10)], ["wechat-android"] * 40, ["q00=满意|q01=不满意"] * 25 + [""] * 3
        + [f"q00={SCALE[i % 5]}|q01={SCALE[(i * 3) % 5]}" for i in range(12)])
    add("S04-student", "S04", "student",  # night answers
        T0 + pd.Timedelta(days=5, hours=1) + pd.to_timedelta(np.sort(rng.uniform(0, 3 * 3600, 40)), unit="s"),
        [f"n{i}" for i in range(40)], list(rng.choice(["wechat-android", "qq-android"], 40)),
        ["|".join(f"q{j:02d}={SCALE[rng.integers(0, 5)]}" for j in range(ITEMS["student"])) for _ in range(40)])
    for school in ("S05", "S06", "S07"):  # more of each kind, so that their order is tested
        add(f"{school}-student", school, "student",
            T0 + pd.Timedelta(days=4, hours=2) + pd.to_timedelta(np.sort(rng.uniform(0, 3 * 3600, 30)), unit="s"),
            ["room2"] * 30, ["browser-desktop"] * 30,
            ["|".join(f"q{j:02d}={SCALE[rng.integers(0, 5)]}" for j in range(ITEMS["student"])) for _ in range(30)])
    for school, k in (("S01", 1), ("S04", 2)):  # copies of other vectors on other parent links
        copied = "|".join(f"q{j:02d}={SCALE[(j + k) % 3]}" for j in range(ITEMS["parent"]))
        add(f"{school}-parent", school, "parent",
            T0 + pd.Timedelta(days=k, hours=9) + pd.to_timedelta(np.sort(rng.uniform(0, 86400 - 40000, 45)), unit="s"),
            [f"c{k}-{i}" for i in range(45)], list(rng.choice(["wechat-android", "wechat-ios"], 45)), [copied] * 45)
    more = pd.DataFrame(extra, columns=responses.columns)
    for col in ("started_at", "submitted_at"):
        more[col] = pd.to_datetime(more[col]).dt.tz_convert("UTC")
    responses = pd.concat([responses, more], ignore_index=True)
    responses = responses.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    lonely = pd.DataFrame({"link": ["S06-teacher", "GHOST"], "ip_hash": ["farm2", "farm3"],
                           "ua_class": ["browser-android"] * 2,
                           "minute": [T0.tz_convert("UTC").floor("min")] * 2, "starts": [40, 30], "fresh": [40, 30]})
    starts = pd.concat([starts, lonely], ignore_index=True)
    meta = {"S06-teacher": {"school_code": "S06", "group": "teacher"}, "GHOST": {"school_code": None, "group": "public"}}
    return responses, starts, meta


def same(a, b) -> None:
    assert a.responses == b.responses
    assert a.flags == b.flags
    assert a.by_response == b.by_response
    assert a.flagged_bins == b.flagged_bins


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detect_equals_the_previous_detect_on_planted_fraud(seed):
    responses, starts, meta = planted(seed)
    names = {f"S{s:02d}": f"学校{s}" for s in range(8)}
    ref = detect_reference(responses, starts, RULES, names, meta)
    assert {f["kind"] for f in ref.flags} == set(KINDS)  # every kind planted and found
    assert all(sum(f["kind"] == k for f in ref.flags) >= 2 for k in KINDS if k != "burst")
    assert any(f["responses"] == 0 for f in ref.flags)  # farming without a submission
    assert any(f["school_code"] is None and f["responses"] for f in ref.flags)  # a county-level link
    same(detect(responses, starts, RULES, names, meta), ref)


def test_links_fed_in_any_order_give_the_same_report():
    responses, starts, meta = planted(3)
    ref = detect_reference(responses, starts, RULES, None, meta)
    signals = Signals(starts, RULES, None, meta)
    by_link = list(responses.groupby("link", sort=False))
    for _, rows in reversed(by_link):
        signals.add_link(rows, rows.index)
    same(signals.report(), ref)
    # a genuine county without fraud stays without flags
    responses, starts = genuine_county(4, schools=6)
    assert detect(responses, starts, RULES).flags == detect_reference(responses, starts, RULES).flags


def test_empty_round_and_farming_only():
    responses, starts, meta = planted(0)
    empty = responses.iloc[:0]
    same(detect(empty, starts, RULES, None, meta), detect_reference(empty, starts, RULES, None, meta))
    same(detect(empty, None, RULES), detect_reference(empty, None, RULES))


def test_vector_keys_and_straight_lines():
    assert vector_key("q1=满意|q2=满意") == vector_key("q1=满意|q2=满意") != vector_key("q1=满意|q2=不满意")
    assert straight_line("q1=满意|q2=满意") and not straight_line("q1=满意|q2=不满意")
