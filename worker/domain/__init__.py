"""The domain: plain data and pure rules. No database, no HTTP, no Celery in here."""
