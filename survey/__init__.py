"""Survey service: rounds, QR entry links, the respondent questionnaire, live progress."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from survey import config as config_mod
from survey.config import ROOT, Config


def create_app(overrides: dict[str, Any] | None = None, *, pages: bool = True) -> Flask:
    """Application factory: Config, then the environment, then ``overrides``.

    ``pages=False``: no blueprint (a command that serves no page, e.g. `round export`), so
    the views' modules, and pandas, scipy, openpyxl, python-docx with them, are not imported."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "survey" / "static"),
        instance_path=str(config_mod.INSTANCE),
    )
    app.config.from_object(Config)
    app.config.update(config_mod.from_environment())
    app.config.update(overrides or {})
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = config_mod.default_database_uri()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_mod.instance_secret_key()
    if not app.config.get("FINGERPRINT_KEY"):  # never in the database (issue 9 item 5)
        from survey.integrity.keys import fingerprint_key

        app.config["FINGERPRINT_KEY"] = fingerprint_key(config_mod.INSTANCE)
    if str(app.config.get("PUBLIC_BASE_URL") or "").startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True  # served over HTTPS: cookies never travel in clear

    app.url_map.converters["int"] = BoundedInt  # ids beyond the database's integers are simply not found
    from survey import db, errors, i18n, instruments, security
    from survey.extensions import (
        compress,
        csrf,
        init_skipping,
        limiter,
        login_manager,
        respondent,
        respondent_page_too_small_to_gzip,
    )

    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)  # NUL paths, body limits (also chunked), headers: before CSRF
    app.before_request(_refuse_oversize_answers)  # before CSRF: a huge body gets 413, not 400
    app.before_request(_refuse_bad_forms)
    csrf.init_app(app)
    init_skipping(compress, app, respondent_page_too_small_to_gzip)  # gzip only where it pays
    init_skipping(limiter, app, respondent)  # no limits apply to respondents: no limiter hooks either
    init_skipping(login_manager, app, respondent)  # respondents have no session to refresh
    instruments.init_app(app)
    errors.init_app(app)
    from survey.integrity import chaining

    chaining.init_app(app)  # PostgreSQL: responses are chained right after their commit
    with app.app_context():
        # Start-up (migration, instrument check) used pooled connections; close them so
        # processes forked from here (gunicorn --preload) never share a socket.
        db.db.engine.dispose()
    if not pages:
        return _behind_proxy(app)

    from survey.admin import bp as admin_bp
    from survey.auth import bp as auth_bp
    from survey.collect import bp as collect_bp
    from survey.overview.views import bp as overview_bp
    from survey.workspace import bp as workspace_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(collect_bp)
    limiter.exempt(collect_bp)  # respondents are never rate-limited (shared school Wi-Fi, carrier NAT)
    csrf.exempt(collect_bp)  # the signed start token binds a form to its link and browser (survey.collect.guard)
    from survey.collect.guard import RespondentSessionInterface

    app.session_interface = RespondentSessionInterface(collect_bp.url_prefix)  # no session on /s/…
    app.register_blueprint(workspace_bp)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)  # for url_for; GET/HEAD are answered by IconMiddleware
    app.add_url_rule("/apple-touch-icon.png", "touch_icon", _touch_icon)
    from survey.collect.lean import LeanRespondent
    from survey.icons import IconMiddleware

    app.wsgi_app = LeanRespondent(app.wsgi_app, app)  # the respondent's common requests without Flask
    app.wsgi_app = IconMiddleware(app.wsgi_app, app.static_folder)  # the icons without Flask's request machinery
    from survey.datacollect.views import bp as datacollect_bp
    from survey.integrity.views import bp as integrity_bp

    app.register_blueprint(integrity_bp)  # integrity pages (staff and evaluators) under /admin/rounds/…

    app.register_blueprint(datacollect_bp)  # 填报: staff under /data/, each school's own link /d/<token>
    app.register_blueprint(overview_bp)
    return _behind_proxy(app)


def _behind_proxy(app: Flask) -> Flask:
    """Outermost layer: the client's address and scheme from a trusted proxy, for every layer below."""
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1)
    return app


def _favicon():
    """Phones and browsers ask for /favicon.ico on every first visit: a real icon, cached for a week."""
    from flask import current_app, send_from_directory

    return send_from_directory(current_app.static_folder, "favicon.ico", max_age=7 * 24 * 3600,
                               mimetype="image/x-icon")


def _touch_icon():
    from flask import current_app, send_from_directory

    return send_from_directory(current_app.static_folder, "apple-touch-icon.png", max_age=7 * 24 * 3600)


class BoundedInt(IntegerConverter):
    """``<int:…>`` limited to the 32-bit range of the id columns (larger ids: 404, not 500)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def _refuse_bad_forms() -> None:
    """Refuse NUL characters in any submitted field: no database stores them faithfully."""
    from flask import abort, request

    if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if any("\x00" in v for vs in request.form.listvalues() for v in vs):
            abort(400)


def _refuse_oversize_answers() -> None:
    """Respondent POSTs are a few kilobytes; refuse anything above MAX_FORM_BYTES unread."""
    from flask import abort, current_app, request

    if request.blueprint == "collect" and (request.content_length or 0) > current_app.config["MAX_FORM_BYTES"]:
        abort(413)
