"""The fault suite reuses the survey fixtures (app and client on every configured database)."""

from tests.survey.conftest import app, client, database_url  # noqa: F401
