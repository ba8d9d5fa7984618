"""Cell coercion: one home for what an empty cell, a number, 是/否 or a header means.

The reader (``evaluator.workbook.read``), the roster and roadmap readers and the scoring code
(indicators, assurance, quality, checks, rules, projection, local items) all use these
helpers instead of private copies: an empty cell is missing (None), never 0; a NaN is
missing too; a boolean is not a number.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

YES = {"是", "y", "yes", "true", "1", "有", "√", "t"}
NO = {"否", "n", "no", "false", "0", "无", "×", "f"}


def norm_header(text: Any) -> str:
    s = "" if text is None else str(text)
    s = s.replace("(", "（").replace(")", "）").replace(" ", "").replace("\u3000", "").strip()
    return s.lower()



def clean(v: Any) -> Any:
    """None for an empty cell; strings stripped."""
    if v is None:
        return None
    if v.__class__ is str:
        v = v.strip()
        return v or None
    if v.__class__ is float and v != v:
        return None
    return v


def blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())



def column_letter(index: int) -> str:
    """Excel column letter of a 0-based column index (0 → A, 26 → AA)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def parse_yesno(v: Any) -> bool | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if isinstance(v, float) and v.is_integer():
        s = str(int(v))
    if s in YES:
        return True
    if s in NO:
        return False
    raise ValueError(s)




def number(v: Any, default: float | None = None) -> float | None:
    """A value as a float for arithmetic; ``default`` when it is empty, NaN, a boolean or not a number.

    The scoring code reads validated sheets (numbers are floats, empty is NaN) and raw
    mappings (county values, data-collection forms): both go through this one function."""
    if v is None or isinstance(v, bool):
        return default
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(f) else f


def csv_rows(data: bytes) -> list[list[str]] | None:
    """Rows of a CSV file's bytes in UTF-8 (with or without BOM) or GBK/GB18030; None when
    neither decodes (each reader says so in its own words)."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        return list(csv.reader(io.StringIO(text)))
    return None
