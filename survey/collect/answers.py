"""Reading a respondent's POST against the questionnaire's answer scale, without a form library.

The questionnaire is the whole schema: every item is one choice from ``q.scale``. Building a
WTForms class instance per POST (fields, validators, widgets) cost more than storing the
answer, so the rules are checked here directly: an item left out is "missing", a value not on
the scale is "scale" (nothing is stored either way). The page is re-rendered with the valid
answers kept and a message per question (templates/collect/_questions.html, form.html).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evaluator.questionnaire import Questionnaire

#: Why an item was not accepted; the templates turn these into Chinese messages.
MISSING, OFF_SCALE = "missing", "scale"


@dataclass
class Answers:
    """What a respondent sent: valid answers by item id, refused items with the reason, and
    page-level problems (``"expired"`` start token, ``"slip"`` code)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """Items left unanswered, in questionnaire order."""
        return [item for item, why in self.errors.items() if why == MISSING]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.form_errors


_SCALES: dict[tuple[str, str], frozenset[str]] = {}


def _scale(q: Questionnaire) -> frozenset[str]:
    key = (q.key, q.sha256)
    scale = _SCALES.get(key)
    if scale is None:
        scale = _SCALES[key] = frozenset(q.scale)
    return scale


def read_answers(q: Questionnaire, form) -> Answers:
    """Check every item of ``q`` in ``form`` (a werkzeug MultiDict: the first value of a
    repeated name counts, as a browser sends one per radio group; unknown names are ignored)."""
    scale = _scale(q)
    out = Answers()
    for it in q.items:
        value = form.get(it.id)
        if not value:
            out.errors[it.id] = MISSING
        elif value not in scale:
            out.errors[it.id] = OFF_SCALE
        else:
            out.values[it.id] = value
    return out
