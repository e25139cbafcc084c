"""Builders for the admin tests: tokens, an app over the test runtime, transfers in each state."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import text

from tests.integration.support import register
from worker.domain.types import Outcome
from worker.engine.check.batch import NoGuard, run_check
from worker.engine.sweep.due import claim_due
from worker.process.db import transaction
from worker.process.runtime import Runtime
from worker.providers.scripted import SCRIPTS

ADMIN_TOKEN = "admin-token-0123456789abcdef"
OPERATOR_TOKEN = "olga-operator-0123456789abcdef"
VIEWER_TOKEN = "vic-viewer-0123456789abcdef"
TOKENS = f"olga:operator:{OPERATOR_TOKEN}, vic:viewer:{VIEWER_TOKEN}"


def with_tokens(runtime: Runtime) -> Runtime:
    """The test runtime with admin tokens configured as the environment would set them."""
    settings = runtime.settings.model_copy(update={"admin_token": ADMIN_TOKEN,
                                                   "admin_tokens": TOKENS})
    return dataclasses.replace(runtime, settings=settings)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def checked(runtime: Runtime, transfer_id: int, tx_id: str, answers: list[Outcome]) -> None:
    """Claim the due transfers and run one check of `transfer_id` with scripted answers.

    Register the transfer to check last: every due transfer is claimed at once.
    """
    SCRIPTS.load("scripted-a", tx_id, answers)
    claims = claim_due(runtime.engine, runtime.providers["scripted-a"], datetime.now(UTC),
                       timedelta(seconds=30), limit=100)
    token = {claim.transfer_id: claim.lease_token for claim in claims}[transfer_id]
    run_check(runtime.engine, runtime.providers, transfer_id, token, runtime.adapter_for, NoGuard())


def in_review(runtime: Runtime, tx_id: str = "tx-review", **overrides: str) -> int:
    """A transfer the provider's record disagrees with: the machine sent it to review."""
    transfer_id = register(runtime, tx_id=tx_id, **overrides)
    checked(runtime, transfer_id, tx_id, [Outcome.MISMATCH])
    return transfer_id


def stuck(runtime: Runtime, tx_id: str, cause: str = "auth", **overrides: str) -> int:
    """A transfer under review for this cause, as the engine leaves one."""
    transfer_id = register(runtime, tx_id=tx_id, **overrides)
    outcome, reason = {
        "auth": ("AUTH_ERROR", "provider refused our credentials 3 times"),
        "max_age": ("PENDING", "no final answer within max age 3d"),
    }[cause]
    with transaction(runtime.engine) as session:
        session.execute(text(
            "UPDATE transfers SET state = 'needs_review', last_outcome = :outcome, "
            "review_reason = :reason, updated_at = now() WHERE id = :id"),
            {"outcome": outcome, "reason": reason, "id": transfer_id})
    return transfer_id


def mismatched(runtime: Runtime, tx_id: str, ours: str, theirs: str, direction: str = "deposit",
               currency: str | None = "USD") -> int:
    """A transfer in review because the provider recorded `theirs` where we have `ours`."""
    SCRIPTS.record("scripted-a", tx_id, Decimal(theirs), currency)
    transfer_id = register(runtime, tx_id=tx_id, amount=ours, direction=direction)
    checked(runtime, transfer_id, tx_id, [Outcome.MISMATCH])
    return transfer_id


def settled(runtime: Runtime, tx_id: str = "tx-settled",
            outcome: Outcome = Outcome.SUCCEEDED) -> int:
    transfer_id = register(runtime, tx_id=tx_id)
    checked(runtime, transfer_id, tx_id, [outcome])
    return transfer_id


@contextmanager
def serving_admin(runtime: Runtime, **options: Any) -> Iterator[str]:
    """The real admin app, with the test tokens, on a free local port (uvicorn in a thread).

    `options` go to uvicorn.Config (proxy_headers=..., say)."""
    import socket
    import threading

    import uvicorn

    from worker.admin.app import create_app

    app = create_app(lambda: with_tokens(runtime))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    instance = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                             **options))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(100):
        if instance.started:
            break
        threading.Event().wait(0.05)
    assert instance.started, "the admin server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=5)
        sock.close()


