"""The app for a command: schema created or upgraded on the way (docs/interfaces.md#command-line)."""

from __future__ import annotations

from contextlib import contextmanager

from flask import Flask


@contextmanager
def app_context(*, pages: bool = True):
    """``pages=False`` for a command that renders no page (`round export`): the app without its
    blueprints, so the command imports only what it uses (survey.create_app)."""
    from survey import create_app

    app: Flask = create_app(pages=pages)
    with app.app_context():
        yield app
