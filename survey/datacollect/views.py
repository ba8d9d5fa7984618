"""Data collection pages: staff (``/data/…``, county-scoped) and each school's own link
(``/d/<token>``, no account, no JavaScript). Views parse input, call one service, render."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from evaluator.checks import school_stages
from evaluator.errors import InputError
from evaluator.roster import read_roster
from evaluator.rules import DEFAULT_RULESET, available_rulesets
from survey import qr
from survey.access import READERS, WRITERS, roles_required, scoped_or_404
from survey.admin.forms import ActionForm
from survey.datacollect import services as svc
from survey.datacollect.forms import DataRoundForm
from survey.datacollect.models import DataFlag, DataRound, Evidence, SchoolSheet
from survey.db import db, refused
from survey.i18n import _
from survey.instruments import catalogue
from survey.models import County
from survey.services import ServiceError
from survey.views_common import action_or_400, form_page, local_to_utc

bp = Blueprint("datacollect", __name__)

REVIEWERS = READERS  # evidence is accepted by whoever reviews it: staff or an inspector
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def state_labels() -> dict[str, str]:
    return {"empty": _("未填写"), "draft": _("草稿"), "submitted": _("已提交"), "returned": _("已退回")}


def data_round_or_404(data_round_id: int) -> DataRound:
    return scoped_or_404(DataRound, data_round_id)


def _sheet_of(rnd: DataRound, sheet_id: int) -> SchoolSheet:
    sheet = db.session.get(SchoolSheet, sheet_id)
    if sheet is None or sheet.round_id != rnd.id:
        abort(404)
    return sheet


def _base() -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")


def school_url(sheet: SchoolSheet) -> str:
    return f"{_base()}/d/{sheet.token}"


def shown(value) -> str:
    """A stored value as typed into a form field: 是/否, integers without .0, empty for missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@bp.app_context_processor
def _helpers() -> dict:
    return {"dc_shown": shown}


# ----------------------------------------------------------------------------- staff
@bp.get("/data/")
@roles_required(*READERS)
def index():
    return render_template("datacollect/index.html", rounds=svc.visible_data_rounds(current_user),
                           can_edit=current_user.role in WRITERS)


@bp.route("/data/new", methods=["GET", "POST"])
@roles_required(*WRITERS)
def new():
    form = DataRoundForm()
    ids = current_user.county_ids()
    counties = db.session.query(County).order_by(County.code).all()
    counties = [c for c in counties if ids is None or c.id in ids]
    form.county.choices = [SelectChoice(c.id, f"{c.name}（{c.code}）") for c in counties]
    previous = svc.visible_data_rounds(current_user)
    form.previous.choices = [SelectChoice(0, _("不沿用（上传学校名单）"))] + [
        SelectChoice(r.id, _("%(county)s %(year)s年 · %(name)s", county=r.county.name, year=r.year, name=r.name))
        for r in previous]
    form.ruleset.choices = [SelectChoice(r) for r in available_rulesets()]
    if request.method == "GET":
        form.ruleset.data = DEFAULT_RULESET
    if not counties:
        flash(_("您的账号尚未关联任何县，无法创建填报。"), "error")
    elif form.validate_on_submit():
        county = next((c for c in counties if c.id == form.county.data), None)
        prev = next((r for r in previous if r.id == form.previous.data), None)
        upload = form.roster.data
        try:
            if county is None:
                raise ServiceError(_("请选择县"))
            roster = last_year = None
            if upload and prev is None:
                raw = upload.read()
                last_year = svc.read_previous_workbook(raw, upload.filename or "")
                if last_year is None:
                    roster = read_roster(io.BytesIO(raw), filename=upload.filename)
            rnd = svc.open_data_round(county=county, year=form.year.data, name=form.name.data, user=current_user,
                                      roster=roster, previous=prev, previous_workbook=last_year,
                                      deadline=local_to_utc(form.deadline.data), ruleset=form.ruleset.data)
        except (InputError, ServiceError) as exc:
            refused()
            form.roster.errors = [*form.roster.errors, str(exc)]
        else:
            flash(_("已创建填报“%(name)s”，共 %(n)s 所学校。", name=rnd.name, n=len(rnd.sheets)), "ok")
            return redirect(url_for(".detail", data_round_id=rnd.id))
    return form_page("datacollect/new.html", form=form)


