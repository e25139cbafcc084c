"""Create the database if it is missing, and bring its schema to the newest migration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]  # worker/process/ -> the project


def migrations_folder() -> Path:
    """Beside the source tree in a checkout; in the working directory for an installed package
    (the Docker image keeps them in /app, its working directory)."""
    for folder in (ROOT / "migrations", Path.cwd() / "migrations"):
        if (folder / "env.py").is_file():
            return folder
    raise FileNotFoundError("no migrations/ folder beside the package or in the working "
                            "directory; run from the project's folder")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_folder()))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def ensure_database(database_url: str) -> bool:
    """Create the database named in the URL if it does not exist; True if it was created."""
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).scalar()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
            return not exists
    finally:
        admin.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
