"""`celery -A worker worker` and `celery -A worker beat` look for the app here.

It is built in `worker.process.celery_app`, beside the rest of the process wiring.
"""

from worker.process.celery_app import app

__all__ = ["app"]
