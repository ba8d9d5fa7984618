"""Synthetic survey rounds for the fraud signals (evaluator.integrity): a genuine county and
the stuffing attacks of issue 9, in the frames ``detect`` reads.

Genuine county: schools with parent, student and teacher links; hundreds of parents per
school answering over a week, mostly in the evening and at weekends, a few at night; one
parent meeting per school on the school Wi-Fi (dozens scanning the poster within minutes);
home broadband addresses plus carrier NAT addresses shared by many families; a realistic mix
of device classes; answers from a latent satisfaction (school effect + person effect + item
difficulty), so "all 满意" is common and answers are correlated, as in real surveys;
lognormal completion times with some speeders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SCALE = ("满意", "比较满意", "基本满意", "不满意", "不了解")
ITEMS = {"parent": 9, "student": 9, "teacher": 11}
UA = (("wechat-android", 0.48), ("wechat-ios", 0.30), ("browser-android", 0.10), ("browser-ios", 0.06),
      ("qq-android", 0.04), ("browser-desktop", 0.02))
T0 = pd.Timestamp("2026-11-16 00:00", tz="Asia/Shanghai")  # a Monday
HOUR_WEIGHT = np.array([0.4, 0.2, 0.1, 0.1, 0.1, 0.3, 1, 2, 2, 1.5, 1.5, 2, 3, 2.5, 1.5, 1.5, 2, 3, 4, 6, 8, 7, 5, 2])


def _answers(rng, n: int, items: int, school_mu: float) -> list[str]:
    theta = school_mu + rng.normal(0, 1.0, n)[:, None]
    difficulty = np.linspace(-0.4, 0.6, items)[None, :]
    x = theta - difficulty + rng.normal(0, 0.7, (n, items))
    codes = np.select([x > 1.1, x > 0.2, x > -0.7], [0, 1, 2], 3)
    dk = rng.random((n, items)) < 0.04
    codes = np.where(dk, 4, codes)
    return ["|".join(f"q{j:02d}={SCALE[c]}" for j, c in enumerate(row)) for row in codes]


def _times(rng, n: int, days: int) -> pd.DatetimeIndex:
    day_weight = np.array([1, 1, 1, 1, 1.2, 2.2, 2.0][:days] * (days // 7 + 1))[:days]
    w = (day_weight[:, None] * HOUR_WEIGHT[None, :]).ravel()
    slots = rng.choice(len(w), size=n, p=w / w.sum())
    seconds = slots * 3600 + rng.uniform(0, 3600, n)
    return T0 + pd.to_timedelta(seconds, unit="s")


def genuine_county(seed: int, schools: int = 20, days: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(responses, starts) of a county with no fraud."""
    rng = np.random.default_rng(seed)
    nat_pool = [f"nat{i}" for i in range(25)]  # carrier NAT: a few dozen public addresses for the county
    ua_names, ua_p = zip(*UA, strict=True)
    rows, starts = [], []
    rid = 0
    for s in range(schools):
        code = f"S{s:02d}"
        mu = rng.normal(0.9, 0.35)
        for group, (lo, hi) in (("parent", (150, 420)), ("student", (100, 300)), ("teacher", (25, 80))):
            link = f"{code}-{group}"
            n = int(rng.integers(lo, hi))
            submitted = _times(rng, n, days)
            ips = np.where(rng.random(n) < 0.45, rng.choice(nat_pool, n), [f"home{s}-{group}-{i}" for i in range(n)])
            if group == "parent":  # the parent meeting: a third of the parents on the school Wi-Fi within ~15 min
                k = n // 3
                meeting = T0 + pd.Timedelta(days=int(rng.integers(0, days)), hours=19)
                start = meeting + pd.to_timedelta(rng.uniform(0, 900, k), unit="s")
                dur = pd.to_timedelta(np.exp(rng.normal(np.log(150), 0.45, k)), unit="s")
                submitted = submitted.to_series().reset_index(drop=True)
                submitted.iloc[:k] = (start + dur)
                submitted = pd.DatetimeIndex(submitted)
                ips[:k] = f"wifi-{code}"
            durations = np.exp(rng.normal(np.log(140), 0.6, n))
            durations[rng.random(n) < 0.04] = rng.uniform(5, 29, )
            started = submitted - pd.to_timedelta(durations, unit="s")
            uas = rng.choice(ua_names, n, p=ua_p)
            vectors = _answers(rng, n, ITEMS[group], mu)
            for i in range(n):
                rid += 1
                rows.append((rid, link, code, group, started[i], submitted[i], ips[i], uas[i], vectors[i]))
            # every form served once, fresh cookie on the first visit; 15% open it twice
            st = pd.DataFrame({"link": link, "ip_hash": ips, "ua_class": uas,
                               "minute": started.tz_convert("UTC").floor("min"), "starts": 1, "fresh": 1})
            again = st.sample(frac=0.15, random_state=seed).assign(fresh=0)
            starts += [st, again]
    responses = pd.DataFrame(rows, columns=["response_id", "link", "school_code", "group", "started_at",
                                            "submitted_at", "ip_hash", "ua_class", "vector"])
    for col in ("started_at", "submitted_at"):
        responses[col] = pd.to_datetime(responses[col]).dt.tz_convert("UTC")
    st = pd.concat(starts).groupby(["link", "ip_hash", "ua_class", "minute"], as_index=False)[["starts", "fresh"]].sum()
    return responses, st


