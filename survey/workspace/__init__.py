"""The evaluator's web workspace: upload a data workbook, run, view and download the report,
fill in rectification, compare two evaluations of a county."""

from flask import Blueprint

bp = Blueprint("workspace", __name__, url_prefix="/evaluations")

from survey.workspace import manage, views  # noqa: E402,F401
