"""Staff sign-in (Flask-Login), rate-limited per address and username."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired

from survey.db import db
from survey.extensions import limiter, login_key, login_manager
from survey.forms import Form
from survey.i18n import _, _l
from survey.models import User
from survey.services.users import authenticate

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("请先登录。")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None  # a deactivated account's sessions end


class LoginForm(Form):
    username = StringField(_l("用户名"), validators=[InputRequired(message=_l("请填写用户名"))])
    password = PasswordField(_l("密码"), validators=[InputRequired(message=_l("请填写密码"))])


def _safe_next(target: str | None, user: User | None = None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    if user is not None and user.role == "evaluator":
        return url_for("workspace.index")  # an evaluator's work is the evaluations list
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=login_key, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user:
            login_user(user)
            return redirect(_safe_next(request.args.get("next"), user))
        flash(_("用户名或密码不正确。"), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


@bp.get("/")
def home():
    return redirect(url_for("admin.index"))