def stuffing(responses: pd.DataFrame, starts: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The attacks of issue 9 added to a genuine county; returns the new frames and the ids
    of each attack's responses by kind."""
    rng = np.random.default_rng(seed + 1000)
    rid = int(responses["response_id"].max())
    new, new_starts, ids = [], [], {}

    def add(kind, link, code, group, started, submitted, ip, ua, vector):
        nonlocal rid
        out = []
        for a, b, i_, u, v in zip(started, submitted, ip, ua, vector, strict=True):
            rid += 1
            new.append((rid, link, code, group, a, b, i_, u, v))
            out.append(rid)
        ids[kind] = out

    all_yes = "|".join(f"q{j:02d}={SCALE[0]}" for j in range(ITEMS["parent"]))
    # 1. the attack as filed: one client, one address, cookie dropped before each page; 100 forms in
    #    0.4 s, 31 s later all 100 posted in 0.8 s, every answer 满意
    t = T0 + pd.Timedelta(days=2, hours=15)
    st = t + pd.to_timedelta(np.linspace(0, 0.4, 100), unit="s")
    sub = t + pd.Timedelta(seconds=31.4) + pd.to_timedelta(np.linspace(0, 0.8, 100), unit="s")
    add("script", "S03-parent", "S03", "parent", st, sub, ["attacker"] * 100, ["wechat-android"] * 100, [all_yes] * 100)
    new_starts.append(pd.DataFrame({"link": ["S03-parent"], "ip_hash": ["attacker"], "ua_class": ["wechat-android"],
                                    "minute": [st[0].tz_convert("UTC").floor("min")], "starts": [100], "fresh": [100]}))
    # 2. a 2 a.m. spike: 45 answers between 02:00 and 02:40 from many addresses and devices
    t = T0 + pd.Timedelta(days=4, hours=2)
    sub = t + pd.to_timedelta(np.sort(rng.uniform(0, 2400, 45)), unit="s")
    st = sub - pd.to_timedelta(rng.uniform(90, 200, 45), unit="s")
    vec = _answers(rng, 45, ITEMS["parent"], 2.5)
    add("night", "S05-parent", "S05", "parent", st, sub, [f"proxy{i}" for i in range(45)],
        list(rng.choice([u for u, _ in UA], 45)), vec)
    # 3. 50 identical (not straight-line) vectors over two days from many addresses
    mixed = "|".join(f"q{j:02d}={SCALE[0] if j % 3 else SCALE[1]}" for j in range(ITEMS["parent"]))
    sub = T0 + pd.Timedelta(days=1, hours=18) + pd.to_timedelta(np.sort(rng.uniform(0, 2 * 86400 - 40000, 50)), unit="s")
    st = sub - pd.to_timedelta(rng.uniform(90, 200, 50), unit="s")
    add("copies", "S07-parent", "S07", "parent", st, sub, [f"copy{i}" for i in range(50)],
        list(rng.choice([u for u, _ in UA], 50)), [mixed] * 50)
    # 4. token farming: 80 forms fetched in one minute without cookies, answered slowly over an evening
    t = T0 + pd.Timedelta(days=3, hours=20)
    st = t + pd.to_timedelta(np.sort(rng.uniform(0, 50, 80)), unit="s")
    sub = t + pd.to_timedelta(np.sort(rng.uniform(600, 3 * 3600, 80)), unit="s")
    add("farm", "S09-parent", "S09", "parent", st, sub, ["farmer"] * 80, ["browser-android"] * 80,
        _answers(rng, 80, ITEMS["parent"], 2.0))
    new_starts.append(pd.DataFrame({"link": ["S09-parent"], "ip_hash": ["farmer"], "ua_class": ["browser-android"],
                                    "minute": [st[0].tz_convert("UTC").floor("min")], "starts": [80], "fresh": [80]}))
    extra = pd.DataFrame(new, columns=responses.columns)
    for col in ("started_at", "submitted_at"):
        extra[col] = pd.to_datetime(extra[col]).dt.tz_convert("UTC")
    merged_starts = pd.concat([starts, *new_starts]).groupby(["link", "ip_hash", "ua_class", "minute"],
                                                              as_index=False)[["starts", "fresh"]].sum()
    return pd.concat([responses, extra], ignore_index=True), merged_starts, ids
