"""Replay: read every event after a seq from the record (the outbox in Postgres) and apply it.

From the admin API (no database access needed):

    python examples/replay_catch_up.py --store balance.db \
        --api http://127.0.0.1:8000 --token "$RESOLVER_ADMIN_TOKEN"

or straight from the outbox (needs RESOLVER_DATABASE_URL):

    python examples/replay_catch_up.py --store balance.db

It starts after the store's checkpoint unless --after is given. Replaying what was already
applied is harmless: the store skips known event ids.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import requests
from balance_store import BalanceStore

from resolver_consumer import outbox_events
from worker.process.db import get_engine


def from_api(base_url: str, token: str, after: int, page: int = 500) -> Iterator[dict[str, Any]]:
    """GET /api/v1/events?after=SEQ page by page: items are {"seq", "event"}."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    while True:
        answer = http.get(f"{base_url.rstrip('/')}/api/v1/events",
                          params={"after": after, "limit": page}, timeout=10)
        answer.raise_for_status()
        body = answer.json()
        yield from body["items"]
        if len(body["items"]) < page:
            return
        after = body["next_after"]


def from_outbox(after: int) -> Iterator[dict[str, Any]]:
    for event in outbox_events(get_engine(), after):
        yield {"seq": event.seq, "event": event.event}


def catch_up(store: BalanceStore, records: Iterator[dict[str, Any]]) -> tuple[int, int]:
    """Apply every record in order; return (applied now, already applied)."""
    applied = skipped = 0
    for record in records:
        if store.apply(record["seq"], record["event"]):
            applied += 1
        else:
            skipped += 1
    return applied, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="balance.db")
    parser.add_argument("--after", type=int, default=None, help="Default: the checkpoint.")
    parser.add_argument("--api", default=None, help="Base URL of the admin API.")
    parser.add_argument("--token", default=None, help="An admin (viewer) token.")
    options = parser.parse_args()
    store = BalanceStore(options.store)
    after = store.checkpoint() if options.after is None else options.after
    records = (from_api(options.api, options.token or "", after) if options.api
               else from_outbox(after))
    applied, skipped = catch_up(store, records)
    print(f"after seq {after}: applied {applied}, already applied {skipped}; "
          f"checkpoint now {store.checkpoint()}")


if __name__ == "__main__":
    main()
