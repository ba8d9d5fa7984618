"""Quality filters applied before estimation (docs/rules.md §6, step 1).

- speeder: duration_seconds < ``speeder_seconds`` (national-2017 default 30 s);
- fast straight-liner: every answered item has the same label, at least
  ``straightline_min_items`` items answered, and duration_seconds <
  ``straightline_fast_seconds`` (default 60 s). A uniform 满意 answered slowly is
  genuine and kept.

A row whose duration is unknown (NaN) cannot be judged by either filter; it is kept
and counted in ``duration_unknown`` so the result can say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluator.recognition.rules import RecognitionRules


@dataclass(frozen=True, eq=False)
class QualityFlags:
    """Boolean masks over respondents; ``straightliner_fast`` excludes speeders
    (each dropped row is counted once, under the first filter that drops it)."""

    speeder: np.ndarray
    straightliner_fast: np.ndarray
    duration_unknown: np.ndarray
    empty: np.ndarray

    @property
    def drop(self) -> np.ndarray:
        return self.speeder | self.straightliner_fast | self.empty

    def counts(self) -> dict[str, int]:
        return {"speeder": int(self.speeder.sum()), "straightliner_fast": int(self.straightliner_fast.sum())}


def identical_answers(codes: np.ndarray) -> np.ndarray:
    """Per row of ``codes`` (uint8, 0 = not answered): every answered code is the same."""
    n, k = codes.shape
    hi = np.zeros(n, dtype=np.uint8)
    lo = np.full(n, 255, dtype=np.uint8)
    for j in range(k):
        col = codes[:, j]
        np.maximum(hi, col, out=hi)
        np.minimum(lo, np.where(col > 0, col, np.uint8(255)), out=lo)
    return hi == lo


def quality_flags(answered: np.ndarray, codes: np.ndarray, duration: np.ndarray,
                  rules: RecognitionRules) -> QualityFlags:
    """Flags from the number of answered items per respondent, the coded answers (n × K
    uint8, 0 = not answered) and the durations. Straight-lining is only checked on the
    fast rows, the only ones it can drop."""
    duration = np.asarray(duration, dtype=float)
    unknown = ~np.isfinite(duration)
    with np.errstate(invalid="ignore"):
        speeder = ~unknown & (duration < rules.speeder_seconds)
        fast = ~unknown & (duration < rules.straightline_fast_seconds)
    empty = answered == 0
    candidates = np.flatnonzero(fast & ~speeder & (answered >= rules.straightline_min_items))
    straight = np.zeros(len(answered), dtype=bool)
    straight[candidates] = identical_answers(codes[candidates])
    return QualityFlags(speeder & ~empty, straight & ~empty, unknown, empty)


def row_flags(duration: float, values, rules: RecognitionRules) -> tuple[bool, bool]:
    """(speeder, fast straight-liner) of one respondent: ``quality_flags`` for a single row,
    given its duration and its items' labels or codes (None: not answered), without building
    arrays (the export flags a million rows this way; a row slower than both limits is
    decided by its duration alone). An unknown (NaN) duration is neither; so is a row
    without answers."""
    if not duration < max(rules.speeder_seconds, rules.straightline_fast_seconds):
        return False, False
    answered = [v for v in values if v is not None]
    if not answered:
        return False, False
    if duration < rules.speeder_seconds:
        return True, False
    return False, (duration < rules.straightline_fast_seconds and len(answered) >= rules.straightline_min_items
                   and len(set(answered)) == 1)
