"""Responses of a round as a file (docs/interfaces.md §1 `round export`, §3 plus the export columns
of §5), streamed: the one service behind the command and the staff pages' downloads.

Rows come from the database in chunks (on PostgreSQL a server-side cursor of the driver on
the session's connection, elsewhere ``yield_per``) and are written as they come: CSV a chunk
of rows at a time (``csv_chunks``; ``neutralised`` looks at each column's distinct values, not
at every cell), XLSX through openpyxl's write-only mode (rows go to a temporary file, never
into a workbook in memory), so memory does not grow with the round. What cannot stream:

- the integrity flags need every response before the first row can be written
  (``survey.integrity.report.round_signals`` feeds the detectors of ``evaluator.integrity``
  link by link): the round is read once, link by link, for both; the rows go to a temporary
  file (``_Spool``) while the signals accumulate, and come back in id order with their flags
  (``response id -> kinds``, kept for the flagged ones only) once the report is made, so
  flags and rows describe the same responses (one statement's snapshot); the columns (the
  items answered) are collected on the same reading;
- the SPSS file (``survey.services.exports_zh.write_sav``: pyreadstat writes one frame), refused
  above ``EXPORT_SAV_MAX_ROWS`` responses.

The quality flags are row-local (docs/rules.md §6.1), so they are computed chunk by chunk:
per row in Python when every cell is one the estimator takes as it is, else by the estimator's
own coding and filters. ``responses_frame`` builds the same rows as one pandas frame for the
callers that need one (integrity report, seal, recognition).

pandas, openpyxl and the estimator are imported only where they are used, so the command
(`round export`, an app without pages: ``create_app(pages=False)``) starts without them.
"""

from __future__ import annotations

import csv
import io
import json
import json.scanner
import os
import pickle
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import count, islice
from operator import itemgetter
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import func, select, text

from evaluator.cells import FORMULA_STARTS, neutralise, neutralise_row
from evaluator.questionnaire import Catalogue
from survey.db import db
from survey.models import Response, School, SurveyRound

if TYPE_CHECKING:
    import pandas as pd

# docs/interfaces.md §3 and §5: the columns before the items, and the flag columns after them
# (the Chinese export names them in survey.services.exports_zh.HEADERS).
META_COLUMNS = ("group", "school_code", "response_id", "submitted_at", "duration_seconds", "instrument")
FLAG_COLUMNS = ("flag_speeder", "flag_straightline_fast", "integrity_flags")

EXPORT_FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MIME = {**EXPORT_FORMATS, "sav": "application/x-spss-sav"}

CHUNK = 5_000  # responses per database round trip and per quality-flag batch
XLSX_ROWS = 1_048_575  # data rows per sheet: Excel's 1,048,576 rows less the header
FILE_CHUNK = 1 << 16
SPOOL_ROWS = 8_192  # rows held in memory while the spooled rows are put in id order (all links together)
# machine columns never holding text: response_id (an int), duration_seconds (a float)
SAFE_COLUMNS = (META_COLUMNS.index("response_id"), META_COLUMNS.index("duration_seconds"))
_CURSORS = count(1)  # names of the server-side cursors (unique on a connection)


@dataclass
class Table:
    """Column names and a one-shot iterator of rows (tuples in column order, raw values)."""

    columns: list[str]
    rows: Iterator[tuple]
    numbers: tuple[int, ...] = ()  # columns holding numbers or None only, never text (nothing to neutralise)


def item_order(catalogue: Catalogue) -> list[str]:
    """Every item id of the catalogue, first appearance first."""
    ids: list[str] = []
    for q in catalogue.questionnaires:
        ids += [it.id for it in q.items if it.id not in ids]
    return ids


def used_items(rnd: SurveyRound, catalogue: Catalogue, last_id: int | None) -> list[str]:
    """The items some response of the round answered (a non-null value), in catalogue order;
    every item when the round has no response (the export's columns, docs/interfaces.md §3).
    Asked of the database's JSON functions, so no answer crosses to Python for it."""
    ids = item_order(catalogue)
    if last_id is None:
        return ids
    null = "json_typeof(e.value) <> 'null'" if db.engine.dialect.name == "postgresql" else "e.type <> 'null'"
    keys = set(db.session.scalars(text(
        f"SELECT DISTINCT e.key FROM responses r, json_each(r.answers) e WHERE r.round_id = :r AND {null}"
        " AND r.id <= :last"), {"r": rnd.id, "last": last_id}))
    return [i for i in ids if i in keys]


