"""report.docx: the report as an editable Word document in 公文-like style.

A4 with 公文 margins (3.7/3.5/2.8/2.6 cm), title in 黑体 二号, headings 一、 (黑体 三号) and （一）
(楷体 三号), body 仿宋 三号, tables 宋体 五号 (小五 for the wide school matrix) with header rows
repeating on every page (w:tblHeader). East Asian fonts are set through w:eastAsia and declared in
the font table with the GB2312 charset, so Word and WPS substitute a Chinese font when one is
missing. Charts are embedded as PNG only when matplotlib finds a CJK font; otherwise the
document carries the tables alone.

Tables are emitted as WordprocessingML in one parse per table: building a 200-school matrix
cell by cell through python-docx's object API takes seconds.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.image.image import Image
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor

from evaluator.report import charts
from evaluator.report.display import ReportView, Table, clean, numbered, ruleset_name
from evaluator.report.model import Report, as_report
from evaluator.report.view import build_view

TITLE_FONT, HEADING_FONT, SUBHEADING_FONT, BODY_FONT, TABLE_FONT = "黑体", "黑体", "楷体", "仿宋", "宋体"
WEST_FONT = "Times New Roman"
#: Font-table entries (name, alternative name, family, pitch): charset 86 = GB2312 tells Word/WPS to
#: substitute a Chinese font of the same family when the named one is not installed.
FONT_TABLE = (
    ("黑体", "SimHei", "modern", "fixed"),
    ("楷体", "KaiTi", "modern", "fixed"),
    ("仿宋", "FangSong", "modern", "fixed"),
    ("宋体", "SimSun", "auto", "variable"),
)
_THEME_ATTRS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
PAGE_W, PAGE_H = Cm(21.0), Cm(29.7)
MARGINS = {"top": 3.7, "bottom": 3.5, "left": 2.8, "right": 2.6}
TEXT_TWIPS = int((21.0 - MARGINS["left"] - MARGINS["right"]) / 2.54 * 1440)
MAX_PICTURE_CM = (15.5, 21.0)
NO_FONT_NOTE = "（生成本文档的计算机未安装中文字体，图表从略，数据见下表。）"
NO_GLYPH_NOTE = "（图中有字符无法用已安装的字体显示，图表从略，数据见下表。）"
_FILL = {band: colour.lstrip("#").upper() for band, colour in charts.BAND_COLOURS.items()}


def _x(text: str) -> str:
    return escape(clean(text))


def _set_fonts(rpr_owner: Any, east_asian: str, size_pt: float | None = None, bold: bool | None = None) -> None:
    """Set ascii/hAnsi to Times New Roman and eastAsia to ``east_asian`` on a style or run font."""
    font = rpr_owner.font
    font.name = WEST_FONT
    if size_pt is not None:
        font.size = Pt(size_pt)
    if bold is not None:
        font.bold = bold
    font.color.rgb = RGBColor(0, 0, 0)
    rpr = rpr_owner.element.get_or_add_rPr()
    rfonts = rpr.get_or_add_rFonts()
    _explicit_fonts(rfonts, east_asian)


def _explicit_fonts(rfonts: Any, east_asian: str) -> None:
    """Name the fonts outright: a theme attribute (asciiTheme…) would override the named font."""
    for attr in _THEME_ATTRS:
        rfonts.attrib.pop(qn(attr), None)
    rfonts.set(qn("w:ascii"), WEST_FONT)
    rfonts.set(qn("w:hAnsi"), WEST_FONT)
    rfonts.set(qn("w:eastAsia"), east_asian)
    rfonts.set(qn("w:hint"), "eastAsia")


def _styles(doc: Any) -> dict[str, str]:
    styles = doc.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    rfonts = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}") if defaults is not None else None
    if rfonts is not None:
        _explicit_fonts(rfonts, BODY_FONT)
        lang = rfonts.getparent().find(qn("w:lang"))
        if lang is None:
            lang = rfonts.getparent().makeelement(qn("w:lang"), {})
            rfonts.getparent().append(lang)
        lang.set(qn("w:val"), "en-US")
        lang.set(qn("w:eastAsia"), "zh-CN")
    _set_fonts(styles["Normal"], BODY_FONT, 16)
    normal = styles["Normal"].paragraph_format
    normal.line_spacing = Pt(28)
    normal.space_after = Pt(0)
    title = styles["Title"]
    _set_fonts(title, TITLE_FONT, 22, False)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(12)
    ppr = title.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)
    for name, font, size in (("Heading 1", HEADING_FONT, 16), ("Heading 2", SUBHEADING_FONT, 16)):
        style = styles[name]
        _set_fonts(style, font, size, False)
        style.font.italic = False
        pf = style.paragraph_format
        pf.space_before, pf.space_after, pf.keep_with_next = Pt(10), Pt(4), True
        pf.first_line_indent = Cm(1.13)
    ids = {}
    for name, size in (("Report Table", 10.5), ("Report Table Small", 9), ("Report Note", 10.5),
                       ("Report Caption", 12)):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = styles["Normal"]
        _set_fonts(style, HEADING_FONT if name == "Report Caption" else TABLE_FONT, size)
        pf = style.paragraph_format
        pf.line_spacing, pf.space_before, pf.space_after = 1.0, Pt(0), Pt(0)
        if name == "Report Caption":
            pf.alignment = WD_ALIGN_PARAGRAPH.CENTER
            pf.space_before, pf.space_after, pf.keep_with_next = Pt(6), Pt(3), True
        if name == "Report Note":
            pf.space_after = Pt(6)
        ids[name] = style.style_id
    return ids


def _font_table(doc: Any) -> None:
    part = next(p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    entries = "".join(
        f'<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
        f'<w:family w:val="{family}"/><w:pitch w:val="{pitch}"/></w:font>'
        for name, alt, family, pitch in FONT_TABLE
    )
    part._blob = part.blob.replace(b"</w:fonts>", entries.encode("utf-8") + b"</w:fonts>")


def _properties(props: Any, view: ReportView, report: Report) -> None:
    """Document properties: title, county, language; created = the evaluation's generation time."""
    props.title, props.subject = view.title, view.subtitle
    props.author = props.last_modified_by = "县域义务教育优质均衡发展督导评估工具"
    rules = ruleset_name(str(report.rules)) if report.rules else "未提供"
    props.comments = f"评估规则 {rules}；由评估结果自动生成，可编辑。"
    props.keywords = "优质均衡; 督导评估; 自评; 整改"
    props.language = "zh-CN"
    generated = report.provenance.generated_at
    try:
        props.created = props.modified = dt.datetime.fromisoformat(str(generated))
    except ValueError:
        props.created = props.modified = dt.datetime.now(dt.UTC)