@bp.get("/data/<int:data_round_id>")
@roles_required(*READERS)
def detail(data_round_id: int):
    rnd = data_round_or_404(data_round_id)
    rows = []
    for s in rnd.sheets:
        flags = svc.open_flags(s)
        rows.append({"sheet": s, "late": svc.is_late(s), "flags": len(flags),
                     "unsettled": sum(1 for f in flags if not f.settled)})
    counts: dict[str, int] = {}
    for s in rnd.sheets:
        counts[s.state] = counts.get(s.state, 0) + 1
    return render_template("datacollect/detail.html", rnd=rnd, rows=rows, counts=counts, states=state_labels(),
                           form=ActionForm(), can_edit=current_user.role in WRITERS, url=school_url,
                           late=sum(1 for r in rows if r["late"]))


@bp.get("/data/<int:data_round_id>/links")
@roles_required(*WRITERS)
def links(data_round_id: int):
    """Every school's link with its QR code, one card per school (print and hand out)."""
    rnd = data_round_or_404(data_round_id)
    cards = [{"sheet": s, "url": school_url(s), "svg": qr.svg_inline(school_url(s))} for s in rnd.sheets]
    return render_template("datacollect/links.html", rnd=rnd, cards=cards)


@bp.get("/data/<int:data_round_id>/sheets/<int:sheet_id>")
@roles_required(*READERS)
def sheet_detail(data_round_id: int, sheet_id: int):
    rnd = data_round_or_404(data_round_id)
    sheet = _sheet_of(rnd, sheet_id)
    flags = db.session.query(DataFlag).filter(DataFlag.sheet_id == sheet.id).order_by(DataFlag.id).all()
    evidence = [e for e in svc.round_evidence(rnd) if e.sheet_id == sheet.id]
    return render_template("datacollect/sheet.html", rnd=rnd, sheet=sheet, fields=svc.school_fields(sheet.school_type),
                           findings=svc.current_findings(sheet), flags=flags, evidence=evidence,
                           states=state_labels(), form=ActionForm(), can_edit=current_user.role in WRITERS,
                           can_review=current_user.role in REVIEWERS, url=school_url(sheet))


@bp.post("/data/<int:data_round_id>/sheets/<int:sheet_id>/return")
@roles_required(*WRITERS)
def sheet_return(data_round_id: int, sheet_id: int):
    rnd = data_round_or_404(data_round_id)
    sheet = _sheet_of(rnd, sheet_id)
    action_or_400()
    try:
        svc.return_sheet(sheet, request.form.get("comment", ""), user=current_user)
    except ServiceError as exc:
        refused()
        flash(str(exc), "error")
    else:
        flash(_("已退回%(name)s，学校打开填报链接即可看到退回原因并修改。", name=sheet.name), "ok")
    return redirect(url_for(".sheet_detail", data_round_id=rnd.id, sheet_id=sheet.id))


@bp.post("/data/<int:data_round_id>/flags/<int:flag_id>/override")
@roles_required(*WRITERS)
def flag_override(data_round_id: int, flag_id: int):
    rnd = data_round_or_404(data_round_id)
    flag = db.session.get(DataFlag, flag_id)
    if flag is None or flag.sheet.round_id != rnd.id:
        abort(404)
    action_or_400()
    try:
        svc.override_flag(flag, request.form.get("note", ""), user=current_user)
    except ServiceError as exc:
        refused()
        flash(str(exc), "error")
    else:
        flash(_("已确认该数据，核实意见已记录。"), "ok")
    return redirect(url_for(".sheet_detail", data_round_id=rnd.id, sheet_id=flag.sheet_id))


def _evidence_of(rnd: DataRound, evidence_id: int) -> Evidence:
    ev = db.session.get(Evidence, evidence_id)
    if ev is None or ev.round_id != rnd.id:
        abort(404)
    return ev


@bp.get("/data/<int:data_round_id>/evidence/<int:evidence_id>")
@roles_required(*READERS)
def evidence_file(data_round_id: int, evidence_id: int):
    """Always a download, never rendered by the browser (uploaded files are untrusted)."""
    ev = _evidence_of(data_round_or_404(data_round_id), evidence_id)
    resp = send_file(io.BytesIO(ev.data), mimetype="application/octet-stream", as_attachment=True,
                     download_name=ev.filename)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


