"""Forms of the overview pages (labels built lazily: Flask-Babel ``_l``)."""

from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, Regexp

from survey.forms import Form
from survey.i18n import _l


class RoadmapImportForm(Form):
    roadmap = FileField(
        _l("推进规划工作簿（.xlsx）"),
        validators=[FileRequired(message=_l("请选择推进规划工作簿")),
                    FileAllowed(["xlsx", "xlsm"], message=_l("只接受 .xlsx 工作簿"))],
    )


class RegionForm(Form):
    code = StringField(_l("区域代码（行政区划代码）"), validators=[
        InputRequired(message=_l("请填写区域代码")), Regexp(r"^\d{2,12}$", message=_l("区域代码应为 2–12 位数字"))])
    name = StringField(_l("区域名称"), validators=[InputRequired(message=_l("请填写区域名称")), Length(max=100)])
    level = SelectField(_l("级别"), choices=[SelectChoice("city", _l("市")), SelectChoice("province", _l("省"))])
    parent = SelectField(_l("上级（省）"), choices=[], validators=[Optional()])
