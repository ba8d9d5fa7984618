"""Spreadsheet cells that cannot run as formulas.

Every CSV and XLSX the product writes passes user-supplied text through :func:`neutralise`
(OWASP's rule for CSV injection: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is prefixed with a single quote, so a spreadsheet shows it as text).
Numbers are left alone: only strings can carry a formula.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` unchanged unless it is a string a spreadsheet would evaluate; then ``'`` + value."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_row(values) -> list[Any]:
    """:func:`neutralise` applied to every cell of a row."""
    return [neutralise(v) for v in values]
