"""The engine: what happens to a transfer whose outcome is unknown, one folder a stage, in the
order data moves through them.

    intake   the wallet hands a transfer over; it is recorded once, with its first check due
    sweep    every second: claim what is due in Postgres, a batch per provider instance
    check    ask the provider about a batch, within its rate limit, breaker and call slots
    resolve  apply the answers: a final one settles the transfer, its ledger postings and its
             event in one transaction; a doubtful one sends it to review; else the next check
    relay    publish the outbox's events to the Redis Stream, in order

Postgres holds every wait; Celery carries only "check these now" (worker.process.tasks).
"""
