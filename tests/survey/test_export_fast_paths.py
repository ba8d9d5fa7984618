"""The export's fast paths (issue 12 item 3) against the code they short-cut: quality flags per
row against the estimator's coding and filters, column-wise neutralising against
``neutralise_row`` per row, the CSV writer against the row-by-row writer it replaced; the
command's start without the pages' libraries; the .sav refusal above EXPORT_SAV_MAX_ROWS."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evaluator.cells import neutralise_row
from evaluator.errors import InputError
from survey.db import db
from survey.instruments import catalogue
from survey.models import Response, SurveyRound
from survey.services import ServiceError, exports
from survey.services.rounds import recognition_rules
from tests.survey.helpers import link_for, login, make_round, make_user, store_answers
from tests.survey.test_cli import run

ROOT = Path(__file__).resolve().parents[2]
ITEMS = ["p01", "p02", "p03", "p04"]


def _row(group: str, school: str, duration: float, *answers) -> tuple:
    values = list(answers) + [None] * (len(ITEMS) - len(answers))
    return (group, school, 1, "2026-11-01T00:00:00+00:00", duration, "parent.v1", *values)


def _flags_both(rows: list[tuple]) -> tuple:
    rules = recognition_rules("national-2017")
    fast = exports._quality_flags(rows, ITEMS, rules, 2)
    speeder, straight = exports._estimator_flags(rows, ITEMS, rules, 2)
    return fast, (speeder.tolist(), straight.tolist())


def test_quality_flags_per_row_are_the_estimators():
    rules = recognition_rules("national-2017")
    slow, fast = rules.speeder_seconds, rules.straightline_fast_seconds
    rows = [
        _row("parent", "S01", slow - 0.1, "满意", "满意"),  # speeder
        _row("parent", "S01", slow, "满意", "满意", "满意"),  # at the limit: not a speeder; straight-liner
        _row("parent", "S01", fast - 0.1, "满意", "比较满意"),  # fast, answers differ
        _row("parent", "S01", fast, "满意", "满意"),  # not fast
        _row("parent", "S01", fast - 1, "满意"),  # one answer: below straightline_min_items
        _row("parent", "S01", fast - 1, "不了解", None, "不了解"),  # blanks between identical answers
        _row("parent", "S01", 3.0),  # nothing answered: neither flag
        _row("parent", "S01", 45.0),  # nothing answered, fast
        _row("parent", "S01", math.nan, "满意", "满意"),  # unknown duration: neither
        _row("npc_deputy", "", 5.0, "基本满意"),  # county level, no school
        _row("teacher", "S02", 600.0, "不满意", "不满意", "不满意", "不满意"),
    ]
    new, old = _flags_both(rows)
    assert new == old
    assert new == ([True, False, False, False, False, False, False, False, False, True, False],
                   [False, True, False, False, False, True, False, False, False, False, False])


@pytest.mark.parametrize("odd", [
    _row("parent", "S01", 45.0, " 满意", "满意"),  # a label with a space: the estimator strips it
    _row("parent", "S01", 45.0, "", "满意", "满意"),  # an empty string is no answer
])
def test_cells_the_estimator_reads_differently_go_to_the_estimator(odd):
    rows = [_row("parent", "S01", 45.0, "满意", "满意"), odd]
    new, old = _flags_both(rows)
    assert new == old and new[1][1] is True


@pytest.mark.parametrize("bad, message", [
    (_row("parent", "S01", 120.0, "很满意"), "无法识别的答案"),
    (_row("parent", "", 120.0, "满意"), "学校代码不能为空"),
    (_row("alien", "S01", 120.0, "满意"), "未知的调查对象组别"),
    (_row("parent", "S01", -1.0, "满意"), "作答时长不能为负数"),
])
def test_cells_the_estimator_refuses_are_refused_as_before(bad, message):
    rules = recognition_rules("national-2017")
    rows = [_row("parent", "S01", 45.0, "满意", "满意"), bad]
    with pytest.raises(InputError) as new:
        exports._quality_flags(rows, ITEMS, rules, 2)
    with pytest.raises(InputError) as old:
        exports._estimator_flags(rows, ITEMS, rules, 2)
    assert str(new.value) == str(old.value) and message in str(new.value) and "第 3 行" in str(new.value)


def test_neutralised_columns_are_neutralise_row_of_every_row():
    rows = [
        ("parent", "S01", 1, "2026-11-01T00:00:00+00:00", 12.5, "parent.v1", "满意", None, True),
        ("parent", "=HYPERLINK(1)", 2, "2026-11-01T00:00:01+00:00", -3.0, "parent.v1", "-x", "+1", False),
        ("teacher", "\tS03", 3, "@now", math.inf, "teacher.v1", "\r", ["=unhashable"], None),
    ]
    assert exports.neutralised(rows) == [tuple(neutralise_row(r)) for r in rows]
    plain = [r[:3] for r in rows[:1]] * 3
    assert exports.neutralised(plain) is plain  # nothing to change: the rows themselves
    assert exports.neutralised([]) == []


def _csv_row_by_row(table: exports.Table) -> bytes:
    """The writer before issue 12's chunked one: a row at a time, neutralise_row per row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(neutralise_row(table.columns))
    for row in table.rows:
        writer.writerow(neutralise_row(row))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


