"""The county data workbook (docs/interfaces.md §2), one module per job.

- ``schema``: sheets, columns, county keys, Chinese names (``evaluator.fields`` and the
  scoring code read it);
- ``xlsx``: the streaming XLSX reader with the size / zip-bomb limits of every upload;
- ``coerce``: what an empty cell, a number, 是/否 or a header means (one home);
- ``read`` + ``validate``: a workbook file or CSV folder → a validated ``Workbook``;
- ``write``: the blank template and filled workbooks; ``demo``: the synthetic demo county.

The public API below is importable from the package; it is loaded on first use, so
importing ``evaluator.workbook.schema`` or ``.coerce`` (as the scoring code does) does
not load the reader, the writer or openpyxl.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluator.workbook.demo import demo_frames, demo_workbook
    from evaluator.workbook.read import read_workbook
    from evaluator.workbook.schema import Workbook
    from evaluator.workbook.write import write_template, write_workbook

_PUBLIC = {"Workbook": "schema", "read_workbook": "read", "write_workbook": "write", "write_template": "write",
           "demo_frames": "demo", "demo_workbook": "demo"}
__all__ = ["Workbook", "demo_frames", "demo_workbook", "read_workbook", "write_template", "write_workbook"]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'evaluator.workbook' has no attribute {name!r}")
    return getattr(import_module(f"evaluator.workbook.{module}"), name)
