"""What every simulated provider kind is made of: a route, a check and a renderer.

`verify(request, merchants, now)` does what the real provider does before it looks anything
up (content type, parameters, merchant, signature or token, timestamp window) and returns
either the `Lookup` to perform or the `Rejection` to send. `render(answer, tx, context)` writes
the provider's own answer for one of the transfer or provider answers of a script
(`pending`, `succeeded`, `failed`, `not_found`, `rate_limited`, `auth_error`); `tx` is None
only for `not_found`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from resolver_tools.sim.exchange import Reply, SimRequest
from resolver_tools.sim.merchants import Merchant, MerchantDirectory
from resolver_tools.sim.simulator import SimSettings
from resolver_tools.sim.store import Transaction

# Rejection outcomes, as they appear in /_sim/stats
AUTH_REJECTED = "auth_rejected"  # wrong signature, token or key
UNKNOWN_MERCHANT = "unknown_merchant"
STALE_TIMESTAMP = "stale_timestamp"
BAD_CONTENT_TYPE = "bad_content_type"
BAD_REQUEST = "bad_request"


@dataclass(frozen=True, slots=True)
class Lookup:
    merchant: Merchant
    tx_id: str  # the id asked about (for naga possibly Naga's own id)


@dataclass(frozen=True, slots=True)
class Rejection:
    outcome: str
    reply: Reply


@dataclass(frozen=True, slots=True)
class AnswerContext:
    now: float
    settings: SimSettings
    merchant: Merchant  # who asked; a record is only ever shown to its own merchant
    variant: str | None = None


Verify = Callable[[SimRequest, MerchantDirectory, float], Lookup | Rejection]
Render = Callable[[str, Transaction | None, AnswerContext], Reply]


@dataclass(frozen=True, slots=True)
class ProviderKind:
    kind: str
    method: str
    path: str  # the exact path, or with path_has_id the prefix the id follows
    verify: Verify
    render: Render
    path_has_id: bool = False
    provider_id_too: bool = False  # the id may also be the provider's own transaction id


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison that never raises on odd characters."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))
