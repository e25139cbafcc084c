"""The demo's instances and its mix of transfers. Pure: a seed gives the same demo every time.

Six provider instances, one per kind plus a second Naga merchant whose secret is wrong on our
side (the simulator knows the right one), so its transfers end in needs_review.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class DemoInstance:
    name: str
    kind: str
    credentials: dict[str, Any]  # what the resolver is configured with (secrets as ${VAR})
    sim_credentials: dict[str, Any]  # what the simulator accepts
    currency: str
    secrets: dict[str, str] = field(default_factory=dict)  # ${VAR} -> value, for the environment


def instances() -> list[DemoInstance]:
    def secret(var: str, value: str) -> dict[str, str]:
        return {var: value}

    return [
        DemoInstance("minigame-main", "minigame",
                     {"appid": "1005", "key": "${DEMO_MINIGAME_KEY}"},
                     {"appid": "1005", "key": "demo-minigame-key"}, "USDT",
                     secret("DEMO_MINIGAME_KEY", "demo-minigame-key")),
        DemoInstance("lucko-main", "lucko",
                     {"agent_id": "lk-agent-1", "key": "${DEMO_LUCKO_KEY}"},
                     {"agent_id": "lk-agent-1", "key": "demo-lucko-key"}, "CNY",
                     secret("DEMO_LUCKO_KEY", "demo-lucko-key")),
        DemoInstance("hrg-main", "hrg",
                     {"agent_id": "hrg-agent-1", "api_key": "${DEMO_HRG_KEY}",
                      # HRG's codes are not public; these are the simulator's.
                      "not_found_codes": ["0404"], "auth_error_codes": ["0401"],
                      "rate_limited_codes": ["0429"]},
                     {"agent_id": "hrg-agent-1", "api_key": "demo-hrg-key"}, "THB",
                     secret("DEMO_HRG_KEY", "demo-hrg-key")),
        DemoInstance("vct-main", "vct",
                     # The hub's member ids are {member_prefix}_{player}.
                     {"api_key": "vct-demo", "api_secret": "${DEMO_VCT_SECRET}",
                      "member_prefix": "VCTDEMO"},
                     {"api_key": "vct-demo", "api_secret": "demo-vct-secret",
                      "member_prefix": "VCTDEMO"}, "USD",
                     secret("DEMO_VCT_SECRET", "demo-vct-secret")),
        DemoInstance("naga-main", "naga",
                     {"brand_code": "srot", "group_code": "dpae",
                      "secret_key": "${DEMO_NAGA_SECRET}"},
                     {"brand_code": "srot", "group_code": "dpae",
                      "secret_key": "demo-naga-secret"}, "EUR",
                     secret("DEMO_NAGA_SECRET", "demo-naga-secret")),
        DemoInstance("naga-wrong-secret", "naga",
                     {"brand_code": "brandb", "group_code": "dpae",
                      "secret_key": "${DEMO_NAGA_B_SECRET}"},
                     {"brand_code": "brandb", "group_code": "dpae",
                      "secret_key": "the-real-secret-we-do-not-have"}, "EUR",
                     secret("DEMO_NAGA_B_SECRET", "a-secret-that-is-out-of-date")),
    ]


@dataclass(frozen=True)
class DemoTransfer:
    instance: DemoInstance
    tx_id: str
    direction: str
    amount: Decimal
    player_id: str
    player_ref: str | None
    behaviour: str  # what the provider will do, for the reader of the code
    script: list[dict[str, Any]] | None  # None: the provider never heard of it
    record: dict[str, Any] | None = None  # where the provider's record differs from ours

    def registration(self) -> dict[str, Any]:
        """What the wallet sends to `resolver.register_transfer`."""
        payload: dict[str, Any] = {
            "provider": self.instance.name,
            "tx_id": self.tx_id,
            "direction": self.direction,
            "player_id": self.player_id,
            "amount": str(self.amount),
            "currency": self.instance.currency,
        }
        if self.player_ref:
            payload["player_ref"] = self.player_ref
        return payload

    def sim_transaction(self) -> dict[str, Any]:
        """What the simulator is loaded with."""
        transaction: dict[str, Any] = {
            "kind": self.instance.kind,
            "merchant": merchant_id(self.instance),
            "tx_id": self.tx_id,
            "direction": self.direction,
            "amount": str(self.amount),
            "currency": self.instance.currency,
            "player": self.player_ref or self.player_id,
        }
        if self.script is not None:
            transaction["script"] = self.script
        if self.record:
            transaction["record"] = self.record
        return transaction


# (behaviour, weight): most succeed after a few pending answers.
BEHAVIOURS = [
    ("succeeds after pending", 62),
    ("fails", 10),
    ("never found", 7),
    ("found after a while", 6),
    ("transient trouble, then succeeds", 8),
    ("slower than our timeout once", 3),
    ("amount mismatch", 4),
]


def transfers(per_instance: int = 56, wrong_secret_count: int = 16,
              seed: int = 7) -> list[DemoTransfer]:
    chance = random.Random(seed)
    made: list[DemoTransfer] = []
    for instance in instances():
        count = wrong_secret_count if instance.name == "naga-wrong-secret" else per_instance
        for n in range(count):
            behaviour = chance.choices([s for s, _ in BEHAVIOURS], [w for _, w in BEHAVIOURS])[0]
            made.append(_transfer(instance, n, behaviour, chance))
    chance.shuffle(made)
    return made


def _transfer(instance: DemoInstance, n: int, behaviour: str,
              chance: random.Random) -> DemoTransfer:
    amount = Decimal(chance.randrange(500, 50_000)) / 100
    player = f"player-{chance.randrange(1, 40):03d}"
    pending = {"answer": "pending", "times": chance.randint(1, 3)}
    record = None
    script: list[dict[str, Any]] | None
    if behaviour == "succeeds after pending":
        script = [pending, {"answer": "succeeded"}]
    elif behaviour == "fails":
        script = [{"answer": "pending"}, {"answer": "failed"}]
    elif behaviour == "never found":
        script = None
    elif behaviour == "found after a while":
        script = [{"answer": "not_found", "times": 2}, {"answer": "succeeded"}]
    elif behaviour == "transient trouble, then succeeds":
        trouble = chance.choice(["server_error", "rate_limited", "html", "truncated"])
        script = [{"answer": trouble}, {"answer": "succeeded"}]
    elif behaviour == "slower than our timeout once":
        script = [{"answer": "slow", "delay_s": 4, "then": "succeeded"}, {"answer": "succeeded"}]
    else:  # amount mismatch
        script = [{"answer": "succeeded"}]
        record = {"amount": str(amount + Decimal("1.00"))}
    return DemoTransfer(
        instance=instance,
        tx_id=f"{instance.kind[:3].upper()}{n:05d}{chance.randrange(16**4):04x}",
        direction="withdraw" if chance.random() < 0.3 else "deposit",
        amount=amount,
        player_id=player,
        # MINI.GAME identifies the player by a token of its own.
        player_ref=f"tok-{player}" if instance.kind == "minigame" else None,
        behaviour=behaviour,
        script=script,
        record=record,
    )


def merchant_id(instance: DemoInstance) -> str:
    """The credential the simulator files the instance's transactions under."""
    first = {"minigame": "appid", "lucko": "agent_id", "hrg": "agent_id", "vct": "api_key",
             "naga": "brand_code"}[instance.kind]
    return str(instance.sim_credentials[first])


