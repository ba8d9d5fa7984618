"""Forms of the staff pages (labels built lazily: Flask-Babel ``_l``)."""

from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from survey.forms import Form
from survey.i18n import _l


class RoundForm(Form):
    county_code = StringField(
        _l("县级行政区划代码（6 位）"),
        validators=[InputRequired(message=_l("请填写县代码")), Regexp(r"^\d{6}$", message=_l("县代码应为 6 位数字"))],
    )
    county_name = StringField(_l("县名称（新县填写；不填则按代码暂定名称，之后可改）"),
                              validators=[Optional(), Length(max=100)])
    name = StringField(
        _l("调查轮次名称"),
        validators=[InputRequired(message=_l("请填写名称")), Length(max=200, message=_l("名称最多 200 字"))],
    )
    roster = FileField(
        _l("学校名单（.xlsx 或 .csv）"),
        validators=[FileRequired(message=_l("请选择学校名单文件")),
                    FileAllowed(["xlsx", "csv"], message=_l("只接受 .xlsx 或 .csv 文件"))],
    )
    ruleset = SelectField(_l("评估规则"), choices=[])
    opens = DateTimeLocalField(_l("开始时间（北京时间，留空则立即开始）"), validators=[Optional()],
                               format="%Y-%m-%dT%H:%M")
    closes = DateTimeLocalField(_l("结束时间（留空则直到手动结束）"), validators=[Optional()],
                                format="%Y-%m-%dT%H:%M")
    target_n = IntegerField(_l("目标样本量（留空则按抽样公式）"),
                            validators=[Optional(), NumberRange(min=1, max=1_000_000, message=_l("应为 1–1000000 的整数"))])
    resident_population = IntegerField(
        _l("常住人口（按 1.5‰ 确定样本量时填写）"),
        validators=[Optional(), NumberRange(min=1, max=100_000_000, message=_l("应为正整数"))],
    )
    stop_when_full = BooleanField(_l("配额满后停止收集"), default=True)


    def _year_ok(self, field) -> None:
        if field.data is not None and not 2000 <= field.data.year <= 2100:
            raise ValidationError(_l("时间应在 2000 年至 2100 年之间"))

    validate_opens = _year_ok
    validate_closes = _year_ok


class ActionForm(Form):
    """CSRF-only form for buttons (close a round, save quotas)."""
