"""Per-link timeline of answers per bin (10 minutes by default) as an inline SVG: no script."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
from markupsafe import Markup, escape


def timeline_svg(submitted: pd.Series, flagged_bins: set, minutes: int, start: pd.Timestamp, end: pd.Timestamp,
                 tz: str = "Asia/Shanghai", title: str = "") -> Markup:
    """Bars of answers per ``minutes`` between ``start`` and ``end`` (UTC); bins holding flagged
    answers in red; a line and the date (Beijing time) at every local midnight."""
    step = pd.Timedelta(minutes=minutes)
    start, end = start.floor(step), end.ceil(step) + step
    nbins = max(1, int((end - start) / step))
    counts = submitted.dt.floor(step).value_counts()
    top = max(1, int(counts.max()) if len(counts) else 1)
    w, h, pad = 2, 80, 14
    width = nbins * w
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {h + pad}" '
             f'class="timeline" width="{width}" height="{h + pad}">',
             f"<title>{escape(title)}</title>",
             f'<rect x="0" y="0" width="{width}" height="{h}" fill="#f6f7f9"/>']
    zone = ZoneInfo(tz)
    day = start.tz_convert(zone).normalize() + pd.Timedelta(days=1)
    while day.tz_convert("UTC") < end:
        x = int((day.tz_convert("UTC") - start) / step) * w
        parts.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{h}" stroke="#c5cad3" stroke-width="1"/>'
                     f'<text x="{x + 2}" y="{h + pad - 3}" font-size="11" fill="#555">{day:%m-%d}</text>')
        day += pd.Timedelta(days=1)
    for b, c in counts.items():
        x = int((b - start) / step) * w
        bh = max(1.0, h * c / top)
        color = "#b00020" if b in flagged_bins else "#1a73e8"
        parts.append(f'<rect x="{x}" y="{h - bh:.1f}" width="{w}" height="{bh:.1f}" fill="{color}">'
                     f"<title>{b.tz_convert(zone):%m-%d %H:%M} · {c}</title></rect>")
    parts.append(f'<text x="2" y="11" font-size="11" fill="#555">{top}</text></svg>')
    return Markup("".join(parts))
