"""The deploy tests reuse the survey fixtures (app, client, runner on every configured database)."""

from tests.survey.conftest import app, client, database_url, runner  # noqa: F401
