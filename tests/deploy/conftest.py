"""The deploy tests reuse the survey fixtures (app, client, on every configured database)."""

from tests.survey.conftest import app, client, database_url  # noqa: F401
