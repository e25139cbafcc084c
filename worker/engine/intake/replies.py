"""What an intake task answers: the wallet waits for this reply to know its transfer is recorded.

A wallet that sends `resolver.register_transfer` and friends by name reads the reply through the
Celery result backend. An accepted request answers `{"ok": true, ...}` only after its row is
committed in Postgres; a refused one answers `{"ok": false, "error": ..., "field": ...,
"message": ...}` as a result, never as an exception, so the wallet can tell "refused, do not
resend" from "not acknowledged yet, resend". Anything else (a database outage) still raises, so
the task's retries keep working and the wallet, hearing nothing, sends again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from worker.domain.refusal import InvalidInput
from worker.engine.intake.registration import ConflictError
from worker.engine.resolve.resolution import NotResolvable

# The refusals a caller must hear about; each leaves the transfer as it was (a contradiction
# is kept for an admin, see intake.Contradicted, but changes nothing either).
REFUSALS = (InvalidInput, ConflictError, NotResolvable)


def accepted(summary: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, **summary}


def refused(exc: Exception) -> dict[str, Any]:
    """The refusal as data: `invalid` names the field; `conflict` names one when it knows it."""
    if isinstance(exc, InvalidInput):
        return {"ok": False, "error": "invalid", "field": exc.field, "message": exc.message}
    return {"ok": False, "error": "conflict", "field": getattr(exc, "field", None),
            "message": str(exc)}


def answer(handler: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one intake handler and turn its outcome into the reply the caller reads."""
    try:
        return accepted(handler(*args, **kwargs))
    except REFUSALS as exc:
        return refused(exc)
