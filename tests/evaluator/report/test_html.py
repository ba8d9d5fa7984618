"""report.html: golden checks on text and structure, self-containment, escaping, print CSS."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from evaluator.report import render_html

from .conftest import ITEM_CODES


class _Structure(HTMLParser):
    """Collects tags, text and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.text: list[str] = []
        self.rows_per_table: list[int] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self.rows_per_table.append(0)
        if tag == "tr" and self.rows_per_table:
            self.rows_per_table[-1] += 1
        self.urls += [v for k, v in attrs if k in ("src", "href", "srcset", "xlink:href", "action") and v]

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Structure:
    parser = _Structure()
    parser.feed(html)
    return parser


def test_sections_verdict_and_every_item_code(sample):
    html = render_html(sample)
    text = "".join(_parse(html).text)
    assert "评估结论：未达到县域义务教育优质均衡发展督导评估认定标准" in text
    for heading in ("一、评估结论", "二、指标达成情况及整改计划", "三、资源配置", "（一）学校指标达成情况",
                    "（二）校际差异系数", "四、短板与缺口", "五、社会认可度", "六、整改任务清单", "七、数据来源与版本"):
        assert heading in text
    for code in ITEM_CODES:
        assert re.search(rf">{re.escape(code)} ", html), code


def test_tables_have_repeating_headers(sample):
    html = render_html(sample)
    parsed = _parse(html)
    assert parsed.tags.count("table") == parsed.tags.count("thead") >= 10
    # items table: header + 40 items + 5 area group rows
    assert 46 in parsed.rows_per_table
    assert "thead { display: table-header-group; }" in html
    assert "size: A4" in html and "break-before: page" in html


def test_self_contained_no_external_requests(sample):
    html = render_html(sample)
    parsed = _parse(html)
    assert parsed.urls == []
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    # the only http string allowed is the SVG namespace
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}
    assert html.count("<svg") == 3


def test_strings_from_the_dict_are_escaped(sample):
    sample["items"][0]["problem"] = "<script>alert(1)</script>"
    html = render_html(sample)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "responses&lt;2023&gt;.csv" in html


def test_content_figures(sample):
    text = "".join(_parse(render_html(sample)).text)
    for expected in ("宝鑫新经典学校（小学部）", "宝鑫新经典学校（初中部）", "0.512", "共缺少7间音乐专用教室",
                     "88.6%", "85.5%～91.1%", "84.0%", "样本过少，不予公布", "实验中学设有重点班",
                     "立即撤销实验班，均衡编班。", "9b2d4f6a8c0e2a4c", "2023年6月15日 10:30（北京时间）", "无法计算"):
        assert expected in text, expected


def test_minimal_report_renders_with_placeholders(minimal):
    text = "".join(_parse(render_html(minimal)).text)
    assert "评估未完成" in text
    assert "未提供社会认可度调查结果" in text
    assert "未提供" in text
    assert text.count("五、社会认可度") == 1


def test_recognized_verdict_wording(sample):
    sample["verdict"], sample["reasons"] = "recognized", []
    text = "".join(_parse(render_html(sample)).text)
    assert "评估结论：达到县域义务教育优质均衡发展督导评估认定标准" in text
    assert "各项指标均达到要求" in text
