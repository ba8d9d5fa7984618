"""Hostile XLSX and ZIP files for the upload tests (built from the demo workbook)."""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Iterable
from pathlib import Path

from evaluator.workbook import demo_workbook

HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
TAIL = b"</sheetData></worksheet>"


def sheet_part(path: Path, sheet: str) -> str:
    with zipfile.ZipFile(path) as zf:
        wb = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet[^>]*name="{sheet}"[^>]*r:id="([^"]+)"', wb).group(1)
    target = re.search(rf'<Relationship[^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels)
    if target is None:
        target = re.search(rf'<Relationship[^>]*Target="([^"]+)"[^>]*Id="{rid}"', rels)
    t = target.group(1)
    return t.lstrip("/") if t.startswith("/") else "xl/" + t


def replace_part(src: Path, out: Path, part: str, chunks: Iterable[bytes]) -> Path:
    """``src`` with ``part`` replaced by the concatenated ``chunks`` (streamed, deflated)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for info in zin.infolist():
            if info.filename == part:
                new = zipfile.ZipInfo(part)
                new.compress_type = zipfile.ZIP_DEFLATED
                with zout.open(new, "w", force_zip64=True) as fh:
                    for c in chunks:
                        fh.write(c)
            else:
                zout.writestr(info, zin.read(info), compress_type=zipfile.ZIP_DEFLATED)
    return out


def with_schools_sheet(tmp: Path, name: str, chunks: Iterable[bytes]) -> Path:
    base = demo_workbook(tmp / "base.xlsx")
    return replace_part(base, tmp / name, sheet_part(base, "schools"), chunks)


def huge_row_number(tmp: Path) -> Path:
    return with_schools_sheet(tmp, "row.xlsx", [HEAD, b'<row r="200000000"><c r="A200000000"><v>1</v></c></row>',
                                                 TAIL])


def far_column(tmp: Path) -> Path:
    return with_schools_sheet(tmp, "column.xlsx", [HEAD, b'<row r="1"><c r="ZZZZZZ1"><v>1</v></c></row>', TAIL])


def empty_rows(tmp: Path, megabytes: int = 200) -> Path:
    chunk = b"<row/>" * (1024 * 1024 // 6)
    return with_schools_sheet(tmp, "rows.xlsx", [HEAD, *([chunk] * megabytes), TAIL])


def cells_without_refs(tmp: Path, megabytes: int = 60) -> Path:
    chunk = b"<c/>" * (1024 * 1024 // 4)
    return with_schools_sheet(tmp, "cells.xlsx", [HEAD, b"<row>", *([chunk] * megabytes), b"</row>", TAIL])


def giant_cell(tmp: Path, megabytes: int = 100) -> Path:
    chunk = b"a" * (1024 * 1024)
    return with_schools_sheet(tmp, "cell.xlsx", [HEAD, b'<row><c t="inlineStr"><is><t>', *([chunk] * megabytes),
                                                  b"</t></is></c></row>", TAIL])


def entity_expansion(tmp: Path) -> Path:
    dtd = (b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
           + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 10) for i in range(8))
           + b"]>")
    return with_schools_sheet(tmp, "laughs.xlsx", [dtd, HEAD[HEAD.index(b"<worksheet"):],
                                                    b'<row><c t="inlineStr"><is><t>&i;</t></is></c></row>', TAIL])


def truncated_sheet(tmp: Path) -> Path:
    return with_schools_sheet(tmp, "truncated.xlsx", [HEAD, b'<row r="1"><c r="A1" t="inlineStr"><is><t>sch'])


def _local_header_offsets(data: bytes) -> list[int]:
    return [m.start() for m in re.finditer(rb"PK\x03\x04", data)]


def bad_crc(data: bytes) -> bytes:
    """Every member's CRC (local header and central directory) changed."""
    buf = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        for m in re.finditer(re.escape(sig), bytes(buf)):
            pos = m.start() + off
            buf[pos:pos + 4] = struct.pack("<I", struct.unpack("<I", buf[pos:pos + 4])[0] ^ 0xDEADBEEF)
    return bytes(buf)


def falsified_size(data: bytes) -> bytes:
    """Every member claims an uncompressed size of 10 bytes."""
    buf = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        for m in re.finditer(re.escape(sig), bytes(buf)):
            pos = m.start() + off
            if struct.unpack("<I", buf[pos:pos + 4])[0] not in (0, 0xFFFFFFFF):
                buf[pos:pos + 4] = struct.pack("<I", 10)
    return bytes(buf)


def encrypted_flag(data: bytes) -> bytes:
    buf = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for m in re.finditer(re.escape(sig), bytes(buf)):
            pos = m.start() + off
            buf[pos:pos + 2] = struct.pack("<H", struct.unpack("<H", buf[pos:pos + 2])[0] | 1)
    return bytes(buf)


def csv_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()
