"""Inline SVG line charts of a projected indicator over the years (no scripts, no external
files: the page stays printable and works offline)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from evaluator.projection import SeriesPoint

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 320, 150, 44, 10, 12, 26


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.2f}"


def indicator_chart(series: Sequence[SeriesPoint], title: str, labels: dict[str, str]) -> Markup:
    """Lowest school value (red), enrolment-weighted mean (blue) and threshold (dashed) by year."""
    points = [(p.year, p.minimum, p.mean, p.threshold) for p in series]
    values = [v for _, a, b, t in points for v in (a, b, t) if v is not None]
    if not points or not values:
        return Markup("")
    lo, hi = min(0.0, min(values)), max(values) * 1.1 or 1.0
    years = [p[0] for p in points]
    span = max(1, years[-1] - years[0])

    def x(year: int) -> float:
        return PAD_L + (W - PAD_L - PAD_R) * ((year - years[0]) / span if len(years) > 1 else 0.5)

    def y(v: float) -> float:
        return PAD_T + (H - PAD_T - PAD_B) * (1 - (v - lo) / (hi - lo))

    def line(idx: int, color: str, dash: str = "") -> str:
        pts = " ".join(f"{x(p[0]):.1f},{y(p[idx]):.1f}" for p in points if p[idx] is not None)
        dots = "".join(f'<circle cx="{x(p[0]):.1f}" cy="{y(p[idx]):.1f}" r="2.5" fill="{color}"/>'
                       for p in points if p[idx] is not None)
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        return f'<polyline fill="none" stroke="{color}" stroke-width="2"{extra} points="{pts}"/>{dots}'

    axis = "".join(f'<text x="{x(yr):.1f}" y="{H - 8}" font-size="10" text-anchor="middle">{yr}</text>' for yr in years)
    ticks = "".join(f'<text x="{PAD_L - 4}" y="{y(v) + 3:.1f}" font-size="10" text-anchor="end">{_fmt(v)}</text>'
                    f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e0e0e0"/>'
                    for v in (lo, (lo + hi) / 2, hi))
    legend = (f'<tspan fill="#b00020">■ {escape(labels["min"])}</tspan> '
              f'<tspan fill="#0b57d0">■ {escape(labels["mean"])}</tspan> '
              f'<tspan fill="#5f6368">┅ {escape(labels["threshold"])}</tspan>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H + 16}" width="{W}" height="{H + 16}" '
           f'role="img" aria-label="{escape(title)}" class="chart">'
           f'<title>{escape(title)}</title>{ticks}{axis}{line(3, "#5f6368", "5 3")}{line(2, "#0b57d0")}'
           f'{line(1, "#b00020")}<text x="{PAD_L}" y="{H + 12}" font-size="10">{legend}</text></svg>')
    return Markup(svg)
