"""Social-recognition estimator (docs/rules.md §6): rules, responses, filters, cells, estimate, planner.

Public API: :func:`recognize`, :func:`recognize_file`, :func:`read_responses`,
:func:`estimate_from_cells`, :func:`plan_sample`,
:func:`population_total_n`, :class:`RecognitionRules`, :class:`RecognitionResult`.

The names are imported from their modules when first used (PEP 562), so importing
``evaluator.recognition.rules`` or ``.filters`` alone (the export's quality flags) does not
import pandas and scipy with the estimator and the planner.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_MODULES = {
    "estimator": ("CellTotals", "cells_from_codes", "encode", "estimate_from_cells", "logit_ci", "recognize"),
    "planner": ("SamplePlan", "plan_sample", "population_total_n"),
    "responses": ("load_mapping", "read_responses", "read_schools", "recognize_file", "rules_of"),
    "result": ("CountyEstimate", "GroupEstimate", "ItemEstimate", "RecognitionResult", "RecognitionSummary",
               "SchoolEstimate"),
    "rules": ("RecognitionRules",),
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "CellTotals", "CountyEstimate", "GroupEstimate", "ItemEstimate", "RecognitionResult", "RecognitionSummary",
    "RecognitionRules", "SamplePlan", "SchoolEstimate", "cells_from_codes", "encode",
    "estimate_from_cells", "logit_ci", "plan_sample", "population_total_n", "recognize",
    "load_mapping", "read_responses", "read_schools", "recognize_file", "rules_of",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
