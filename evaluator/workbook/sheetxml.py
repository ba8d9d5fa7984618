"""Cell values out of a worksheet or shared-strings part, with expat callbacks and no tree.

The reader used to build an ElementTree element for every ``<c>``, ``<v>``, ``<is>`` and
``<t>`` (defusedxml's ``iterparse``) and then walk it: ≈80% of the time of reading a
3,000-school county went there. Here expat (the C parser ElementTree itself uses) calls
three small functions per element and only the values are kept: no element objects, no
namespace resolution (names are matched on their local part, so ``x:c`` works too).

Same values and the same limits as before (``evaluator.workbook.xlsx`` applies the byte and
time budget to the stream): rows per sheet and the ``r`` a row claims, columns per row,
elements inside one cell. The XML policy is defusedxml's, set on the parser directly: a
DTD, an entity declaration or an external reference raises its ``DefusedXmlException``
(``DTDForbidden`` …), which the caller turns into the Chinese "not an .xlsx" message.

The two parsers (shared strings, sheet) repeat their few bookkeeping lines on purpose: the
handlers run once per element (≈1 M times for a 3,000-school county), and a shared helper
call there costs more than the lines it would save.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO
from xml.parsers import expat

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from evaluator.errors import InputError

MAX_CELL_ELEMENTS = 1000  # rich-text runs inside one cell: real files have a handful
_CHUNK = 256 * 1024
_DIGITS = "0123456789"


def _forbid_dtd(name, sysid, pubid, has_internal_subset) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _forbid_entity(name, is_parameter_entity, value, base, sysid, pubid, notation_name=None) -> None:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _forbid_unparsed(name, base, sysid, pubid, notation_name) -> None:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)


def _forbid_external(context, base, sysid, pubid) -> None:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _parser() -> Any:
    p = expat.ParserCreate()
    p.buffer_text = True
    p.buffer_size = _CHUNK
    p.StartDoctypeDeclHandler = _forbid_dtd
    p.EntityDeclHandler = _forbid_entity
    p.UnparsedEntityDeclHandler = _forbid_unparsed
    p.ExternalEntityRefHandler = _forbid_external
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return p


_COMMON = ("c", "v", "is", "t", "r", "rPh", "row", "f", "si")


def _names() -> dict[str, str]:
    """Element name → local part, prefilled with the usual names (a plain dict: the handlers
    look names up once per element, and an exact dict is the fastest lookup there is)."""
    return {n: n for n in _COMMON}


def _learn(names: dict[str, str], name: str) -> str:
    """Local part of a name not seen yet (``x:c`` → ``c``), memoised: a part has few distinct names."""
    local = name.rpartition(":")[2]
    if len(names) < 4096:
        names[name] = local
    return local


def _feed(p: Any, stream: BinaryIO, tick: Callable[[], None]) -> None:
    read = stream.read
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            break
        p.Parse(chunk, False)
        tick()
    p.Parse(b"", True)


def col_index(ref: str) -> int:
    """0-based column of a cell reference (``B7`` → 1); -1 without letters."""
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
            if n > 1 << 40:
                break
        else:
            break
    return n - 1


def shared_strings(stream: BinaryIO, refuse: Callable[[str], InputError], tick: Callable[[], None]) -> list[str]:
    """The ``<si>`` texts of xl/sharedStrings.xml, phonetic runs (``rPh``) left out."""
    out: list[str] = []
    names = _names()
    parts: list[str] = []
    depth = 0  # inside the current <si>: 1 = the si itself
    count = 0  # elements seen inside the current <si>
    phonetic = 0
    t_depth = 0  # depth of the <t> whose text is being kept, 0 = none

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth, count, phonetic, t_depth
        try:
            n = names[name]
        except KeyError:
            n = _learn(names, name)
        if depth:
            depth += 1
            count += 1
            if count > MAX_CELL_ELEMENTS:
                raise refuse(f"一个单元格中的内容元素超过 {MAX_CELL_ELEMENTS} 个")
            if n == "t":
                if not phonetic and not t_depth:
                    t_depth = depth
            elif n == "rPh":
                phonetic += 1
        elif n == "si":
            depth = count = 1
            parts.clear()

    def end(name: str) -> None:
        nonlocal depth, phonetic, t_depth
        if not depth:
            return
        try:
            n = names[name]
        except KeyError:
            n = _learn(names, name)
        if depth == 1:
            out.append("".join(parts))
            depth = phonetic = t_depth = 0
            return
        if depth == t_depth:
            t_depth = 0
        elif n == "rPh" and phonetic:
            phonetic -= 1
        depth -= 1

    def text(data: str) -> None:
        if t_depth and depth == t_depth:
            parts.append(data)

    p = _parser()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    _feed(p, stream, tick)
    return out


def sheet_rows(stream: BinaryIO, shared: list[str], *, max_rows: int, max_columns: int,
               refuse: Callable[[str], InputError], unreadable: Callable[[str], InputError],
               tick: Callable[[], None]) -> list[tuple[Any, ...]]:
    """Rows of a worksheet part as tuples of cell values (``None`` for an absent cell).

    Values are those Excel stores: shared and inline strings as ``str``, numbers as ``int``
    or ``float``, booleans as ``bool``, formula results as stored, errors as their text."""
    rows: list[tuple[Any, ...]] = []
    cells: dict[int, Any] = {}
    names = _names()
    columns: dict[str, int] = {}  # column letters → index, memoised
    k = 0  # position of the next cell without an ``r`` in the current row
    depth = 0  # inside the current <c>: 1 = the c itself
    count = 0  # elements seen inside the current <c>
    ref: str | None = None
    kind = "n"
    v: str | None = None  # text of the cell's last <v>
    inline: str | None = None  # text of the cell's last <is>
    keep = 0  # depth of the <v> or <t> whose text is being kept, 0 = none
    in_is = phonetic = 0
    row_r: str | None = None

    def refuse_rows() -> InputError:
        return refuse(f"行数超过 {max_rows}")

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth, count, ref, kind, v, inline, keep, in_is, phonetic, row_r
        try:
            n = names[name]
        except KeyError:
            n = _learn(names, name)
        if depth:
            depth += 1
            count += 1
            if count > MAX_CELL_ELEMENTS:
                raise refuse(f"一个单元格中的内容元素超过 {MAX_CELL_ELEMENTS} 个")
            if depth == 2:
                if n == "v":
                    v, keep = "", 2
                elif n == "is":
                    inline, in_is = "", 1
            elif in_is and not keep:
                if n == "t":
                    if not phonetic:
                        keep = depth
                elif n == "rPh":
                    phonetic += 1
        elif n == "c":
            depth = count = 1
            ref = attrs.get("r")
            kind = attrs.get("t", "n")
            v = inline = None
        elif n == "row":
            row_r = attrs.get("r")

    def end(name: str) -> None:
        nonlocal depth, k, keep, in_is, phonetic, cells
        if depth > 1:
            if depth == keep:
                keep = 0
            elif depth == 2:
                in_is = phonetic = 0
            elif in_is and phonetic and (names.get(name) or _learn(names, name)) == "rPh":
                phonetic -= 1
            depth -= 1
            return
        if depth == 1:
            depth = 0
            if ref:
                letters = ref.rstrip(_DIGITS)
                col = columns.get(letters)
                if col is None:
                    col = col_index(ref)
                    if len(columns) < 4096 and letters.isascii() and letters.isalpha() and letters.isupper():
                        columns[letters] = col
            else:
                col = k
            if col >= max_columns or col < 0:
                raise refuse(f"列数超过 {max_columns}（单元格 {ref or col + 1}）")
            try:
                if kind == "n" and v:
                    cells[col] = float(v) if ("." in v or "e" in v or "E" in v) else int(v)
                elif kind == "inlineStr" and inline is not None:
                    cells[col] = inline
                else:
                    cells[col] = _value(kind, v, inline, shared)
            except (ValueError, IndexError):
                raise unreadable(f"单元格 {ref or ''} 的值无法读取") from None
            k = col + 1
            return
        if (names.get(name) or _learn(names, name)) != "row":
            return
        if row_r is not None:
            try:
                r = int(row_r)
            except ValueError:
                raise refuse(f"行号“{row_r[:20]}”无效") from None
            if r > max_rows:
                raise refuse_rows()
            while len(rows) < r - 1:
                rows.append(())
        if len(rows) >= max_rows:
            raise refuse_rows()
        if cells:
            get = cells.get
            rows.append(tuple([get(i) for i in range(max(cells) + 1)]))
            cells = {}
        else:
            rows.append(())
        k = 0
        if len(rows) % 1000 == 0:
            tick()

    def text(data: str) -> None:
        nonlocal v, inline
        if keep and depth == keep:
            if keep == 2:
                v += data  # type: ignore[operator]
            else:
                inline += data  # type: ignore[operator]

    p = _parser()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    _feed(p, stream, tick)
    return rows


def _value(kind: str, v: str | None, inline: str | None, shared: list[str]) -> Any:
    if kind == "inlineStr":
        return inline
    if not v:
        return None
    s = v
    if kind == "s":
        return shared[int(s)]
    if kind in ("str", "e"):
        return s
    if kind == "b":
        return s == "1"
    return float(s) if ("." in s or "e" in s or "E" in s) else int(s)
