"""Quality filters applied before estimation (DOMAIN.md §6, step 1).

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


def quality_flags(codes: np.ndarray, duration: np.ndarray, rules: RecognitionRules) -> QualityFlags:
    """Flags from the coded answers (n × K int8, −1 = not answered) and durations (seconds)."""
    duration = np.asarray(duration, dtype=float)
    answered = (codes >= 0).sum(axis=1)
    unknown = ~np.isfinite(duration)
    with np.errstate(invalid="ignore"):
        speeder = ~unknown & (duration < rules.speeder_seconds)
        fast = ~unknown & (duration < rules.straightline_fast_seconds)
    hi = codes.max(axis=1) if codes.shape[1] else np.full(len(codes), -1)
    lo = np.where(codes < 0, np.int8(127), codes).min(axis=1) if codes.shape[1] else hi
    straight = (answered >= rules.straightline_min_items) & (hi == lo)
    empty = answered == 0
    return QualityFlags(speeder & ~empty, straight & fast & ~speeder & ~empty, unknown, empty)
