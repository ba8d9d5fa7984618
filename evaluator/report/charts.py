"""Charts of the report: CV against its limit, the school × indicator matrix, recognition by group.

Each chart exists twice from the same data: as inline SVG for report.html (text is drawn by the
reader's browser, so Chinese needs no font on the server) and as PNG for report.docx, drawn by
matplotlib only when a CJK font is installed (``find_cjk_font``); without one the DOCX keeps the
tables and leaves the chart out rather than print boxes.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from html import escape
from typing import Any

from evaluator.outcome import RecognitionSummary, at_least
from evaluator.report.display import (
    INDICATORS,
    STAGES,
    ci_label,
    group_label,
    indicator_band,
    school_label,
)
from evaluator.report.model import Indicator, Report, as_report
from evaluator.report.recognition_view import standard
from evaluator.report.sections import cv_limits

BAND_COLOURS: dict[str, str] = {
    "pass": "#c6e0b4",
    "near": "#ffe699",
    "fail": "#f4b183",
    "missing": "#d9d9d9",
    "pending": "#ffe699",
    "na": "#ededed",
}
STAGE_COLOURS: dict[str, str] = {"primary": "#4472c4", "junior": "#ed7d31"}

#: CJK fonts matplotlib may find, best first (fonts-noto-cjk on Debian, common desktop fonts).
CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Serif SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "SimSun",
    "PingFang SC",
)
MATRIX_MAX_ROWS = 60
SVG_FONT = "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',SimHei,sans-serif"


@dataclass(frozen=True)
class CvBar:
    """One CV bar: indicator label, stage, value (None = not computable) and limit."""

    label: str
    stage: str
    value: float | None
    limit: float | None


@dataclass(frozen=True)
class Matrix:
    """Rows are school (part) labels, columns indicator labels, cells band names."""

    rows: list[str]
    columns: list[str]
    bands: list[list[str]]
    note: str = ""


@dataclass(frozen=True)
class Interval:
    """A recognition estimate with its CI (None when not given)."""

    label: str
    score: float | None
    lo: float | None
    hi: float | None


def cv_bars(report: Report | Mapping[str, Any]) -> list[CvBar]:
    """CV bars from ``cv`` and ``cv_limits`` as given in the report."""
    report = as_report(report)
    cv = report.cv
    limits = cv_limits(report)
    return [
        CvBar(f"{code} {short}", stage, (cv.get(stage) or {}).get(key), limits[stage])
        for key, code, short, _ in INDICATORS
        for stage, _label in STAGES
    ]


def school_matrix(report: Report | Mapping[str, Any], max_rows: int = MATRIX_MAX_ROWS) -> Matrix:
    """The band of every indicator of every school part, in the dict's school order.

    A chart of more than ``max_rows`` rows cannot be read on A4, so larger counties chart only
    the school parts with at least one indicator not met (the table keeps every school).
    """
    rows, bands = [], []
    for school in as_report(report).schools:
        rows.append(school_label(school) + ("（不参评）" if school.excluded else ""))
        bands.append([indicator_band(school.indicators.get(key) or Indicator()) for key, *_ in INDICATORS])
    note = ""
    if len(rows) > max_rows:
        keep = [i for i, line in enumerate(bands) if any(b != "pass" for b in line)]
        note = f"共{len(rows)}个学校（部），图中仅列出存在未达标或缺失指标的{len(keep)}个"
        if len(keep) > max_rows:
            note += f"中的前{max_rows}个"
            keep = keep[:max_rows]
        rows, bands = [rows[i] for i in keep], [bands[i] for i in keep]
        note += "，全部学校见下表。"
    return Matrix(rows, [f"{code} {short}" for _, code, short, _ in INDICATORS], bands, note)


def recognition_intervals(report: Report | Mapping[str, Any]) -> tuple[list[Interval], float]:
    """County and per-group estimates with CIs, and the threshold (0.85 when not given)."""
    rec = as_report(report).recognition
    if rec is None:
        return [], standard_of(None)

    def interval(label: str, obj: Mapping[str, Any]) -> Interval:
        ci = obj.get("ci") or [None, None]
        return Interval(label, obj.get("score"), ci[0], ci[1])

    out = [Interval("全县", rec.score, *(rec.ci or (None, None)))]
    out += [interval(group_label(k), g) for k, g in rec.groups.items()]
    return out, standard_of(rec)


def standard_of(rec: RecognitionSummary | None) -> float:
    """The chart's standard line: the result's threshold, 0.85 when none (or zero) is given."""
    return (standard(rec) if rec is not None else 0.0) or 0.85


# --------------------------------------------------------------------------- SVG


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" style="max-width:{width:.0f}px" font-family="{SVG_FONT}" font-size="12">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 12, fill: str = "#222") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}">{escape(text)}</text>'
    )


def svg_cv(report: Report | Mapping[str, Any]) -> str:
    """Horizontal bars of every CV with a dashed line at each stage's limit."""
    bars = cv_bars(report)
    left, width, bar_h, gap = 130, 600, 11, 8
    plot_w = width - left - 70
    values = [b.value for b in bars if b.value is not None] + [b.limit for b in bars if b.limit]
    top = max([0.6, *values]) * 1.1
    height = 40 + len(INDICATORS) * (2 * bar_h + gap) + 44
    body: list[str] = []

    def x_of(v: float) -> float:
        return left + plot_w * v / top

    for i, (_key, code, short, _) in enumerate(INDICATORS):
        y0 = 30 + i * (2 * bar_h + gap)
        body.append(_text(left - 6, y0 + bar_h + 4, f"{code} {short}", "end"))
        for j, (stage, _label) in enumerate(STAGES):
            bar = bars[2 * i + j]
            y = y0 + j * bar_h
            if bar.value is None:
                body.append(_text(left + 4, y + bar_h - 2, "无法计算", size=10, fill="#888"))
                continue
            over = bar.limit is not None and bar.value > bar.limit
            body.append(
                f'<rect x="{left}" y="{y:.1f}" width="{x_of(bar.value) - left:.1f}" height="{bar_h - 1}" '
                f'fill="{STAGE_COLOURS[stage]}" stroke="{"#c00000" if over else "none"}" stroke-width="1.5"/>'
            )
            body.append(_text(x_of(bar.value) + 3, y + bar_h - 2, f"{bar.value:.3f}", size=10,
                              fill="#c00000" if over else "#222"))
    bottom = height - 44
    for k, (stage, label) in enumerate(STAGES):
        limit = cv_limits(report)[stage]
        if limit is None:
            continue
        x = x_of(limit)
        body.append(f'<line x1="{x:.1f}" y1="24" x2="{x:.1f}" y2="{bottom}" stroke="{STAGE_COLOURS[stage]}" '
                    'stroke-dasharray="4 3" stroke-width="1.2"/>')
        body.append(_text(x, bottom + 14 + 14 * k, f"{label}限值 {limit:.2f}", "middle", 10,
                          STAGE_COLOURS[stage]))
    legend = [
        f'<rect x="{left + 20 * k + 90 * k}" y="6" width="10" height="10" fill="{STAGE_COLOURS[s]}"/>'
        + _text(left + 20 * k + 90 * k + 14, 15, label, size=11)
        for k, (s, label) in enumerate(STAGES)
    ]
    body.append(f'<line x1="{left}" y1="24" x2="{left}" y2="{bottom}" stroke="#444"/>')
    return _svg(width, height, legend + body, "各指标校际差异系数与限值")


