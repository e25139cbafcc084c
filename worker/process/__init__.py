"""What a process needs to run the engine: settings, the database, the Celery app and its tasks,
the runtime built once per process, logs, traces, the migrations runner and health checks."""
