"""The resolver's own Celery app, exactly as `celery -A worker` loads it, with the statement
counter (resolver_tools.bench.statements) installed:
`celery -A resolver_tools.bench.deployed worker`."""

from __future__ import annotations

from resolver_tools.bench import statements
from worker.process.celery_app import app
from worker.process.settings import get_settings

statements.install(get_settings().redis_url)

__all__ = ["app"]
