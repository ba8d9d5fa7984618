"""Load driver for bench/submit.py, run as its own process: N concurrent respondents, each
loop a new phone (fresh cookies) that does what a phone does: GETs a random entry link's
form and the site's favicon, POSTs the answers, follows the 303 to the thank-you page.

Prints one JSON object: acknowledged submissions (303 redirects), errors by kind, and
latencies (ms) of GET, POST and the whole respondent (all four requests). Loops are bounded
by --seconds. A CSRF token on the page (older versions of the app) is posted back too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from urllib.parse import urljoin

import aiohttp

TOKEN = re.compile(r'name="token"[^>]*value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ITEM = re.compile(r'name="([a-z]\d\d)"')
SCALE = ["满意", "比较满意", "基本满意", "不满意", "不了解"]


async def respondent(base: str, codes: list[str], deadline: float, out: dict, rng: random.Random) -> None:
    while time.perf_counter() < deadline:
        code = rng.choice(codes)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            t0 = time.perf_counter()
            try:
                async with session.get(f"{base}s/{code}") as r:
                    html = await r.text()
                    status = r.status
                if status != 200:
                    out["errors"][f"GET {status}"] = out["errors"].get(f"GET {status}", 0) + 1
                    continue
                async with session.get(f"{base}favicon.ico") as r:  # a phone's first visit asks for it
                    await r.read()
                    if r.status != 200:
                        out["errors"][f"favicon {r.status}"] = out["errors"].get(f"favicon {r.status}", 0) + 1
                t1 = time.perf_counter()
                data = {item: rng.choice(SCALE[:3]) for item in set(ITEM.findall(html))}
                token = TOKEN.search(html)
                data["token"] = token.group(1) if token else ""
                csrf = CSRF.search(html)
                if csrf:
                    data["csrf_token"] = csrf.group(1)
                headers = {"Origin": base.rstrip("/")}  # what a browser sends with a form POST
                async with session.post(f"{base}s/{code}", data=data, allow_redirects=False, headers=headers) as r:
                    await r.read()
                    status = r.status
                    done = r.headers.get("Location")
                t2 = time.perf_counter()
                if status == 303 and done:  # the thank-you page
                    async with session.get(urljoin(f"{base}s/{code}", done)) as r:
                        await r.read()
                        if r.status != 200:
                            out["errors"][f"done {r.status}"] = out["errors"].get(f"done {r.status}", 0) + 1
                t3 = time.perf_counter()
            except aiohttp.ClientError as exc:
                out["errors"][type(exc).__name__] = out["errors"].get(type(exc).__name__, 0) + 1
                continue
            out["get_ms"].append((t1 - t0) * 1000)
            out["post_ms"].append((t2 - t1) * 1000)
            out["respondent_ms"].append((t3 - t0) * 1000)
            if status == 303:
                out["acknowledged"] += 1
            else:
                out["errors"][f"POST {status}"] = out["errors"].get(f"POST {status}", 0) + 1


async def main(base: str, codes: list[str], concurrency: int, seconds: float, warmup: float) -> dict:
    if warmup:
        scratch = {"acknowledged": 0, "errors": {}, "get_ms": [], "post_ms": [], "respondent_ms": []}
        end = time.perf_counter() + warmup
        await asyncio.gather(*(respondent(base, codes, end, scratch, random.Random(1000 + i)) for i in range(concurrency)))
        warm_ack = scratch["acknowledged"]
    else:
        warm_ack = 0
    out = {"acknowledged": 0, "errors": {}, "get_ms": [], "post_ms": [], "respondent_ms": []}
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(respondent(base, codes, deadline, out, random.Random(i)) for i in range(concurrency)))
    out["elapsed"] = time.perf_counter() - start
    out["warmup_acknowledged"] = warm_ack
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--codes", required=True, help="comma-separated entry codes")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    a = ap.parse_args()
    result = asyncio.run(main(a.base, a.codes.split(","), a.concurrency, a.seconds, a.warmup))
    print(json.dumps(result))
