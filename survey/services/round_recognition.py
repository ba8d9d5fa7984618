"""Social recognition of a survey round: the evaluator's estimator on the round's answers,
either respondent by respondent (``round_recognition``) or from the round's cell sums
(``round_recognition_sql``: survey.services.cell_sums), with equal results."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from evaluator.questionnaire import Catalogue
from evaluator.recognition import (
    CellTotals,
    RecognitionResult,
    RecognitionRules,
    estimate_from_cells,
    recognize,
)
from survey.models import SurveyRound
from survey.pins import item_texts
from survey.services import cell_sums
from survey.services.exports import responses_frame
from survey.services.rounds import round_recognition_rules, sampling_frame


def round_inputs(rnd: SurveyRound, catalogue: Catalogue) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(responses in docs/interfaces.md §3 shape, sampling frame N_gs) of a round."""
    answers = responses_frame(rnd, catalogue, flags=False).drop(columns=["response_id", "submitted_at", "instrument"])
    answers["school_code"] = answers["school_code"].where(answers["school_code"] != "", None)
    return answers, sampling_frame(rnd.schools)


def round_recognition(rnd: SurveyRound, catalogue: Catalogue, weights: Mapping[str, float] | None = None,
                      rules: RecognitionRules | None = None) -> RecognitionResult:
    """The weighted estimate with CI (docs/rules.md §6) from everything the round has collected,
    with the round's rule-set unless ``rules`` is given.

    Raises ``InputError`` when a configured group has no valid answers yet (never silently
    renormalised)."""
    answers, frame = round_inputs(rnd, catalogue)
    texts = item_texts(rnd, catalogue)
    return recognize(answers, frame, rules or round_recognition_rules(rnd), weights, texts)


def round_cells(rnd: SurveyRound, rules: RecognitionRules | None = None) -> tuple[CellTotals, CellTotals]:
    """(kept cells with item cells, unfiltered cells): the stored cells, refreshed, when the
    rules are the round's own (what they are kept for); otherwise summed from the answers."""
    own = round_recognition_rules(rnd)
    if rules is None or cell_sums.rules_key(rules) == cell_sums.rules_key(own):
        return cell_sums.round_cells(rnd, own)
    return cell_sums.direct_cells(rnd, rules)


def round_recognition_sql(rnd: SurveyRound, catalogue: Catalogue, weights: Mapping[str, float] | None = None,
                          rules: RecognitionRules | None = None) -> RecognitionResult:
    """``round_recognition`` computed from cell sums (docs/rules.md §6; the same estimator,
    ``estimate_from_cells``): what the live results page and the overview use."""
    rules = rules or round_recognition_rules(rnd)
    cells, unfiltered = round_cells(rnd, rules)
    return estimate_from_cells(cells, sampling_frame(rnd.schools), rules, weights,
                               item_texts=item_texts(rnd, catalogue), unfiltered=unfiltered)
