"""Per-cell sums of a round's answers, kept current by an incremental refresh (issue 12 item 2),
so the live results page costs in proportion to links, not responses.

What is kept (survey.models): per link (= group × school cell) the sums the estimator needs
over all respondents and over those the quality filters keep (LinkCell: n, a, v, d, t, aa,
av, vv as in evaluator.recognition.CellTotals, plus speeders and fast straight-liners); per
link × item the kept responses' answers, approving answers and 不了解 (ItemCell: the item
sums, read without grouping); per link × item × answer label the answers over all and over
kept responses (AnswerCell: the option distribution); the dropped responses with their reason;
responses per 15-minute slot (the answers-per-day chart); the responses with integrity signals.

Why a watermark on ``chain_seq``: stored responses never change (no path in survey/services
or survey/integrity edits or deletes one: corrections touch schools and dates, a school or a
round with responses cannot be removed, closing and reopening leave responses alone), so a
response's contribution is fixed when it is stored. ``chain_seq`` is dense and given in
commit order under the round's chaining lock (survey.integrity.chaining), so every response
with ``chain_seq <= rounds.chain_length`` is committed and none will later appear below it —
unlike ids from a sequence, which commit out of order. Unchained responses (the moments
between a commit and its chaining on PostgreSQL, or a chaining that failed) are chained by
the refresh first. A response edited or deleted by hand in the database is tampering, which
the chain check reports (survey.integrity.chain); the cells keep what was stored until they are
rebuilt (clearing the round's ``cell_states`` row makes the next refresh sum everything again).

Concurrency: the refresh advances ``cell_states.watermark`` by compare-and-swap before it
adds anything, in the caller's transaction. The row lock this takes (PostgreSQL) or the
database write lock (SQLite) is held until that transaction ends; a second worker's swap
waits, then finds the watermark moved and adds nothing. Nothing is committed here (services
never commit): the request or command that calls it commits, or rolls it all back.

The cells depend on the round's quality-filter rules (approve / 不了解 labels and policy,
speeder and straight-liner thresholds); their fingerprint is kept and the cells are rebuilt
if it ever differs. Estimates with other rules use ``direct_cells`` (the respondent-level SQL
over the stored answers, also the benchmark's baseline).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import bindparam, delete, func, insert, select, text, update

from evaluator.recognition import CellTotals, RecognitionRules
from survey.db import db, primary_writes
from survey.models import (
    CellState,
    FlaggedResponse,
    SurveyRound,
    utcnow,
)

SLOT_SECONDS = 900
SUMS = ("n", "a", "v", "d", "t", "aa", "av", "vv")
DROP_REASONS = ("speeder", "straightliner_fast", "empty")

# The JSON answers are unnested with the dialect's table function; everything else is portable.
_UNNEST = {
    "sqlite": "JOIN json_each(r.answers) AS e",
    "postgresql": "CROSS JOIN LATERAL json_each_text(r.answers) AS e(key, value)",
}
_SLOT = {
    "sqlite": f"CAST(strftime('%s', r.submitted_at) AS INTEGER) / {SLOT_SECONDS}",
    "postgresql": f"CAST(FLOOR(EXTRACT(EPOCH FROM r.submitted_at) / {SLOT_SECONDS}) AS BIGINT)",
}


def dialect() -> str:
    name = db.session.connection().dialect.name
    if name not in _UNNEST:
        raise NotImplementedError(f"SQL cells are written for SQLite and PostgreSQL, not {name}")
    return name


def rule_params(rules: RecognitionRules) -> dict:
    return {
        "approve": list(rules.approve), "dont_know": list(rules.dont_know),
        "exclude_dk": 0 if rules.dont_know_policy == "as_no" else 1,
        "as_no": 1 if rules.dont_know_policy == "as_no" else 0,
        "speeder": rules.speeder_seconds, "fast": rules.straightline_fast_seconds,
        "min_items": rules.straightline_min_items,
    }


def rules_key(rules: RecognitionRules) -> str:
    """Fingerprint of what the cells depend on."""
    return hashlib.sha256(json.dumps(rule_params(rules), ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _run(sql: str, params: dict):
    stmt = text(sql)
    for name in ("approve", "dont_know"):
        if f":{name}" in sql:
            stmt = stmt.bindparams(bindparam(name, expanding=True))
    return db.session.connection().execute(stmt, params)


# --------------------------------------------------------------------------- respondent-level SQL
# Per respondent: a (approving answers), d (不了解), t (answers), v (valid answers), and why the
# filters drop it. ``{where}`` narrows the responses (a refresh's delta, the flagged ones).
_RESPONDENTS = """
WITH ans AS (
  SELECT r.id AS rid, r.link_id AS lid, r."group" AS grp, COALESCE(s.code, '') AS school_code,
         r.duration_seconds AS dur, e.key AS item, COALESCE(e.value, '') AS label
  FROM responses r LEFT JOIN schools s ON s.id = r.school_id {unnest}
  WHERE r.round_id = :round_id {where}
), per AS (
  SELECT rid, lid, grp, school_code, dur,
         SUM(CASE WHEN label IN :approve THEN 1 ELSE 0 END) AS a,
         SUM(CASE WHEN label IN :dont_know THEN 1 ELSE 0 END) AS d,
         COUNT(*) AS t, COUNT(DISTINCT label) AS k
  FROM ans GROUP BY rid, lid, grp, school_code, dur
), flagged AS (
  SELECT rid, lid, grp, school_code, a, d, t, t - d * :exclude_dk AS v,
         CASE WHEN dur < :speeder THEN 'speeder'
              WHEN dur < :fast AND t >= :min_items AND k = 1 THEN 'straightliner_fast' END AS dropped
  FROM per
)
"""
_DIRECT_CELLS = """
SELECT grp AS "group", school_code, COUNT(*) AS n, SUM(a) AS a, SUM(v) AS v, SUM(d) AS d, SUM(t) AS t,
       SUM(a * a) AS aa, SUM(a * v) AS av, SUM(v * v) AS vv
