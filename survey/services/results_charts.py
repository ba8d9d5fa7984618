"""Inline SVG charts of the live results page (text drawn by the reader's browser, so Chinese
needs no server font): scores with their confidence intervals, the per-option distribution,
and answers per day. Pure functions: rows in, SVG markup out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from markupsafe import Markup

FONT = "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif"
#: 满意 → 不了解: greens to red, 不了解 grey
OPTION_COLOURS = ("#1e8e3e", "#81c995", "#fdd663", "#ee675c", "#bdc1c6")


def _svg(width: float, height: float, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="100%" '
        f'style="max-width:{width:.0f}px" role="img" aria-label="{escape(label)}" font-family="{FONT}" '
        f'font-size="12"><title>{escape(label)}</title>{"".join(body)}</svg>'
    )


def _text(x: float, y: float, s: str, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(s)}</text>'


def interval_chart(rows: Sequence[tuple[str, float | None, float | None, float | None]],
                   threshold: float | None, title: str, *, label_width: float = 150) -> Markup:
    """Horizontal bars (score) with whiskers (confidence interval) on a 0–100% axis and a
    dashed line at ``threshold``. A row whose score is None shows “暂无”."""
    width, row_h, top = 640.0, 24.0, 28.0
    plot = width - label_width - 60
    height = top + row_h * len(rows) + 26

    def x(p: float) -> float:
        return label_width + plot * max(0.0, min(1.0, p))

    body = [_text(8, 16, title, font_weight="700")]
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        body.append(f'<line x1="{x(t):.1f}" y1="{top - 4}" x2="{x(t):.1f}" y2="{height - 22}" stroke="#e0e0e0"/>')
        body.append(_text(x(t), height - 8, f"{t * 100:.0f}%", "middle", fill="#5f6368"))
    for i, (label, score, lo, hi) in enumerate(rows):
        y = top + i * row_h
        body.append(_text(label_width - 6, y + 15, label, "end"))
        if score is None:
            body.append(_text(x(0) + 4, y + 15, "暂无", fill="#5f6368"))
            continue
        body.append(f'<rect x="{x(0):.1f}" y="{y + 4:.1f}" width="{x(score) - x(0):.1f}" height="{row_h - 8:.1f}" '
                    f'fill="#4472c4" opacity="0.85"/>')
        if lo is not None and hi is not None:
            ym = y + row_h / 2
            body.append(f'<line x1="{x(lo):.1f}" y1="{ym:.1f}" x2="{x(hi):.1f}" y2="{ym:.1f}" stroke="#000" '
                        'stroke-width="1.5"/>')
            for edge in (lo, hi):
                body.append(f'<line x1="{x(edge):.1f}" y1="{ym - 5:.1f}" x2="{x(edge):.1f}" y2="{ym + 5:.1f}" '
                            'stroke="#000" stroke-width="1.5"/>')
        body.append(_text(min(x(hi if hi is not None else score) + 4, width - 4), y + 15, f"{score * 100:.1f}%",
                          "start" if x(hi if hi is not None else score) + 50 < width else "end"))
    if threshold is not None:
        body.append(f'<line x1="{x(threshold):.1f}" y1="{top - 6}" x2="{x(threshold):.1f}" y2="{height - 22}" '
                    'stroke="#b00020" stroke-dasharray="4 3" stroke-width="1.5"/>')
        body.append(_text(x(threshold), top - 10, f"标准 {threshold * 100:.0f}%", "middle", fill="#b00020"))
    return _svg(width, height, title, body)


def distribution_chart(rows: Sequence[tuple[str, Mapping[str, int]]], scale: Sequence[str], title: str) -> Markup:
    """100% stacked bars: the share of each answer option per row, with a legend."""
    width, row_h, top, label_width = 640.0, 24.0, 48.0, 90.0
    plot = width - label_width - 20
    height = top + row_h * len(rows) + 8
    body = [_text(8, 16, title, font_weight="700")]
    lx = label_width
    for k, option in enumerate(scale):
        colour = OPTION_COLOURS[k % len(OPTION_COLOURS)]
        body.append(f'<rect x="{lx:.1f}" y="24" width="12" height="12" fill="{colour}"/>')
        body.append(_text(lx + 16, 34, option))
        lx += 16 + 14 * len(option) + 18
    for i, (label, counts) in enumerate(rows):
        y = top + i * row_h
        total = sum(counts.get(o, 0) for o in scale)
        body.append(_text(label_width - 6, y + 15, label, "end"))
        if not total:
            body.append(_text(label_width + 4, y + 15, "暂无回答", fill="#5f6368"))
            continue
        x = label_width
        for k, option in enumerate(scale):
            share = counts.get(option, 0) / total
            w = plot * share
            if w <= 0:
                continue
            body.append(f'<rect x="{x:.1f}" y="{y + 3:.1f}" width="{w:.1f}" height="{row_h - 6:.1f}" '
                        f'fill="{OPTION_COLOURS[k % len(OPTION_COLOURS)]}"><title>{escape(label)} {escape(option)}：'
                        f'{counts.get(option, 0)}（{share * 100:.1f}%）</title></rect>')
            if w > 34:
                body.append(_text(x + w / 2, y + 16, f"{share * 100:.0f}%", "middle"))
            x += w
    return _svg(width, height, title, body)


def per_day_chart(per_day: Sequence[tuple[date, int]], title: str) -> Markup:
    """Responses per (Beijing) day as columns."""
    width, height, left, bottom, top = 640.0, 200.0, 40.0, 36.0, 28.0
    n = max(1, len(per_day))
    peak = max((c for _, c in per_day), default=1) or 1
    step = (width - left - 10) / n
    bar = max(2.0, min(40.0, step * 0.7))
    body = [_text(8, 16, title, font_weight="700")]
    plot_h = height - top - bottom
    body.append(f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#9aa0a6"/>')
    every = max(1, n // 10)
    for i, (day, count) in enumerate(per_day):
        h = plot_h * count / peak
        x = left + i * step + (step - bar) / 2
        body.append(f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="#34a853"><title>{day.month}月{day.day}日：{count} 份</title></rect>')
        if n <= 14 or i % every == 0:
            body.append(_text(x + bar / 2, height - bottom + 14, f"{day.month}月{day.day}日", "middle"))
        if n <= 20:
            body.append(_text(x + bar / 2, height - bottom - h - 3, str(count), "middle"))
    body.append(_text(left - 4, top + 4, str(peak), "end", fill="#5f6368"))
    return _svg(width, height, title, body)
