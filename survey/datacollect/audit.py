"""The data round's audit trail (every change, who and when) and its plausibility checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evaluator.checks import (
    Checks,
    load_checks,
)
from survey.datacollect.models import DataChange, DataRound, SchoolSheet
from survey.db import db
from survey.models import User


def checks_of(rnd: DataRound) -> Checks:
    return load_checks(rnd.checks)


def audit(rnd: DataRound, sheet: SchoolSheet | None, field_name: str, old: Any, new: Any, *, actor: str,
           user: User | None, action: str, now: datetime) -> None:
    db.session.add(DataChange(round_id=rnd.id, sheet=sheet, field=field_name, old=old, new=new, actor=actor,
                              user_id=user.id if user else None, action=action, at=now))
