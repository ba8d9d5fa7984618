"""report.html: one self-contained, printable (A4) Chinese page.

No external requests: CSS is inline, charts are inline SVG whose text the browser draws with
the reader's own CJK fonts, and there are no scripts. Every string taken from the report dict
is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from evaluator.report.charts import BAND_COLOURS, SVG_CHARTS
from evaluator.report.display import Cell, Table, numbered
from evaluator.report.model import Report, as_report
from evaluator.report.view import build_view

SERIF = "'Noto Serif CJK SC','Source Han Serif SC','Songti SC',SimSun,'宋体',serif"
FANGSONG = "FangSong,'仿宋','仿宋_GB2312','STFangsong'," + SERIF
HEITI = "'Noto Sans CJK SC','Source Han Sans SC',SimHei,'黑体','Heiti SC','Microsoft YaHei',sans-serif"

_BANDS = "".join(f"td.b-{band}{{background:{colour}}}" for band, colour in BAND_COLOURS.items())
CSS = f"""
@page {{ size: A4; margin: 22mm 18mm 20mm 20mm;
        @bottom-center {{ content: "— " counter(page) " / " counter(pages) " —"; font-size: 9pt; }} }}
html {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
body {{ font-family: {FANGSONG}; font-size: 12pt; line-height: 1.6; color: #111;
       max-width: 180mm; margin: 0 auto; padding: 8mm 0; }}
h1 {{ font-family: {HEITI}; font-size: 20pt; text-align: center; margin: 0 0 4pt; }}
.subtitle {{ text-align: center; margin: 0 0 12pt; }}
h2 {{ font-family: {HEITI}; font-size: 15pt; margin: 16pt 0 6pt; break-after: avoid; }}
h3 {{ font-family: 'KaiTi','楷体',{SERIF}; font-size: 13pt; margin: 12pt 0 6pt; break-after: avoid; }}
p {{ margin: 3pt 0; text-indent: 2em; }}
.verdict {{ border: 2px solid #333; padding: 6pt 10pt; margin: 8pt 0 12pt; font-family: {HEITI};
           font-size: 14pt; text-align: center; }}
.verdict.recognized {{ border-color: #2e7d32; color: #1b5e20; }}
.verdict.not_recognized {{ border-color: #c00000; color: #a00000; }}
.verdict.incomplete {{ border-color: #b8860b; color: #8a6500; }}
section.break {{ break-before: page; }}
table {{ border-collapse: collapse; width: 100%; table-layout: fixed; margin: 4pt 0 10pt; font-family: {SERIF};
        font-size: 10pt; line-height: 1.35; }}
table.compact {{ font-size: 8pt; }}
caption {{ font-family: {HEITI}; font-size: 11pt; padding: 4pt 0; caption-side: top; break-after: avoid; }}
thead {{ break-after: avoid; }}
tbody.lead {{ break-inside: avoid; page-break-inside: avoid; }}
thead {{ display: table-header-group; }}
tr {{ break-inside: avoid; page-break-inside: avoid; }}
th, td {{ border: 1px solid #555; padding: 2pt 4pt; vertical-align: top; }}
th {{ background: #e7e6e6; font-weight: bold; text-align: center; vertical-align: middle; }}
tr.group th {{ background: #f2f2f2; text-align: left; }}
tr.group {{ break-after: avoid; page-break-after: avoid; }}
td.n {{ text-align: right; white-space: nowrap; }}
td.c {{ text-align: center; }}
th, td {{ overflow-wrap: anywhere; }}
.note {{ font-size: 9.5pt; color: #444; text-indent: 0; break-before: avoid; page-break-before: avoid; }}
table.keep {{ break-inside: avoid; page-break-inside: avoid; }}
h2 + p, h3 + p, h2 + figure, h3 + figure {{ break-before: avoid; }}
figure {{ margin: 6pt 0 10pt; break-inside: avoid; text-align: center; }}
figure svg {{ height: auto; }}
{_BANDS}
@media screen {{ body {{ padding: 12mm; }} }}
"""


def _esc(text: str) -> str:
    return escape(text).replace("\n", "<br>")


def _cell(cell: Cell) -> str:
    classes = [f"b-{cell.band}"] if cell.band else []
    if cell.align:
        classes.append({"right": "n", "center": "c"}[cell.align])
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attr}>{_esc(cell.text)}</td>"


def _colgroup(table: Table) -> str:
    widths = table.widths[: len(table.headers)]
    total = sum(widths) or 1
    return "<colgroup>" + "".join(f'<col style="width:{100 * w / total:.1f}%">' for w in widths) + "</colgroup>"


def render_table(table: Table) -> str:
    """One table with a repeated header (thead) and area group rows."""
    # a short table prints whole on one page rather than leave a few rows behind
    keep = len(table.rows) + (0 if table.groups is None else len(set(table.groups))) <= KEEP_WHOLE_ROWS
    parts = [f'<table class="{"compact" if table.compact else "std"}{" keep" if keep else ""}">',
             f"<caption>{escape(table.title)}</caption>", _colgroup(table), "<thead><tr>"]
    parts.extend(f'<th scope="col">{_esc(h)}</th>' for h in table.headers)
    # the first rows of a long table stay with its caption and header (no caption alone at a page foot)
    parts.append("</tr></thead>" + ("<tbody>" if keep else '<tbody class="lead">'))
    current = None
    for i, row in enumerate(table.rows):
        if not keep and i == LEAD_ROWS:
            parts.append("</tbody><tbody>")
        if table.groups is not None and table.groups[i] != current:
            current = table.groups[i]
            parts.append(f'<tr class="group"><th colspan="{len(table.headers)}">{escape(current)}</th></tr>')
        parts.append("<tr>" + "".join(_cell(c) for c in row) + "</tr>")
    if not table.rows:
        parts.append(f'<tr><td colspan="{len(table.headers)}" class="c">无</td></tr>')
    parts.append("</tbody></table>")
    if table.note:
        parts.append(f'<p class="note">{escape(table.note)}</p>')
    return "".join(parts)


#: Tables up to this many rows are kept on one printed page; longer ones break between rows.
KEEP_WHOLE_ROWS = 25
#: The first rows of a longer table that print on the page of its caption.
LEAD_ROWS = 3
#: Only a chapter of about two pages or more (paragraphs + table rows + charts) starts on a fresh
#: printed page; shorter ones follow on, so a forced break never leaves a page nearly blank.
LONG_CHAPTER = 60


def _size(section) -> int:
    return len(section.paragraphs) + sum(max(1, len(t.rows)) for t in section.tables) + (12 if section.chart else 0)


def _chapter_size(sections: list, i: int) -> int:
    """Size of section ``i`` with the subsections that follow it."""
    level = sections[i][1].level
    total = _size(sections[i][1])
    for _, sub in sections[i + 1:]:
        if sub.level <= level:
            break
        total += _size(sub)
    return total


def render_html(report: Report | Mapping[str, Any]) -> str:
    """The complete report.html text for a report (or a report dict)."""
    report = as_report(report)
    view = build_view(report)
    out = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(view.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(view.title)}</h1>",
        f'<p class="subtitle">{escape(view.subtitle)}</p>',
        f'<div class="verdict {escape(view.verdict)}">评估结论：{escape(view.verdict_text)}</div>',
    ]
    sections = list(numbered(view))
    for i, (number, section) in enumerate(sections):
        tag = "h2" if section.level == 1 else "h3"
        cls = ' class="break"' if section.page_break and _chapter_size(sections, i) >= LONG_CHAPTER else ""
        out.append(f"<section{cls}><{tag}>{number}{escape(section.title)}</{tag}>")
        out.extend(f"<p>{_esc(p)}</p>" for p in section.paragraphs)
        if section.chart:
            out.append(f"<figure>{SVG_CHARTS[section.chart](report)}</figure>")
        out.extend(render_table(t) for t in section.tables)
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)
