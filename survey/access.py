"""Who may see what: roles and county scope, checked in one place."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from survey.db import db
from survey.models import SurveyRound


def roles_required(*roles: str):
    """Signed-in users with one of ``roles``; others get 403."""

    def deco(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return deco


def can_see_county(county_id: int) -> bool:
    ids = current_user.county_ids()
    return ids is None or county_id in ids


def round_or_404(round_id: int) -> SurveyRound:
    """The round, if it exists and is in the user's counties; 404 otherwise (existence is not leaked)."""
    rnd = db.session.get(SurveyRound, round_id)
    if rnd is None or not can_see_county(rnd.county_id):
        abort(404)
    return rnd
