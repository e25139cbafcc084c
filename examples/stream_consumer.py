"""A stream consumer: the balance service reads resolution events with a consumer group.

    python examples/stream_consumer.py --group balance --store balance.db

Run as many as you like with the same group: each event goes to one of them. Stop with
SIGTERM or Ctrl-C; the event in hand is finished first. When the group is missing (first
start, or Redis came back empty) it first catches up from the outbox after the store's
checkpoint, so nothing published while it was away is missed.
"""

from __future__ import annotations

import argparse
import logging
import threading

from balance_store import BalanceStore

from resolver_consumer import (
    ConsumeStats,
    ReceivedEvent,
    consume,
    outbox_events,
    replay,
    stop_on_signals,
)
from worker.process.db import get_engine


def run(group: str, store: BalanceStore, stop: threading.Event, **options: object) -> ConsumeStats:
    def handle(event: ReceivedEvent) -> None:
        applied = store.apply(event.seq, event.event)
        data = event.data
        print(f"{'applied' if applied else 'already applied'}: {event.type} transfer "
              f"{data['transfer_id']} {data['amount']} {data['currency']} -> {data['outcome']}",
              flush=True)

    def catch_up() -> None:
        # Needs RESOLVER_DATABASE_URL; a service without database access would page through
        # GET /api/v1/events?after=SEQ instead (see replay_catch_up.py).
        replay(outbox_events(get_engine(), store.checkpoint()), handle)

    return consume(group, handle, stop_event=stop, on_missing_group=catch_up,
                   **options)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", default="balance")
    parser.add_argument("--store", default="balance.db", help="SQLite file of the service.")
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    stats = run(options.group, BalanceStore(options.store), stop_on_signals())
    print(f"stopped: {stats}")


if __name__ == "__main__":
    main()
