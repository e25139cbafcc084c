"""The resolver's own Celery app, exactly as `celery -A worker` loads it, with the statement
counter (worker.bench.statements) installed: `celery -A worker.bench.deployed worker`."""

from __future__ import annotations

from worker.bench import statements
from worker.celery import app
from worker.settings import get_settings

statements.install(get_settings().redis_url)

__all__ = ["app"]
