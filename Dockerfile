# One image for every role: migrate, worker, beat, admin, simulator.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY models ./models
COPY migrations ./migrations
COPY worker ./worker
RUN pip install --no-cache-dir . && useradd --create-home resolver
USER resolver

CMD ["celery", "-A", "worker", "worker", "--loglevel=INFO"]
