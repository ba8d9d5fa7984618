"""Errors raised on bad input.

Every message is Simplified Chinese and names where the problem is: the file,
the sheet, the row (as the user sees it in Excel: the header is row 1) and the
column, or the rule-set field. The command line prints ``str(error)`` and exits 2.
"""

from __future__ import annotations


def where(
    file: str | None = None,
    sheet: str | None = None,
    row: int | None = None,
    column: str | None = None,
    field: str | None = None,
) -> str:
    """Format a location as users read it, e.g. ``文件 a.xlsx，工作表 schools，第 3 行，列 students_primary``."""
    parts: list[str] = []
    if file:
        parts.append(f"文件 {file}")
    if sheet:
        parts.append(f"工作表 {sheet}")
    if row is not None:
        parts.append(f"第 {row} 行")
    if column:
        parts.append(f"列 {column}")
    if field:
        parts.append(f"字段 {field}")
    return "，".join(parts)


class EvaluatorError(Exception):
    """Base class of the evaluator's own errors."""


class InputError(EvaluatorError):
    """Bad user input: a data workbook, a responses file, a rule-set or an option.

    ``str(error)`` is the complete Chinese message, location first.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        field: str | None = None,
    ) -> None:
        self.file, self.sheet, self.row, self.column, self.field = file, sheet, row, column, field
        self.reason = message
        loc = where(file, sheet, row, column, field)
        super().__init__(f"{loc}：{message}" if loc else message)


class InstrumentError(InputError):
    """A questionnaire or rule-set file in instruments/ is invalid."""
