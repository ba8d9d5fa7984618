"""Respondents' pages: the questionnaire behind a poster's QR code."""

from flask import Blueprint

bp = Blueprint("collect", __name__, url_prefix="/s")

from survey.collect import views  # noqa: E402,F401
