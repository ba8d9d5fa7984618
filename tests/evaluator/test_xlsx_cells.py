"""The streaming cell reader (evaluator.workbook.xlsx / sheetxml) on the shapes real producers write.

Excel and WPS write shared strings (with rich-text runs and phonetic runs), openpyxl writes
inline strings, some generators prefix every element (``x:c``) or leave out the cell
references; each case is compared with the values openpyxl itself reads, or with the values
written out by hand where openpyxl cannot read the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from evaluator.errors import InputError
from evaluator.workbook.xlsx import read_sheets

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _book(path: Path, sheet_xml: str, shared_xml: str | None = None) -> Path:
    """A minimal XLSX with one sheet named schools (and optionally a shared-strings part)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types xmlns='http://schemas.openxmlformats.org/package/2006/content-types'/>")
        zf.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
                                       '<sheet name="schools" sheetId="1" r:id="rId1"/></sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels",
                    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    '<Relationship Id="rId1" Type="worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        zf.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared_xml is not None:
            zf.writestr("xl/sharedStrings.xml", shared_xml)
    return path


def test_values_match_openpyxl_on_a_workbook_openpyxl_wrote(tmp_path):
    from openpyxl import Workbook, load_workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "schools"
    rows = [["学校代码", "名称", "人数", "面积", "寄宿"], ["370001", "一小 & 二小 <东>", 1200, 10800.5, True],
            [None, "  空格  ", 0, -3.25, False], ["x", None, 12345678901, 1e-7, None], [], ["末行", "", 7, 0.1, "是"]]
    for r in rows:
        ws.append(r)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    book = load_workbook(path, read_only=True)
    theirs = [tuple(r) for r in book.active.iter_rows(values_only=True)]
    book.close()
    ours = read_sheets(path, path.name)["schools"]
    padded = [tuple(r) + (None,) * (5 - len(r)) for r in ours]
    assert padded == theirs
    assert [type(v) for v in ours[1]] == [str, str, int, float, bool]


def test_shared_strings_rich_text_phonetic_runs_and_cell_kinds(tmp_path):
    shared = (f'<sst xmlns="{MAIN}"><si><t>实验学校</t></si>'
              '<si><r><rPr><b/></rPr><t>城</t></r><r><t xml:space="preserve">区 </t></r>'
              '<rPh sb="0" eb="1"><t> chéng</t></rPh></si><si><t/></si></sst>')
    sheet = (f'<worksheet xmlns="{MAIN}"><sheetData>'
             '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
             '<row r="3"><c r="A3" t="b"><v>1</v></c><c r="B3" t="e"><v>#DIV/0!</v></c>'
             '<c r="C3" t="str"><f>A1&amp;"x"</f><v>a&amp;b</v></c><c r="D3"><v>2.5E3</v></c>'
             '<c r="E3" t="n"><v/></c><c r="F3" t="s"><v>2</v></c></row>'
             '<row r="4"><c r="B4" t="inlineStr"><is><r><t>甲</t></r><r><t>乙</t></r></is></c></row>'
             '</sheetData></worksheet>')
    rows = read_sheets(_book(tmp_path / "s.xlsx", sheet, shared), "s.xlsx")["schools"]
    assert rows == [("实验学校", None, "城区 "), (), (True, "#DIV/0!", "a&b", 2500.0, None, ""), (None, "甲乙")]


def test_prefixed_elements_and_cells_without_references(tmp_path):
    sheet = (f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData>'
             '<x:row><x:c t="inlineStr"><x:is><x:t>代码</x:t></x:is></x:c><x:c><x:v>3</x:v></x:c></x:row>'
             '<x:row><x:c r="B2"><x:v>4</x:v></x:c><x:c><x:v>5</x:v></x:c></x:row>'
             '</x:sheetData></x:worksheet>')
    rows = read_sheets(_book(tmp_path / "p.xlsx", sheet), "p.xlsx")["schools"]
    assert rows == [("代码", 3), (None, 4, 5)]


def test_a_cell_with_too_many_elements_is_refused_even_when_they_are_shallow(tmp_path):
    runs = "".join("<r><t>a</t></r>" for _ in range(600))  # 1,200 elements, none deeper than 4
    sheet = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is>{runs}</is></c></row>' \
            "</sheetData></worksheet>"
    with pytest.raises(InputError, match="内容元素超过") as err:
        read_sheets(_book(tmp_path / "runs.xlsx", sheet), "runs.xlsx")
    assert err.value.sheet == "schools"


def test_a_bad_number_names_the_cell_and_a_dtd_is_not_an_xlsx(tmp_path):
    sheet = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="B1"><v>1,2</v></c></row></sheetData></worksheet>'
    with pytest.raises(InputError, match="单元格 B1 的值无法读取"):
        read_sheets(_book(tmp_path / "n.xlsx", sheet), "n.xlsx")
    dtd = '<!DOCTYPE worksheet [<!ENTITY e "x">]>' + sheet.replace("<v>1,2</v>", "<v>&e;</v>")
    with pytest.raises(InputError, match="无法作为 Excel（.xlsx）文件打开"):
        read_sheets(_book(tmp_path / "d.xlsx", dtd), "d.xlsx")
