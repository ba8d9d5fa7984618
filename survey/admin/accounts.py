"""Accounts in the browser: administrators list, create, edit (role and counties), reset
passwords and deactivate/reactivate (a user's own password page is survey.auth.password)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from evaluator.errors import InputError
from survey.access import roles_required
from survey.admin import bp
from survey.admin.forms import ActionForm
from survey.auth.password import ResetPasswordForm
from survey.db import db, refused
from survey.forms import Form
from survey.i18n import _, _l
from survey.models import ROLES, County, User
from survey.services import ServiceError
from survey.services.users import (
    MIN_PASSWORD,
    create_user,
    deactivate,
    list_users,
    reactivate,
    set_password,
    update_user,
)
from survey.views_common import action_or_400, form_page

ROLE_LABELS = {"admin": _l("管理员（全部县，管理账号）"), "staff": _l("工作人员（本县调查与评估）"),
               "evaluator": _l("评估人员（指定县，只读并可运行评估）")}


class _RoleCounties(Form):
    role = SelectField(_l("角色"), choices=[])
    counties = SelectMultipleField(_l("县（工作人员选一个；评估人员可选多个；管理员不选）"), choices=[], coerce=int)

    def fill_choices(self) -> None:
        self.role.choices = [SelectChoice(r, ROLE_LABELS[r]) for r in ROLES]
        self.counties.choices = [SelectChoice(c.id, f"{c.name}（{c.code}）")
                                 for c in db.session.scalars(select(County).order_by(County.code))]

    def chosen_counties(self) -> list[County]:
        return [db.session.get(County, i) for i in (self.counties.data or [])]


class NewUserForm(_RoleCounties):
    username = StringField(_l("用户名（可用汉字）"), validators=[InputRequired(message=_l("请填写用户名")), Length(max=64)])
    password = PasswordField(_l("初始密码"), validators=[InputRequired(message=_l("请填写密码"))])


class EditUserForm(_RoleCounties):
    pass


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _attach(form, exc: InputError) -> None:
    field = {"--username": "username", "password": "password", "--role": "role", "--county": "counties"}.get(
        exc.field or "", "username")
    target = getattr(form, field)
    target.errors = [*target.errors, exc.reason]


@bp.get("/users")
@roles_required("admin")
def users():
    return render_template("admin/users.html", users=list_users(), form=ActionForm())


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def user_new():
    form = NewUserForm()
    form.fill_choices()
    if form.validate_on_submit():
        try:
            user = create_user(form.username.data, form.password.data, form.role.data, form.chosen_counties())
        except InputError as exc:
            refused()
            _attach(form, exc)
        else:
            flash(_("已创建账号“%(name)s”。请把初始密码当面或电话告知本人，并提醒其登录后修改。", name=user.username), "ok")
            return redirect(url_for(".users"))
    return form_page("admin/user_new.html", form=form, min_password=MIN_PASSWORD)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def user_edit(user_id: int):
    user = _user_or_404(user_id)
    form = EditUserForm(prefix="edit")
    form.fill_choices()
    reset = ResetPasswordForm(prefix="reset")
    if request.method == "GET":
        form.role.data = user.role
        form.counties.data = [c.id for c in ([user.county] if user.county else user.assigned_counties)]
    elif form.validate_on_submit():
        try:
            update_user(user, form.role.data, form.chosen_counties())
        except (InputError, ServiceError) as exc:
            refused()
            form.counties.errors = [*form.counties.errors, getattr(exc, "reason", str(exc))]
        else:
            flash(_("已保存“%(name)s”的角色和县。", name=user.username), "ok")
            return redirect(url_for(".users"))
    return form_page("admin/user_edit.html", user=user, form=form, reset=reset, action=ActionForm(),
                     min_password=MIN_PASSWORD)


@bp.post("/users/<int:user_id>/password")
@roles_required("admin")
def user_password(user_id: int):
    user = _user_or_404(user_id)
    form = EditUserForm(prefix="edit")
    form.fill_choices()
    form.role.data = user.role
    form.counties.data = [c.id for c in ([user.county] if user.county else user.assigned_counties)]
    reset = ResetPasswordForm(prefix="reset")
    if reset.validate_on_submit():
        try:
            set_password(user, reset.new_password.data)
        except InputError as exc:
            refused()
            reset.new_password.errors = [*reset.new_password.errors, exc.reason]
        else:
            flash(_("已为“%(name)s”设置新密码。", name=user.username), "ok")
            return redirect(url_for(".users"))
    return render_template("admin/user_edit.html", user=user, form=form, reset=reset, action=ActionForm(),
                           min_password=MIN_PASSWORD), 422


@bp.post("/users/<int:user_id>/active")
@roles_required("admin")
def user_active(user_id: int):
    user = _user_or_404(user_id)
    action_or_400()
    if request.form.get("active") == "1":
        reactivate(user)
        flash(_("账号“%(name)s”已重新启用。", name=user.username), "ok")
    else:
        try:
            deactivate(user)
        except ServiceError as exc:
            refused()
            flash(str(exc), "error")
        else:
            flash(_("账号“%(name)s”已停用，不能再登录。", name=user.username), "ok")
    return redirect(url_for(".users"))
