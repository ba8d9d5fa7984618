"""Forms of the data-collection staff pages (labels built lazily: Flask-Babel ``_l``)."""

from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from survey.forms import Form
from survey.i18n import _l


class DataRoundForm(Form):
    county = SelectField(_l("县（市、区）"), choices=[], coerce=int)
    year = IntegerField(_l("填报年度"), validators=[
        InputRequired(message=_l("请填写年度")), NumberRange(min=2000, max=2100, message=_l("年度应在 2000–2100 之间"))])
    name = StringField(_l("名称"), validators=[
        InputRequired(message=_l("请填写名称")), Length(max=200, message=_l("名称最多 200 字"))])
    previous = SelectField(_l("沿用上一年的填报数据"), choices=[], coerce=int)
    roster = FileField(_l("或上传学校名单（.xlsx 或 .csv）或上一年的数据表"), validators=[
        FileAllowed(["xlsx", "csv"], message=_l("只接受 .xlsx 或 .csv 文件"))])
    ruleset = SelectField(_l("评估规则"), choices=[])
    deadline = DateTimeLocalField(_l("截止时间（北京时间，可留空）"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
