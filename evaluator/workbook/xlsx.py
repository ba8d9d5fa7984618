"""Streaming XLSX reader with hard limits: every uploaded workbook, roster and responses file.

A 32 KB workbook can declare ``<row r="200000000">``, a cell in column ZZZZZZ, or 200 MB of
``<row/>`` that compress to a few hundred kilobytes; reading such a sheet whole (ElementTree,
openpyxl) grows a worker to gigabytes. This reader parses each part as a stream (no DTD, no
entities): worksheets and shared strings with expat callbacks that keep only the values
(``evaluator.workbook.sheetxml``), the small workbook and relationship parts with defusedxml's
``iterparse``, dropping every element as soon as it has been read; it refuses the file with a
Chinese message naming the sheet when a limit is passed:

- rows per sheet (including the ``r`` a row claims), columns per row,
- uncompressed bytes actually read from the ZIP (declared sizes may be falsified),
- seconds spent reading, and elements inside one cell.

Limits come from ``Limits`` (defaults below, our own choice: generous for a county's data)
or the environment (``XLSX_MAX_ROWS``, ``XLSX_MAX_COLUMNS``, ``XLSX_MAX_UNCOMPRESSED_MB``,
``XLSX_MAX_SECONDS``). A damaged ZIP (bad CRC, truncated or falsified sizes, encryption,
unknown compression) or truncated XML is an ``InputError`` too, never a traceback.

Values are those Excel stores: shared and inline strings as ``str``, numbers as ``int`` or
``float``, booleans as ``bool``, formula results as stored, errors as their text.
"""

from __future__ import annotations

import io
import os
import posixpath
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from evaluator.errors import InputError
from evaluator.workbook.sheetxml import MAX_CELL_ELEMENTS, shared_strings, sheet_rows

_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_REL_ID_STRICT = "{http://purl.oclc.org/ooxml/officeDocument/relationships}id"


@dataclass(frozen=True)
class Limits:
    """Hard limits for one workbook (defaults: our own, a county's data is far below them)."""

    max_rows: int = 100_000
    max_columns: int = 1_024
    max_uncompressed: int = 48 * 1024 * 1024  # bytes of XML actually read, all parts together
    max_seconds: float = 30.0

    @classmethod
    def from_environment(cls) -> Limits:
        env = os.environ
        d = cls()
        return cls(
            max_rows=int(env.get("XLSX_MAX_ROWS") or d.max_rows),
            max_columns=int(env.get("XLSX_MAX_COLUMNS") or d.max_columns),
            max_uncompressed=int(float(env.get("XLSX_MAX_UNCOMPRESSED_MB") or 0) * 1024 * 1024)
            or d.max_uncompressed,
            max_seconds=float(env.get("XLSX_MAX_SECONDS") or d.max_seconds),
        )


class _Budget:
    """Bytes and time spent on one workbook; raises ``InputError`` naming the part's sheet."""

    def __init__(self, limits: Limits, file: str) -> None:
        self.limits, self.file = limits, file
        self.read = 0
        self.deadline = time.monotonic() + limits.max_seconds
        self.sheet: str | None = None

    def refuse(self, what: str) -> InputError:
        return InputError(f"{what}，已停止读取。请删除多余的空行、空列或内容后重新上传", file=self.file,
                          sheet=self.sheet)

    def charge(self, n: int) -> None:
        self.read += n
        if self.read > self.limits.max_uncompressed:
            mb = self.limits.max_uncompressed // (1024 * 1024)
            raise self.refuse(f"工作簿解压后超过 {mb} MB")
        self.tick()

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise self.refuse(f"读取超过 {self.limits.max_seconds:g} 秒")


class _Metered(io.RawIOBase):
    """A ZIP member read through the budget."""

    def __init__(self, raw, budget: _Budget) -> None:
        self.raw, self.budget = raw, budget

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        data = self.raw.read(min(size, 1024 * 1024))
        self.budget.charge(len(data))
        return data

    def readinto(self, b) -> int:
        data = self.raw.read(min(len(b), 64 * 1024))
        self.budget.charge(len(data))
        b[: len(data)] = data
        return len(data)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _elements(stream, budget: _Budget, keep: str) -> Iterable[tuple[Any, list[Any]]]:
    """``(element, stack)`` at the end of each ``keep`` element (its subtree intact) and of
    every element outside one; everything already read is dropped from the tree, so memory
    stays bounded by one cell, whatever the part contains."""
    stack: list[Any] = []
    inside = 0  # elements seen inside the current ``keep`` element
    for event, elem in iterparse(stream, events=("start", "end"), forbid_dtd=True):
        if event == "start":
            stack.append(elem)
            if inside:
                inside += 1
                if inside > MAX_CELL_ELEMENTS:
                    raise budget.refuse(f"一个单元格中的内容元素超过 {MAX_CELL_ELEMENTS} 个")
            elif _local(elem.tag) == keep:
                inside = 1
            continue
        stack.pop()
        name = _local(elem.tag)
        if inside and name != keep:
            continue  # part of the cell being read: kept until the cell ends
        inside = 0
        yield elem, stack
        if stack:
            del stack[-1][-1]  # the element just ended is its parent's last child


