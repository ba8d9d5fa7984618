"""Services: explicit arguments (never ``request`` or ``g``); they add and flush, never commit.

A service validates everything before it changes anything; a refusal is a ``ServiceError``.
"""


class ServiceError(Exception):
    """A refused operation; ``str()`` is a Chinese message fit to show the user.

    Refusing is the service's failure signal for the request's transaction (see survey.db):
    the request then commits nothing, even if the view catches this and renders a page. An
    uncaught one becomes a Chinese message page (survey.errors, status 422)."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(str(message), *args)
        from survey.db import fail_request

        fail_request()
