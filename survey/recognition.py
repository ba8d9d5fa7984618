"""Social recognition of a survey round: the evaluator's estimator on the round's answers."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from sqlalchemy import bindparam, text

from evaluator.questionnaire import Catalogue
from evaluator.recognition import (
    CellTotals,
    RecognitionResult,
    RecognitionRules,
    estimate_from_cells,
    recognize,
)
from survey.db import db
from survey.models import SurveyRound
from survey.pins import item_texts
from survey.services.exports import responses_frame
from survey.services.rounds import round_recognition_rules, sampling_frame


def round_inputs(rnd: SurveyRound, catalogue: Catalogue) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(responses in CONTRACTS.md §3 shape, sampling frame N_gs) of a round."""
    answers = responses_frame(rnd, catalogue, flags=False).drop(columns=["response_id", "submitted_at", "instrument"])
    answers["school_code"] = answers["school_code"].where(answers["school_code"] != "", None)
    return answers, sampling_frame(rnd.schools)


def round_recognition(rnd: SurveyRound, catalogue: Catalogue, weights: Mapping[str, float] | None = None,
                      rules: RecognitionRules | None = None) -> RecognitionResult:
    """The weighted estimate with CI (DOMAIN.md §6) from everything the round has collected,
    with the round's rule-set unless ``rules`` is given.

    Raises ``InputError`` when a configured group has no valid answers yet (never silently
    renormalised)."""
    answers, frame = round_inputs(rnd, catalogue)
    texts = item_texts(rnd, catalogue)
    return recognize(answers, frame, rules or round_recognition_rules(rnd), weights, texts)


# --------------------------------------------------------------------------- SQL cells
# The estimator needs only sums per (group, school) cell and per (group, school, item) cell
# (evaluator.recognition.CellTotals.from_frames). The database computes them from the stored
# answers, so the live page never loads responses row by row. The JSON answers are unnested
# with the dialect's table function; everything else is portable SQL.
_UNNEST = {
    "sqlite": "JOIN json_each(r.answers) AS e",
    "postgresql": "CROSS JOIN LATERAL json_each_text(r.answers) AS e(key, value)",
}

_CELLS_SQL = """
WITH ans AS (
  SELECT r.id AS rid, r."group" AS grp, COALESCE(s.code, '') AS school_code,
         r.duration_seconds AS dur, e.key AS item, e.value AS label
  FROM responses r LEFT JOIN schools s ON s.id = r.school_id {unnest}
  WHERE r.round_id = :round_id
), per AS (
  SELECT rid, grp, school_code, dur,
         SUM(CASE WHEN label IN :approve THEN 1 ELSE 0 END) AS a,
         SUM(CASE WHEN label IN :dont_know THEN 1 ELSE 0 END) AS d,
         COUNT(*) AS t, COUNT(DISTINCT label) AS k
  FROM ans GROUP BY rid, grp, school_code, dur
), flagged AS (
  SELECT rid, grp, school_code, a, d, t, t - d * :exclude_dk AS v,
         CASE WHEN dur < :speeder THEN 'speeder'
              WHEN dur < :fast AND t >= :min_items AND k = 1 THEN 'straightliner_fast' END AS dropped
  FROM per
)
"""
_CELL_SUMS = """
SELECT grp AS "group", school_code, COUNT(*) AS n, SUM(a) AS a, SUM(v) AS v, SUM(d) AS d, SUM(t) AS t,
       SUM(a * a) AS aa, SUM(a * v) AS av, SUM(v * v) AS vv
FROM flagged {where} GROUP BY grp, school_code
"""
_ITEM_SUMS = """
SELECT f.grp AS "group", f.school_code, ans.item, COUNT(*) AS n,
       SUM(CASE WHEN ans.label IN :approve THEN 1 ELSE 0 END) AS a,
       SUM(CASE WHEN ans.label IN :dont_know THEN 0 ELSE 1 END) + SUM(CASE WHEN ans.label IN :dont_know THEN :as_no ELSE 0 END) AS v,
       SUM(CASE WHEN ans.label IN :dont_know THEN 1 ELSE 0 END) AS d, COUNT(*) AS t
FROM flagged f JOIN ans ON ans.rid = f.rid
WHERE f.dropped IS NULL GROUP BY f.grp, f.school_code, ans.item
"""
_DROPPED = """
SELECT dropped, COUNT(*) AS n FROM flagged WHERE dropped IS NOT NULL GROUP BY dropped
UNION ALL
SELECT 'empty', (SELECT COUNT(*) FROM responses WHERE round_id = :round_id) - (SELECT COUNT(*) FROM per)
"""


