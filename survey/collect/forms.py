"""The respondent form, built at run time from a questionnaire definition."""

from __future__ import annotations

from wtforms import HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from evaluator.questionnaire import Questionnaire
from survey.forms import Form
from survey.i18n import _l


class AnswerField(RadioField):
    """A radio question whose messages are Chinese and whose only valid values are the scale."""

    def pre_validate(self, form) -> None:
        if self.data is not None and self.data not in {c.value for c in self.choices}:
            raise ValidationError(_l("请从给出的选项中选择"))


class _Base(Form):
    token = HiddenField()


_CLASSES: dict[tuple[str, str], type[Form]] = {}


def form_class(q: Questionnaire) -> type[Form]:
    """One form class per questionnaire version and file content, built once per process."""
    key = (q.key, q.sha256)
    if key not in _CLASSES:
        _CLASSES[key] = _build(q)
    return _CLASSES[key]


def _build(q: Questionnaire) -> type[Form]:
    fields = {
        it.id: AnswerField(
            it.text,
            choices=[SelectChoice(s) for s in q.scale],
            validators=[InputRequired(message=_l("请选择一项"))],
            validate_choice=True,
        )
        for it in q.items
    }
    return type(f"Answers_{q.id}_v{q.version}", (_Base,), fields)
