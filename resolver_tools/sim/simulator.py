"""The whole state of one simulator: merchants, transactions, query counts and settings."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from resolver_tools.sim.merchants import MerchantDirectory, load_merchants_file
from resolver_tools.sim.store import QueryStats, TransactionStore

DEFAULT_HRG_NOT_FOUND_CODE = "0404"


class SettingsError(ValueError):
    """A settings value the simulator cannot use."""


@dataclass(slots=True)
class SimSettings:
    """Knobs that change every provider at once (POST /_sim/settings)."""

    latency_ms: float = 0.0  # added before every provider answer
    error_rate: float = 0.0  # share of provider queries answered HTTP 500 before any check
    seed: int | None = None  # seeds the error_rate draw
    hrg_not_found_code: str = DEFAULT_HRG_NOT_FOUND_CODE  # HRG's real code is not public
    clock_offset_s: float = 0.0  # the providers' clock minus ours (timestamp windows)


class Simulator:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.merchants = MerchantDirectory()
        self.store = TransactionStore()
        self.stats = QueryStats()
        self.settings = SimSettings()
        self.rng = random.Random()
        self._clock = clock

    @classmethod
    def from_merchants_file(cls, path: str | None) -> Simulator:
        simulator = cls()
        if path:
            for merchant in load_merchants_file(path):
                simulator.merchants.add(merchant)
        return simulator

    def now(self) -> float:
        """The providers' clock, in unix seconds."""
        return self._clock() + self.settings.clock_offset_s

    def reset(self, merchants: bool = False) -> None:
        """Forget transactions, counts and settings (and merchants when asked)."""
        self.store.clear()
        self.stats.clear()
        self.settings = SimSettings()
        self.rng = random.Random()
        if merchants:
            self.merchants.clear()

    def update_settings(self, changes: Any) -> dict[str, Any]:
        if not isinstance(changes, dict):
            raise SettingsError("settings must be an object")
        current = asdict(self.settings)
        unknown = set(changes) - set(current)
        if unknown:
            raise SettingsError(f"unknown setting {sorted(unknown)[0]!r}")
        merged = {**current, **changes}
        for name in ("latency_ms", "error_rate", "clock_offset_s"):
            value = merged[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SettingsError(f"{name} must be a number")
            merged[name] = float(value)
        if merged["latency_ms"] < 0:
            raise SettingsError("latency_ms must be >= 0")
        if not 0 <= merged["error_rate"] <= 1:
            raise SettingsError("error_rate must be between 0 and 1")
        seed = merged["seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise SettingsError("seed must be an integer")
        code = merged["hrg_not_found_code"]
        if not isinstance(code, str) or not code:
            raise SettingsError("hrg_not_found_code must be a non-empty string")
        self.settings = SimSettings(**merged)
        if "seed" in changes:
            self.rng = random.Random(seed)
        return asdict(self.settings)