FROM flagged {having} GROUP BY grp, school_code
"""
_DIRECT_ITEMS = """
SELECT f.grp AS "group", f.school_code, ans.item, COUNT(*) AS n,
       SUM(CASE WHEN ans.label IN :approve THEN 1 ELSE 0 END) AS a,
       SUM(CASE WHEN ans.label IN :dont_know THEN 0 ELSE 1 END)
         + SUM(CASE WHEN ans.label IN :dont_know THEN :as_no ELSE 0 END) AS v,
       SUM(CASE WHEN ans.label IN :dont_know THEN 1 ELSE 0 END) AS d, COUNT(*) AS t
FROM flagged f JOIN ans ON ans.rid = f.rid
WHERE f.dropped IS NULL GROUP BY f.grp, f.school_code, ans.item
"""
_DIRECT_DROPPED = """
SELECT dropped, COUNT(*) AS n FROM flagged WHERE dropped IS NOT NULL GROUP BY dropped
UNION ALL
SELECT 'empty', (SELECT COUNT(*) FROM responses r WHERE r.round_id = :round_id {where}) - (SELECT COUNT(*) FROM per)
"""


def _frame(result) -> pd.DataFrame:
    """Column by column: pandas is slow at building a frame from a list of SQLAlchemy rows."""
    names, rows = list(result.keys()), result.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pd.DataFrame({name: list(col) for name, col in zip(names, columns, strict=True)}, columns=names)


def direct_frames(rnd: SurveyRound, rules: RecognitionRules, where: str = "", **extra):
    """(kept cells, item cells, unfiltered cells, dropped counts) straight from the stored
    answers (every response unnested): the old live page, used for other rules and as the
    benchmark's baseline; ``where`` narrows the responses (alias ``r``)."""
    head = _RESPONDENTS.format(unnest=_UNNEST[dialect()], where=where)
    params = {"round_id": rnd.id, **rule_params(rules), **extra}
    kept = _frame(_run(head + _DIRECT_CELLS.format(having="WHERE dropped IS NULL"), params))
    items = _frame(_run(head + _DIRECT_ITEMS, params))
    unfiltered = _frame(_run(head + _DIRECT_CELLS.format(having=""), params))
    dropped = {reason: int(n) for reason, n in _run(head + _DIRECT_DROPPED.format(where=where), params)}
    return kept, items, unfiltered, {k: dropped.get(k, 0) for k in DROP_REASONS}


