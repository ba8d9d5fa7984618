"""Friendly Chinese error pages; no stack traces for user input."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from werkzeug.exceptions import HTTPException

from survey.db import fail_request
from survey.i18n import _

_MESSAGES = {
    400: ("请求无效", "提交的内容不完整或格式不正确，请返回重试。"),
    403: ("没有权限", "您的账号无权访问此页面。"),
    404: ("页面不存在", "链接可能有误或已失效。如果是扫码进入，请重新扫描海报上的二维码。"),
    405: ("请求方式不支持", "请通过页面上的按钮操作。"),
    413: ("文件或内容过大", "提交的内容超过了允许的大小，请缩小文件后重试。"),
    429: ("尝试次数过多", "操作过于频繁，请稍等一分钟后再试。"),
    422: ("无法完成操作", "提交的内容未通过检查，未保存任何修改。"),
    500: ("服务器出错", "服务器暂时出现问题，请稍后再试。我们已记录此错误。"),
    503: ("请稍后重试", "服务器正在恢复，请稍等几秒后刷新页面或再次提交；已提交成功的答卷不会重复保存。"),
}


def _page(code: int, detail: str | None = None):
    """Every error page: the request failed, so nothing it changed is committed (survey.db)."""
    fail_request()
    title, text = _MESSAGES.get(code, _MESSAGES[500])
    template = "collect/error.html" if request.blueprint == "collect" else "error.html"
    return render_template(template, code=code, title=_(title), text=detail or _(text)), code


def _database_unavailable(exc: Exception):
    """The database went away (restart, failover): a friendly 503, never a stack trace."""
    from survey.db import db
    from survey.services.retry import is_disconnect

    if not is_disconnect(exc):
        raise exc
    try:
        db.session.rollback()
    except Exception:  # the connection is already gone
        pass
    db.session.remove()
    _no_database_for_the_page()
    try:
        page, code = _page(503)
    except Exception as again:  # the page itself met the lost database: plain text, never a 500
        if not is_disconnect(again):
            raise
        db.session.remove()
        title, text = _MESSAGES[503]
        return f"{_(title)}\n{_(text)}\n", 503, {"Retry-After": "5", "Content-Type": "text/plain; charset=utf-8"}
    return page, code, {"Retry-After": "5"}


def _no_database_for_the_page() -> None:
    """The 503 page shows the header's account links: a user not loaded yet (the lost database
    failed the loading itself) is shown as signed out rather than loaded again from a database
    that is gone."""
    from flask import g

    from survey.extensions import login_manager

    if getattr(g, "_login_user", None) is None:
        g._login_user = login_manager.anonymous_user()


def _refused(exc):
    """A service refusal no view caught: its Chinese message on a page, nothing committed."""
    return _page(422, str(exc))


def _other_http_error(e: HTTPException):
    """HTTP errors without a page of their own keep werkzeug's response but still fail the request."""
    fail_request()
    return e


def _server_error(e):
    """500s: one raised while committing in ``after_request`` arrives here wrapped."""
    from survey.services.retry import is_disconnect

    original = getattr(e, "original_exception", None)
    if original is not None and is_disconnect(original):
        return _database_unavailable(original)
    return _page(500)


def init_app(app: Flask) -> None:
    from survey.services import ServiceError

    for code in _MESSAGES:
        app.register_error_handler(code, lambda e, code=code: _page(code))
    app.register_error_handler(HTTPException, _other_http_error)
    app.register_error_handler(ServiceError, _refused)
    app.register_error_handler(500, _server_error)
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.register_error_handler(PendingRollbackError, _database_unavailable)
    app.register_error_handler(
        CSRFError, lambda e: _page(400, _("页面已过期或来源无法验证，请刷新页面后重新提交。"))
    )
