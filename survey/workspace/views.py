"""Workspace pages. Views parse input, call one service, render or send a file."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from evaluator.compare import compare_reports
from evaluator.errors import InputError
from evaluator.labels import STATUS_WORD, VERDICT_SHORT
from evaluator.rules import DEFAULT_RULESET, available_rulesets, load_ruleset
from survey.access import can_see_county, roles_required
from survey.admin.forms import ActionForm
from survey.db import db, read_only
from survey.i18n import _
from survey.instruments import catalogue
from survey.models import County, Evaluation
from survey.rulesets import ruleset_choices
from survey.services import ServiceError
from survey.services.evaluations import (
    RECTIFICATION_FIELDS,
    open_items,
    rectification_of,
    report_with_rectification,
    run_evaluation,
    save_rectification,
    visible_evaluations,
)
from survey.services.evaluations import sign_sheet as sign_sheet_of
from survey.services.rounds import visible_rounds
from survey.workspace import bp
from survey.workspace.forms import EvaluationForm

READERS = ("admin", "staff", "evaluator")
WRITERS = ("admin", "staff")  # rectification is the county's own plan: evaluators read it
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
MIMETYPES = {
    "html": "text/html",  # send_file adds "; charset=utf-8" to text types itself
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def verdict_labels() -> dict[str, str]:
    """The verdict headlines (evaluator.labels, the one home of the wording) in the user's language."""
    return {code: _(text) for code, text in VERDICT_SHORT.items()}


def status_labels() -> dict[str | None, str]:
    return {**{code: _(text) for code, text in STATUS_WORD.items()}, None: _("无")}


def evaluation_or_404(evaluation_id: int) -> Evaluation:
    """The evaluation, if it exists and is in the user's counties; 404 otherwise."""
    if not 0 < evaluation_id < 2**31:  # beyond the id column's integers: nothing to find
        abort(404)
    evaluation = db.session.get(Evaluation, evaluation_id)
    if evaluation is None or not can_see_county(evaluation.county_id):
        abort(404)
    return evaluation


@bp.get("/")
@roles_required(*READERS)
def index():
    county_id = request.args.get("county", type=int)
    if county_id is not None and not can_see_county(county_id):
        abort(404)
    show_archived = request.args.get("archived") == "1"
    evaluations = visible_evaluations(current_user)
    counties = sorted({ev.county for ev in evaluations}, key=lambda c: c.code)
    n_archived = sum(1 for ev in evaluations if ev.archived_at is not None)
    by_county: dict[County, list[Evaluation]] = {}
    for ev in evaluations:
        if (county_id is None or ev.county_id == county_id) and (show_archived or ev.archived_at is None):
            by_county.setdefault(ev.county, []).append(ev)
    return render_template("workspace/index.html", by_county=by_county, verdicts=verdict_labels(),
                           counties=counties, county_id=county_id, show_archived=show_archived,
                           n_archived=n_archived, compare_default=_compare_default)


def _compare_default(evs: list[Evaluation]) -> tuple[int, int]:
    """(older, newer) by assessment year, then time of the run: the usual 基期 → 本期."""
    ordered = sorted(evs, key=lambda e: (e.assessment_year or 0, e.created_at, e.id))
    return ordered[-2].id, ordered[-1].id


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*READERS)
def new():
    form = EvaluationForm()
    form.ruleset.choices = ruleset_choices()
    rounds = visible_rounds(current_user)
    form.round.choices = [SelectChoice(0, _("不使用调查轮次"))] + [
        SelectChoice(r.id, _("%(county)s · %(name)s（编号 %(id)s）", county=r.county.name, name=r.name, id=r.id))
        for r in rounds]
    if request.method == "GET":
        form.ruleset.data = DEFAULT_RULESET
    error = None
    if form.validate_on_submit():
        upload, responses = form.workbook.data, form.responses.data
        rnd = next((r for r in rounds if r.id == form.round.data), None)
        try:
            evaluation = run_evaluation(
                user=current_user, workbook_name=upload.filename, workbook_bytes=upload.read(),
                ruleset=form.ruleset.data, round=rnd, catalogue=catalogue(),
                responses_name=responses.filename if responses else None,
                responses_bytes=responses.read() if responses else None,
            )
        except (InputError, ServiceError) as exc:
            db.session.rollback()
            error = str(exc)
        else:
            flash(_("评估完成：%(v)s。", v=verdict_labels()[evaluation.verdict]), "ok")
            return redirect(url_for(".detail", evaluation_id=evaluation.id))
    status = 422 if request.method == "POST" else 200
    return render_template("workspace/new.html", form=form, error=error), status


@bp.get("/template.xlsx")
@roles_required(*READERS)
def template():
    """The blank data workbook (sheets, field notes, one example row), as ``run.py template``;
    ``?rules=<id>`` adds that rule-set's local-item fields (as ``template --rules``)."""
    name = request.args.get("rules")
    if name is not None and name not in available_rulesets():
        abort(404)
    rules = load_ruleset(name) if name else None
    from evaluator.workbook import write_template  # pandas, openpyxl: only for this download

    with tempfile.TemporaryDirectory(prefix="template-") as tmp:
        data = write_template(Path(tmp) / "template.xlsx", rules).read_bytes()
    return send_file(io.BytesIO(data), mimetype=MIMETYPES["xlsx"], as_attachment=True,
                     download_name="优质均衡评估数据表模板.xlsx")