@bp.post("/data/<int:data_round_id>/evidence/<int:evidence_id>/accept")
@roles_required(*REVIEWERS)
def evidence_accept(data_round_id: int, evidence_id: int):
    rnd = data_round_or_404(data_round_id)
    ev = _evidence_of(rnd, evidence_id)
    action_or_400()
    try:
        svc.accept_evidence(ev, user=current_user)
    except ServiceError as exc:
        refused()
        flash(str(exc), "error")
    else:
        flash(_("已认可佐证材料“%(name)s”。认可不改变指标的达标情况。", name=ev.filename), "ok")
    if ev.sheet_id:
        return redirect(url_for(".sheet_detail", data_round_id=rnd.id, sheet_id=ev.sheet_id))
    return redirect(url_for(".county", data_round_id=rnd.id))


@bp.route("/data/<int:data_round_id>/county", methods=["GET", "POST"])
@roles_required(*READERS)
def county(data_round_id: int):
    rnd = data_round_or_404(data_round_id)
    can_edit = current_user.role in WRITERS
    values, errors = dict(rnd.county_values or {}), {}
    status = 200
    if request.method == "POST":
        if not can_edit:
            abort(403)
        action_or_400()
        values, errors = svc.parse_county_form(request.form)
        if not errors:
            try:
                svc.save_county(rnd, values, user=current_user)
            except ServiceError as exc:
                refused()
                flash(str(exc) + _("，未保存任何修改。"), "error")
                status = 422
            else:
                flash(_("县级指标已保存。"), "ok")
                return redirect(url_for(".county", data_round_id=rnd.id))
        else:
            status = 422
    evidence = [e for e in svc.round_evidence(rnd) if e.sheet_id is None]
    return render_template("datacollect/county.html", rnd=rnd, fields=svc.county_fields(), values=values,
                           errors=errors, raw=request.form if request.method == "POST" else None, form=ActionForm(),
                           can_edit=can_edit and rnd.closed_at is None, evidence=evidence,
                           can_review=current_user.role in REVIEWERS,
                           evidence_items={k.key: svc.evidence_item(None, k.key, svc.checks_of(rnd))
                                           for k in svc.county_fields()}), status


@bp.post("/data/<int:data_round_id>/county/evidence")
@roles_required(*WRITERS)
def county_evidence(data_round_id: int):
    rnd = data_round_or_404(data_round_id)
    action_or_400()
    upload = request.files.get("file")
    try:
        svc.add_evidence(rnd, None, request.form.get("field", ""), upload.filename if upload else None,
                         upload.read() if upload else b"", actor=current_user.username, user=current_user)
    except ServiceError as exc:
        refused()
        flash(str(exc), "error")
        return redirect(url_for(".county", data_round_id=rnd.id))
    flash(_("佐证材料已上传，待审核认可。"), "ok")
    return redirect(url_for(".county", data_round_id=rnd.id))


@bp.post("/data/<int:data_round_id>/close")
@roles_required(*WRITERS)
def close(data_round_id: int):
    rnd = data_round_or_404(data_round_id)
    action_or_400()
    try:
        evaluation = svc.close_data_round(rnd, user=current_user, catalogue=catalogue())
    except (InputError, ServiceError) as exc:
        refused()
        flash(str(exc), "error")
        return redirect(url_for(".detail", data_round_id=rnd.id))
    flash(_("填报已结束，已生成评估。"), "ok")
    return redirect(url_for("workspace.detail", evaluation_id=evaluation.id))


@bp.get("/data/<int:data_round_id>/export.xlsx")
@roles_required(*READERS)
def export(data_round_id: int):
    rnd = data_round_or_404(data_round_id)
    return send_file(io.BytesIO(svc.workbook_bytes(rnd)), mimetype=XLSX, as_attachment=True,
                     download_name=svc.workbook_name(rnd))


@bp.get("/data/<int:data_round_id>/history")
@roles_required(*READERS)
def history(data_round_id: int):
    """Who entered or changed which value when (optionally one school, one field)."""
    rnd = data_round_or_404(data_round_id)
    sheet_id = request.args.get("sheet", type=int)
    sheet = _sheet_of(rnd, sheet_id) if sheet_id else None
    field_name = (request.args.get("field") or "").strip()[:80] or None
    changes = svc.history(rnd, sheet, field_name)
    return render_template("datacollect/history.html", rnd=rnd, sheet=sheet, field_name=field_name, changes=changes)


