"""Report writers: report.json, report.html, report.docx, report.xlsx.

Writers consume a typed ``Report`` (evaluator/report/model.py: ``Report.from_dict`` of the
report dict, docs/interfaces.md §4 plus the extension keys listed in REPORT_SCHEMA.md beside this
file; each writer also accepts the dict) and never recompute anything, so a stored
evaluation can be re-rendered from its JSON alone.

Public API::

    write_reports(report, out_dir) -> [report.json, report.html, report.docx, report.xlsx]
    render_html(report) -> str
    write_docx(report, path)
    write_xlsx(report, path)
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluator.report.model import Report, as_report

__all__ = ["Report", "render_html", "write_docx", "write_reports", "write_xlsx", "write_json", "write_html"]

# The writers load python-docx and openpyxl: imported on first use, so that the evaluation
# (evaluator.verdict → evaluator.report.model) does not pay for them (PEP 562).
_WRITERS = {"render_html": "evaluator.report.html", "write_docx": "evaluator.report.docx",
            "write_xlsx": "evaluator.report.xlsx", "build_view": "evaluator.report.view"}


def __getattr__(name: str) -> Any:
    if name in _WRITERS:
        return getattr(importlib.import_module(_WRITERS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _atomic_write_text(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def write_json(report: Report | Mapping[str, Any], path: Path | str) -> Path:
    """Write the report dict as UTF-8 JSON (Chinese kept readable, indent 2).

    NaN or infinity raise ValueError: they are not JSON, and the contract writes missing as null.
    """
    data = report.to_dict() if isinstance(report, Report) else report
    text = json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False, default=_plain)
    return _atomic_write_text(Path(path), text)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays (``item``/``tolist``) as plain Python; anything else is an error."""
    for attr in ("item", "tolist"):
        if callable(getattr(value, attr, None)):
            return getattr(value, attr)()
    raise TypeError(f"报告中含有无法写入 JSON 的值：{type(value).__name__}")


def write_html(report: Report | Mapping[str, Any], path: Path | str) -> Path:
    """Write report.html (see :func:`render_html`)."""
    from evaluator.report.html import render_html

    return _atomic_write_text(Path(path), render_html(report))


def write_reports(report: Report | Mapping[str, Any], out_dir: Path | str) -> list[Path]:
    """Write report.json, report.html, report.docx and report.xlsx into ``out_dir``.

    The directory is created if needed. Each file is written to a ``.part`` sibling and renamed
    into place, so a failure never leaves a half-written report. Returns the four paths in
    that order.
    """
    from evaluator.report.docx import write_docx
    from evaluator.report.view import build_view
    from evaluator.report.xlsx import write_xlsx

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    typed = as_report(report)
    view = build_view(typed)
    return [
        write_json(report, out / "report.json"),  # the dict as given, key for key
        write_html(typed, out / "report.html"),
        write_docx(typed, out / "report.docx", view),
        write_xlsx(typed, out / "report.xlsx", view),
    ]
