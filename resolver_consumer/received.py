"""One event as a consumer receives it, read from a stream entry."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceivedEvent:
    """One event as a handler sees it, from the stream or from a replay."""

    seq: int  # the outbox sequence number: the position to replay after
    event: dict[str, Any]  # the CloudEvent
    entry_id: str | None = None  # the stream entry; None when replayed from the outbox

    @property
    def id(self) -> str:
        return str(self.event["id"])

    @property
    def type(self) -> str:
        return str(self.event["type"])

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.event["data"]
        return data


Handler = Callable[[ReceivedEvent], None]


def parse_entry(entry_id: str, fields: dict[Any, Any]) -> ReceivedEvent | None:
    """The event a stream entry carries; None (and a log line) for anything else."""
    if not fields:
        log.warning("entry %s was trimmed from the stream before it was handled; replay from "
                    "the outbox to recover it", entry_id)
        return None
    found = {as_text(key): as_text(value) for key, value in fields.items()}
    try:
        event = json.loads(found["event"])
        seq = int(found["seq"])
        if not isinstance(event, dict) or "id" not in event:
            raise ValueError("not a CloudEvent")
    except (KeyError, ValueError) as exc:
        log.error("entry %s is not an event (%s); acknowledged and skipped", entry_id, exc)
        return None
    return ReceivedEvent(seq=seq, event=event, entry_id=entry_id)


def as_bytes(value: Any) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def as_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