def _machine_rows(round_id: int, items: list[str], last_id: int, chunk: int) -> Iterator[list[tuple]]:
    """The round's responses up to ``last_id`` in id order, ``chunk`` at a time, as the
    machine columns before the flags. On PostgreSQL the rows come from a server-side cursor
    of the driver on the session's connection (the values SQLAlchemy would give, without its
    per-row result processing); elsewhere through ``yield_per``."""
    stmt = (
        select(Response.group, School.code, Response.id, Response.submitted_at, Response.duration_seconds,
               Response.instrument, Response.instrument_version, Response.answers)
        .outerjoin(School, Response.school_id == School.id)
        .where(Response.round_id == round_id, Response.id <= last_id)
        .order_by(Response.id)
    )
    instruments: dict[tuple[str, int], str] = {}

    def machine(part: Iterable[tuple]) -> list[tuple]:
        out = []
        for group, school, rid, submitted, duration, instrument, version, answers in part:
            if (ins := instruments.get((instrument, version))) is None:
                ins = instruments[instrument, version] = f"{instrument}.v{version}"
            out.append((group, school or "", rid, submitted.isoformat(timespec="seconds"), round(duration, 1), ins,
                        *map(answers.get, items)))
        return out

    conn = db.session.connection()
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        compiled = stmt.compile(dialect=conn.dialect)
        with conn.connection.driver_connection.cursor(name=f"export_{next(_CURSORS)}") as cur:
            use_fast_json(cur)
            cur.itersize = chunk
            cur.execute(str(compiled), compiled.params)
            while part := cur.fetchmany(chunk):
                yield machine(part)
        return
    for part in db.session.execute(stmt.execution_options(yield_per=chunk)).partitions():
        yield machine(part)


_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # the scanner of json.loads' default decoder


def fast_json(data: bytes) -> Any:
    """``json.loads(data)`` for a JSON object as PostgreSQL sends it (UTF-8, ``{`` first):
    the decoder's scanner called directly, without the encoding detection and whitespace
    matching around it (a third of json.loads' time on an export's answers); anything
    else (leading or trailing whitespace, another encoding, an error) goes to json.loads."""
    if data[:1] == b"{" and data[1:2] != b"\0":
        text = data.decode("utf-8", "surrogatepass")
        try:
            value, end = _SCAN(text, 0)
        except StopIteration:
            value, end = None, -1
        if end == len(text):
            return value
    return json.loads(data)


def use_fast_json(cursor: Any) -> None:
    """``fast_json`` for the json columns of one psycopg cursor."""
    from psycopg.types.json import set_json_loads

    set_json_loads(fast_json, context=cursor)


def _quality_flags(rows: list[tuple], items: list[str], rules: Any, first_row: int) -> tuple[list, list]:
    """(speeder, fast straight-liner) of a chunk, as the estimator codes and filters it
    (``_estimator_flags``, docs/rules.md §6.1), computed per row in Python when every cell
    is one the estimator would accept as it is (a scale label or no answer, a known group,
    a school for the school-linked groups, a duration ≥ 0): only the rows faster than both
    filters' limits need their answers compared. Any other chunk goes to the estimator,
    which flags it or names the bad cell exactly as before."""
    from evaluator.groups import GROUPS

    values: set = set()
    no_school: set = set()
    for row in rows:
        values.update(row[6:])
        if not row[1] or not row[1].strip():
            no_school.add(row[0])
    values.discard(None)
    plain = (values <= set(rules.scale) and all(g in GROUPS for g in {row[0] for row in rows})
             and not any(GROUPS[g].school_linked for g in no_school)
             and not any(row[4] < 0 for row in rows))
    if not plain:
        speeder, straight = _estimator_flags(rows, items, rules, first_row)
        return speeder.tolist(), straight.tolist()
    from evaluator.recognition.filters import row_flags

    pairs = [row_flags(row[4], row[6:], rules) for row in rows]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _estimator_flags(rows: list[tuple], items: list[str], rules: Any, first_row: int) -> tuple[Any, Any]:
    """(speeder, fast straight-liner) of a chunk by the estimator's own coding and filters; row
    numbers in messages count from the whole export's first data row (2)."""
    import numpy as np
    import pandas as pd

    from evaluator.recognition import encode
    from evaluator.recognition.filters import quality_flags

    coded = pd.DataFrame.from_records(
        [(r[0], r[1] or None, r[4], *r[6:]) for r in rows], columns=["group", "school_code", "duration_seconds", *items],
        index=pd.Index(np.arange(len(rows)) + first_row, name="row"))
    _, _, _, codes, _, duration = encode(coded, rules)
    flags = quality_flags((codes > 0).sum(axis=1), codes, duration, rules)
    return flags.speeder, flags.straightliner_fast


