"""The drill's instances and transfers, each with the final state its provider script makes
true. Pure: a seed gives the same drill every time.

The demo's six instances (five kinds, plus a Naga merchant whose secret we hold wrong), and two
of the drill's own:

- `lucko-down`, served by a simulator of its own that the drill stops for a while: its checks
  meet refused connections (RETRY, then the circuit breaker), and its transfers settle after it
  comes back. Its simulator starts again empty and is loaded anew, so scripts replay from the
  first step; they end the same way.
- `minigame-drip`, whose answers arrive a byte at a time. Each of its transfers first meets a
  drip too slow to finish inside the instance's `deadline_s` of 2.5 s (a byte every 250 ms,
  though never more than 250 ms between bytes, so only the total deadline cuts the call off:
  RETRY), once or twice, then a drip fast enough to fit (a byte every 2 ms), which carries the
  final answer. So the expected state is that final answer, and nothing depends on `max_age`.

What each behaviour makes true:

| behaviour | script | expected |
|---|---|---|
| pending then succeeded | pending x k, succeeded | succeeded |
| pending then failed | pending x k, failed | failed |
| never found | none (the provider never heard of it) | failed, past the grace period |
| amount mismatch | succeeded, with another amount on the provider's record | needs_review |
| trouble then succeeded | 5xx, HTML or a truncated body 1 or 2 times, succeeded | succeeded |
| rate limited then final | rate limited twice, succeeded or failed | that answer |
| wrong secret | (the provider refuses our signature) | needs_review |

HRG and Naga answer "not found" while a transfer is pending; their "pending" phase is one
answer long, so it can never make the two not-found answers in a row that fail a transfer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from resolver_tools.demo.scenario import DemoInstance, DemoTransfer, instance_table, instances
from worker.domain.types import State

DOWN = DemoInstance("lucko-down", "lucko",
                    {"agent_id": "lk-agent-down", "key": "${CHAOS_LUCKO_DOWN_KEY}"},
                    {"agent_id": "lk-agent-down", "key": "chaos-lucko-down-key"}, "CNY",
                    {"CHAOS_LUCKO_DOWN_KEY": "chaos-lucko-down-key"})
DRIP = DemoInstance("minigame-drip", "minigame",
                    {"appid": "2006", "key": "${CHAOS_MINIGAME_DRIP_KEY}"},
                    {"appid": "2006", "key": "chaos-minigame-drip-key"}, "USDT",
                    {"CHAOS_MINIGAME_DRIP_KEY": "chaos-minigame-drip-key"})
WRONG_SECRET = "naga-wrong-secret"
NO_PENDING_STATUS = frozenset({"hrg", "naga"})

# Fast enough that a short drill settles in a few minutes; the grace period is long enough
# that a transfer checked late (a worker killed, Redis emptied) is still not failed early.
POLICY: dict[str, Any] = {
    "initial_delay": "1s",
    "schedule": ["1s", "2s", "3s"],
    "max_age": "30m",
    "not_found_grace": "20s",
    "not_found_confirmations": 2,
    "concurrency": 16,
    "rate_limit_per_s": 300,
    "rate_limited_delay": "1s",
    "jitter": 0.1,
    "breaker_threshold": 10,
    "breaker_cooldown": "2s",
}
# A check never outlasts its lease (RESOLVER_LEASE_S in the drill): read timeout 2 s, and the
# whole provider call cut off after deadline_s.
INSTANCE_SETTINGS: dict[str, Any] = {"timeout_s": 2, "connect_timeout_s": 1, "deadline_s": 5}
DRIP_DEADLINE_S = 2.5

# (behaviour, weight) on the ordinary instances.
BEHAVIOURS = [
    ("pending then succeeded", 45),
    ("pending then failed", 12),
    ("never found", 8),
    ("amount mismatch", 5),
    ("trouble then succeeded", 16),
    ("rate limited then final", 14),
]


@dataclass(frozen=True)
class Planned:
    """One transfer of the drill: what the wallet sends, what the provider plays, and how it
    must end."""

    transfer: DemoTransfer
    expected: State

    @property
    def key(self) -> tuple[str, str]:
        return (self.transfer.instance.name, self.transfer.tx_id)


def all_instances() -> list[DemoInstance]:
    return [*instances(), DOWN, DRIP]


def main_sim_instances() -> list[DemoInstance]:
    """What the main simulator serves: everything but the instance that goes down."""
    return [instance for instance in all_instances() if instance is not DOWN]


def providers_toml(main_sim_url: str, down_sim_url: str) -> str:
    tables = []
    for instance in all_instances():
        url = down_sim_url if instance is DOWN else main_sim_url
        settings = dict(INSTANCE_SETTINGS)
        if instance is DRIP:
            settings["deadline_s"] = DRIP_DEADLINE_S
        tables.append(instance_table(instance, url, POLICY, settings))
    return "\n".join(tables)


def plan(count: int, seed: int) -> list[Planned]:
    """`count` transfers over every instance: a few on the wrong secret, about a tenth on the
    instance that goes down, a twentieth dripping, the rest spread over the five kinds."""
    chance = random.Random(seed)
    ordinary = [i for i in instances() if i.name != WRONG_SECRET]
    wrong = next(i for i in instances() if i.name == WRONG_SECRET)
    made: list[Planned] = []
    for n in range(count):
        share = chance.random()
        if share < 0.02:
            instance = wrong
        elif share < 0.12:
            instance = DOWN
        elif share < 0.17:
            instance = DRIP
        else:
            instance = ordinary[n % len(ordinary)]
        made.append(_planned(instance, n, chance))
    return made


def _planned(instance: DemoInstance, n: int, chance: random.Random) -> Planned:
    amount = Decimal(chance.randrange(100, 100_000)) / 100
    player = f"player-{chance.randrange(1, 200):03d}"
    direction = "withdraw" if chance.random() < 0.35 else "deposit"
    record = None
    if instance.name == WRONG_SECRET:
        script: list[dict[str, Any]] | None = [{"answer": "succeeded"}]
        expected = State.NEEDS_REVIEW
    elif instance is DRIP:
        final = chance.choice(["succeeded", "succeeded", "failed"])
        script = [*_cut_off_drip(chance.randint(1, 2)), _fitting_drip(final)]
        expected = State(final)
    else:
        behaviour = chance.choices([s for s, _ in BEHAVIOURS], [w for _, w in BEHAVIOURS])[0]
        script, expected, record = _behaviour(instance, behaviour, amount, chance)
    transfer = DemoTransfer(
        instance=instance,
        tx_id=f"C{instance.kind[:2].upper()}{n:07d}{chance.randrange(16**4):04x}",
        direction=direction,
        amount=amount,
        player_id=player,
        player_ref=f"tok-{player}" if instance.kind == "minigame" else None,
        behaviour="",
        script=script,
        record=record,
    )
    return Planned(transfer, expected)


def _behaviour(instance: DemoInstance, behaviour: str, amount: Decimal, chance: random.Random
           ) -> tuple[list[dict[str, Any]] | None, State, dict[str, Any] | None]:
    # HRG and Naga say "not found" while pending: one such answer, never two in a row.
    most_pending = 1 if instance.kind in NO_PENDING_STATUS else 3
    pending = {"answer": "pending", "times": chance.randint(1, most_pending)}
    if behaviour == "pending then succeeded":
        return [pending, {"answer": "succeeded"}], State.SUCCEEDED, None
    if behaviour == "pending then failed":
        return [pending, {"answer": "failed"}], State.FAILED, None
    if behaviour == "never found":
        return None, State.FAILED, None
    if behaviour == "amount mismatch":
        return ([{"answer": "succeeded"}], State.NEEDS_REVIEW,
                {"amount": str(amount + Decimal("1.00"))})
    if behaviour == "trouble then succeeded":
        trouble = chance.choice(["server_error", "html", "truncated"])
        return ([{"answer": trouble, "times": chance.randint(1, 2)}, {"answer": "succeeded"}],
                State.SUCCEEDED, None)
    final = chance.choice(["succeeded", "failed"])
    return [{"answer": "rate_limited", "times": 2}, {"answer": final}], State(final), None


def _cut_off_drip(times: int) -> list[dict[str, Any]]:
    """An answer that cannot arrive inside the drip instance's deadline."""
    return [{"answer": "drip", "delay_s": 0.25, "then": "pending", "times": times}]


def _fitting_drip(final: str) -> dict[str, Any]:
    """The final answer, a byte at a time but well inside the deadline."""
    return {"answer": "drip", "delay_s": 0.002, "then": final}


def expected_counts(planned: list[Planned]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in planned:
        counts[item.expected.value] = counts.get(item.expected.value, 0) + 1
    return counts
