"""`python run.py recognition` (CONTRACTS.md §1): the contract object on stdout, exit 2 on bad input."""

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
