"""The event contract in docs/events: one JSON Schema and one example per event type."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events"


@cache
def schemas() -> dict[str, dict[str, Any]]:
    """Event type -> its schema, from the files named <type>.schema.json."""
    found = {}
    for path in sorted(DOCS.glob("*.schema.json")):
        found[path.name.removesuffix(".schema.json")] = json.loads(path.read_text())
    return found


def example(event_type: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DOCS / f"{event_type}.example.json").read_text())
    return loaded


def validator(event_type: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schemas()[event_type], format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def problems(event: dict[str, Any]) -> list[str]:
    """What is wrong with an event against its type's schema; empty when it conforms."""
    event_type = event.get("type")
    if event_type not in schemas():
        return [f"no schema for event type {event_type!r}"]
    return [f"{'/'.join(map(str, error.path))}: {error.message}"
            for error in validator(event_type).iter_errors(event)]
