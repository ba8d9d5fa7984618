"""Label, archive and delete evaluations (staff and administrators)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from evaluator.report.display import item_problem, plain
from survey.access import roles_required
from survey.admin.forms import ActionForm
from survey.db import db
from survey.i18n import _
from survey.rulesets import ruleset_title
from survey.services import ServiceError
from survey.services.evaluation_labels import (
    LABELS,
    archive_evaluation,
    delete_evaluation,
    label_evaluation,
)
from survey.workspace import bp
from survey.workspace.views import READERS, WRITERS, evaluation_or_404

bp.add_app_template_global(ruleset_title, "ruleset_title")
bp.add_app_template_filter(plain, "plain")  # details without workbook keys (report writers' wording)
bp.add_app_template_filter(item_problem, "item_problem")
bp.add_app_template_global(LABELS, "evaluation_labels")


def _checked() -> None:
    """After the county check (another county's evaluation is a 404 for everyone): writers only."""
    if current_user.role not in WRITERS:
        abort(403)
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.post("/<int:evaluation_id>/label")
@roles_required(*READERS)
def set_label(evaluation_id: int):
    ev = evaluation_or_404(evaluation_id)
    _checked()
    try:
        label_evaluation(ev, request.form.get("label") or None)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("已标记为“%(l)s”。", l=LABELS[ev.label]) if ev.label else _("已取消评估类型标记。"), "ok")
    return redirect(url_for(".detail", evaluation_id=ev.id))


@bp.post("/<int:evaluation_id>/archive")
@roles_required(*READERS)
def set_archived(evaluation_id: int):
    ev = evaluation_or_404(evaluation_id)
    _checked()
    archived = request.form.get("archived") != "0"
    archive_evaluation(ev, archived)
    flash(_("评估 %(id)s 已归档，可在列表中点“显示已归档”找到。", id=ev.id) if archived
          else _("评估 %(id)s 已取消归档。", id=ev.id), "ok")
    return redirect(url_for(".detail", evaluation_id=ev.id))


@bp.post("/<int:evaluation_id>/delete")
@roles_required(*READERS)
def delete(evaluation_id: int):
    ev = evaluation_or_404(evaluation_id)
    _checked()
    county_id = ev.county_id
    delete_evaluation(ev)
    flash(_("评估 %(id)s 已删除。", id=evaluation_id), "ok")
    return redirect(url_for(".index", county=county_id))
