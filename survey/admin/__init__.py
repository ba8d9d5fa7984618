"""Bureau staff's pages: rounds, quotas, posters, live progress, exports."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from survey.admin import accounts, corrections, downloads, views  # noqa: E402,F401
