"""One HTTP exchange as the simulator sees it: the request exactly as received, the reply to send.

Handlers work on these two plain objects instead of a framework's request, so a provider module
can sign-check the raw query string and the raw body bytes exactly as they came off the exchange.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

JSON_TYPE = "application/json"


@dataclass(slots=True)
class SimRequest:
    method: str
    path: str
    query: bytes  # the raw query string, still percent-encoded
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes = b""

    def query_pairs(self) -> list[tuple[str, str]]:
        """Decoded (name, value) pairs in the order sent, blanks kept."""
        return parse_qsl(self.query.decode("utf-8", "replace"), keep_blank_values=True)

    def form_pairs(self) -> list[tuple[str, str]]:
        """The body read as application/x-www-form-urlencoded."""
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def media_type(self) -> str:
        """The Content-Type without parameters, lower case ('' when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    delay_s: float = 0.0  # wait this long before answering (a slow provider)
    drip_s: float = 0.0  # send the body one byte every drip_s seconds (a dripping provider)


def to_json(value: Any) -> str:
    """Compact JSON in which a Decimal is written as a JSON number with its exact digits."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_mark_decimal)
    return _MARKED_DECIMAL.sub(r"\1", text) if _DECIMAL_MARK_JSON in text else text


# json.dumps cannot write a raw number, so a Decimal first becomes a marked string
# ("\x1fnum:12.50", which JSON escapes as "\u001fnum:12.50") and the quotes come off after.
_DECIMAL_MARK = "\x1fnum:"
_DECIMAL_MARK_JSON = "\\u001fnum:"
_MARKED_DECIMAL = re.compile(r'"\\u001fnum:([-+.0-9Ee]+)"')


def _mark_decimal(value: Any) -> str:
    if isinstance(value, Decimal) and value.is_finite():
        return f"{_DECIMAL_MARK}{value}"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_reply(value: Any, status: int = 200) -> Reply:
    return Reply(status, to_json(value).encode("utf-8"))
