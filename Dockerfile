# One image for every role: migrate, worker, beat, admin, simulator.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

# The dependencies first, exactly as requirements/lock.txt pins them (each file checked against
# its hash, nothing unpinned pulled in), in a layer of their own that a code change reuses; and
# the setuptools that builds the project, as requirements/build.txt pins it.
COPY requirements/lock.txt requirements/build.txt ./requirements/
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/build.txt \
        -r requirements/lock.txt

# Then the project itself, adding nothing: pip check fails the build if the lock lacks anything,
# and --no-build-isolation builds it with the pinned setuptools instead of fetching one.
COPY pyproject.toml README.md alembic.ini ./
COPY models ./models
COPY migrations ./migrations
COPY worker ./worker
COPY resolver_consumer ./resolver_consumer
COPY resolver_tools ./resolver_tools
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && pip check \
    && useradd --create-home resolver
USER resolver

CMD ["celery", "-A", "worker", "worker", "--loglevel=INFO"]
