"""report.docx reopened with python-docx: headings, tables, fonts, page, pictures per font availability."""

from __future__ import annotations

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm
from lxml import etree

from evaluator.report import charts, write_docx
from evaluator.report.docx import NO_FONT_NOTE, NO_GLYPH_NOTE


def _open(report, tmp_path, **kw):
    path = write_docx(report, tmp_path / "report.docx", **kw)
    return Document(str(path))


def _table_with_header(doc, first):
    return next(t for t in doc.tables if t.rows[0].cells[0].text == first)


def test_headings_numbered_in_gongwen_style(sample, tmp_path):
    doc = _open(sample, tmp_path, charts_font=False)
    h1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    h2 = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert h1 == ["一、评估结论", "二、指标达成情况及整改计划", "三、资源配置", "四、短板与缺口",
                  "五、社会认可度", "六、整改任务清单", "七、数据来源与版本"]
    assert h2 == ["（一）学校指标达成情况", "（二）校际差异系数"]
    title = doc.paragraphs[0]
    assert title.style.name == "Title" and title.text == "县域义务教育优质均衡发展督导评估报告"
    assert any(p.text == "评估结论：未达到县域义务教育优质均衡发展督导评估认定标准" for p in doc.paragraphs)


def test_item_table_rows_and_repeating_header(sample, tmp_path):
    doc = _open(sample, tmp_path, charts_font=False)
    table = _table_with_header(doc, "指标")
    assert [c.text for c in table.rows[0].cells] == ["指标", "是否达标", "存在问题", "整改措施", "整改时限", "责任部门"]
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert len(table.rows) == 1 + 40 + 5
    assert table.rows[1].cells[0].text == "资源配置"  # area group row spanning the table
    veto = next(r for r in table.rows if r.cells[0].text.startswith("4.3 "))
    assert [c.text for c in veto.cells[1:]] == [
        "否", "实验中学设有重点班（实验班2个）。", "立即撤销实验班，均衡编班。", "2023年9月", "教育和体育事业中心"]
    absent = next(r for r in table.rows if r.cells[0].text.startswith("4.1 "))
    assert absent.cells[1].text == "是"
    multi = next(r for r in table.rows if r.cells[0].text.startswith("1.4 "))
    assert "\n2.通过第九小学招生" in multi.cells[3].text


def test_other_tables_present(sample, tmp_path):
    doc = _open(sample, tmp_path, charts_font=False)
    matrix = _table_with_header(doc, "学校")
    labels = [r.cells[0].text for r in matrix.rows[1:]]
    assert "宝鑫新经典学校（初中部）" in labels
    assert matrix.rows[1].cells[6].text == "4.12"
    shd = matrix.rows[2].cells[6]._tc.tcPr.find(qn("w:shd"))
    assert shd.get(qn("w:fill")) == charts.BAND_COLOURS["fail"].lstrip("#").upper()
    cv = next(t for t in doc.tables if t.rows[0].cells[1].text == "小学差异系数")
    assert cv.rows[5].cells[1].text == "0.512" and cv.rows[5].cells[3].text == "否"
    groups = next(t for t in doc.tables if t.rows[0].cells[0].text == "群体")
    assert groups.rows[1].cells[0].text == "家长"
    inputs = next(t for t in doc.tables if t.rows[0].cells[0].text == "文件名")
    assert inputs.rows[2].cells[0].text == "responses<2023>.csv"


def test_fonts_page_and_footer(sample, tmp_path):
    doc = _open(sample, tmp_path, charts_font=False)
    def east(style):
        return doc.styles[style].element.rPr.rFonts.get(qn("w:eastAsia"))
    assert east("Normal") == "仿宋" and east("Title") == "黑体" and east("Heading 1") == "黑体"
    assert east("Report Table") == "宋体"
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Report Table", "Report Caption"):
        rfonts = doc.styles[name].element.rPr.rFonts.xml
        assert "Theme" not in rfonts and "cstheme" not in rfonts, name  # a theme font overrides names
    default = etree.tostring(doc.styles.element.find(qn("w:docDefaults")), encoding="unicode")
    assert "eastAsiaTheme" not in default and 'w:eastAsia="仿宋"' in default
    assert 'w:eastAsia="zh-CN"' in default  # language for font choice and proofing in Word/WPS
    assert doc.styles["Title"].font.size.pt == 22 and doc.styles["Normal"].font.size.pt == 16
    sec = doc.sections[0]
    assert abs(sec.page_width - Cm(21)) < Cm(0.01) and abs(sec.page_height - Cm(29.7)) < Cm(0.01)
    assert abs(sec.top_margin - Cm(3.7)) < Cm(0.01) and abs(sec.left_margin - Cm(2.8)) < Cm(0.01)
    assert "PAGE" in sec.footer.paragraphs[0]._p.xml
    font_table = next(p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    assert '<w:font w:name="仿宋"><w:altName w:val="FangSong"/>' in font_table.blob.decode("utf-8")


def test_charts_embedded_when_cjk_font_found(sample, tmp_path):
    if charts.find_cjk_font() is None:
        pytest.fail("没有找到中文字体：CI 安装 Debian fonts-noto-cjk，本测试需要它")
    doc = _open(sample, tmp_path)
    assert len(doc.inline_shapes) == 3
    assert all(s.width <= Cm(15.6) and s.height <= Cm(21.1) for s in doc.inline_shapes)


def test_no_cjk_font_means_tables_only(sample, tmp_path, monkeypatch):
    monkeypatch.setattr(charts, "find_cjk_font", lambda: None)
    doc = _open(sample, tmp_path)
    assert len(doc.inline_shapes) == 0
    assert len(doc.tables) >= 10
    assert sum(p.text == NO_FONT_NOTE for p in doc.paragraphs) == 3


def test_minimal_report(minimal, tmp_path):
    doc = _open(minimal, tmp_path)
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "未提供社会认可度调查结果" in text
    assert len(doc.inline_shapes) <= 2  # no recognition chart without recognition


def test_chart_with_unrenderable_character_is_left_out(sample, tmp_path):
    if charts.find_cjk_font() is None:
        pytest.fail("没有找到中文字体：CI 安装 Debian fonts-noto-cjk，本测试需要它")
    sample["schools"][0]["label"] = "第一小学\U000f0000"  # private-use: no font has it
    doc = _open(sample, tmp_path)
    assert len(doc.inline_shapes) == 2  # the CV and recognition charts, not the matrix
    assert sum(p.text == NO_GLYPH_NOTE for p in doc.paragraphs) == 1


def test_document_properties(sample, tmp_path):
    props = _open(sample, tmp_path, charts_font=False).core_properties
    assert props.title == "县域义务教育优质均衡发展督导评估报告" and props.language == "zh-CN"
    assert props.author != "python-docx" and "national-2017" in props.comments
    assert props.created.isoformat().startswith("2023-06-15T")
