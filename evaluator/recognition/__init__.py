"""Social-recognition estimator (docs/rules.md §6): rules, responses, filters, cells, estimate, planner.

Public API: :func:`recognize`, :func:`recognize_file`, :func:`read_responses`,
:func:`estimate_from_cells`, :func:`plan_sample`,
:func:`population_total_n`, :class:`RecognitionRules`, :class:`RecognitionResult`.
"""

from evaluator.recognition.estimator import (
    CellTotals,
    cells_from_codes,
    encode,
    estimate_from_cells,
    logit_ci,
    recognize,
)
from evaluator.recognition.planner import SamplePlan, plan_sample, population_total_n
from evaluator.recognition.responses import (
    load_mapping,
    read_responses,
    read_schools,
    recognize_file,
    rules_of,
)
from evaluator.recognition.result import (
    CountyEstimate,
    GroupEstimate,
    ItemEstimate,
    RecognitionResult,
    RecognitionSummary,
    SchoolEstimate,
)
from evaluator.recognition.rules import RecognitionRules

__all__ = [
    "CellTotals", "CountyEstimate", "GroupEstimate", "ItemEstimate", "RecognitionResult", "RecognitionSummary",
    "RecognitionRules", "SamplePlan", "SchoolEstimate", "cells_from_codes", "encode",
    "estimate_from_cells", "logit_ci", "plan_sample", "population_total_n", "recognize",
    "load_mapping", "read_responses", "read_schools", "recognize_file", "rules_of",
]
