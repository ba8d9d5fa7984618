"""Streaming exports (issue 12 item 3): the streamed service writes the same bytes as the
in-memory exports it replaced (tests/survey/exports_reference.py) on a round with quality
and integrity flags, blanks, an item nobody answered, formula-like text and Chinese text, in
the command, the web download (rows read after the request's commit, a few at a time) and
the frame other modules read; above Excel's row limit the XLSX goes on to a second sheet."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pyreadstat

from survey.db import db
from survey.instruments import catalogue
from survey.models import School, SurveyRound
from survey.services import exports
from survey.services.exports_zh import labelled_table
from tests.survey import exports_reference as old
from tests.survey.helpers import link_for, login, make_round, make_user, store_answers
from tests.survey.test_cli import run


def _mixed_round(app) -> int:
    with app.app_context():
        rnd = make_round("110101")
        s02 = db.session.query(School).filter_by(round_id=rnd.id, code="S02").one()
        s02.name = '=HYPERLINK("http://x")中学'
        s03 = db.session.query(School).filter_by(round_id=rnd.id, code="S03").one()
        s03.name = "-城南\t小学"
        db.session.commit()
        store_answers(link_for(rnd, "parent", "S01"), "比较满意")
        store_answers(link_for(rnd, "parent", "S01"), "满意", duration=45)  # fast straight-liner
        store_answers(link_for(rnd, "teacher", "S02"), {"t01": "不满意", "t02": "不了解"})  # blanks
        store_answers(link_for(rnd, "npc_deputy"), "满意", duration=5)  # speeder, county level
        store_answers(link_for(rnd, "student", "S03"), {"s01": "基本满意"}, duration=61.25)
        for _ in range(20):  # one address, one device, within seconds: burst + device cluster
            store_answers(link_for(rnd, "parent", "S03"), "基本满意")
        return rnd.id


def _cells(data: bytes, sheet: str) -> list[tuple]:
    ws = openpyxl.load_workbook(io.BytesIO(data))[sheet]
    return [tuple((c.value, c.data_type, c.font.b) for c in row) for row in ws.iter_rows()]


def _old_file(rnd, fmt: str, labels: str | None) -> bytes:
    if fmt == "sav":  # the SPSS writer is the same but for its frame (checked against the old one above)
        return exports.export_bytes(rnd, catalogue(), "sav")
    return old.export_bytes(rnd, catalogue(), fmt, labels)


def _same_file(fmt: str, labels: str | None, new: bytes, before: bytes, tmp_path) -> None:
    if fmt == "csv":
        assert new == before
    elif fmt == "xlsx":  # the package carries its creation time: compare cells, types and header style
        sheet = "回答" if labels else "responses"
        assert _cells(new, sheet) == _cells(before, sheet)
        if labels:
            ws_new, ws_old = (openpyxl.load_workbook(io.BytesIO(b))[sheet] for b in (new, before))
            assert ws_new.freeze_panes == ws_old.freeze_panes == "A2"
            widths = [(k, d.width) for k, d in sorted(ws_old.column_dimensions.items())]
            assert [(k, ws_new.column_dimensions[k].width) for k, _ in widths] == widths
    else:
        (tmp_path / "new.sav").write_bytes(new)
        (tmp_path / "old.sav").write_bytes(before)
        df_new, meta_new = pyreadstat.read_sav(tmp_path / "new.sav", user_missing=True)
        df_old, meta_old = pyreadstat.read_sav(tmp_path / "old.sav", user_missing=True)
        pd.testing.assert_frame_equal(df_new, df_old)
        assert meta_new.column_names_to_labels == meta_old.column_names_to_labels
        assert meta_new.variable_value_labels == meta_old.variable_value_labels


def test_streamed_exports_are_the_files_of_before(app, client, database_url, tmp_path):
    rid = _mixed_round(app)
    with app.app_context():
        rnd = db.session.get(SurveyRound, rid)
        for flags in (True, False):
            pd.testing.assert_frame_equal(exports.responses_frame(rnd, catalogue(), flags=flags),
                                          old.responses_frame(rnd, catalogue(), flags=flags))
        frame = exports.responses_frame(rnd, catalogue())
        assert frame["flag_speeder"].sum() == 1 and frame["flag_straightline_fast"].sum() == 1
        assert (frame["integrity_flags"] != "").sum() == 20
        assert "t01" in frame.columns and "t03" not in frame.columns  # answered by nobody: no column
        expected = {(fmt, labels): _old_file(rnd, fmt, labels)
                    for fmt, labels in (("csv", None), ("xlsx", None), ("csv", "zh"), ("xlsx", "zh"), ("sav", None))}
    assert b"'=HYPERLINK" in expected[("csv", "zh")] and b"'-" in expected[("csv", "zh")]

    for (fmt, labels), before in expected.items():
        out = tmp_path / f"答卷_{labels}.{fmt}"
        res = run(database_url, "round", "export", str(rid), "--out", str(out), *(["--labels", labels] if labels else []))
        assert res.returncode == 0, res.stderr
        assert "已导出 25 条回答" in res.stderr and not out.with_name(out.name + ".part").exists()
        _same_file(fmt, labels, out.read_bytes(), before, tmp_path)

    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    exports.CHUNK = 3  # the web download reads the rows a few at a time, after the request's commit
    try:
        for (fmt, labels), before in expected.items():
            url = f"/admin/rounds/{rid}/answers.{fmt}" if labels or fmt == "sav" else f"/admin/rounds/{rid}/export.{fmt}"
            page = client.get(url)
            assert page.status_code == 200 and page.is_streamed
            assert page.mimetype == exports.MIME[fmt]
            _same_file(fmt, labels, page.get_data(), before, tmp_path)
    finally:
        exports.CHUNK = 5_000
    assert client.get(f"/admin/rounds/{rid}/export.csv").headers["Content-Disposition"] == \
        f"attachment; filename=round{rid}_responses.csv"
    assert client.get(f"/admin/rounds/{rid}/answers.csv").headers["Content-Disposition"] == \
        "attachment; filename=2026_.csv; filename*=UTF-8''2026%E5%B9%B4%E7%A4%BE%E4%BC%9A%E8%AE%A4%E5%8F%AF%E5%BA%A6" \
        "%E8%B0%83%E6%9F%A5_%E5%9B%9E%E7%AD%94.csv"


def test_a_round_without_responses_exports_its_header_as_before(app):
    with app.app_context():
        rnd = make_round("110101")
        for flags in (True, False):
            pd.testing.assert_frame_equal(exports.responses_frame(rnd, catalogue(), flags=flags),
                                          old.responses_frame(rnd, catalogue(), flags=flags))
        assert exports.export_bytes(rnd, catalogue(), "csv") == old.export_bytes(rnd, catalogue(), "csv")
        assert exports.export_bytes(rnd, catalogue(), "csv", "zh") == _old_file(rnd, "csv", "zh")
        new, before = exports.export_bytes(rnd, catalogue(), "xlsx"), old.export_bytes(rnd, catalogue(), "xlsx")
        assert _cells(new, "responses") == _cells(before, "responses")


def test_rows_beyond_a_sheet_go_on_to_the_next_sheet_with_the_header(app, tmp_path):
    rid = _mixed_round(app)
    with app.app_context():
        rnd = db.session.get(SurveyRound, rid)
        table = labelled_table(rnd, catalogue())
        path = tmp_path / "split.xlsx"
        exports.write_xlsx(table, str(path), sheet="回答", rows_per_sheet=10)
        single = io.BytesIO(exports.export_bytes(rnd, catalogue(), "xlsx", "zh"))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["回答", "回答2", "回答3"]
    sheets = [list(wb[n].iter_rows(values_only=True)) for n in wb.sheetnames]
    assert [len(s) for s in sheets] == [11, 11, 6]
    whole = list(openpyxl.load_workbook(single)["回答"].iter_rows(values_only=True))
    assert sheets[0][0] == sheets[1][0] == sheets[2][0] == whole[0]
    assert [whole[0], *[r for s in sheets for r in s[1:]]] == whole
