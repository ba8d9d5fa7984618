"""Every signed-in user's own password page (staff and evaluators alike), with the password
forms the administrators' reset page shares. It lives with sign-in, not on the admin
blueprint; its URL is unchanged (/admin/account/password)."""

from __future__ import annotations

from flask import flash, redirect, session, url_for
from flask_login import current_user, login_required
from wtforms import PasswordField
from wtforms.validators import EqualTo, InputRequired

from evaluator.errors import InputError
from survey.auth import SESSION_KEY, bp
from survey.db import refused
from survey.forms import Form
from survey.i18n import _, _l
from survey.services.users import MIN_PASSWORD, authenticate, set_password
from survey.views_common import form_page


class ResetPasswordForm(Form):
    new_password = PasswordField(_l("新密码"), validators=[InputRequired(message=_l("请填写新密码"))])
    confirm = PasswordField(_l("再输入一次"), validators=[EqualTo("new_password", message=_l("两次输入的密码不一致"))])


class OwnPasswordForm(ResetPasswordForm):
    current = PasswordField(_l("当前密码"), validators=[InputRequired(message=_l("请填写当前密码"))])


@bp.route("/admin/account/password", methods=["GET", "POST"])
@login_required
def own_password():
    form = OwnPasswordForm()
    if form.validate_on_submit():
        if authenticate(current_user.username, form.current.data) is None:
            form.current.errors = [*form.current.errors, _("当前密码不正确")]
        else:
            try:
                set_password(current_user, form.new_password.data, keep_session=session.get(SESSION_KEY))  # other sessions end
            except InputError as exc:
                refused()
                form.new_password.errors = [*form.new_password.errors, exc.reason]
            else:
                flash(_("密码已修改，下次登录请使用新密码。"), "ok")
                return redirect(url_for("admin.index") if current_user.role != "evaluator"
                                else url_for("workspace.index"))
    return form_page("auth/password.html", form=form, min_password=MIN_PASSWORD)
