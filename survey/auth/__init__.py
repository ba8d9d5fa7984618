"""Staff sign-in (Flask-Login) with server-side sessions (survey.services.sessions) and a
shared, exponentially growing per-account delay after failures (survey.services.throttle)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import login_required, login_user, logout_user
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired

from survey.extensions import login_manager
from survey.forms import Form
from survey.i18n import _, _l
from survey.models import User
from survey.security import safe_next
from survey.services import sessions, throttle
from survey.services.users import authenticate

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("请先登录。")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Only a live server-side session signs a user in; a copied cookie dies with it."""
    return sessions.session_user(user_id, session.get(SESSION_KEY))


SESSION_KEY = "sid"


class LoginForm(Form):
    username = StringField(_l("用户名"), validators=[InputRequired(message=_l("请填写用户名"))])
    password = PasswordField(_l("密码"), validators=[InputRequired(message=_l("请填写密码"))])


def _safe_next(target: str | None, user: User | None = None) -> str:
    if safe_next(target):
        return safe_next(target)
    if user is not None and user.role == "evaluator":
        return url_for("workspace.index")  # an evaluator's work is the evaluations list
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        address = request.remote_addr or ""
        wait = throttle.wait_seconds(form.username.data, address)
        if wait:
            return render_template("error.html", code=429, title=_("尝试次数过多"),
                                   text=_("该账号登录失败次数过多，请 %(s)s 秒后再试。", s=wait)), 429, \
                {"Retry-After": str(wait)}
        user = authenticate(form.username.data, form.password.data)
        if user:
            throttle.record_success(form.username.data)
            token = sessions.start_session(user)
            session.clear()  # nothing from before sign-in survives (session fixation)
            session.permanent = True  # the cookie expires with the session's lifetime
            session[SESSION_KEY] = token
            login_user(user)
            return redirect(_safe_next(request.args.get("next"), user))
        throttle.record_failure(form.username.data, address)
        flash(_("用户名或密码不正确。"), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    sessions.end_session(session.get(SESSION_KEY))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/")
def home():
    return redirect(url_for("admin.index"))


from survey.auth import password  # noqa: E402,F401  (every user's own password page)
