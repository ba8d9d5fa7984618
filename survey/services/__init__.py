"""Services: explicit arguments (never ``request`` or ``g``); they add and flush, never commit."""


class ServiceError(Exception):
    """A refused operation; ``str()`` is a Chinese message fit to show the user."""
