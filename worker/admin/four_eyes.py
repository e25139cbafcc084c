"""When a manual resolution needs a second operator: the rule, without I/O.

Each instance lists, per currency, the amount from which a second operator must approve
(`four_eyes_from = { EUR = "1000.00" }` in the providers file). The rule fails closed: a
currency the instance does not list, an instance with no list at all, and a transfer of an
instance no longer configured all need a second operator for any amount. A missing limit is
never read as "no limit": whoever wants one person to settle small amounts says how small.

Settling an amount mismatch at the provider's amount compares the limit with the larger of the
two amounts: either could be the real one, and the check is about how much could be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from worker.providers.instance import ProviderInstance


@dataclass(frozen=True)
class Gate:
    needs_second_operator: bool
    why: str


def gate(instance: ProviderInstance | None, currency: str, amount: Decimal,
         provider_amount: Decimal | None = None, *, bulk: bool = False) -> Gate:
    if bulk:
        return Gate(True, "a bulk resolution always needs a second operator")
    weighed = max(amount, provider_amount) if provider_amount is not None else amount
    shown = f"{weighed:.4f} {currency}"
    if instance is None:
        return Gate(True, f"the instance is not configured, so it has no four-eyes limit; "
                          f"{shown} needs a second operator")
    limit = instance.four_eyes_threshold(currency)
    if limit is None:
        return Gate(True, f"{instance.name} sets no four-eyes limit for {currency} "
                          f"(four_eyes_from); {shown} needs a second operator")
    if weighed >= limit:
        return Gate(True, f"{shown} is at or above {instance.name}'s four-eyes limit of "
                          f"{limit:.4f} {currency}")
    return Gate(False, f"{shown} is below {instance.name}'s four-eyes limit of "
                       f"{limit:.4f} {currency}")
