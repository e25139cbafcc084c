"""The relay: outbox events published to the Redis Stream, in order, at least once (publish).
Webhooks (worker.webhooks) deliver the same events over HTTP."""
