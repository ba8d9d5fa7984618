"""Load driver of bench/scaleout.py, run as its own process: N concurrent respondents spread
over counties. Each loop is a new phone (fresh cookies): pick a county, then one of its
parent/student entry links, GET the form, POST every hidden input the page carries plus an
answer to every question (so it works with or without a CSRF field), follow the redirect to the
thank-you page. Prints one JSON object: acknowledged submissions (303), errors by kind, latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import html as htmllib
import json
import random
import re
import time

import aiohttp

INPUT = re.compile(r"<input\b([^>]*)>", re.I)
ATTR = re.compile(r'([a-z-]+)="([^"]*)"', re.I)


def form_data(page: str, rng: random.Random) -> dict[str, str]:
    """Every hidden input as served, and for every radio group one of its first three options
    (the approving answers of the national scale)."""
    data: dict[str, str] = {}
    radios: dict[str, list[str]] = {}
    for m in INPUT.finditer(page):
        attrs = {k.lower(): htmllib.unescape(v) for k, v in ATTR.findall(m.group(1))}
        kind, name = attrs.get("type", "text").lower(), attrs.get("name")
        if not name:
            continue
        if kind == "hidden":
            data[name] = attrs.get("value", "")
        elif kind == "radio":
            radios.setdefault(name, []).append(attrs.get("value", ""))
    for name, values in radios.items():
        data[name] = rng.choice(values[:3])
    return data


def _count(out: dict, kind: str) -> None:
    out["errors"][kind] = out["errors"].get(kind, 0) + 1


async def respondent(base: str, counties: list[list[str]], deadline: float, out: dict, rng: random.Random) -> None:
    connector = aiohttp.TCPConnector(limit=1, force_close=False)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        while time.perf_counter() < deadline:
            code = rng.choice(rng.choice(counties))
            http.cookie_jar.clear()  # a new phone
            t0 = time.perf_counter()
            try:
                async with http.get(f"{base}s/{code}") as r:
                    page, status = await r.text(), r.status
                if status != 200:
                    _count(out, f"GET {status}")
                    continue
                t1 = time.perf_counter()
                async with http.post(f"{base}s/{code}", data=form_data(page, rng), allow_redirects=False) as r:
                    await r.read()
                    status, location = r.status, r.headers.get("Location")
                t2 = time.perf_counter()
                if status != 303:
                    _count(out, f"POST {status}")
                    continue
                out["acknowledged"] += 1
                if location:
                    async with http.get(location if "://" in location else base + location.lstrip("/")) as r:
                        await r.read()
                        if r.status != 200:
                            _count(out, f"thanks {r.status}")
            except (TimeoutError, aiohttp.ClientError) as exc:
                _count(out, type(exc).__name__)
                continue
            out["post_ms"].append((t2 - t1) * 1000)
            out["respondent_ms"].append((time.perf_counter() - t0) * 1000)


async def run(base: str, counties: list[list[str]], concurrency: int, seconds: float, warmup: float) -> dict:
    def fresh() -> dict:
        return {"acknowledged": 0, "errors": {}, "post_ms": [], "respondent_ms": []}

    warm = fresh()
    if warmup:
        end = time.perf_counter() + warmup
        await asyncio.gather(*(respondent(base, counties, end, warm, random.Random(10_000 + i)) for i in range(concurrency)))
    out = fresh()
    start = time.perf_counter()
    await asyncio.gather(*(respondent(base, counties, start + seconds, out, random.Random(i)) for i in range(concurrency)))
    out["elapsed"] = time.perf_counter() - start
    out["warmup_acknowledged"] = warm["acknowledged"]
    out["warmup_errors"] = warm["errors"]
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--codes-file", required=True, help="JSON: one list of entry codes per county")
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=5)
    a = ap.parse_args()
    with open(a.codes_file, encoding="utf-8") as f:
        codes = json.load(f)
    print(json.dumps(asyncio.run(run(a.base, codes, a.concurrency, a.seconds, a.warmup))))
