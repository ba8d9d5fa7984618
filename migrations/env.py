"""Alembic environment: runs on the connection handed over by survey.db.upgrade_schema,
or, from the alembic command line, on DATABASE_URL (default: the embedded SQLite file)."""

from alembic import context
from sqlalchemy import create_engine

from survey import models  # noqa: F401  (registers the tables)
from survey.config import default_database_uri, from_environment
from survey.db import Base

config = context.config
target_metadata = Base.metadata


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = from_environment().get("SQLALCHEMY_DATABASE_URI") or default_database_uri()
    with create_engine(url).begin() as conn:
        run(conn)