def machine_table(rnd: SurveyRound, catalogue: Catalogue, *, flags: bool = True, chunk: int | None = None) -> Table:
    """The machine export of ``rnd`` (docs/interfaces.md §3 + §5): group, school_code, response_id,
    submitted_at (ISO 8601, UTC), duration_seconds, instrument (id.vN), one column per
    answered item (label, None when not answered), then ``FLAG_COLUMNS`` when ``flags``.

    Everything that needs the whole round (the columns, the integrity report) is done now;
    the rows are given when iterated (the web download streams them after the request's
    commit): without flags from a fresh query, with flags from the spool of the one reading
    that made the report (removed when the rows are read or their iterator closed)."""
    chunk, round_id = chunk or CHUNK, rnd.id  # no ORM object in the rows' closure: it may outlive the session
    last_id = db.session.scalar(select(func.max(Response.id)).where(Response.round_id == rnd.id))
    if not flags or not last_id:
        items = used_items(rnd, catalogue, last_id)
        columns = [*META_COLUMNS, *items]
        if not flags:
            rows = (row for part in _machine_rows(round_id, items, last_id, chunk) for row in part) if last_id else iter(())
            return Table(columns, rows, SAFE_COLUMNS)
        return Table([*columns, *FLAG_COLUMNS], iter(()))
    from evaluator.recognition.rules import RecognitionRules
    from evaluator.rules import load_ruleset
    from survey.integrity.report import Answered, integrity_rules, round_signals

    rules = RecognitionRules.from_ruleset(load_ruleset(rnd.ruleset))  # survey.services.rounds.recognition_rules
    answered, spool = Answered(), _Spool(item_order(catalogue), len(rnd.links))
    try:  # one reading of the round, link by link: the integrity flags, the columns, the rows (to the spool)
        marks = round_signals(rnd, integrity_rules(rnd.ruleset), answered, spool.add).report()
    except BaseException:
        spool.close()
        raise
    items = [i for i in spool.items if i in answered.items]  # = used_items(rnd, catalogue, the last id read)

    def rows() -> Iterator[tuple]:
        try:
            done, ordered = 0, spool.rows(items)
            while part := list(islice(ordered, chunk)):
                speeder, straight = _quality_flags(part, items, rules, done + 2)
                done += len(part)
                for row, s, f in zip(part, speeder, straight, strict=True):
                    yield (*row, s, f, marks.flags_of(row[2]))
        finally:
            spool.close()

    return Table([*META_COLUMNS, *items, *FLAG_COLUMNS], rows(), SAFE_COLUMNS)


