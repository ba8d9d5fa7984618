"""Correcting a round in the browser: settings (name, dates, full-quota rule, organiser and
contact, county name), reopening, the roster (edit, add, remove a school), deleting an
unused round and copying one as next year's. Each view calls one service of
``survey.services.corrections``; refusals come back as Chinese messages, nothing half-saved."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from evaluator.errors import InputError
from evaluator.roster import MAX_COUNT
from evaluator.tables import SCHOOL_TYPES
from survey.access import WRITERS, roles_required, round_or_404
from survey.admin import bp
from survey.admin.forms import ActionForm
from survey.db import refused
from survey.forms import Form
from survey.i18n import _, _l
from survey.instruments import catalogue
from survey.models import School
from survey.services import ServiceError
from survey.services import corrections as svc
from survey.views_common import action_or_400, form_page, local_to_utc

_WHEN = "%Y-%m-%dT%H:%M"


def _local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).replace(tzinfo=None)


class RoundEditForm(Form):
    name = StringField(_l("调查轮次名称"), validators=[InputRequired(message=_l("请填写名称")), Length(max=200)])
    county_name = StringField(_l("县名称"), validators=[InputRequired(message=_l("请填写县名称")), Length(max=100)])
    opens = DateTimeLocalField(_l("开始时间（北京时间，留空则立即开始）"), validators=[Optional()], format=_WHEN)
    closes = DateTimeLocalField(_l("结束时间（留空则直到手动结束）"), validators=[Optional()], format=_WHEN)
    stop_when_full = BooleanField(_l("配额满后停止收集"))
    organiser = StringField(_l("主办单位（印在海报上，如“××县教育局”）"), validators=[Optional(), Length(max=200)])
    contact = StringField(_l("联系方式（印在海报上，如“县教育局督导室 0571-0000000”）"),
                          validators=[Optional(), Length(max=200)])


_COUNT = [Optional(), NumberRange(min=0, max=MAX_COUNT, message=_l("应为 0–%(max)s 的整数", max=MAX_COUNT))]


class SchoolForm(Form):
    name = StringField(_l("学校名称"), validators=[InputRequired(message=_l("请填写学校名称")), Length(max=200)])
    students_primary = IntegerField(_l("小学在校生数"), validators=_COUNT)
    students_junior = IntegerField(_l("初中在校生数"), validators=_COUNT)
    students_senior = IntegerField(_l("高中在校生数（完全中学、十二年一贯制）"), validators=_COUNT)
    teachers = IntegerField(_l("专任教师数（义务教育阶段）"), validators=_COUNT)


class NewSchoolForm(SchoolForm):
    code = StringField(_l("学校代码"), validators=[InputRequired(message=_l("请填写学校代码")), Length(max=40)])
    school_type = SelectField(_l("学校类型"), choices=[SelectChoice(t, t) for t in SCHOOL_TYPES])


class ReopenForm(Form):
    closes = DateTimeLocalField(_l("新的结束时间（北京时间，留空则直到手动结束）"), validators=[Optional()], format=_WHEN)


class CopyForm(Form):
    name = StringField(_l("新一轮的名称"), validators=[InputRequired(message=_l("请填写名称")), Length(max=200)])
    opens = DateTimeLocalField(_l("开始时间（北京时间，留空则立即开始）"), validators=[Optional()], format=_WHEN)
    closes = DateTimeLocalField(_l("结束时间（留空则直到手动结束）"), validators=[Optional()], format=_WHEN)


def _error_to(form, exc: Exception, fields: dict[str, str], default: str) -> None:
    name = fields.get(getattr(exc, "field", None) or "", default)
    target = getattr(form, name)
    target.errors = [*target.errors, getattr(exc, "reason", None) or str(exc)]


def _school(rnd, school_id: int) -> School:
    school = next((s for s in rnd.schools if s.id == school_id), None)
    if school is None:
        abort(404)
    return school


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@roles_required(*WRITERS)
def round_edit(round_id: int):
    rnd = round_or_404(round_id)
    form = RoundEditForm()
    if request.method == "GET":
        form.name.data, form.county_name.data = rnd.name, rnd.county.name
        form.opens.data, form.closes.data = _local(rnd.opens_at), _local(rnd.closes_at)
        form.stop_when_full.data = rnd.stop_when_full
        form.organiser.data, form.contact.data = rnd.organiser, rnd.contact
    elif form.validate_on_submit():
        try:
            svc.rename_county(rnd.county, form.county_name.data, by=current_user, rnd=rnd)
            changes = svc.update_round(
                rnd, by=current_user, name=form.name.data, opens_at=local_to_utc(form.opens.data),
                closes_at=local_to_utc(form.closes.data), stop_when_full=form.stop_when_full.data,
                organiser=form.organiser.data, contact=form.contact.data)
        except InputError as exc:
            refused()
            _error_to(form, exc, {"name": "name", "closes": "closes", "organiser": "organiser",
                                  "contact": "contact", "county_name": "county_name"}, "name")
        else:
            flash(_("已保存：%(what)s。", what="；".join(changes)) if changes else _("没有修改。"), "ok")
            return redirect(url_for(".round_detail", round_id=rnd.id))
    return form_page("admin/round_edit.html", rnd=rnd, form=form)


@bp.route("/rounds/<int:round_id>/reopen", methods=["GET", "POST"])
@roles_required(*WRITERS)
def round_reopen(round_id: int):
    rnd = round_or_404(round_id)
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            detail = svc.reopen_round(rnd, by=current_user, closes_at=local_to_utc(form.closes.data))
        except (InputError, ServiceError) as exc:
            refused()
            _error_to(form, exc, {}, "closes")
        else:
            flash(_("%(what)s。", what=detail), "ok")
            return redirect(url_for(".round_detail", round_id=rnd.id))
    return form_page("admin/round_reopen.html", rnd=rnd, form=form)


@bp.route("/rounds/<int:round_id>/schools/<int:school_id>", methods=["GET", "POST"])
@roles_required(*WRITERS)
def school_edit(round_id: int, school_id: int):
    rnd = round_or_404(round_id)
    school = _school(rnd, school_id)
    form = SchoolForm()
    if request.method == "GET":
        form.name.data = school.name
        form.students_primary.data, form.students_junior.data = school.students_primary, school.students_junior
        form.students_senior.data, form.teachers.data = school.students_senior, school.teachers
    elif form.validate_on_submit():
        try:
            changes = svc.edit_school(
                rnd, school, by=current_user, name=form.name.data, students_primary=form.students_primary.data,
                students_junior=form.students_junior.data, students_senior=form.students_senior.data,
                teachers=form.teachers.data)
        except InputError as exc:
            refused()
            _error_to(form, exc, {"school_name": "name", "students_primary": "students_primary",
                                  "students_junior": "students_junior", "students_senior": "students_senior",
                                  "teachers": "teachers"}, "name")
        else:
            flash(_("已保存：%(what)s。海报和答卷页面随之更新。", what="；".join(changes)) if changes
                  else _("没有修改。"), "ok")
            return redirect(url_for(".round_detail", round_id=rnd.id) + "#schools")
    return form_page("admin/school_edit.html", rnd=rnd, school=school, form=form,
                     action=ActionForm())


@bp.route("/rounds/<int:round_id>/schools/new", methods=["GET", "POST"])
@roles_required(*WRITERS)
def school_new(round_id: int):
    rnd = round_or_404(round_id)
    form = NewSchoolForm()
    if form.validate_on_submit():
        try:
            school = svc.add_school(
                rnd, by=current_user, code=form.code.data, name=form.name.data, school_type=form.school_type.data,
                students_primary=form.students_primary.data or 0, students_junior=form.students_junior.data or 0,
                students_senior=form.students_senior.data or 0, teachers=form.teachers.data)
        except (InputError, ServiceError) as exc:
            refused()
            _error_to(form, exc, {"school_code": "code", "school_name": "name", "school_type": "school_type",
                                  "students_primary": "students_primary", "students_junior": "students_junior",
                                  "teachers": "teachers"}, "code")
        else:
            flash(_("已添加“%(name)s”及其入口二维码，配额按抽样公式建议，可在配额表中修改。", name=school.name), "ok")
            return redirect(url_for(".round_detail", round_id=rnd.id) + "#schools")
    return form_page("admin/school_new.html", rnd=rnd, form=form)


@bp.post("/rounds/<int:round_id>/schools/<int:school_id>/remove")
@roles_required(*WRITERS)
def school_remove(round_id: int, school_id: int):
    rnd = round_or_404(round_id)
    school = _school(rnd, school_id)
    action_or_400()
    name = school.name
    try:
        svc.remove_school(rnd, school, by=current_user)
    except ServiceError as exc:
        refused()
        flash(str(exc), "error")
    else:
        flash(_("已从本轮名单中删除“%(name)s”。", name=name), "ok")
    return redirect(url_for(".round_detail", round_id=rnd.id) + "#schools")


@bp.post("/rounds/<int:round_id>/delete")
@roles_required(*WRITERS)
def round_delete(round_id: int):
    rnd = round_or_404(round_id)
    action_or_400()
    name = rnd.name
    try:
        svc.delete_round(rnd)
    except ServiceError as exc:
        refused()
        flash(str(exc), "error")
        return redirect(url_for(".round_detail", round_id=round_id))
    flash(_("已删除调查轮次“%(name)s”。", name=name), "ok")
    return redirect(url_for(".index"))


@bp.route("/rounds/<int:round_id>/copy", methods=["GET", "POST"])
@roles_required(*WRITERS)
def round_copy(round_id: int):
    rnd = round_or_404(round_id)
    form = CopyForm()
    if request.method == "GET":
        bumped = re.sub(r"20\d\d", lambda m: str(int(m.group()) + 1), rnd.name, count=1)
        form.name.data = bumped if bumped != rnd.name else _("%(name)s（下一轮）", name=rnd.name)
    elif form.validate_on_submit():
        try:
            new = svc.copy_round(rnd, by=current_user, name=form.name.data, catalogue=catalogue(),
                                 opens_at=local_to_utc(form.opens.data), closes_at=local_to_utc(form.closes.data))
        except InputError as exc:
            refused()
            _error_to(form, exc, {"name": "name", "closes": "closes"}, "name")
        else:
            flash(_("已按“%(old)s”的名单创建“%(name)s”，共 %(n)s 所学校，二维码和链接都是新的，请重新打印海报。",
                    old=rnd.name, name=new.name, n=len(new.schools)), "ok")
            return redirect(url_for(".round_detail", round_id=new.id))
    return form_page("admin/round_copy.html", rnd=rnd, form=form)
