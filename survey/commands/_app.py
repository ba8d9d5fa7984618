"""The app for a command: schema created or upgraded on the way (docs/interfaces.md#command-line)."""

from __future__ import annotations

from contextlib import contextmanager

from flask import Flask


@contextmanager
def app_context():
    from survey import create_app

    app: Flask = create_app()
    with app.app_context():
        yield app