def svg_matrix(report: Report | Mapping[str, Any]) -> str:
    """Heat map of schools (rows) × indicators (columns) coloured by band."""
    m = school_matrix(report)
    left, cell_w, cell_h, head = 190, 62, 16, 46
    width = left + cell_w * len(m.columns) + 10
    height = head + cell_h * len(m.rows) + (52 if m.note else 34)
    body: list[str] = []
    for j, col in enumerate(m.columns):
        code, short = col.split(" ", 1)
        x = left + j * cell_w + cell_w / 2
        body.append(_text(x, 18, code, "middle", 11))
        body.append(_text(x, 34, short, "middle", 10))
    for i, (label, line) in enumerate(zip(m.rows, m.bands, strict=True)):
        y = head + i * cell_h
        body.append(_text(left - 6, y + cell_h - 4, label, "end", 11))
        body.extend(
            f'<rect x="{left + j * cell_w}" y="{y}" width="{cell_w - 1}" height="{cell_h - 1}" '
            f'fill="{BAND_COLOURS.get(band, "#ffffff")}"/>'
            for j, band in enumerate(line)
        )
    y = head + cell_h * len(m.rows) + 18
    if m.note:
        body.append(_text(8, height - 4, m.note, size=11, fill="#444"))
    legend = (("pass", "达标"), ("near", "≥85%未达标"), ("fail", "低于85%"), ("missing", "缺失"))
    for k, (band, label) in enumerate(legend):
        x = left + k * 110
        body.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{BAND_COLOURS[band]}"/>')
        body.append(_text(x + 16, y, label, size=11))
    return _svg(width, height, body, "学校×指标达成矩阵")