@pytest.mark.parametrize("n, per_chunk", [(0, 3), (5, 3), (6, 3), (7, 1)])
def test_csv_written_by_chunks_is_the_row_by_row_file(n, per_chunk):
    def table() -> exports.Table:
        rows = (("parent", f"=S{i}" if i % 2 else f"S{i}", i, None, i / 3, "a,b", "满意\n") for i in range(n))
        return exports.Table(["group", "school_code", "id", "x", "y", "z", "p01"], rows)

    chunks = list(exports.csv_chunks(table(), rows_per_chunk=per_chunk))
    assert b"".join(chunks) == _csv_row_by_row(table())
    assert len(chunks) == max(1, -(-n // per_chunk)) and chunks[0].startswith("\ufeff".encode())


def test_round_export_starts_without_the_pages_libraries(app, database_url, tmp_path):
    with app.app_context():
        rnd = make_round("110101")
        store_answers(link_for(rnd, "parent", "S01"), "满意")
        rid = rnd.id
    out = tmp_path / "a.csv"
    probe = ("import sys, runpy; sys.argv = ['run.py', 'round', 'export', sys.argv[1], '--out', sys.argv[2]]\n"
             "try:\n    runpy.run_path('run.py', run_name='__main__')\nexcept SystemExit as e:\n    assert not e.code\n"
             "print(sorted(m for m in ('pandas', 'scipy', 'openpyxl', 'docx', 'qrcode', 'numpy') if m in sys.modules))")
    env = dict(__import__("os").environ, DATABASE_URL=database_url, SECRET_KEY="cli-test")
    res = subprocess.run([sys.executable, "-c", probe, str(rid), str(out)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    # the quality flags need the estimator's rules (evaluator.recognition) and the integrity
    # flags their detectors; nothing of the pages (openpyxl, python-docx, qrcode)
    assert not {"openpyxl", "docx", "qrcode"} & set(eval(res.stdout.strip().splitlines()[-1]))
    assert out.read_text(encoding="utf-8-sig").count("\n") == 2


def test_sav_above_the_limit_is_refused_naming_it(app, client, database_url, tmp_path):
    with app.app_context():
        rnd = make_round("110101")
        for _ in range(3):
            store_answers(link_for(rnd, "parent", "S01"), "满意")
        rid = rnd.id
        app.config["EXPORT_SAV_MAX_ROWS"] = 2
        with pytest.raises(ServiceError) as refused:
            exports.export_bytes(db.session.get(SurveyRound, rid), catalogue(), "sav")
        assert "3 条回答" in str(refused.value) and "上限 2 条" in str(refused.value)
        assert "CSV" in str(refused.value) and "XLSX" in str(refused.value)
        app.config["EXPORT_SAV_MAX_ROWS"] = 3
        assert exports.export_bytes(db.session.get(SurveyRound, rid), catalogue(), "sav")[:4] == b"$FL2"
        app.config["EXPORT_SAV_MAX_ROWS"] = 2
        make_user("ev1", "evaluator", ("110101",))
    login(client, "ev1")
    page = client.get(f"/admin/rounds/{rid}/answers.sav")
    assert page.status_code == 422 and "上限 2 条" in page.get_data(as_text=True)

    out = tmp_path / "a.sav"
    res = run(database_url, "round", "export", str(rid), "--out", str(out))
    assert res.returncode == 0 and out.exists()  # the default limit is far above 3
    env_run = subprocess.run([sys.executable, "run.py", "round", "export", str(rid), "--out", str(tmp_path / "b.sav")],
                             cwd=ROOT, capture_output=True, text=True, timeout=120,
                             env=dict(__import__("os").environ, DATABASE_URL=database_url, SECRET_KEY="cli-test",
                                      EXPORT_SAV_MAX_ROWS="2"))
    assert env_run.returncode == 2 and "上限 2 条" in env_run.stderr and "CSV" in env_run.stderr
    assert not (tmp_path / "b.sav").exists() and not (tmp_path / "b.sav.part").exists()


@pytest.mark.parametrize("text", [
    '{"p01": "满意", "p02": null}', '{"p01" : "\\u6ee1\\u610f", "p02": 1.50, "p03": true, "p04": [1, {"a": "b"}]}',
    '{"a": 1, "a": 2}', ' {"p01": "满意"}', '{"p01": "满意"} ', '{}', '[1, 2]', '"text"', '{"p01": "\\ud800"}',
    '{"p01": "满意"}\n',
])
def test_fast_json_is_json_loads(text):
    data = text.encode()
    assert exports.fast_json(data) == json.loads(data)
    assert type(exports.fast_json(data)) is type(json.loads(data))


@pytest.mark.parametrize("text", ['{"p01": ', '{"p01": "a"} x', "", '{"p01": "a",}'])
def test_fast_json_refuses_what_json_loads_refuses(text):
    with pytest.raises(json.JSONDecodeError) as fast:
        exports.fast_json(text.encode())
    with pytest.raises(json.JSONDecodeError) as slow:
        json.loads(text.encode())
    assert str(fast.value) == str(slow.value)


def test_items_answered_read_with_the_flags_are_the_databases(app):
    """The export's columns, collected from the answers the integrity flags decode (round_integrity
    with ``Answered``), equal ``used_items`` asked of the database's JSON functions, for every last id."""
    from survey.integrity.report import Answered, round_integrity

    with app.app_context():
        rnd = make_round("110101")
        stored = [{"p01": "满意"}, {"t01": "不满意", "t02": None, "t03": "不了解"}, {"p02": None, "p03": "满意"},
                  {"zz": "基本满意", "p01": None}]  # an id of no questionnaire: no column
        for group, school in (("parent", "S01"), ("teacher", "S02"), ("parent", "S01"), ("npc_deputy", None)):
            store_answers(link_for(rnd, group, school), "满意")
        responses = db.session.query(Response).filter_by(round_id=rnd.id).order_by(Response.id).all()
        for response, answers in zip(responses, stored, strict=True):
            response.answers = answers
        db.session.commit()
        ids = [r.id for r in responses]
        seen = []
        for last in ids:
            answered = Answered(last)
            round_integrity(rnd, answered)
            columns = [i for i in exports.item_order(catalogue()) if i in answered.items]
            assert columns == exports.used_items(rnd, catalogue(), last)
            seen.append(columns)
        assert seen[0] == ["p01"] and "t02" not in seen[-1] and "p02" not in seen[-1] and "p03" in seen[-1]


def test_number_columns_are_not_looked_at_and_change_nothing():
    rows = [("=a", 1, 2.5, "-b"), ("x", 2, -3.0, "y")]
    assert exports.neutralised(rows, (1, 2)) == exports.neutralised(rows) == [tuple(neutralise_row(r)) for r in rows]


def test_rows_spooled_link_by_link_come_back_in_id_order(app, monkeypatch):
    """The export with flags reads the round once, link by link, into the spool (exports._Spool)
    and gives the rows back in id order: with blocks of two rows and ids that follow neither the
    links nor the time (the planted round, inserted shuffled, plus answers to the catalogue's
    items stored link after link in turn), the file and the frame are the reference's."""
    from tests.survey import exports_reference as old
    from tests.survey.test_integrity_stream import load_planted

    with app.app_context():
        rid = load_planted(3)
        rnd = db.session.get(SurveyRound, rid)
        labels = ("满意", "比较满意", "不满意")
        for i in range(12):
            group, school = (("parent", "S01"), ("teacher", "S02"), ("student", "S01"), ("npc_deputy", None))[i % 4]
            store_answers(link_for(rnd, group, school), labels[i % 3], duration=20.0 + 10 * i)
        monkeypatch.setattr(exports, "SPOOL_ROWS", 1)  # two rows per block
        new = exports.export_bytes(rnd, catalogue(), "csv")
        assert new == old.export_bytes(rnd, catalogue(), "csv")
        pd.testing.assert_frame_equal(exports.responses_frame(rnd, catalogue()), old.responses_frame(rnd, catalogue()))
        lines = new.decode("utf-8-sig").splitlines()
        ids = [int(line.split(",")[2]) for line in lines[1:]]
        assert ids == sorted(ids) and len(ids) == db.session.query(Response).filter_by(round_id=rid).count()
        assert {"p01", "t01", "s01"} <= set(lines[0].split(","))


def test_the_spool_is_closed_when_the_rows_are_read_or_dropped(app, monkeypatch):
    spools = []

    class Watched(exports._Spool):
        def __init__(self, *args) -> None:
            super().__init__(*args)
            spools.append(self)

    monkeypatch.setattr(exports, "_Spool", Watched)
    with app.app_context():
        rnd = make_round("110101")
        for _ in range(3):
            store_answers(link_for(rnd, "parent", "S01"), "满意")
        table = exports.machine_table(rnd, catalogue())
        assert len(list(table.rows)) == 3 and spools[0].file.closed
        table = exports.machine_table(rnd, catalogue())
        next(table.rows)
        assert not spools[1].file.closed
        table.rows.close()  # a download the client left
        assert spools[1].file.closed