def _page(doc: Any) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = PAGE_W, PAGE_H
    section.top_margin, section.bottom_margin = Cm(MARGINS["top"]), Cm(MARGINS["bottom"])
    section.left_margin, section.right_margin = Cm(MARGINS["left"]), Cm(MARGINS["right"])
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer._p.append(parse_xml(
        f'<w:r {nsdecls("w")}><w:t xml:space="preserve">— </w:t></w:r>'
    ))
    footer._p.append(parse_xml(
        f'<w:fldSimple {nsdecls("w")} w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple>'
    ))
    footer._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:t xml:space="preserve"> —</w:t></w:r>'))


def _runs(text: str, bold: bool = False) -> str:
    rpr = "<w:rPr><w:b/></w:rPr>" if bold else ""
    lines = _x(text).split("\n")
    body = "<w:br/>".join(f'<w:t xml:space="preserve">{line}</w:t>' for line in lines)
    return f"<w:r>{rpr}{body}</w:r>"


def _tc(text: str, width: int, style: str, *, fill: str | None = None, bold: bool = False,
        align: str | None = None, span: int = 1) -> str:
    props = f'<w:tcW w:w="{width}" w:type="dxa"/>'
    if span > 1:
        props += f'<w:gridSpan w:val="{span}"/>'
    if fill:
        props += f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>'
    jc = f'<w:jc w:val="{align}"/>' if align else ""
    return (f"<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:pPr><w:pStyle w:val=\"{style}\"/>{jc}</w:pPr>"
            f"{_runs(text, bold)}</w:p></w:tc>")