def direct_cells(rnd: SurveyRound, rules: RecognitionRules) -> tuple[CellTotals, CellTotals]:
    kept, items, unfiltered, dropped = direct_frames(rnd, rules)
    return CellTotals.from_frames(kept, items, dropped=dropped), CellTotals.from_frames(unfiltered)


# --------------------------------------------------------------------------- the refresh
_TEMP = {
    "live_ans": "rid BIGINT, lid BIGINT, item VARCHAR(40), label VARCHAR(40)",
    "live_per": "rid BIGINT, lid BIGINT, a BIGINT, d BIGINT, t BIGINT, v BIGINT, dropped VARCHAR(20)",
}
_DELTA = "AND r.chain_seq > :lo AND r.chain_seq <= :hi"
_FILL_ANS = """
INSERT INTO live_ans (rid, lid, item, label)
SELECT r.id, r.link_id, e.key, COALESCE(e.value, '') FROM responses r {unnest} WHERE r.round_id = :round_id {delta}
"""
_FILL_PER = """
INSERT INTO live_per (rid, lid, a, d, t, v, dropped)
SELECT p.rid, p.lid, p.a, p.d, p.t, p.t - p.d * :exclude_dk,
       CASE WHEN r.duration_seconds < :speeder THEN 'speeder'
            WHEN r.duration_seconds < :fast AND p.t >= :min_items AND p.k = 1 THEN 'straightliner_fast' END
FROM (SELECT rid, lid, SUM(CASE WHEN label IN :approve THEN 1 ELSE 0 END) AS a,
             SUM(CASE WHEN label IN :dont_know THEN 1 ELSE 0 END) AS d, COUNT(*) AS t, COUNT(DISTINCT label) AS k
      FROM live_ans GROUP BY rid, lid) p JOIN responses r ON r.id = p.rid
"""
_LINK_COLUMNS = ("responses", "speeder", "straightliner_fast", *(f"{p}_{s}" for p in ("all", "kept") for s in SUMS))
_KEPT = "CASE WHEN dropped IS NULL THEN {} ELSE 0 END"
_SUM_EXPR = {"n": "1", "a": "a", "v": "v", "d": "d", "t": "t", "aa": "a * a", "av": "a * v", "vv": "v * v"}
_PER_LINK = ("SELECT lid, :round_id, 0, SUM(CASE WHEN dropped = 'speeder' THEN 1 ELSE 0 END), "
             "SUM(CASE WHEN dropped = 'straightliner_fast' THEN 1 ELSE 0 END), "
             + ", ".join(f"SUM({_SUM_EXPR[s]})" for s in SUMS) + ", "
             + ", ".join(f"SUM({_KEPT.format(_SUM_EXPR[s])})" for s in SUMS)
             + " FROM live_per WHERE true GROUP BY lid")
_STORED_PER_LINK = ("SELECT r.link_id, :round_id, COUNT(*), " + ", ".join("0" for _ in _LINK_COLUMNS[1:])
                    + " FROM responses r WHERE r.round_id = :round_id {delta} GROUP BY r.link_id")
_PER_ANSWER = ("SELECT a.lid, a.item, a.label, :round_id, COUNT(*), SUM(CASE WHEN p.dropped IS NULL THEN 1 ELSE 0 END) "
               "FROM live_ans a JOIN live_per p ON p.rid = a.rid WHERE true GROUP BY a.lid, a.item, a.label")
_PER_ITEM = ("SELECT a.lid, a.item, :round_id, COUNT(*), SUM(CASE WHEN a.label IN :approve THEN 1 ELSE 0 END), "
             "SUM(CASE WHEN a.label IN :dont_know THEN 1 ELSE 0 END) "
             "FROM live_ans a JOIN live_per p ON p.rid = a.rid WHERE p.dropped IS NULL GROUP BY a.lid, a.item")
