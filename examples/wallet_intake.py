"""The wallet's side of intake: hand a transfer over and keep at it until the resolver answers.

A transfer counts as handed over only once the resolver's reply says it is committed in its
database. A message sent and not waited for is only as durable as the broker: lost if Redis
restarts empty, late if the worker that took it dies. So: send to the intake queue, wait for the
reply, and send again when none comes (intake is idempotent on provider and tx_id, so a second
copy is harmless). A refusal is a reply too, and final: resending the same request would be
refused the same way.

This file needs only Celery, not the resolver's code:

    python examples/wallet_intake.py --broker redis://127.0.0.1:6379/0 \\
        --provider naga-main --tx-id W-2026-000123 --direction deposit \\
        --player-id p-881 --amount 25.00 --currency EUR

Exit status: 0 accepted (the reply is printed), 2 refused (field and reason printed),
1 no reply after every try (safe to run again later).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from celery import Celery
from celery.exceptions import TimeoutError as NoReplyYet
from celery.result import AsyncResult

INTAKE_QUEUE = "resolver.intake"


@dataclass
class Handover:
    """One intake call the wallet needs answered, and what it has heard so far."""

    task: str
    args: list[Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    reply: dict[str, Any] | None = None
    sent: int = 0
    problem: str = ""  # why the last try got no reply
    # Every copy carries this id, so a reply to any earlier copy, if it ran late, answers too.
    task_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def accepted(self) -> bool:
        return self.reply is not None and self.reply["ok"] is True

    @property
    def refused(self) -> bool:
        return self.reply is not None and self.reply["ok"] is False


def register(transfer: dict[str, Any]) -> Handover:
    """After a timeout or an unclear answer from the provider."""
    return Handover("resolver.register_transfer", [transfer])


def begin(transfer: dict[str, Any], deadline_s: float | None = None) -> Handover:
    """Write-ahead, before calling the provider."""
    return Handover("resolver.begin_transfer", [transfer], {"deadline_s": deadline_s})


def complete(provider: str, tx_id: str, outcome: str) -> Handover:
    """The provider's clear answer to a transfer begun write-ahead."""
    return Handover("resolver.complete_transfer", [provider, tx_id, outcome])


def connect(broker: str, backend: str | None = None) -> Celery:
    """A Celery client that knows only where the resolver's broker and replies are."""
    return Celery("wallet", broker=broker, backend=backend or broker)


def hand_over(resolver: Celery, handovers: list[Handover], *, wait_s: float = 5.0,
              max_wait_s: float = 60.0, tries: int = 8) -> list[Handover]:
    """Send each handover until it has a reply, at most `tries` times.

    Every round sends what is still unanswered, then waits for the replies; each round waits
    twice as long as the one before (up to `max_wait_s`), so a slow resolver is not flooded.
    """
    waiting = [h for h in handovers if h.reply is None]
    wait = wait_s
    for _ in range(tries):
        if not waiting:
            break
        sent = [(h, _send(resolver, h)) for h in waiting]
        deadline = time.monotonic() + wait
        for handover, result in sent:
            if result is not None:
                handover.reply = _reply(handover, result, deadline)
        waiting = [h for h in waiting if h.reply is None]
        # A try that failed at once (broker down) still waits out the round before resending.
        time.sleep(max(0.0, deadline - time.monotonic()) if waiting else 0.0)
        wait = min(wait * 2, max_wait_s)
    return handovers


def _send(resolver: Celery, handover: Handover) -> AsyncResult | None:
    handover.sent += 1
    try:
        return resolver.send_task(handover.task, args=handover.args, kwargs=handover.kwargs,
                                  queue=INTAKE_QUEUE, task_id=handover.task_id)
    except Exception as exc:  # the broker is unreachable: try again next round
        handover.problem = f"could not send: {exc}"
        return None


def _reply(handover: Handover, result: AsyncResult, deadline: float) -> dict[str, Any] | None:
    remaining = deadline - time.monotonic()
    try:
        if remaining > 0:
            reply = result.get(timeout=remaining)
        elif result.ready():  # past the round's deadline only look, so many misses stay quick
            reply = result.get()
        else:
            raise NoReplyYet()
    except NoReplyYet:
        handover.problem = "no reply in time"
        return None
    except Exception as exc:  # the task itself failed, say the database stayed down too long
        handover.problem = f"the resolver could not record it: {exc}"
        handover.task_id = str(uuid.uuid4())  # so the next copy is not answered by this failure
        return None
    return dict(reply)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Register a timed-out transfer with the "
                                                 "resolver and wait until it is acknowledged.")
    parser.add_argument("--broker", required=True, help="The resolver's broker URL.")
    parser.add_argument("--backend", default=None,
                        help="The resolver's result backend (default: the broker URL).")
    parser.add_argument("--provider", required=True)
    parser.add_argument("--tx-id", required=True)
    parser.add_argument("--direction", default="deposit", choices=["deposit", "withdraw"])
    parser.add_argument("--player-id", default="p-1")
    parser.add_argument("--player-ref", default=None)
    parser.add_argument("--amount", default="10.00")
    parser.add_argument("--currency", default="EUR")
    parser.add_argument("--sent-at", default=None, help="ISO 8601 with a zone; default now.")
    parser.add_argument("--wait", type=float, default=5.0, help="Seconds to wait for the first "
                                                                "reply; doubles on each resend.")
    parser.add_argument("--tries", type=int, default=8)
    options = parser.parse_args(argv)

    transfer = {key: value for key, value in {
        "provider": options.provider, "tx_id": options.tx_id, "direction": options.direction,
        "player_id": options.player_id, "player_ref": options.player_ref,
        "amount": options.amount, "currency": options.currency, "sent_at": options.sent_at,
    }.items() if value is not None}
    [handover] = hand_over(connect(options.broker, options.backend), [register(transfer)],
                           wait_s=options.wait, tries=options.tries)
    if handover.accepted:
        print(json.dumps(handover.reply))
        return 0
    if handover.refused:
        assert handover.reply is not None
        print(f"refused ({handover.reply['error']}): {handover.reply['field'] or '-'}: "
              f"{handover.reply['message']}", file=sys.stderr)
        return 2
    print(f"not acknowledged after {handover.sent} tries ({handover.problem}); "
          f"safe to send again", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
