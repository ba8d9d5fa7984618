"""What the staff views of every blueprint share, in one place: the CSRF check of a POST button,
form times (Beijing time) to UTC, the public base address, and showing a service's refusal.
Loading an object scoped to the user's counties lives with the other access checks
(survey.access.scoped_or_404)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, request

from survey.db import refused


def action_or_400() -> None:
    """A POST button (survey.admin.forms.ActionForm: CSRF token only) that fails its check: 400."""
    from survey.admin.forms import ActionForm

    if not ActionForm().validate_on_submit():
        abort(400)


def local_to_utc(value: datetime | None) -> datetime | None:
    """A naive time typed into a form, in the configured time zone, as UTC."""
    if value is None:
        return None
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return value.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))


def base_url() -> str:
    """The address printed on posters and links: PUBLIC_BASE_URL, else the one being visited."""
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


def flash_refusal(exc: Exception, suffix: str = "") -> None:
    """A refusal the view shows on the next page: nothing of the request is committed."""
    refused()
    flash(str(exc) + suffix, "error")


def form_page(template: str, **context):
    """A form page: 200 when first shown, 422 when a submitted form comes back with its errors."""
    from flask import render_template

    return render_template(template, **context), 422 if request.method == "POST" else 200
