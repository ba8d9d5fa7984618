"""`python run.py recognition` (docs/interfaces.md §1): the contract object on stdout, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from survey.commands import main

DATA = Path(__file__).resolve().parent / "data"
CONTRACT = {"score", "ci", "se", "df", "n_kept", "n_dropped", "status", "borderline", "groups", "dont_know_as_no"}
SCHEMA_EXT = {"threshold", "deff", "unfiltered", "dropped", "items", "schools", "min_cell"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["recognition", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_the_contract_object_matching_r(capsys):
    code, out, err = run(capsys, "--responses", str(DATA / "county_a_responses.csv"),
                         "--schools", str(DATA / "county_a_schools.csv"))
    assert code == 0, err
    rec = json.loads(out)
    assert CONTRACT | SCHEMA_EXT <= set(rec)
    assert set(rec["deff"]) == {"cluster", "kish", "total"}
    ref = pd.read_csv(DATA / "county_a_r.csv", keep_default_na=False)
    r_score = float(ref[(ref.what == "county") & (ref.stat == "score")].value.iloc[0])
    assert rec["score"] == pytest.approx(r_score, rel=1e-9)
    assert {"score", "n", "se", "ci", "weight", "dont_know_rate"} <= set(rec["groups"]["parent"])


def test_weights_what_if_and_missing_groups(capsys):
    args = ["--responses", str(DATA / "county_b_responses.csv"), "--schools", str(DATA / "county_b_schools.csv")]
    code, out, err = run(capsys, *args, "--weights", "parent=0.5,student=0.3,教师=0.2")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["groups"]["parent"]["weight"] == 0.5 and rec["groups"]["public"]["weight"] == 0.0
    # the national weights name 人大代表 etc., which county_b lacks: an error, not a renormalisation
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and "人大代表" in err and "national-2017.yaml" in err


@pytest.mark.parametrize(("weights", "needle"), [("parent=0.5,student=0.4", "之和应为 1"),
                                                 ("parent=1.2,student=-0.2", "负数"),
                                                 ("parent=0.5,martian=0.5", "martian"),
                                                 ("parent", "parent")])
def test_bad_weights_exit_2_naming_the_option(capsys, weights, needle):
    code, out, err = run(capsys, "--responses", str(DATA / "county_b_responses.csv"), "--weights", weights)
    assert code == 2 and out == ""
    assert "--weights" in err and needle in err


def test_without_schools_warns_equal_weights(capsys):
    code, out, err = run(capsys, "--responses", str(DATA / "county_b_responses.csv"),
                         "--weights", "parent=0.5,student=0.3,teacher=0.2")
    assert code == 0, err
    assert any("学校名册" in w for w in json.loads(out)["warnings"])


def test_missing_file_and_bad_row(capsys, tmp_path):
    code, _, err = run(capsys, "--responses", str(tmp_path / "none.csv"))
    assert code == 2 and "--responses" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("group,school_code,s01\nparent,S01,满意\nparent,S01,好\n", encoding="utf-8")
    code, out, err = run(capsys, "--responses", str(bad), "--weights", "parent=1")
    assert code == 2 and out == "" and "第 3 行" in err and "列 s01" in err


def test_round_from_the_database_equals_its_export(tmp_path):
    """`recognition --round` reads the round's responses and roster from the database; the
    same figures come from `round export` + the demo workbook as --schools."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'rec.db'}", SECRET_KEY="rec-test")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "run.py", *args], cwd=root, env=env, capture_output=True,
                              text=True, timeout=300)

    assert cli("demo").returncode == 0
    from_db = cli("recognition", "--round", "1")
    assert from_db.returncode == 0, from_db.stderr
    export = tmp_path / "answers.csv"
    assert cli("round", "export", "1", "--out", str(export)).returncode == 0
    workbook = root / "instance" / "demo" / "演示县数据.xlsx"
    from_file = cli("recognition", "--responses", str(export), "--schools", str(workbook))
    assert from_file.returncode == 0, from_file.stderr
    a, b = json.loads(from_db.stdout), json.loads(from_file.stdout)
    assert a["score"] == pytest.approx(b["score"], rel=1e-12) and a["se"] == pytest.approx(b["se"], rel=1e-12)
    assert a["n_kept"] + a["n_dropped"] == len(pd.read_csv(export))
    missing = cli("recognition", "--round", "99")
    assert missing.returncode == 2 and "99" in missing.stderr and missing.stdout == ""
