"""Flask-Babel: Simplified Chinese is the default and, for now, the only UI language.

Message ids are the Chinese source text (the product is written for Chinese users first);
the zh_Hans_CN catalogue in translations/ is the place for wording fixes, and a second
language is a new catalogue, not a code change.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext, lazy_gettext

from survey.config import ROOT
from survey.extensions import babel

_ = gettext
_l = lazy_gettext


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=lambda: app.config["BABEL_DEFAULT_LOCALE"],
        default_translation_directories=str(ROOT / "translations"),
    )
    app.add_template_filter(localtime)


def localtime(value, fmt: str = "yyyy年M月d日 HH:mm") -> str:
    """A UTC datetime shown in the configured time zone (Asia/Shanghai)."""
    from flask_babel import format_datetime

    return "" if value is None else format_datetime(value, fmt)
