"""The fraud signals as evaluator.integrity.detect computed them before the streaming
refactor (issue 12): the whole round in one frame. Kept verbatim as the reference the
refactored ``detect`` and the streaming reading of a round must equal."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from evaluator.groups import GROUPS
from evaluator.integrity import KINDS, RESPONSE_COLUMNS, IntegrityReport, IntegrityRules


def _who(school_code: str | None, group: str, names: Mapping[str, str]) -> str:
    label = GROUPS[group].label if group in GROUPS else group
    if not school_code:
        return f"全县·{label}入口"
    return f"{names.get(school_code, school_code)}（{school_code}）·{label}入口"


def _local(ts: pd.Timestamp, tz: str) -> str:
    return ts.tz_convert(tz).strftime("%m-%d %H:%M:%S")


def detect_reference(responses: pd.DataFrame, starts: pd.DataFrame | None, rules: IntegrityRules,
           school_names: Mapping[str, str] | None = None,
           link_meta: Mapping[str, Mapping[str, Any]] | None = None) -> IntegrityReport:
    """Every signal over a round; flags in KINDS order, then link order. ``link_meta`` gives
    school_code and group of links (for farming on a link without responses)."""
    names = school_names or {}
    starts_meta = link_meta or {}
    r = responses.reset_index(drop=True)
    for col in RESPONSE_COLUMNS:
        if col not in r.columns:
            raise ValueError(f"responses lack column {col}")
    marks: dict[Any, set[str]] = defaultdict(set)
    flags: list[dict[str, Any]] = []
    bins: dict[str, set[pd.Timestamp]] = defaultdict(set)
    step = pd.Timedelta(minutes=rules.timeline_minutes)

    def flag(kind: str, link_rows: pd.DataFrame, ids, detail: str) -> None:
        ids = list(ids)
        if not ids:
            return
        first = link_rows.iloc[0]
        flags.append({"kind": kind, "school_code": first["school_code"] or None, "group": first["group"],
                      "link": first["link"], "responses": len(ids), "detail": detail})
        for i in ids:
            marks[i].add(kind)
        hit = link_rows[link_rows["response_id"].isin(ids)]
        bins[first["link"]].update(hit["submitted_at"].dt.floor(step))

    links = list(dict.fromkeys(r["link"])) if len(r) else []
    by_link = {k: g.sort_values("submitted_at", kind="stable") for k, g in r.groupby("link", sort=False)}

    # burst --------------------------------------------------------------------------
    window = pd.Timedelta(seconds=rules.burst_window_seconds)
    for k in links:
        g = by_link[k]
        t = g["submitted_at"].to_numpy(dtype="datetime64[ns]")
        right = np.searchsorted(t, t + np.timedelta64(window), side="left")
        counts = right - np.arange(len(t))
        starts_at = np.flatnonzero(counts >= rules.burst_min_responses)
        if not len(starts_at):
            continue
        cover = np.zeros(len(t) + 1, dtype=int)
        np.add.at(cover, starts_at, 1)
        np.add.at(cover, right[starts_at], -1)
        hit = np.cumsum(cover)[:-1] > 0
        sub = g[hit]
        peak = int(counts.max())
        i0 = int(np.argmax(counts))
        flag("burst", g, sub["response_id"], (
            f"{_who(g.iloc[0]['school_code'], g.iloc[0]['group'], names)}：{len(sub)} 份回答处在"
            f"“{rules.burst_window_seconds:g} 秒内至少 {rules.burst_min_responses} 份”的密集时段，最密时 {peak} 份"
            f"在 {rules.burst_window_seconds:g} 秒内提交（自北京时间 {_local(g['submitted_at'].iloc[i0], rules.timezone)} 起）。"
            "真实作答的人各自用时不同，提交时间会分散开；成批的同时提交通常来自程序或集中代填。"))

    # token_farming ------------------------------------------------------------------
    if starts is not None and len(starts):
        s = starts[starts["fresh"] >= rules.farming_min_fresh_starts]
        for (k, ip, ua), rows in s.groupby(["link", "ip_hash", "ua_class"], sort=False):
            minutes = set(rows["minute"])
            fresh = int(rows["fresh"].sum())
            g = by_link.get(k)
            what = (f"同一网络地址、同一设备类别（{ua}）在 {len(minutes)} 个一分钟时段内打开了 {fresh} 份问卷，且打开时"
                    f"都没有携带本站 Cookie（阈值：一分钟内 {rules.farming_min_fresh_starts} 份）")
            concerned = g[(g["ip_hash"] == ip) & (g["ua_class"] == ua)
                          & g["started_at"].dt.floor("min").isin(minutes)] if g is not None else None
            if concerned is None or not len(concerned):
                row = starts_meta.get(k, {})
                flags.append({"kind": "token_farming", "school_code": row.get("school_code"),
                              "group": row.get("group"), "link": k, "responses": 0,
                              "detail": f"{_who(row.get('school_code'), row.get('group', ''), names)}：{what}，但都未提交。"})
                continue
            flag("token_farming", g, concerned["response_id"], (
                f"{_who(g.iloc[0]['school_code'], g.iloc[0]['group'], names)}：{what}；其中 {len(concerned)} 份已提交。"
                "真实的手机再次打开问卷时会带着 Cookie；成批的“新手机”来自同一地址，通常是程序在反复领取问卷。"
                "同一学校 Wi-Fi 下许多家长同时扫码也会共用地址，请结合其他信号判断。"))

    # identical_vectors --------------------------------------------------------------
    # Expected share p of a vector on a link: its share on the group's other links. Allowed
    # spread: binomial noise plus the between-link variance of that share on the other links
    # (schools differ: "all 满意" is far more common at some than at others), times z.
    answered = r[r["vector"].astype(str).str.len() > 0]
    for grp, rows in answered.groupby("group", sort=False):
        n_link = rows.groupby("link", sort=False).size()
        table = rows.groupby(["vector", "link"], sort=False).size().unstack(fill_value=0)
        table = table.reindex(columns=n_link.index, fill_value=0)
        candidates = table[table.max(axis=1) >= rules.identical_min_count]
        sizes = n_link.to_numpy(dtype=float)
        big = sizes >= rules.identical_min_count
        for vec, counts in candidates.iterrows():
            c_all = counts.to_numpy(dtype=float)
            for j in np.flatnonzero(c_all >= rules.identical_min_count):
                k, c, n = n_link.index[j], c_all[j], sizes[j]
                others = np.ones(len(sizes), dtype=bool)
                others[j] = False
                n_other = sizes[others].sum()
                if n_other >= rules.identical_min_baseline:
                    p = (c_all[others].sum() + 0.5) / (n_other + 1.0)
                    base = "本轮同类人员其他入口"
                    ref = others & big
                else:
                    p = (c_all.sum() + 0.5) / (sizes.sum() + 1.0)
                    base = "本轮同类人员全部入口"
                    ref = big
                between = 0.0
                if ref.sum() >= 3:
                    shares = c_all[ref] / sizes[ref]
                    between = max(0.0, float(np.var(shares, ddof=1) - np.mean(p * (1 - p) / sizes[ref])))
                sd = math.sqrt(p * (1 - p) / n + between) * rules.identical_dispersion
                straight = len({part.split("=", 1)[-1] for part in str(vec).split("|")}) == 1
                bound = n * (p + (rules.identical_straightline_z if straight else rules.identical_z) * sd)
                if c <= bound:
                    continue
                g = rows[rows["link"] == k]
                flag("identical_vectors", by_link[k], g.loc[g["vector"] == vec, "response_id"], (
                    f"{_who(g.iloc[0]['school_code'], grp, names)}：同一组答案出现 {int(c)} 次（占该入口 {int(n)} 份的 "
                    f"{100 * c / n:.0f}%），按{base}的比例 {100 * p:.1f}% 只应约 {n * p:.1f} 次，考虑到各校之间的正常差异，"
                    f"上限约 {bound:.1f} 次。答案完全相同的回答如此集中，远超偶然，可能是复制或代填。"))

    # off_hours ----------------------------------------------------------------------
    lo, hi = rules.off_hours_start, rules.off_hours_end
    for k in links:
        g = by_link[k]
        hours = g["submitted_at"].dt.tz_convert(rules.timezone).dt.hour
        night = (hours >= lo) & (hours < hi) if lo <= hi else ((hours >= lo) | (hours < hi))
        m = int(night.sum())
        if m >= rules.off_hours_min_responses and m / len(g) >= rules.off_hours_min_share:
            flag("off_hours", g, g.loc[night, "response_id"], (
                f"{_who(g.iloc[0]['school_code'], g.iloc[0]['group'], names)}：{m} 份回答（占该入口 {100 * m / len(g):.0f}%）"
                f"在北京时间 {lo}:00–{hi}:00 之间提交（阈值：至少 {rules.off_hours_min_responses} 份且占 "
                f"{100 * rules.off_hours_min_share:.0f}% 以上）。正常情况下深夜作答只是零星几份。"))

    # device_cluster -----------------------------------------------------------------
    for k in links:
        g = by_link[k]
        pairs = g.groupby(["ip_hash", "ua_class"], sort=False).size()
        if not len(pairs):
            continue
        (ip, ua), c = pairs.idxmax(), int(pairs.max())
        if c >= rules.cluster_min_responses and c / len(g) >= rules.cluster_min_share:
            flag("device_cluster", g, g.loc[(g["ip_hash"] == ip) & (g["ua_class"] == ua), "response_id"], (
                f"{_who(g.iloc[0]['school_code'], g.iloc[0]['group'], names)}：{c} 份回答（占该入口 {100 * c / len(g):.0f}%）"
                f"来自同一个网络地址、同一类设备（{ua}）。学校机房或一部手机轮流作答会出现这种情况"
                "（此时应在调查设置中允许该类人员同一设备多次作答）；否则说明该入口的回答集中来自一处。"))

    flags.sort(key=lambda f: KINDS.index(f["kind"]))
    by_response = {i: [k for k in KINDS if k in ks] for i, ks in marks.items()}
    return IntegrityReport(len(r), flags, by_response, dict(bins))
