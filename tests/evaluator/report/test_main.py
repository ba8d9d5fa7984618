"""python -m evaluator.report: re-render from a stored report.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evaluator.report.__main__ import main

ROOT = Path(__file__).resolve().parents[3]


def test_rerender_from_json(sample, tmp_path, capsys):
    src = tmp_path / "in.json"
    sample["items"][4]["rectification"] = {"measures": "新建运动场", "deadline": "2026年8月", "department": "建设局"}
    src.write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
    assert main([str(src), "--out", str(tmp_path / "out")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    assert "新建运动场" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_bad_input_exits_2_with_chinese_message(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"verdict": "recognized",\n "items": [}', encoding="utf-8")
    assert main([str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"文件 {bad}" in err and "第 2 行" in err
    assert not (tmp_path / "out").exists()
    other = tmp_path / "other.json"
    other.write_text("[1, 2]", encoding="utf-8")
    assert main([str(other), "--out", str(tmp_path / "out")]) == 2
    assert "不是评估结果文件" in capsys.readouterr().err


def test_module_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "evaluator.report", str(tmp_path / "none.json"), "--out",
                           str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "文件不存在" in done.stderr
