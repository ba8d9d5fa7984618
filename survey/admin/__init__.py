"""Bureau staff's pages: rounds, quotas, posters, live progress, exports."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from survey.admin import accounts, corrections, downloads, views  # noqa: E402,F401
from survey.integrity import views as _integrity_views  # noqa: E402,F401  (integrity pages on this blueprint)
