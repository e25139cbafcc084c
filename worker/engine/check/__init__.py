"""Checks: a claimed batch asks its provider (batch), admitted by the throttle shared through
Redis: rate limit, circuit breaker (throttle) and calls in flight (inflight)."""
