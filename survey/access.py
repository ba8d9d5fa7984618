"""Who may see what: roles and county scope, checked in one place."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort
from flask_login import current_user, login_required

from survey.db import db
from survey.models import County, SurveyRound

T = TypeVar("T")

READERS = ("admin", "staff", "evaluator")  # staff pages evaluators may read
WRITERS = ("admin", "staff")  # a county's own work: evaluators only read it


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


def scoped_or_404(model: type[T], object_id: int, county_id: Callable[[T], int] = lambda o: o.county_id) -> T:
    """The object, if it exists and belongs to one of the user's counties; 404 otherwise (its
    existence is not leaked). The one home of the staff views' "load it or 404" preamble."""
    obj = db.session.get(model, object_id)
    if obj is None or not can_see_county(county_id(obj)):
        abort(404)
    return obj


def round_or_404(round_id: int) -> SurveyRound:
    """The survey round, if it exists and is in the user's counties; 404 otherwise."""
    return scoped_or_404(SurveyRound, round_id)


def county_or_404(county_id: int) -> County:
    """The county, if it is one of the user's; 404 otherwise."""
    return scoped_or_404(County, county_id, lambda c: c.id)