def _sheet_rows(zf: zipfile.ZipFile, part: str, shared: list[str], budget: _Budget) -> list[tuple[Any, ...]]:
    def unreadable(what: str) -> InputError:
        return InputError(what, file=budget.file, sheet=budget.sheet)

    with zf.open(part) as raw:
        return sheet_rows(_Metered(raw, budget), shared, max_rows=budget.limits.max_rows,
                          max_columns=budget.limits.max_columns, refuse=budget.refuse, unreadable=unreadable,
                          tick=budget.tick)


class XlsxFile:
    """An open workbook: ``sheet_names`` in workbook order, ``rows(name)`` reads one sheet."""

    def __init__(self, source: str | Path | bytes, file: str, limits: Limits | None = None) -> None:
        self.file = file
        self.budget = _Budget(limits or Limits.from_environment(), file)
        self._zf: zipfile.ZipFile | None = None
        self._parts: dict[str, str] = {}
        self._shared: list[str] | None = None
        with self._guard():
            self._zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
            for info in self._zf.infolist():
                if info.flag_bits & 0x1:
                    raise RuntimeError("encrypted")
            self._parts = self._sheet_parts()

    def __enter__(self) -> XlsxFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._zf is not None:
            self._zf.close()
            self._zf = None

    @property
    def sheet_names(self) -> list[str]:
        return list(self._parts)

    def rows(self, name: str) -> list[tuple[Any, ...]]:
        assert self._zf is not None
        self.budget.sheet = name
        with self._guard():
            if self._shared is None:
                self._shared = self._read_shared()
            return _sheet_rows(self._zf, self._parts[name], self._shared, self.budget)

    def _guard(self):
        return _Guard(self)

    def _xml(self, part: str) -> list[Any]:
        """Small parts (workbook, relationships): their top-level children's attributes."""
        assert self._zf is not None
        out: list[Any] = []
        with self._zf.open(part) as raw:
            for elem, _stack in _elements(io.BufferedReader(_Metered(raw, self.budget)), self.budget, "\0"):
                if len(out) > 10_000:
                    raise self.budget.refuse("工作表数量过多")
                out.append((_local(elem.tag), dict(elem.attrib)))
        return out

    def _sheet_parts(self) -> dict[str, str]:
        rels = {a.get("Id"): a.get("Target") for tag, a in self._xml("xl/_rels/workbook.xml.rels")
                if tag == "Relationship"}
        parts: dict[str, str] = {}
        for tag, a in self._xml("xl/workbook.xml"):
            if tag != "sheet":
                continue
            target = str(rels[a.get(_REL_ID) or a.get(_REL_ID_STRICT)])
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            parts[str(a.get("name"))] = part
        return parts

    def _read_shared(self) -> list[str]:
        assert self._zf is not None
        if "xl/sharedStrings.xml" not in self._zf.namelist():
            return []
        sheet, self.budget.sheet = self.budget.sheet, None
        try:
            with self._zf.open("xl/sharedStrings.xml") as raw:
                return shared_strings(_Metered(raw, self.budget), self.budget.refuse, self.budget.tick)
        finally:
            self.budget.sheet = sheet


class _Guard:
    """Turns whatever a damaged ZIP or XML raises into one Chinese ``InputError``."""

    def __init__(self, book: XlsxFile) -> None:
        self.book = book

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or isinstance(exc, InputError):
            return False
        if isinstance(exc, zipfile.BadZipFile | zipfile.LargeZipFile | RuntimeError | NotImplementedError
                      | EOFError | zlib.error | OSError | KeyError | ValueError | TypeError | ParseError | ExpatError
                      | DefusedXmlException):
            self.book.close()
            detail = "文件已加密" if "encrypt" in str(exc).lower() else "文件损坏或不是 .xlsx 格式"
            raise InputError(f"无法作为 Excel（.xlsx）文件打开（{detail}），请确认文件未损坏、未加密且不是 .xls 旧格式",
                             file=self.book.file,
                             sheet=self.book.budget.sheet) from None
        return False


def read_sheets(source: str | Path | bytes, file: str, *, limits: Limits | None = None,
                choose: Callable[[list[str]], list[str]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of the sheets ``choose(sheet names)`` picks (default: all), in workbook order."""
    with XlsxFile(source, file, limits) as book:
        names = book.sheet_names
        if not names:
            raise InputError("工作簿中没有工作表", file=file)
        wanted = choose(names) if choose else names
        return {n: book.rows(n) for n in wanted}
