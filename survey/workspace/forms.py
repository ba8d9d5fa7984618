"""Forms of the workspace (labels built lazily: Flask-Babel ``_l``)."""

from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField

from survey.forms import Form
from survey.i18n import _l


class EvaluationForm(Form):
    workbook = FileField(
        _l("数据工作簿（.xlsx，或 CSV 文件夹的 .zip）"),
        validators=[FileRequired(message=_l("请选择数据工作簿")),
                    FileAllowed(["xlsx", "xlsm", "zip"], message=_l("只接受 .xlsx 工作簿或 .zip 压缩包"))],
    )
    ruleset = SelectField(_l("评估规则"), choices=[])
    round = SelectField(_l("社会认可度：调查轮次"), choices=[], coerce=int)
    responses = FileField(
        _l("或上传答卷文件（.csv 或 .xlsx）"),
        validators=[FileAllowed(["csv", "xlsx"], message=_l("答卷文件只接受 .csv 或 .xlsx"))],
    )

