"""What a simulated provider answers, query after query: a script of steps.

A step is `{"answer": NAME, "times": N, "delay_s": S, "then": NAME, "status": CODE,
"variant": TEXT}`; each query consumes one use of the current step and the last step repeats
forever. Answer names:

- about the transfer: `pending`, `succeeded`, `failed`, `not_found`;
- about the provider: `rate_limited`, `auth_error` (answered as that provider answers a bad
  signature, even though this one was right);
- about the wire: `server_error` (HTTP 500, or `status`), `html` (an HTML page, HTTP 200 or
  `status`), `truncated` (the success body cut in half, declared length matching), `slow`
  (wait `delay_s`, default 15 s, then answer `then`, default `pending`), `drip` (answer
  `then`, default `pending`, one byte every `delay_s` seconds, default 0.5 s: the status line
  and headers go out at once, since the ASGI server writes those itself, then the body drips,
  each byte well inside any read timeout, until the client hangs up), for example
  `{"answer": "drip", "delay_s": 0.5, "then": "pending"}`.

Any other step may carry `delay_s` (a wait before answering); `variant` selects a
kind-specific form (vct: `"code"` makes `pending` answer code 3004 instead of a record with
status pending).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TRANSFER_ANSWERS = frozenset({"pending", "succeeded", "failed", "not_found"})
PROVIDER_ANSWERS = frozenset({"rate_limited", "auth_error"})
WIRE_ANSWERS = frozenset({"server_error", "html", "truncated", "slow", "drip"})
ANSWERS = TRANSFER_ANSWERS | PROVIDER_ANSWERS | WIRE_ANSWERS
SLOW_DEFAULT_DELAY_S = 15.0
DRIP_DEFAULT_DELAY_S = 0.5
_STEP_KEYS = frozenset({"answer", "times", "delay_s", "then", "status", "variant"})


class ScriptError(ValueError):
    """A script the simulator cannot play; the message says which step and why."""


@dataclass(frozen=True, slots=True)
class Step:
    answer: str
    times: int = 1
    delay_s: float = 0.0
    then: str = "pending"  # what a slow step finally answers, or a drip step drips
    status: int | None = None  # HTTP status for server_error / html
    variant: str | None = None


NOT_FOUND_STEP = Step("not_found")


def parse_script(raw: Any) -> tuple[Step, ...]:
    """A JSON list of steps (or of bare answer names) -> steps; no script means not found."""
    if raw is None:
        return (NOT_FOUND_STEP,)
    if not isinstance(raw, list) or not raw:
        raise ScriptError("script must be a non-empty list of steps")
    return tuple(_parse_step(index, item) for index, item in enumerate(raw))


def _parse_step(index: int, raw: Any) -> Step:
    def fail(message: str) -> ScriptError:
        return ScriptError(f"script[{index}]: {message}")

    if isinstance(raw, str):
        raw = {"answer": raw}
    if not isinstance(raw, dict):
        raise fail("a step is an object such as {\"answer\": \"pending\", \"times\": 2}")
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise fail(f"unknown key {sorted(unknown)[0]!r}")
    answer = raw.get("answer")
    if answer not in ANSWERS:
        raise fail(f"answer must be one of {', '.join(sorted(ANSWERS))}")
    times = raw.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise fail("times must be a positive integer")
    default_delay = {"slow": SLOW_DEFAULT_DELAY_S, "drip": DRIP_DEFAULT_DELAY_S}.get(answer, 0.0)
    delay_s = raw.get("delay_s", default_delay)
    if isinstance(delay_s, bool) or not isinstance(delay_s, int | float) or delay_s < 0:
        raise fail("delay_s must be a number of seconds >= 0")
    then = raw.get("then", "pending")
    if then not in TRANSFER_ANSWERS | PROVIDER_ANSWERS | {"server_error", "html", "truncated"}:
        raise fail("then must be an answer other than slow and drip")
    status = raw.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599
    ):
        raise fail("status must be an HTTP status code")
    variant = raw.get("variant")
    if variant is not None and not isinstance(variant, str):
        raise fail("variant must be a string")
    return Step(answer, times, float(delay_s), then, status, variant)