POLICY = {
    "initial_delay": "1s",
    "schedule": ["1s", "2s", "3s", "5s"],
    "max_age": "10m",
    "not_found_grace": "15s",
    "not_found_confirmations": 2,
    "concurrency": 16,
    "rate_limit_per_s": 200,
    "breaker_threshold": 20,
    "breaker_cooldown": "2s",
}


# From this amount a manual resolution in the demo needs a second operator: the demo's amounts
# run from 5 to 500, so both paths show.
FOUR_EYES_FROM = "100.00"


def providers_toml(sim_url: str, policy: dict[str, Any] | None = None,
                   chosen: list[DemoInstance] | None = None) -> str:
    """The resolver's provider file for the demo (or a benchmark's own policy and instances)."""
    return "\n".join(
        instance_table(instance, sim_url, policy or POLICY,
                       {"four_eyes_from": {instance.currency: FOUR_EYES_FROM}})
        for instance in chosen or instances())


def instance_table(instance: DemoInstance, base_url: str, policy: dict[str, Any],
                   settings: dict[str, Any] | None = None) -> str:
    """One instance's tables in the providers file; `settings` adds or overrides instance keys
    such as `timeout_s` or `deadline_s`."""
    keys = {"kind": instance.kind, "base_url": base_url, "allow_insecure_http": True,
            "timeout_s": 2, **(settings or {})}
    lines = [f"[providers.{instance.name}]"]
    lines += [f"{key} = {_toml(value)}" for key, value in keys.items()]
    lines += ["", f"[providers.{instance.name}.credentials]"]
    lines += [f"{key} = {_toml(value)}" for key, value in instance.credentials.items()]
    lines += ["", f"[providers.{instance.name}.policy]"]
    lines += [f"{key} = {_toml(value)}" for key, value in policy.items()]
    lines.append("")
    return "\n".join(lines)


def sim_merchants_toml(chosen: list[DemoInstance] | None = None) -> str:
    """The simulator's merchants: the right secrets, including the one we got wrong."""
    lines: list[str] = []
    for instance in chosen or instances():
        lines += [f"[providers.{instance.name}]", f'kind = "{instance.kind}"',
                  f"[providers.{instance.name}.credentials]"]
        lines += [f"{key} = {_toml(value)}" for key, value in instance.sim_credentials.items()]
        lines.append("")
    return "\n".join(lines)


def environment(chosen: list[DemoInstance] | None = None) -> dict[str, str]:
    """The secrets the providers file names as ${VAR}."""
    found: dict[str, str] = {}
    for instance in chosen or instances():
        found.update(instance.secrets)
    return found


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + " }"
    return str(value)
