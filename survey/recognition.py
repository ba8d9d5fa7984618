"""Social recognition of a survey round: the evaluator's estimator on the round's answers."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from evaluator.questionnaire import Catalogue
from evaluator.recognition import RecognitionResult, RecognitionRules, recognize
from survey.exports import responses_frame
from survey.models import SurveyRound
from survey.services.rounds import recognition_rules, sampling_frame


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
    texts = {it.id: it.text for q in catalogue.questionnaires for it in q.items}
    return recognize(answers, frame, rules or recognition_rules(rnd.ruleset), weights, texts)
