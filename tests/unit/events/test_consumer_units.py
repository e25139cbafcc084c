"""Parsing stream entries, and calling a handler once per event id."""

from __future__ import annotations

import json

import pytest

from resolver_consumer import Handling, Mark, ReceivedEvent, handle_once, parse_entry
from worker.engine.relay.publish import stream_fields

EVENT: dict[str, object] = {"specversion": "1.0", "id": "e1", "type": "transfer.resolved",
         "data": {"transfer_id": 7}}


def test_an_entry_becomes_the_event_it_carries():
    # given
    published = stream_fields(12, "e1", "transfer.resolved", 7, EVENT)
    fields = {str(key).encode(): str(value).encode() for key, value in published.items()}
    # when
    event = parse_entry("1-0", fields)
    # then
    assert event is not None
    assert event == ReceivedEvent(seq=12, event=EVENT, entry_id="1-0")
    assert (event.id, event.type, event.data) == ("e1", "transfer.resolved", {"transfer_id": 7})


@pytest.mark.parametrize("fields", [
    {},  # trimmed from the stream while pending
    {b"seq": b"1"},  # no event
    {b"seq": b"1", b"event": b"not json"},
    {b"seq": b"x", b"event": json.dumps(EVENT).encode()},
    {b"seq": b"1", b"event": b"[1, 2]"},
])
def test_anything_else_is_not_an_event(fields):
    # when / then
    assert parse_entry("1-0", fields) is None


class MemoryDeduplicator:
    def __init__(self) -> None:
        self.state: dict[str, str] = {}

    def begin(self, event_id: str) -> Mark:
        if event_id not in self.state:
            self.state[event_id] = "busy"
            return Mark.NEW
        return Mark.DONE if self.state[event_id] == "done" else Mark.BUSY

    def finish(self, event_id: str) -> None:
        self.state[event_id] = "done"

    def abandon(self, event_id: str) -> None:
        self.state.pop(event_id, None)


def test_a_handler_is_called_once_per_event_id():
    # given
    calls: list[str] = []
    marks = MemoryDeduplicator()
    event = ReceivedEvent(1, EVENT)
    # when / then the same event is handled twice
    assert handle_once(event, lambda e: calls.append(e.id), marks) is Handling.HANDLED
    assert handle_once(event, lambda e: calls.append(e.id), marks) is Handling.DUPLICATE
    # then
    assert calls == ["e1"]


def test_an_event_being_handled_elsewhere_is_left_alone():
    # given the event marked busy by another consumer
    marks = MemoryDeduplicator()
    marks.begin("e1")
    # when / then
    assert handle_once(ReceivedEvent(1, EVENT), lambda e: None, marks) is Handling.BUSY


def test_a_failed_handler_leaves_the_event_free_for_a_retry():
    # given
    marks = MemoryDeduplicator()

    def fails(event: ReceivedEvent) -> None:
        raise RuntimeError("down")

    # when
    with pytest.raises(RuntimeError):
        handle_once(ReceivedEvent(1, EVENT), fails, marks)
    # then
    assert marks.state == {}
    # when / then a retry handles it
    assert handle_once(ReceivedEvent(1, EVENT), lambda e: None, marks) is Handling.HANDLED