@bp.get("/data/<int:data_round_id>/history.csv")
@roles_required(*READERS)
def history_csv(data_round_id: int):
    rnd = data_round_or_404(data_round_id)
    return send_file(io.BytesIO(svc.audit_csv(rnd)), mimetype="text/csv", as_attachment=True,
                     download_name=f"{rnd.county.code}_{rnd.year}_修改记录_{rnd.id}.csv")


# ----------------------------------------------------------------------------- school
def _sheet_or_404(token: str) -> SchoolSheet:
    sheet = svc.sheet_by_token(token)
    if sheet is None:
        abort(404)
    return sheet


def _school_page(sheet: SchoolSheet, *, raw=None, errors=None, findings=(), flags=None, status=200, message=None):
    checks = svc.checks_of(sheet.round)
    flags = list(svc.open_flags(sheet)) if flags is None else list(flags)
    errors = dict(errors or {})
    for f in findings:
        errors.setdefault(svc.finding_key(f), f.message)
    evidence = [e for e in svc.round_evidence(sheet.round) if e.sheet_id == sheet.id]
    extra_class_rows = max(3, sum(int((sheet.values or {}).get(f"classes_{s}") or 0)
                                  for s in school_stages(sheet.school_type)) - len(sheet.classes or []) + 2)
    return render_template(
        "datacollect/school.html", sheet=sheet, rnd=sheet.round, fields=svc.school_fields(sheet.school_type),
        choices=svc.choices, stages=school_stages(sheet.school_type), raw=raw, errors=errors, flags=flags,
        flag_key=svc.flag_key, evidence=evidence, evidence_items=checks.evidence.school_items,
        evidence_types=checks.evidence.types, max_mb=checks.evidence.max_bytes // (1024 * 1024),
        states=state_labels(), late=svc.is_late(sheet), message=message,
        class_rows=len(sheet.classes or []) + min(extra_class_rows, 200), room_rows=len(sheet.rooms or []) + 3,
        locked=sheet.state == "submitted" or sheet.round.closed_at is not None), status


@bp.route("/d/<token>", methods=["GET", "POST"])
def school(token: str):
    sheet = _sheet_or_404(token)
    if request.method == "GET":
        return _school_page(sheet)
    action_or_400()
    checks = svc.checks_of(sheet.round)
    data = svc.parse_sheet_form(sheet, request.form, checks)
    submit = request.form.get("action") == "submit"
    if data.errors:
        return _school_page(sheet, raw=request.form, errors=data.errors, status=422,
                            message=_("有填写错误，未保存。请按红色提示修改后再保存。"))
    try:
        result = svc.save_sheet(sheet, data, submit=submit)
    except svc.SubmitRefused as exc:
        refused()
        return _school_page(sheet, raw=request.form, findings=exc.findings, flags=exc.flags, status=422,
                            message=str(exc))
    except ServiceError as exc:
        refused()
        return _school_page(sheet, raw=request.form, status=409, message=str(exc))
    if result.submitted:
        flash(_("已提交。教育局审核时如需修改，会退回并说明原因。"), "ok")
    elif result.findings or any(not f.settled for f in result.flags):
        flash(_("草稿已保存。提交前请处理下方标出的问题。"), "ok")
    else:
        flash(_("草稿已保存。"), "ok")
    return redirect(url_for(".school", token=token), 303)


@bp.post("/d/<token>/evidence")
def school_evidence(token: str):
    sheet = _sheet_or_404(token)
    action_or_400()
    upload = request.files.get("file")
    try:
        svc.add_evidence(sheet.round, sheet, request.form.get("field", ""), upload.filename if upload else None,
                         upload.read() if upload else b"", actor=svc.SCHOOL_ACTOR)
    except ServiceError as exc:
        refused()
        return _school_page(sheet, status=422, message=str(exc))
    flash(_("佐证材料已上传。"), "ok")
    return redirect(url_for(".school", token=token), 303)


@bp.after_request
def _no_store(resp: Response) -> Response:
    """A school's page carries its link key and data: never cached by shared proxies."""
    if request.endpoint in ("datacollect.school", "datacollect.school_evidence"):
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
