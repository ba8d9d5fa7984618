"""What an evaluation is for (自评 / 市级复核 / 省级评估 / 年度监测), archiving and deleting.

An evaluation's inputs and report are never changed: a label and an archive mark are the
only additions; deleting removes the whole record (for a run made by mistake)."""

from __future__ import annotations

from survey.db import db
from survey.models import Evaluation, utcnow
from survey.services import ServiceError

LABELS: dict[str, str] = {"self": "自评", "city_review": "市级复核", "province": "省级评估", "annual": "年度监测"}


def label_evaluation(evaluation: Evaluation, label: str | None) -> None:
    if label and label not in LABELS:
        raise ServiceError(f"评估类型应为 {'、'.join(LABELS.values())} 之一")
    evaluation.label = label or None
    db.session.flush()


def archive_evaluation(evaluation: Evaluation, archived: bool) -> None:
    """Archived evaluations leave the list (shown on request) but stay whole and downloadable."""
    evaluation.archived_at = utcnow() if archived else None
    db.session.flush()


def delete_evaluation(evaluation: Evaluation) -> None:
    db.session.delete(evaluation)
    db.session.flush()