def svg_recognition(report: Report | Mapping[str, Any]) -> str:
    """Dot-and-whisker chart of the county and group scores with their CIs (level of the
    result's ``confidence``) and the threshold."""
    report = as_report(report)
    rows, threshold = recognition_intervals(report)
    confidence = report.recognition.confidence if report.recognition is not None else None
    left, width, row_h = 90, 600, 24
    plot_w = width - left - 70
    lows = [r.lo for r in rows if r.lo is not None] + [r.score for r in rows if r.score is not None]
    lo_axis = min([threshold - 0.1, *lows])
    lo_axis = max(0.0, int(lo_axis * 10) / 10)
    height = 20 + row_h * len(rows) + 36

    def x_of(v: float) -> float:
        return left + plot_w * (v - lo_axis) / (1.0 - lo_axis)

    body: list[str] = []
    bottom = 20 + row_h * len(rows)
    for k in range(int(round((1.0 - lo_axis) * 10)) + 1):
        v = lo_axis + k / 10
        body.append(f'<line x1="{x_of(v):.1f}" y1="14" x2="{x_of(v):.1f}" y2="{bottom}" stroke="#e3e3e3"/>')
        body.append(_text(x_of(v), bottom + 14, f"{v * 100:.0f}%", "middle", 10))
    for i, r in enumerate(rows):
        y = 20 + i * row_h + row_h / 2
        body.append(_text(left - 8, y + 4, r.label, "end", 12))
        if r.score is None:
            body.append(_text(left + 4, y + 4, "未提供", size=10, fill="#888"))
            continue
        if r.lo is not None and r.hi is not None:
            body.append(f'<line x1="{x_of(r.lo):.1f}" y1="{y:.1f}" x2="{x_of(r.hi):.1f}" y2="{y:.1f}" '
                        'stroke="#333" stroke-width="1.5"/>')
        colour = "#2f5597" if at_least(r.score, threshold) else "#c00000"
        body.append(f'<circle cx="{x_of(r.score):.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>')
        body.append(_text(x_of(max(r.score, r.hi or r.score)) + 6, y + 4, f"{r.score * 100:.1f}%", size=10))
    tx = x_of(threshold)
    body.append(f'<line x1="{tx:.1f}" y1="10" x2="{tx:.1f}" y2="{bottom}" stroke="#c00000" stroke-dasharray="5 3"/>')
    body.append(_text(tx, bottom + 28, f"标准 {threshold * 100:.0f}%", "middle", 11, "#c00000"))
    return _svg(width, height, body, f"社会认可度（分群体，{ci_label(confidence)}）")


SVG_CHARTS = {"cv": svg_cv, "matrix": svg_matrix, "recognition": svg_recognition}


# --------------------------------------------------------------------------- PNG


#: Font files registered directly when matplotlib's font cache does not list a CJK font (the
#: cache is built once, per MPLCONFIGDIR; a cache built before fonts-noto-cjk was installed
#: never learns of it). Debian/Ubuntu, Fedora/RHEL, Arch locations, then Windows and macOS.
CJK_FONT_FILES: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "/System/Library/Fonts/PingFang.ttc",
)
_FONT_GLOBS: tuple[str, ...] = ("NotoSansCJK*.ttc", "NotoSansSC*.otf", "SourceHanSans*.ttc", "wqy-*.ttc")


def _cjk_font_files() -> list[str]:
    """Known CJK font files present on this machine, best first."""
    from pathlib import Path

    found = [p for p in CJK_FONT_FILES if Path(p).is_file()]
    for root in ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".local/share/fonts")):
        if Path(root).is_dir():
            for pattern in _FONT_GLOBS:
                found += sorted(str(p) for p in Path(root).rglob(pattern) if str(p) not in found)
    return found


@cache
def find_cjk_font() -> str | None:
    """Family name of a CJK font matplotlib can use, or None when none is installed.

    Looks in matplotlib's font list first; if that list has no CJK font (a stale cache),
    registers known font files directly with ``fontManager.addfont``, so charts do not depend
    on when the cache was built."""
    from matplotlib import font_manager

    def listed() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in names), None)

    name = listed()
    if name is not None:
        return name
    for path in _cjk_font_files():
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):  # unreadable or not a font: try the next
            continue
        name = listed()
        if name is not None:
            return name
    return None


def _font(font: str, size: float) -> Any:
    """The CJK font with DejaVu Sans as per-glyph fallback (≥, ㎡ and Latin symbols)."""
    from matplotlib.font_manager import FontProperties

    return FontProperties(family=[font, "DejaVu Sans"], size=size)