_PER_SLOT = "SELECT :round_id, {slot}, COUNT(*) FROM responses r WHERE r.round_id = :round_id {delta} GROUP BY 2"


def _upsert(table: str, keys: tuple[str, ...], columns: tuple[str, ...], select_sql: str, params: dict,
            adds: tuple[str, ...] | None = None) -> None:
    """INSERT … SELECT of ``keys + columns`` that adds ``adds`` (default: every column) to the
    existing row of the same primary key (``keys`` but ``round_id``, unless the key is the
    round's: response_buckets): the same SQL on SQLite ≥ 3.24 and PostgreSQL (each SELECT carries a WHERE so that SQLite parses
    ON CONFLICT as the upsert)."""
    conflict = list(keys) if table == "response_buckets" else [k for k in keys if k != "round_id"]
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in (adds or columns))
    _run(f"INSERT INTO {table} ({', '.join(keys + columns)}) {select_sql} "
         f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {sets}", params)


def _temp_tables(create: bool) -> None:
    for name, columns in _TEMP.items():
        _run(f"DROP TABLE IF EXISTS {name}", {})
        if create:
            _run(f"CREATE TEMPORARY TABLE {name} ({columns})", {})


def _add(rnd: SurveyRound, rules: RecognitionRules, lo: int, hi: int) -> None:
    """Add the responses with lo < chain_seq <= hi to the cells (unnested once, in temp tables)."""
    name = dialect()
    params = {"round_id": rnd.id, "lo": lo, "hi": hi, **rule_params(rules)}
    _temp_tables(create=True)
    _run(_FILL_ANS.format(unnest=_UNNEST[name], delta=_DELTA), params)
    _run(_FILL_PER, params)
    _upsert("link_cells", ("link_id", "round_id"), _LINK_COLUMNS, _STORED_PER_LINK.format(delta=_DELTA), params,
            adds=("responses",))
    _upsert("link_cells", ("link_id", "round_id"), _LINK_COLUMNS, _PER_LINK, params)
    _upsert("answer_cells", ("link_id", "item", "label", "round_id"), ("total", "kept"), _PER_ANSWER, params)
    _upsert("item_cells", ("link_id", "item", "round_id"), ("n", "a", "d"), _PER_ITEM, params)
    _run("INSERT INTO dropped_responses (response_id, round_id, reason) "
         "SELECT rid, :round_id, dropped FROM live_per WHERE dropped IS NOT NULL", params)
    _upsert("response_buckets", ("round_id", "slot"), ("n",), _PER_SLOT.format(slot=_SLOT[name], delta=_DELTA), params)
    _temp_tables(create=False)


def _clear(round_id: int) -> None:
    for table in ("link_cells", "item_cells", "answer_cells", "dropped_responses", "response_buckets",
                  "flagged_responses"):
        _run(f"DELETE FROM {table} WHERE round_id = :round_id", {"round_id": round_id})


def _state_row(round_id: int) -> None:
    if db.session.scalar(select(CellState.round_id).where(CellState.round_id == round_id)) is not None:
        return
    _run("INSERT INTO cell_states (round_id, watermark, rules_key) VALUES (:round_id, 0, '') "
         "ON CONFLICT (round_id) DO NOTHING", {"round_id": round_id})


def advance(rnd: SurveyRound, rules: RecognitionRules, *, seen: tuple[int, str], head: int) -> bool:
    """Add the responses between the watermark the caller ``seen`` (watermark, rules key) and
    ``head``, if the watermark is still ``seen``. Returns whether this call did the work."""
    key = rules_key(rules)
    old, old_key = seen
    swapped = db.session.execute(
        update(CellState).where(CellState.round_id == rnd.id, CellState.watermark == old,
                                CellState.rules_key == old_key)
        .values(watermark=head, rules_key=key, refreshed_at=utcnow()).execution_options(synchronize_session=False))
    if swapped.rowcount != 1:
        return False
    if old_key != key:
        _clear(rnd.id)
        _run("UPDATE cell_states SET flags_seq = NULL, flags_at = NULL, flagged_cells = NULL WHERE round_id = :round_id",
             {"round_id": rnd.id})
        old = 0
    if head > old:
        _add(rnd, rules, old, head)
    return True


@primary_writes()
def refresh(rnd: SurveyRound, rules: RecognitionRules) -> int:
    """Bring the round's cells up to every committed response; returns the watermark."""
    if db.session.scalar(text("SELECT 1 FROM responses WHERE round_id = :r AND chain_seq IS NULL LIMIT 1"),
                         {"r": rnd.id}):
        from survey.integrity.chaining import chain_pending

        chain_pending(rnd.id)
    _state_row(rnd.id)
    key = rules_key(rules)
    for _ in range(5):
        seen = tuple(db.session.execute(select(CellState.watermark, CellState.rules_key)
                                        .where(CellState.round_id == rnd.id)).one())
        head = db.session.scalar(select(SurveyRound.chain_length).where(SurveyRound.id == rnd.id)) or 0
        if seen == (head, key):
            return head
        if advance(rnd, rules, seen=seen, head=head):
            return head
    return seen[0]  # pragma: no cover - another worker kept advancing it; its cells are as current


# --------------------------------------------------------------------------- reading
_LINK_SUMS = ", ".join(f"c.{{part}}_{x} AS {x}" for x in SUMS)
_READ_LINKS = f"""
SELECT '{{part}}' AS kind, l."group" AS "group", COALESCE(s.code, '') AS school_code, '' AS item, {_LINK_SUMS}
FROM link_cells c JOIN entry_links l ON l.id = c.link_id LEFT JOIN schools s ON s.id = l.school_id
WHERE c.round_id = :round_id AND c.{{part}}_n > 0
"""
# v: the valid answers (not 不了解), plus 不了解 when the policy counts it as no.
_READ_ITEMS = """
SELECT 'item' AS kind, l."group" AS "group", COALESCE(s.code, '') AS school_code, c.item AS item, c.n AS n, c.a AS a,
       c.n - c.d + :as_no * c.d AS v, c.d AS d, c.n AS t, 0 AS aa, 0 AS av, 0 AS vv
FROM item_cells c JOIN entry_links l ON l.id = c.link_id LEFT JOIN schools s ON s.id = l.school_id
WHERE c.round_id = :round_id AND c.n > 0
"""
_READ_DROPPED = ("SELECT 'dropped', '', '', '', CAST(SUM(speeder) AS BIGINT), CAST(SUM(straightliner_fast) AS BIGINT), "
                 "CAST(SUM(responses) - SUM(all_n) AS BIGINT), 0, 0, 0, 0, 0 FROM link_cells WHERE round_id = :round_id")
# SUMs are cast back to integers: PostgreSQL returns numeric, which the driver turns into a
# Decimal per value (a tenth of a second for the item cells of a 200-school round).
# One statement, so that the link sums, the item sums and the dropped counts come from one
# snapshot: another worker's refresh committing between two statements would otherwise give
# the estimator link cells and item cells of different moments.
_READ_CELLS = ("SELECT * FROM (" + " UNION ALL ".join((_READ_LINKS.format(part="kept"), _READ_ITEMS,
                                                         _READ_LINKS.format(part="all"), _READ_DROPPED))
               + ') x ORDER BY kind, item, "group", school_code')
_KEYS = ("group", "school_code")
_ITEM_SUMS = ("n", "a", "v", "d", "t")


def stored_frames(rnd: SurveyRound, rules: RecognitionRules):
    """(kept cells, item cells, unfiltered cells, dropped counts) from the stored cells (after
    ``refresh`` with the same rules), read in one statement."""
    rows: dict[str, list] = {"kept": [], "item": [], "all": [], "dropped": []}
    for row in _run(_READ_CELLS, {"round_id": rnd.id, **rule_params(rules)}):
        rows[row[0]].append(row[1:])

    def frame(kind: str, names: tuple[str, ...], picks: list[int]) -> pd.DataFrame:
        columns = list(zip(*rows[kind], strict=True)) if rows[kind] else [() for _ in range(3 + len(SUMS))]
        return pd.DataFrame({n: list(columns[i]) for n, i in zip(names, picks, strict=True)}, columns=list(names))

    links = [0, 1, *range(3, 3 + len(SUMS))]  # group, school_code, the sums (no item)
    dropped = rows["dropped"][0][3:6] if rows["dropped"] else (0, 0, 0)
    return (frame("kept", (*_KEYS, *SUMS), links), frame("item", (*_KEYS, "item", *_ITEM_SUMS), list(range(8))),
            frame("all", (*_KEYS, *SUMS), links), {k: int(v or 0) for k, v in zip(DROP_REASONS, dropped, strict=True)})


def totals(frames) -> tuple[CellTotals, CellTotals]:
    kept, items, unfiltered, dropped = frames
    return CellTotals.from_frames(kept, items, dropped=dropped), CellTotals.from_frames(unfiltered)


def current_frames(rnd: SurveyRound, rules: RecognitionRules):
    """``stored_frames`` current to the round's last response."""
    refresh(rnd, rules)
    return stored_frames(rnd, rules)


def round_cells(rnd: SurveyRound, rules: RecognitionRules) -> tuple[CellTotals, CellTotals]:
    """(kept cells with item cells, unfiltered cells) of a round, current to its last response."""
    return totals(current_frames(rnd, rules))


def option_distribution(rnd: SurveyRound) -> dict[str, dict[str, int]]:
    """Answers per group and answer label (every item and response counted), from the cells."""
    rows = _run('SELECT l."group", c.label, CAST(SUM(c.total) AS BIGINT) FROM answer_cells c JOIN entry_links l ON l.id = c.link_id '
                "WHERE c.round_id = :round_id AND c.label <> '' GROUP BY l.\"group\", c.label", {"round_id": rnd.id})
    out: dict[str, dict[str, int]] = {}
    for grp, label, n in rows:
        out.setdefault(grp, {})[str(label)] = int(n)
    return out


def answers_per_day(rnd: SurveyRound, tz: str) -> list[tuple[date, int]]:
    zone = ZoneInfo(tz)
    days: Counter[date] = Counter()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for slot, n in _run("SELECT slot, n FROM response_buckets WHERE round_id = :round_id", {"round_id": rnd.id}):
        days[(epoch + timedelta(seconds=int(slot) * SLOT_SECONDS)).astimezone(zone).date()] += int(n)
    return sorted(days.items())


def dropped_rows(rnd: SurveyRound, limit: int = 500) -> pd.DataFrame:
    """The first ``limit`` responses the quality filters drop, with the reason."""
    return _frame(_run(
        'SELECT r.id AS response_id, r."group" AS "group", COALESCE(s.code, \'\') AS school_code, '
        "r.duration_seconds AS duration_seconds, x.reason AS reason FROM (SELECT response_id, reason "
        "FROM dropped_responses WHERE round_id = :round_id ORDER BY response_id LIMIT :limit) x "
        "JOIN responses r ON r.id = x.response_id LEFT JOIN schools s ON s.id = r.school_id ORDER BY x.response_id",
        {"round_id": rnd.id, "limit": limit}))  # the first ones, then joined: 0.6 s at 1M when joined first


# --------------------------------------------------------------------------- integrity flags
@dataclass(frozen=True)
class FlagState:
    count: int
    seq: int | None  # the watermark the flags were computed at
    at: datetime | None
    cells: dict | None = None  # the flagged responses' own cell sums (refresh_flags)


@primary_writes()
def refresh_flags(rnd: SurveyRound, rules: RecognitionRules, max_age_seconds: float,
                  max_responses: int | None = None, now: datetime | None = None) -> FlagState:
    """Recompute the round's flagged responses (survey.integrity: O(responses), the one part
    that is) and their own cell sums when responses arrived since the last computation, it is
    older than ``max_age_seconds`` (0: exact at every call) and the round has at most
    ``max_responses`` responses; beyond that the page keeps the last computation (the integrity
    page's, ``store_flags``) and says when it was made."""
    now = now or utcnow()
    state = db.session.get(CellState, rnd.id, populate_existing=True)
    stale = state.flags_seq != state.watermark
    if stale and (state.flags_at is None or (now - state.flags_at).total_seconds() >= max_age_seconds) \
            and (max_responses is None or state.watermark <= max_responses):
        from survey.integrity.report import flagged_ids

        _write_flags(rnd, rules, state, flagged_ids(rnd), now)
    count = db.session.scalar(select(func.count()).select_from(FlaggedResponse)
                              .where(FlaggedResponse.round_id == rnd.id)) or 0
    return FlagState(count, state.flags_seq, state.flags_at, state.flagged_cells)


@primary_writes()
def store_flags(rnd: SurveyRound, rules: RecognitionRules, ids: set, now: datetime | None = None) -> None:
    """Keep the flags just computed over every response (by the integrity page) for the results page."""
    refresh(rnd, rules)
    _write_flags(rnd, rules, db.session.get(CellState, rnd.id, populate_existing=True), ids, now or utcnow())


def _write_flags(rnd: SurveyRound, rules: RecognitionRules, state: CellState, ids, now: datetime) -> None:
    """Replace the stored flags unless another worker replaced them since ``state`` was read."""
    ids = sorted(ids)
    swapped = db.session.execute(
        update(CellState).where(CellState.round_id == rnd.id,
                                CellState.flags_seq.is_(None) if state.flags_seq is None
                                else CellState.flags_seq == state.flags_seq)
        .values(flags_seq=state.watermark, flags_at=now).execution_options(synchronize_session=False))
    if swapped.rowcount == 1:
        db.session.execute(delete(FlaggedResponse).where(FlaggedResponse.round_id == rnd.id))
        if ids:
            db.session.execute(insert(FlaggedResponse), [{"round_id": rnd.id, "response_id": i} for i in ids])
        kept, items, unfiltered, dropped = direct_frames(rnd, rules, _FLAGGED) if ids else (None,) * 4
        cells = None if not ids else {
            "kept": _records(kept), "items": _records(items), "unfiltered": _records(unfiltered), "dropped": dropped}
        db.session.execute(update(CellState).where(CellState.round_id == rnd.id).values(flagged_cells=cells)
                           .execution_options(synchronize_session=False))
    db.session.refresh(state)


def _records(frame: pd.DataFrame) -> dict[str, list]:
    """A frame as JSON-able columns (sums as int: they are counts)."""
    return {c: [v if isinstance(v, str) else int(v) for v in frame[c]] for c in frame.columns}


_FLAGGED = "AND r.id IN (SELECT response_id FROM flagged_responses WHERE round_id = :round_id)"


def _minus(total: pd.DataFrame, part: pd.DataFrame, keys: list[str], size: str) -> pd.DataFrame:
    if not len(part):
        return total
    cols = [c for c in total.columns if c not in keys]
    merged = total.set_index(keys)[cols].astype("int64").sub(
        part.set_index(keys)[cols].astype("int64").reindex(total.set_index(keys).index, fill_value=0))
    return merged[merged[size] > 0].reset_index()


def cells_without_flagged(rnd: SurveyRound, rules: RecognitionRules, flags: FlagState,
                          frames=None) -> tuple[CellTotals, CellTotals]:
    """The stored cells (``frames`` from ``stored_frames``, read if not given) minus the flagged
    responses' own cells, kept with the flags (sums are additive)."""
    kept, items, unfiltered, dropped = frames or stored_frames(rnd, rules)
    part = flags.cells or {}
    f_kept, f_items, f_unfiltered = (pd.DataFrame(part.get(k) or {c: [] for c in frame.columns})
                                     for k, frame in (("kept", kept), ("items", items), ("unfiltered", unfiltered)))
    f_dropped = part.get("dropped") or {}
    keys = ["group", "school_code"]
    return totals((_minus(kept, f_kept, keys, "n"), _minus(items, f_items, [*keys, "item"], "t"),
                   _minus(unfiltered, f_unfiltered, keys, "n"),
                   {k: dropped[k] - f_dropped.get(k, 0) for k in DROP_REASONS}))
