"""Charts: SVG well-formed with Chinese text; PNG only with a CJK font."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from evaluator.report import charts

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("name", ["cv", "matrix", "recognition"])
def test_svg_is_well_formed_and_labelled_in_chinese(sample, name):
    root = ET.fromstring(charts.SVG_CHARTS[name](sample))
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert any("\u4e00" <= ch <= "\u9fff" for t in texts for ch in t)


def test_cv_chart_shows_limits_and_uncomputable(sample):
    root = ET.fromstring(charts.svg_cv(sample))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "小学限值 0.50" in texts and "初中限值 0.45" in texts
    assert "无法计算" in texts and "0.512" in texts


def test_matrix_chart_colours_follow_bands(sample):
    root = ET.fromstring(charts.svg_matrix(sample))
    fills = [r.get("fill") for r in root.iter(f"{SVG}rect")]
    cells = len(sample["schools"]) * 7
    assert len(fills) == cells + 4  # + legend
    assert fills.count(charts.BAND_COLOURS["missing"]) == 1 + 1  # 教学点 1.4 + legend


def test_recognition_chart_rows(sample):
    rows, threshold = charts.recognition_intervals(sample)
    assert threshold == 0.85
    assert [r.label for r in rows][:3] == ["全县", "家长", "学生"]
    assert rows[0].lo == 0.855


def test_png_charts_when_cjk_font_installed(sample):
    font = charts.find_cjk_font()
    if font is None:
        pytest.fail("没有找到中文字体：CI 安装 Debian fonts-noto-cjk，本测试需要它")
    for name, draw in charts.PNG_CHARTS.items():
        png = draw(sample, font)
        assert png[:8] == b"\x89PNG\r\n\x1a\n", name
        assert len(png) > 5000


def test_large_county_matrix_charts_only_schools_with_gaps(sample):
    schools = []
    for i in range(80):
        school = dict(sample["schools"][0 if i % 10 else 2], label=f"学校{i}")
        schools.append(school)
    sample["schools"] = schools
    m = charts.school_matrix(sample, max_rows=60)
    # sample school 0 (第一小学) has near bands, school 2 (实验中学) near/fail too; make a clean one
    assert len(m.rows) == 60 and "共80个学校（部）" in m.note and "前60个" in m.note
    clean = dict(sample["schools"][0], label="全部达标学校",
                 indicators={k: dict(v, band="pass") for k, v in sample["schools"][0]["indicators"].items()})
    sample["schools"] = [clean] * 70 + schools[:5]
    m = charts.school_matrix(sample, max_rows=60)
    assert m.rows == [f"学校{i}" for i in range(5)]
    assert "图中仅列出存在未达标或缺失指标的5个" in m.note
    assert "全部达标学校" not in charts.svg_matrix(sample)