def routes_of(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """Every (path, route) the app serves, those of included routers too.

    Since FastAPI 0.16x `app.routes` holds an included router as one entry, so looking only
    for APIRoute there finds just the app's own routes.
    """
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path is not None:
            found.append((context.path, route))
    return found


# A queue with transfers waiting for a person for several causes, on two instances, in two
# currencies, with pending ones on both sides of the one-hour threshold and final ones besides.
H = timedelta(hours=1)
M = timedelta(minutes=1)
AMOUNT_ONLY = "record differs: amount: provider 6.00, ours 7.00"
MAX_AGE = "no final answer within max age 72h (41 checks)"


def left(runtime: Runtime, tx_id: str, *, provider: str = "scripted-a", amount: str = "1.00",
         currency: str = "USD", state: str = "pending", outcome: str | None = None,
         reason: str | None = None, error: str | None = None) -> int:
    """A transfer as the engine leaves it in `state`, written straight into its row."""
    transfer_id = register(runtime, tx_id=tx_id, provider=provider, amount=amount,
                           currency=currency)
    with transaction(runtime.engine) as session:
        session.execute(text(
            "UPDATE transfers SET state = :state, last_outcome = :outcome, "
            "review_reason = :reason, last_error = :error WHERE id = :id"),
            {"state": state, "outcome": outcome, "reason": reason, "error": error,
             "id": transfer_id})
    return transfer_id


def registered_ago(runtime: Runtime, transfer_id: int, now: datetime, age: timedelta) -> None:
    with transaction(runtime.engine) as session:
        session.execute(text("UPDATE transfers SET created_at = :at WHERE id = :id"),
                        {"at": now - age, "id": transfer_id})


def a_mixed_queue(runtime: Runtime, now: datetime) -> None:
    """scripted-a: three refused credentials (10 and 2.25 USD, 5.5 EUR; oldest 3 h), one
    amount mismatch (7 USD, 10 min), one pending the provider still processes (5 h), one
    pending never answered but young (10 min). scripted-b: one past max age (100 USD, 4 days),
    two pending never answered (1 USD 2 h, 3 EUR 90 min) and one never answered but young.
    Final transfers of both outcomes, registered long ago."""
    for tx_id, outcome in (("final-ok", Outcome.SUCCEEDED), ("final-failed", Outcome.FAILED)):
        final = register(runtime, tx_id=tx_id)
        registered_ago(runtime, final, now, 5 * H)  # before it settles: a final row never changes
        checked(runtime, final, tx_id, [outcome])
    ages = {}
    ages[left(runtime, "a-amount", amount="7.00", state="needs_review", outcome="MISMATCH",
              reason="provider's record disagrees with ours", error=AMOUNT_ONLY)] = 10 * M
    ages[left(runtime, "a-processing", outcome="PENDING", error="status PROCESSING")] = 5 * H
    ages[left(runtime, "a-young", amount="50.00")] = 10 * M
    ages[left(runtime, "b-max-age", provider="scripted-b", amount="100.00", state="needs_review",
              outcome="PENDING", reason=MAX_AGE)] = 4 * 24 * H
    ages[left(runtime, "b-old-1", provider="scripted-b", amount="1.00")] = 2 * H
    ages[left(runtime, "b-old-2", provider="scripted-b", amount="3.00", currency="EUR")] = 90 * M
    ages[left(runtime, "b-young", provider="scripted-b", amount="8.00")] = 59 * M
    # Refused credentials the engine's own way: a check answered AUTH_ERROR. Each checked
    # transfer is registered last, as `checked` claims every due one.
    for tx_id, amount, currency, age in (("a-auth-1", "10.00", "USD", 3 * H),
                                         ("a-auth-2", "5.50", "EUR", 30 * M),
                                         ("a-auth-3", "2.25", "USD", 2 * H)):
        transfer_id = register(runtime, tx_id=tx_id, amount=amount, currency=currency)
        checked(runtime, transfer_id, tx_id, [Outcome.AUTH_ERROR])
        ages[transfer_id] = age
    for transfer_id, age in ages.items():
        registered_ago(runtime, transfer_id, now, age)