def _figure(width_in: float, height_in: float) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def png_cv(report: Report | Mapping[str, Any], font: str) -> bytes:
    """PNG version of :func:`svg_cv`."""
    fp = _font(font, 8)
    bars = cv_bars(report)
    fig, ax = _figure(6.3, 3.6)
    n = len(INDICATORS)
    for j, (stage, label) in enumerate(STAGES):
        ys = [i + (j - 0.5) * 0.38 for i in range(n)]
        vals = [bars[2 * i + j].value for i in range(n)]
        ax.barh(ys, [v or 0 for v in vals], height=0.36, color=STAGE_COLOURS[stage], label=label)
        for y, v in zip(ys, vals, strict=True):
            ax.text((v or 0) + 0.005, y, "无法计算" if v is None else f"{v:.3f}", va="center",
                    fontproperties=fp)
        limit = cv_limits(report)[stage]
        if limit is not None:
            ax.axvline(limit, color=STAGE_COLOURS[stage], linestyle="--", linewidth=1)
    ax.set_yticks(range(n), [f"{c} {s}" for _, c, s, _ in INDICATORS], fontproperties=fp)
    ax.invert_yaxis()
    ax.set_xlabel("差异系数（虚线为限值）", fontproperties=fp)
    ax.legend(prop=fp, loc="lower right")
    return _png(fig)


def png_matrix(report: Report | Mapping[str, Any], font: str) -> bytes:
    """PNG version of :func:`svg_matrix`."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    m = school_matrix(report)
    order = ["pass", "near", "fail", "missing"]
    grid = [[order.index(b) if b in order else 3 for b in line] for line in m.bands] or [[3] * 7]
    fp = _font(font, 7)
    fig, ax = _figure(6.3, 1.2 + 0.15 * max(len(m.rows), 4))
    ax.imshow(grid, cmap=ListedColormap([BAND_COLOURS[b] for b in order]), vmin=0, vmax=3,
              aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(m.columns)), [c.replace(" ", "\n") for c in m.columns], fontproperties=fp)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(m.rows)), m.rows, fontproperties=fp)
    ax.tick_params(length=0)
    labels = {"pass": "达标", "near": "≥85%未达标", "fail": "低于85%", "missing": "缺失"}
    handles = [Patch(facecolor=BAND_COLOURS[b], label=labels[b]) for b in order]
    ax.legend(handles=handles, prop=fp, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4,
              frameon=False, title=m.note or None, title_fontproperties=fp)
    return _png(fig)


def png_recognition(report: Report | Mapping[str, Any], font: str) -> bytes:
    """PNG version of :func:`svg_recognition`."""
    fp = _font(font, 8)
    rows, threshold = recognition_intervals(report)
    fig, ax = _figure(6.3, 0.6 + 0.32 * max(len(rows), 2))
    for i, r in enumerate(rows):
        if r.score is None:
            continue
        if r.lo is not None and r.hi is not None:
            ax.plot([r.lo, r.hi], [i, i], color="#333333", linewidth=1.2)
        ax.plot([r.score], [i], "o", color="#2f5597" if at_least(r.score, threshold) else "#c00000")
        ax.text(max(r.score, r.hi or r.score) + 0.005, i, f"{r.score * 100:.1f}%", va="center",
                fontproperties=fp)
    ax.axvline(threshold, color="#c00000", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), [r.label for r in rows], fontproperties=fp)
    ax.invert_yaxis()
    ax.set_xlabel(f"认可度（红色虚线为标准 {threshold * 100:.0f}%）", fontproperties=fp)
    lo = min([threshold - 0.1] + [r.lo for r in rows if r.lo is not None])
    ticks = [k / 20 for k in range(max(0, int(lo * 20)), 21)]
    ax.set_xticks(ticks, [f"{t * 100:.0f}%" for t in ticks], fontproperties=fp)
    ax.set_xlim(ticks[0] - 0.01, 1.08)
    return _png(fig)


PNG_CHARTS = {"cv": png_cv, "matrix": png_matrix, "recognition": png_recognition}


def png_chart(name: str, report: Mapping[str, Any], font: str) -> bytes | None:
    """Draw chart ``name`` as PNG, or None when any character lacks a glyph in the fonts.

    matplotlib draws a box for a missing glyph and warns; a report must never show boxes, so
    such a chart is dropped (the writer then keeps only the table).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = PNG_CHARTS[name](report, font)
    if any("missing from font" in str(w.message) for w in caught):
        return None
    return png
