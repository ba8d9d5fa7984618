"""Re-render the reports from a stored report.json.

    python -m evaluator.report REPORT.json --out DIR

Useful after editing ``items[].rectification`` in the JSON by hand: the writers never
recompute, so the JSON alone is enough. Exit 0 on success; on bad input exit 2 with a Chinese
message on stderr naming the file (and line/column of a JSON syntax error).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evaluator.errors import InputError
from evaluator.report import Report, write_reports


def load_report(path: Path) -> dict:
    """Read a report dict from JSON; InputError naming the file on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("文件不存在", file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("不是 UTF-8 编码的文本文件", file=str(path)) from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}", file=str(path)) from None
    if not isinstance(report, dict) or "verdict" not in report or not isinstance(report.get("items"), list):
        raise InputError("不是评估结果文件：缺少 verdict 或 items", file=str(path))
    try:
        Report.from_dict(report)  # a newer schema_version than this software knows is refused here
    except ValueError as exc:
        raise InputError(str(exc), file=str(path), field="schema_version") from None
    return report


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: render report.json/html/docx/xlsx into --out."""
    parser = argparse.ArgumentParser(prog="python -m evaluator.report", description="由 report.json 重新生成各格式报告")
    parser.add_argument("report", type=Path, help="评估结果文件 report.json")
    parser.add_argument("--out", type=Path, required=True, help="输出目录")
    args = parser.parse_args(argv)
    try:
        report = load_report(args.report)
    except InputError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for path in write_reports(report, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