class _Spool:
    """The machine rows of a round as ``round_signals`` reads them (link by link), kept in a
    temporary file, given back in response-id order (``rows``): the integrity flags need every
    response before the first row is written, and one reading serves both. Each link's rows
    are pickled in blocks of a few rows; the rows come back by a merge of the links' runs
    (each in id order) that holds one block per link, so memory stays small whatever the
    round's size. The rows hold every item of the catalogue; ``rows`` keeps the ones asked."""

    def __init__(self, items: list[str], links: int) -> None:
        self.items = items
        self.file = tempfile.TemporaryFile()
        self.block = max(2, SPOOL_ROWS // max(1, links))  # rows per block: ≤ SPOOL_ROWS held while merging
        self.blocks = array("q")  # offset of every block in the file, then the file's end
        self.runs = array("q", [0])  # per link: index of its first block in ``blocks`` (its run, in id order)
        self.ids, self.sizes = array("q"), array("q")  # every row's response id (in run order); rows per run
        self.blocks.append(0)
        self._instruments: dict[tuple[str, int], str] = {}

    def add(self, rows: list[tuple], answers: list[dict]) -> None:
        """One link's rows (round_signals' columns, then EXPORT_COLUMNS) and their answers."""
        instruments, items, out = self._instruments, self.items, []
        for (rid, _, group, _, _, _, _, _, school, submitted, duration, instrument, version), a in zip(
                rows, answers, strict=True):
            if (ins := instruments.get((instrument, version))) is None:
                ins = instruments[instrument, version] = f"{instrument}.v{version}"
            out.append((group, school or "", rid, submitted.isoformat(timespec="seconds"), round(duration, 1), ins,
                        *map(a.get, items)))
        end = self.blocks[-1]
        for i in range(0, len(out), self.block):
            end += self.file.write(pickle.dumps(out[i:i + self.block], protocol=pickle.HIGHEST_PROTOCOL))
            self.blocks.append(end)
        self.runs.append(len(self.blocks) - 1)
        self.ids.extend([row[2] for row in out])
        self.sizes.append(len(out))

    def rows(self, items: list[str]) -> Iterator[tuple]:
        """Every row in response-id order, with the ``items`` columns only."""
        import numpy as np

        self.file.flush()
        fd = self.file.fileno()

        blocks = self.blocks

        def run(first: int, last: int) -> Iterator[tuple]:
            for b in range(first, last):
                yield from pickle.loads(os.pread(fd, blocks[b + 1] - blocks[b], blocks[b]))

        at = {item: j for j, item in enumerate(self.items)}
        keep = itemgetter(*range(len(META_COLUMNS)), *[len(META_COLUMNS) + at[i] for i in items])
        order = np.argsort(np.frombuffer(self.ids, dtype=np.int64), kind="stable")
        self.ids = array("q")
        runs = np.repeat(np.arange(len(self.sizes), dtype=np.int32), np.frombuffer(self.sizes, dtype=np.int64))
        sequence = runs[order]  # the run of each row, in id order
        del order, runs
        nexts = [run(self.runs[r], self.runs[r + 1]).__next__ for r in range(len(self.sizes))]
        for start in range(0, len(sequence), 1 << 16):
            for r in sequence[start:start + (1 << 16)].tolist():
                yield keep(nexts[r]())

    def close(self) -> None:
        self.file.close()


def responses_frame(rnd: SurveyRound, catalogue: Catalogue, *, flags: bool = True) -> pd.DataFrame:
    """``machine_table`` as one pandas frame (for the integrity report, the seal and the
    round's recognition): the same columns and values, item cells None when not answered,
    flags as booleans."""
    import pandas as pd

    table = machine_table(rnd, catalogue, flags=flags)
    frame = pd.DataFrame.from_records(list(table.rows), columns=table.columns)
    if flags and frame.empty:  # the dtypes pandas gave the empty frame before (an empty list is float64)
        frame = frame.astype({"flag_speeder": bool, "flag_straightline_fast": bool, "integrity_flags": "float64"})
    return frame


def csv_chunks(table: Table, *, rows_per_chunk: int = 2_000) -> Iterator[bytes]:
    """UTF-8 CSV with a byte-order mark (Excel), ``\\n`` line ends, every text cell
    neutralised; one bytes object per ``rows_per_chunk`` rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(neutralise_row(table.columns))
    first = True
    rows = iter(table.rows)
    while part := list(islice(rows, rows_per_chunk)):
        writer.writerows(neutralised(part, table.numbers))
        yield (("\ufeff" if first else "") + buf.getvalue()).encode("utf-8")
        first = False
        buf.seek(0)
        buf.truncate()
    if first or buf.tell():
        yield (("\ufeff" if first else "") + buf.getvalue()).encode("utf-8")


def neutralised(rows: list[tuple], numbers: Iterable[int] = ()) -> list[tuple]:
    """``neutralise_row`` of every row, column by column: a column none of whose distinct
    values a spreadsheet would evaluate (an export's usual case: ids, times, the scale's
    labels) is left as it is without a call per cell; the ``numbers`` columns (no text
    in them: neutralise leaves them as they are) are not looked at."""
    if not rows:
        return rows
    columns = list(zip(*rows, strict=True))
    changed = False
    skip = set(numbers)
    for j, col in enumerate(columns):
        if j in skip:
            continue
        try:
            distinct = set(col)
        except TypeError:  # an unhashable cell: look at every one
            distinct = col
        if any(isinstance(v, str) and v.startswith(FORMULA_STARTS) for v in distinct):
            columns[j], changed = [neutralise(v) for v in col], True
    return list(zip(*columns, strict=True)) if changed else rows


def sheet_names(sheet: str, count: int) -> list[str]:
    """``sheet`` for the first sheet, then ``sheet2``, ``sheet3`` … (rounds above Excel's row limit)."""
    return [sheet if i == 1 else f"{sheet}{i}" for i in range(1, count + 1)]


def write_xlsx(table: Table, path: str, *, sheet: str, rows_per_sheet: int = XLSX_ROWS,
               setup: Callable[[Any, list[str]], None] | None = None) -> None:
    """XLSX in openpyxl's write-only mode, cells as pandas' ``to_excel`` wrote them before (text
    neutralised, an empty answer an empty text cell, a plain header row); a new
    sheet (same header) every ``rows_per_sheet`` rows. ``setup(ws, columns)`` may set column
    widths or frozen panes on each sheet before its rows."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    n_sheet, in_sheet, ws = 0, rows_per_sheet, None
    for row in table.rows:
        if in_sheet >= rows_per_sheet:
            ws = _new_sheet(wb, table.columns, sheet, n_sheet := n_sheet + 1, setup)
            in_sheet = 0
        ws.append(["" if v is None else neutralise(v) for v in row])
        in_sheet += 1
    if ws is None:
        _new_sheet(wb, table.columns, sheet, 1, setup)
    wb.save(path)


def _new_sheet(wb: Any, columns: list[str], sheet: str, number: int, setup: Callable | None) -> Any:
    ws = wb.create_sheet(sheet_names(sheet, number)[-1])
    if setup:
        setup(ws, columns)
    ws.append(neutralise_row(columns))
    return ws


def file_chunks(path: str) -> Iterator[bytes]:
    """The bytes of a temporary file, then the file removed."""
    try:
        with open(path, "rb") as fh:
            while block := fh.read(FILE_CHUNK):
                yield block
    finally:
        os.unlink(path)


def _temp_path(suffix: str) -> str:
    fd, path = tempfile.mkstemp(suffix=suffix)
    os.close(fd)
    return path


def export_chunks(rnd: SurveyRound, catalogue: Catalogue, fmt: str, labels: str | None = None) -> Iterator[bytes]:
    """All responses of a round as a file, in byte chunks (`round export` and the staff pages'
    downloads: one service). Default: the machine format (``machine_table``); CSV is UTF-8 with
    a byte-order mark, XLSX one sheet ``responses`` (``responses2`` … above Excel's row limit).
    ``labels="zh"``: the form a bureau reads (survey.services.exports_zh); ``fmt="sav"``: SPSS.

    CSV rows stream from the database as the chunks are consumed; XLSX and .sav are built in
    a temporary file first (a ZIP package cannot be sent before it is complete), so every
    error is raised before the first chunk."""
    if fmt not in MIME:
        raise ValueError(fmt)
    if fmt == "sav":
        from survey.services.exports_zh import refuse_large_sav, write_sav

        refuse_large_sav(rnd)
        path = _temp_path(".sav")
        try:
            write_sav(rnd, catalogue, path)
        except BaseException:
            os.unlink(path)
            raise
        return file_chunks(path)
    if labels == "zh":
        from survey.services.exports_zh import labelled_table, zh_sheet_setup

        table, sheet, setup = labelled_table(rnd, catalogue), "回答", zh_sheet_setup
    else:
        table, sheet, setup = machine_table(rnd, catalogue), "responses", None
    if fmt == "csv":
        return csv_chunks(table)
    path = _temp_path(".xlsx")
    try:
        write_xlsx(table, path, sheet=sheet, setup=setup)
    except BaseException:
        os.unlink(path)
        raise
    return file_chunks(path)


def write_chunks(chunks: Iterable[bytes], out: BinaryIO) -> None:
    for block in chunks:
        out.write(block)


def export_bytes(rnd: SurveyRound, catalogue: Catalogue, fmt: str, labels: str | None = None) -> bytes:
    """``export_chunks`` joined (small rounds, tests)."""
    return b"".join(export_chunks(rnd, catalogue, fmt, labels))
