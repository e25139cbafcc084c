"""Resolving: the answers of a batch applied in one transaction (apply_batch); one transfer at a
time for callers and admins (resolution); both post the ledger (ledger) and write the outbox
event (events) in the transaction that changes the state."""