def table_xml(table: Table, style: str) -> str:
    """WordprocessingML of a table: fixed grid, header row repeated on each page, band shading."""
    cols = len(table.headers)
    total = sum(table.widths[:cols]) or 1
    widths = [int(TEXT_TWIPS * w / total) for w in table.widths[:cols]]
    widths += [int(TEXT_TWIPS / cols)] * (cols - len(widths))
    border = "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
                     for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    out = [
        f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblW w:w="{sum(widths)}" w:type="dxa"/>'
        f'<w:jc w:val="center"/><w:tblBorders>{border}</w:tblBorders><w:tblLayout w:type="fixed"/>'
        '<w:tblCellMar><w:left w:w="57" w:type="dxa"/><w:right w:w="57" w:type="dxa"/></w:tblCellMar>'
        '</w:tblPr><w:tblGrid>',
        *(f'<w:gridCol w:w="{w}"/>' for w in widths),
        '</w:tblGrid><w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>',
        *(_tc(h, w, style, fill="E7E6E6", bold=True, align="center") for h, w in zip(table.headers, widths, strict=True)),
        "</w:tr>",
    ]
    current = None
    for i, row in enumerate(table.rows):
        if table.groups is not None and table.groups[i] != current:
            current = table.groups[i]
            out.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>"
                       f"{_tc(current, sum(widths), style, fill='F2F2F2', bold=True, span=cols)}</w:tr>")
        out.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
        out.extend(
            _tc(c.text, w, style, fill=_FILL.get(c.band or ""), align=c.align)
            for c, w in zip(row, widths, strict=True)
        )
        out.append("</w:tr>")
    if not table.rows:
        out.append(f"<w:tr>{_tc('无', sum(widths), style, align='center', span=cols)}</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


def _picture(doc: Any, png: bytes) -> None:
    image = Image.from_blob(png)
    w_cm, h_cm = MAX_PICTURE_CM
    aspect = image.px_height / image.px_width
    paragraph = doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.line_spacing = 1.0  # the body's exact 28 pt would clip the picture
    paragraph.paragraph_format.keep_with_next = True
    run = paragraph.add_run()
    if w_cm * aspect > h_cm:
        run.add_picture(io.BytesIO(png), height=Cm(h_cm))
    else:
        run.add_picture(io.BytesIO(png), width=Cm(w_cm))


def write_docx(
    report: Report | Mapping[str, Any],
    path: Path | str,
    view: ReportView | None = None,
    *,
    charts_font: str | None | bool = True,
) -> Path:
    """Write report.docx to ``path`` and return it.

    ``charts_font=True`` embeds PNG charts when :func:`charts.find_cjk_font` finds a CJK font;
    ``False`` or ``None`` leaves charts out; a string names the font to use.
    """
    report = as_report(report)
    view = view or build_view(report)
    path = Path(path)
    font = charts.find_cjk_font() if charts_font is True else (charts_font or None)
    doc = Document()
    ids = _styles(doc)
    _font_table(doc)
    _page(doc)
    _properties(doc.core_properties, view, report)
    doc.add_paragraph(view.title, style="Title")
    sub = doc.add_paragraph(view.subtitle)
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    verdict = doc.add_paragraph()
    verdict.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_fonts(verdict.add_run(f"评估结论：{view.verdict_text}"), HEADING_FONT, 16, True)
    body = doc.element.body
    for number, section in numbered(view):
        heading = doc.add_paragraph(f"{number}{section.title}", style=f"Heading {section.level}")
        heading.paragraph_format.page_break_before = section.page_break
        for text in section.paragraphs:
            doc.add_paragraph(text).paragraph_format.first_line_indent = Cm(1.13)
        png = charts.png_chart(section.chart, report, font) if section.chart and font else None
        if png:
            _picture(doc, png)
        elif section.chart and font:
            doc.add_paragraph(NO_GLYPH_NOTE, style="Report Note")
        elif section.chart and charts_font is True:
            doc.add_paragraph(NO_FONT_NOTE, style="Report Note")
        for table in section.tables:
            doc.add_paragraph(clean(table.title), style="Report Caption")
            style = ids["Report Table Small" if table.compact else "Report Table"]
            body.sectPr.addprevious(parse_xml(table_xml(table, style)))
            doc.add_paragraph(clean(table.note), style="Report Note")
    tmp = path.with_name(path.name + ".part")
    doc.save(str(tmp))
    tmp.replace(path)
    return path