_DROPPED_ROWS = """
SELECT f.rid AS response_id, f.grp AS "group", f.school_code, p.dur AS duration_seconds, f.dropped AS reason
FROM flagged f JOIN per p ON p.rid = f.rid WHERE f.dropped IS NOT NULL ORDER BY f.rid LIMIT :limit
"""


def _cells_query(rnd: SurveyRound, rules: RecognitionRules):
    """A runner of SQL appended to the shared CTEs (answers → per respondent → flagged)."""
    conn = db.session.connection()
    dialect = conn.dialect.name
    if dialect not in _UNNEST:
        raise NotImplementedError(f"SQL cells are written for SQLite and PostgreSQL, not {dialect}")
    head = _CELLS_SQL.format(unnest=_UNNEST[dialect])
    params = {
        "round_id": rnd.id, "approve": list(rules.approve), "dont_know": list(rules.dont_know),
        "exclude_dk": 0 if rules.dont_know_policy == "as_no" else 1,
        "as_no": 1 if rules.dont_know_policy == "as_no" else 0,
        "speeder": rules.speeder_seconds, "fast": rules.straightline_fast_seconds,
        "min_items": rules.straightline_min_items,
    }

    def frame(sql: str, **extra) -> pd.DataFrame:
        stmt = text(head + sql).bindparams(bindparam("approve", expanding=True),
                                           bindparam("dont_know", expanding=True))
        result = conn.execute(stmt, params | extra)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    return frame


def dropped_responses(rnd: SurveyRound, rules: RecognitionRules, limit: int = 500) -> pd.DataFrame:
    """The responses the quality filters drop, with the reason ('speeder' or 'straightliner_fast')."""
    return _cells_query(rnd, rules)(_DROPPED_ROWS, limit=limit)


def round_cells(rnd: SurveyRound, rules: RecognitionRules) -> tuple[CellTotals, CellTotals]:
    """(kept cells with item cells, unfiltered cells) of a round, summed in the database."""
    frame = _cells_query(rnd, rules)
    kept = frame(_CELL_SUMS.format(where="WHERE dropped IS NULL"))
    dropped = {row.dropped: int(row.n) for row in frame(_DROPPED).itertuples()}
    cells = CellTotals.from_frames(kept, frame(_ITEM_SUMS),
                                   dropped={k: dropped.get(k, 0) for k in ("speeder", "straightliner_fast", "empty")})
    return cells, CellTotals.from_frames(frame(_CELL_SUMS.format(where="")))


def round_recognition_sql(rnd: SurveyRound, catalogue: Catalogue, weights: Mapping[str, float] | None = None,
                          rules: RecognitionRules | None = None) -> RecognitionResult:
    """``round_recognition`` computed from cell sums aggregated in SQL (DOMAIN.md §6; the same
    estimator, ``estimate_from_cells``): what the live results page uses."""
    rules = rules or round_recognition_rules(rnd)
    cells, unfiltered = round_cells(rnd, rules)
    texts = item_texts(rnd, catalogue)
    return estimate_from_cells(cells, sampling_frame(rnd.schools), rules, weights, item_texts=texts,
                               unfiltered=unfiltered)
