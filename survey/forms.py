"""Base class of every form: CSRF (Flask-WTF) and WTForms' own messages in Chinese.

WTForms ships a zh catalogue for its built-in messages ("不是有效的整数。" …); Flask-WTF's
i18n bridge is switched off (WTF_I18N_ENABLED = False) so those are used instead of
English fallbacks.
"""

from __future__ import annotations

from flask_wtf import FlaskForm


class Form(FlaskForm):
    class Meta:
        locales = ("zh",)
