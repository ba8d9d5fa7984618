"""Overview pages: counties in scope with their plan and progress, the city review report,
each county's roadmap, its projection (with what-if) and tracking; regions (admin).
Views parse input, call one service, render or send a file."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
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

from evaluator.errors import InputError
from evaluator.projection import ADDED, ASSUMPTIONS, KINDS, Project, indicator_series
from evaluator.roadmap import read_roadmap, write_roadmap
from evaluator.rules import (
    INDICATOR_KEYS,
    ITEM_CODES,
    SCHOOL_TYPES,
    STAGE_LABELS,
    STAGES,
    load_ruleset,
)
from evaluator.workbook.schema import LOCALITIES
from survey.access import READERS, WRITERS, county_or_404, roles_required
from survey.admin.forms import ActionForm
from survey.db import db, read_only, refused
from survey.i18n import _
from survey.instruments import catalogue
from survey.models import County
from survey.overview import regions as regions_svc
from survey.overview import rows as table
from survey.overview import services as svc
from survey.overview.charts import indicator_chart
from survey.overview.forms import RegionForm, RoadmapImportForm
from survey.overview.models import Region
from survey.overview.reports import INDICATOR_ZH, overview_xlsx, review_data, review_docx
from survey.services import ServiceError
from survey.services.evaluations import safe_filename
from survey.views_common import action_or_400

bp = Blueprint("overview", __name__, url_prefix="/overview")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NUMBER_FIELDS = ("seats_primary", "seats_junior", *ADDED, "music_rooms", "music_room_area", "art_rooms",
                 "art_room_area")


def this_year() -> int:
    """The current year in Beijing (OVERVIEW_YEAR in the config fixes it, e.g. for a review as of a date)."""
    return current_app.config.get("OVERVIEW_YEAR") or dt.datetime.now(ZoneInfo("Asia/Shanghai")).year


def verdict_labels() -> dict[str | None, str]:
    return {"recognized": _("达到优质均衡发展要求"), "not_recognized": _("未达到优质均衡发展要求"),
            "incomplete": _("数据不完整，暂不能认定"), None: _("尚无评估")}


def status_labels() -> dict[str | None, str]:
    return {"pass": _("达标"), "fail": _("未达标"), "pending": _("待定"), "n/a": _("不适用"), None: "—"}


def _scope():
    """(region or None, counties in scope, rows sorted and filtered) from the query string."""
    regions = regions_svc.visible_regions(current_user)
    region_id = request.args.get("region", type=int)
    region = None
    if region_id is not None:
        region = next((r for r in regions if r.id == region_id), None)
        if region is None:
            abort(404)
    counties = regions_svc.counties_in_scope(current_user, region)
    rows = table.overview_rows(counties, catalogue(), this_year())
    rows = table.sort_and_filter(rows, sort=request.args.get("sort", "code"), light=request.args.get("light", ""),
                               q=(request.args.get("q") or "").strip()[:50],
                               target=request.args.get("target", type=int))
    return regions, region, rows


def _title(region: Region | None) -> str:
    return _("%(name)s义务教育优质均衡发展县域进展总览", name=region.name if region else _("全部"))


@bp.get("/")
@roles_required(*READERS)
@read_only
def index():
    regions, region, rows = _scope()
    return render_template("overview/index.html", rows=rows, regions=regions, region=region,
                           verdicts=verdict_labels(), rule=table.LIGHT_RULE, args=request.args, title=_title(region),
                           sorts=table.SORTS)


@bp.get("/export.xlsx")
@roles_required(*READERS)
@read_only
def export_xlsx():
    _regions, region, rows = _scope()
    return send_file(io.BytesIO(overview_xlsx(rows, _title(region))), mimetype=XLSX, as_attachment=True,
                     download_name=_("县域进展总览.xlsx"))


@bp.get("/review")
@roles_required(*READERS)
@read_only
def review():
    """The city review report, printable (one section per county, comparison tables)."""
    _regions, region, rows = _scope()
    title = _("%(name)s县域义务教育优质均衡发展市级复核报告", name=region.name if region else "")
    return render_template("overview/review.html", data=review_data(rows, title), verdicts=verdict_labels(),
                           statuses=status_labels(), today=dt.date.today(), assumptions=ASSUMPTIONS)


@bp.get("/review.docx")
@roles_required(*READERS)
@read_only
def review_word():
    _regions, region, rows = _scope()
    title = _("%(name)s县域义务教育优质均衡发展市级复核报告", name=region.name if region else "")
    return send_file(io.BytesIO(review_docx(review_data(rows, title))), mimetype=DOCX, as_attachment=True,
                     download_name=_("市级复核报告.docx"))


# ----------------------------------------------------------------------------- county
@bp.get("/counties/<int:county_id>")
@roles_required(*READERS)
def county(county_id: int):
    c = county_or_404(county_id)
    row = table.overview_rows([c], catalogue(), this_year())[0]
    tracking, why = svc.tracking_for(c)
    return render_template("overview/county.html", c=c, row=row, tracking=tracking, tracking_why=why,
                           verdicts=verdict_labels(), statuses=status_labels(), can_edit=current_user.role in WRITERS)


@bp.get("/roadmap-template.xlsx")
@roles_required(*READERS)
def roadmap_template():
    titles = load_ruleset().item_titles
    with tempfile.TemporaryDirectory(prefix="roadmap-") as tmp:
        data = write_roadmap(Path(tmp) / "t.xlsx", None, titles=titles).read_bytes()
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=_("推进规划模板.xlsx"))


@bp.get("/counties/<int:county_id>/roadmap.xlsx")
@roles_required(*READERS)
def roadmap_download(county_id: int):
    c = county_or_404(county_id)
    roadmap = svc.current_roadmap(c)
    if roadmap is None:
        abort(404)
    with tempfile.TemporaryDirectory(prefix="roadmap-") as tmp:
        data = write_roadmap(Path(tmp) / "r.xlsx", roadmap, titles=load_ruleset().item_titles).read_bytes()
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=_("%(name)s推进规划.xlsx", name=c.name))


def _years(plan, measures) -> list[int]:
    start = min([y for _, y in measures] + [this_year()])
    end = max([y for _, y in measures] + [plan.target_year if plan else this_year() + 3])
    return list(range(start, end + 1))


@bp.route("/counties/<int:county_id>/roadmap", methods=["GET", "POST"])
@roles_required(*READERS)
def roadmap(county_id: int):
    c = county_or_404(county_id)
    can_edit = current_user.role in WRITERS
    form = ActionForm()
    status = 200
    if request.method == "POST":
        if not can_edit:
            abort(403)
        if not form.validate_on_submit():
            abort(400)
        target = request.form.get("target_year", type=int)
        entries = {}
        for key, value in request.form.items():
            if key.startswith("m-"):
                _m, code, year = key.split("-", 2)
                if code in ITEM_CODES and year.isdigit():
                    entries[(code, int(year))] = value
        try:
            if target is None:
                raise ServiceError(_("请填写目标验收年份"))
            svc.save_measures(c, target, entries, user=current_user)
        except ServiceError as exc:
            refused()
            flash(str(exc) + _("，未保存任何修改。"), "error")
            status = 422
        else:
            flash(_("推进规划已保存。"), "ok")
            return redirect(url_for(".roadmap", county_id=c.id))
    plan = svc.plan_of(c)
    measures = svc.plan_measures(c)
    titles = load_ruleset().item_titles
    return render_template("overview/roadmap.html", c=c, plan=plan, measures=measures, years=_years(plan, measures),
                           codes=ITEM_CODES, titles=titles, projects=svc.plan_projects(c), form=form,
                           import_form=RoadmapImportForm(), can_edit=can_edit, kinds=KINDS, types=SCHOOL_TYPES,
                           localities=LOCALITIES, added=ADDED, enrolment=svc.plan_enrolment(c).to_dict("records"),
                           this_year=this_year()), status


@bp.post("/counties/<int:county_id>/roadmap/import")
@roles_required(*WRITERS)
def roadmap_import(county_id: int):
    c = county_or_404(county_id)
    form = RoadmapImportForm()
    if not form.validate_on_submit():
        return _refused(c, "；".join(str(e) for errs in form.errors.values() for e in errs))
    upload = form.roadmap.data
    name = safe_filename(upload.filename, "roadmap.xlsx")
    try:
        with tempfile.TemporaryDirectory(prefix="roadmap-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(upload.read())
            roadmap = read_roadmap(path, name)
        svc.save_roadmap(c, roadmap, user=current_user, source_name=name)
    except (InputError, ServiceError) as exc:
        refused()
        return _refused(c, str(exc))
    flash(_("已导入推进规划：目标 %(year)s 年，措施 %(m)s 条，项目 %(p)s 个。", year=roadmap.target_year,
            m=len(roadmap.measures), p=len(roadmap.projects)), "ok")
    return redirect(url_for(".roadmap", county_id=c.id))


def _refused(c: County, message: str):
    """Bad input on a roadmap form: a Chinese page naming the problem, 422, nothing stored."""
    return render_template("overview/refused.html", c=c, error=message,
                           back=url_for(".roadmap", county_id=c.id)), 422


def _number(name: str, label: str) -> float:
    text = (request.form.get(name) or "").strip()
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise ServiceError(_("“%(label)s”应为数字", label=label)) from None
    if value != value or value < 0 or value > 1e12:
        raise ServiceError(_("“%(label)s”应为非负数", label=label))
    return value


def _project_from_form(key: str = "new") -> Project:
    from evaluator.roadmap import PROJECT_COLUMNS

    labels = {c.key: c.zh for c in PROJECT_COLUMNS}
    nums = {k: _number(k, labels[k]) for k in NUMBER_FIELDS}
    year = request.form.get("year", type=int)
    if year is None:
        raise ServiceError(_("请填写完成年份"))
    return Project(
        key=key, year=year, kind=request.form.get("kind", ""), school_code=(request.form.get("school_code") or "").strip(),
        name=(request.form.get("name") or "").strip()[:200], school_name=(request.form.get("school_name") or "").strip()[:200],
        school_type=request.form.get("school_type", ""), locality=request.form.get("locality", ""),
        seats_primary=int(nums["seats_primary"]), seats_junior=int(nums["seats_junior"]),
        added={k: nums[k] for k in ADDED if nums[k]}, music_rooms=int(nums["music_rooms"]),
        music_room_area=nums["music_room_area"], art_rooms=int(nums["art_rooms"]), art_room_area=nums["art_room_area"],
        transfer_schools=tuple(x for x in (request.form.get("transfer_schools") or "").replace("，", "、")
                               .replace(",", "、").split("、") if x.strip()))


@bp.post("/counties/<int:county_id>/roadmap/projects")
@roles_required(*WRITERS)
def project_add(county_id: int):
    c = county_or_404(county_id)
    action_or_400()
    try:
        svc.add_project(c, _project_from_form(), user=current_user)
    except ServiceError as exc:
        refused()
        return _refused(c, str(exc) + _("，项目未保存。"))
    flash(_("项目已添加。"), "ok")
    return redirect(url_for(".roadmap", county_id=c.id) + "#projects")


@bp.post("/counties/<int:county_id>/roadmap/projects/<int:project_id>/delete")
@roles_required(*WRITERS)
def project_delete(county_id: int, project_id: int):
    c = county_or_404(county_id)
    action_or_400()
    try:
        svc.delete_project(c, project_id, user=current_user)
    except ServiceError as exc:
        refused()
        return _refused(c, str(exc))
    flash(_("项目已删除。"), "ok")
    return redirect(url_for(".roadmap", county_id=c.id) + "#projects")


@bp.post("/counties/<int:county_id>/roadmap/baseline")
@roles_required(*WRITERS)
def baseline_reset(county_id: int):
    c = county_or_404(county_id)
    action_or_400()
    try:
        plan = svc.rebase_plan(c, user=current_user)
    except ServiceError as exc:
        refused()
        return _refused(c, str(exc))
    flash(_("年度跟踪改以第 %(id)s 号评估为起点。", id=plan.baseline_evaluation_id), "ok")
    return redirect(url_for(".roadmap", county_id=c.id))


@bp.post("/counties/<int:county_id>/roadmap/enrolment")
@roles_required(*WRITERS)
def enrolment_set(county_id: int):
    c = county_or_404(county_id)
    action_or_400()

    def count(name: str) -> int | None:
        text = (request.form.get(name) or "").strip()
        if not text:
            return None
        if not text.isdigit():
            raise ServiceError(_("在校生数应为 0–100000 的整数"))
        return int(text)

    try:
        year = request.form.get("year", type=int)
        if year is None:
            raise ServiceError(_("请填写年份"))
        svc.set_enrolment(c, request.form.get("school_code", ""), year, count("students_primary"),
                          count("students_junior"), user=current_user)
    except ServiceError as exc:
        refused()
        return _refused(c, str(exc) + _("，未保存。"))
    flash(_("学生数预测已保存。"), "ok")
    return redirect(url_for(".roadmap", county_id=c.id) + "#enrolment")


# ----------------------------------------------------------------------------- projection
def _charts(projection) -> list[dict]:
    labels = {"min": _("最低学校"), "mean": _("县均值"), "threshold": _("标准")}
    out = []
    for stage in STAGES:
        for key in INDICATOR_KEYS:
            series = indicator_series(projection, key, stage)
            title = _("%(stage)s · %(name)s", stage=STAGE_LABELS[stage], name=INDICATOR_ZH[key])
            out.append({"title": title, "svg": indicator_chart(series, title, labels), "series": series})
    return out


@bp.route("/counties/<int:county_id>/projection", methods=["GET", "POST"])
@roles_required(*READERS)
def projection(county_id: int):
    """The projection per year; POST = what-if (move projects, add one), never saved."""
    c = county_or_404(county_id)
    form = ActionForm()
    outcome = svc.projection_for(c)
    rows = svc.plan_projects(c)
    whatif = None
    whatif_error = None
    moves: dict[int, int] = {}
    if request.method == "POST" and outcome.projection is not None:
        if not form.validate_on_submit():
            abort(400)
        plan = svc.plan_of(c)
        projects = []
        try:
            for r in rows:
                year = request.form.get(f"move-{r.id}", type=int)
                p = svc.as_project(r)
                if year is not None and year != r.year:
                    if not outcome.projection.base_year <= year <= plan.target_year:
                        raise ServiceError(_("调整后的年份应在 %(a)s–%(b)s 之间", a=outcome.projection.base_year,
                                             b=plan.target_year))
                    moves[r.id] = year
                    p = replace(p, year=year)
                if request.form.get(f"drop-{r.id}"):
                    moves[r.id] = 0
                    continue
                projects.append(p)
            if (request.form.get("school_code") or "").strip():
                extra = _project_from_form("what-if")
                svc.check_project(extra)
                projects.append(extra)
            result = svc.projection_for(c, projects=projects, dependencies=False)
        except ServiceError as exc:
            whatif_error = str(exc)
        else:
            if result.projection is None:
                whatif_error = result.problem
            else:
                whatif = result.projection
    p = outcome.projection
    return render_template(
        "overview/projection.html", c=c, outcome=outcome, p=p, whatif=whatif, whatif_error=whatif_error,
        moves=moves, rows=rows, form=form, charts=_charts(p) if p else [], verdicts=verdict_labels(),
        statuses=status_labels(), assumptions=ASSUMPTIONS, kinds=KINDS, types=SCHOOL_TYPES, localities=LOCALITIES,
        labels={str(r.id): (r.name or f"{r.year}{KINDS.get(r.kind, '')}{r.school_name or r.school_code}") for r in rows},
        plan=svc.plan_of(c)), 422 if whatif_error else 200


# ----------------------------------------------------------------------------- regions (admin)
@bp.route("/regions", methods=["GET", "POST"])
@roles_required("admin")
def regions():
    form = RegionForm()
    provinces = list(db.session.scalars(db.select(Region).where(Region.level == "province").order_by(Region.code)))
    form.parent.choices = [SelectChoice("", _("无"))] + [SelectChoice(str(r.id), f"{r.name}（{r.code}）")
                                                        for r in provinces]
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            parent = db.session.get(Region, int(form.parent.data)) if form.parent.data else None
            try:
                regions_svc.create_region(form.code.data, form.name.data, form.level.data, parent)
            except ServiceError as exc:
                refused()
                flash(str(exc), "error")
                status = 422
            else:
                flash(_("区域已创建。"), "ok")
                return redirect(url_for(".regions"))
        else:
            status = 422
    all_regions = list(db.session.scalars(db.select(Region).order_by(Region.level.desc(), Region.code)))
    counties = list(db.session.scalars(db.select(County).order_by(County.code)))
    return render_template("overview/regions.html", form=form, regions=all_regions, counties=counties,
                           action=ActionForm()), status


@bp.post("/regions/<int:region_id>")
@roles_required("admin")
def region_update(region_id: int):
    region = db.session.get(Region, region_id)
    if region is None:
        abort(404)
    action_or_400()
    try:
        if "counties" in request.form:
            codes = (request.form.get("counties") or "").replace("，", ",").replace("、", ",").replace(" ", ",")
            regions_svc.set_region_counties(region, codes.split(","))
        if (request.form.get("username") or "").strip():
            regions_svc.assign_region(region, request.form["username"])
    except ServiceError as exc:
        refused()
        return render_template("overview/refused.html", c=None, error=str(exc) + _("，未保存任何修改。"),
                               back=url_for(".regions")), 422
    flash(_("已保存 %(name)s。", name=region.name), "ok")
    return redirect(url_for(".regions"))