@bp.get("/<int:evaluation_id>")
@roles_required(*READERS)
def detail(evaluation_id: int):
    ev = evaluation_or_404(evaluation_id)
    report = ev.report
    others = [e for e in visible_evaluations(current_user, ev.county_id) if e.id != ev.id]
    from survey.datacollect.models import DataRound

    data_round = db.session.scalar(select(DataRound).where(DataRound.evaluation_id == ev.id))
    return render_template("workspace/detail.html", ev=ev, report=report, verdicts=verdict_labels(),
                           statuses=status_labels(), n_open=len(open_items(report)), others=others,
                           can_edit=current_user.role in WRITERS, data_round=data_round)


@bp.get("/<int:evaluation_id>/report")
@roles_required(*READERS)
@read_only
def report_page(evaluation_id: int):
    """The self-contained HTML report (printable), with the saved rectification."""
    ev = evaluation_or_404(evaluation_id)
    from evaluator.report import render_html

    resp = Response(render_html(report_with_rectification(ev)), mimetype="text/html")
    # the report carries uploaded text (school names, rectification): no scripts, framed only by us
    resp.headers["Content-Security-Policy"] = REPORT_CSP
    return resp


@bp.get("/<int:evaluation_id>/sign")
@roles_required(*READERS)
def sign_sheet(evaluation_id: int):
    """A one-page printable verdict with the inputs' fingerprints and signature lines."""
    ev = evaluation_or_404(evaluation_id)
    sheet = sign_sheet_of(ev)
    return render_template("workspace/sign.html", ev=ev, report=ev.report, counts=sheet.counts,
                           verdicts=verdict_labels(), extra_inputs=sheet.extra_inputs,
                           report_sha256=sheet.report_sha256, rules_bases=sheet.rules_bases)


def _download_name(ev: Evaluation, ext: str) -> str:
    year = f"{ev.assessment_year}年" if ev.assessment_year else ""
    return f"{ev.county.name}{year}优质均衡评估报告_{ev.id}.{ext}"


@bp.get("/<int:evaluation_id>/report.<ext>")
@roles_required(*READERS)
@read_only
def download(evaluation_id: int, ext: str):
    ev = evaluation_or_404(evaluation_id)
    if ext not in MIMETYPES:
        abort(404)
    report = report_with_rectification(ev)
    from evaluator.report import render_html, write_docx, write_xlsx  # python-docx, openpyxl

    if ext == "html":
        data = render_html(report).encode("utf-8")
    elif ext == "json":
        data = json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8")
    else:
        with tempfile.TemporaryDirectory(prefix="report-") as tmp:
            path = Path(tmp) / f"report.{ext}"
            (write_docx if ext == "docx" else write_xlsx)(report, path)
            data = path.read_bytes()
    return send_file(io.BytesIO(data), mimetype=MIMETYPES[ext], as_attachment=True,
                     download_name=_download_name(ev, ext))


@bp.get("/<int:evaluation_id>/inputs/<which>")
@roles_required(*READERS)
def input_file(evaluation_id: int, which: str):
    """The exact input bytes the evaluation read (audit)."""
    ev = evaluation_or_404(evaluation_id)
    if which == "workbook":
        data, name = ev.workbook_data, ev.workbook_name
    elif which == "responses" and ev.responses_data is not None:
        data, name = ev.responses_data, ev.responses_name or "responses.csv"
    else:
        abort(404)
    return send_file(io.BytesIO(data), mimetype="application/octet-stream", as_attachment=True,
                     download_name=name)


@bp.route("/<int:evaluation_id>/rectification", methods=["GET", "POST"])
@roles_required(*READERS)
def rectification(evaluation_id: int):
    ev = evaluation_or_404(evaluation_id)
    can_edit = current_user.role in WRITERS
    form = ActionForm()
    items = open_items(ev.report)
    if request.method == "POST":
        if not can_edit:
            abort(403)
        if not form.validate_on_submit():
            abort(400)
        entries = {it["code"]: {key: request.form.get(f"{key}-{it['code']}", "") for key in RECTIFICATION_FIELDS}
                   for it in items}
        try:
            save_rectification(ev, entries, user=current_user)
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc) + _("，未保存任何修改。"), "error")
        else:
            flash(_("整改内容已保存，下载的报告（HTML/Word/Excel）已包含。"), "ok")
            return redirect(url_for(".detail", evaluation_id=ev.id))
    return render_template("workspace/rectification.html", ev=ev, items=items, rect=rectification_of(ev),
                           form=form, can_edit=can_edit, statuses=status_labels(), limits=RECTIFICATION_FIELDS)


@bp.get("/compare")
@roles_required(*READERS)
def compare():
    then = evaluation_or_404(request.args.get("a", type=int) or 0)
    now = evaluation_or_404(request.args.get("b", type=int) or 0)
    if then.county_id != now.county_id:
        flash(_("只能比较同一个县的两次评估。"), "error")
        return redirect(url_for(".index", county=now.county_id))
    comparison = compare_reports(then.report, now.report)
    return render_template("workspace/compare.html", then=then, now=now, c=comparison,
                           verdicts=verdict_labels(), statuses=status_labels())
