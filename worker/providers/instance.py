"""A configured provider instance: one merchant account at one provider."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, SecretStr

from worker.domain.policy import Policy
from worker.process.config_files import ConfigError


@dataclass(frozen=True)
class ProviderInstance:
    name: str
    kind: str
    base_url: str  # without a trailing slash
    settings: BaseModel  # the kind's credentials and assumption settings; secrets are SecretStr
    policy: Policy
    timeout_s: float = 10.0  # read timeout of one HTTP call
    connect_timeout_s: float = 3.0
    # Total deadline of one status query: connect, headers and body, across the quick retries.
    deadline_s: float = 30.0
    # Currencies this merchant account deals in (upper case); None: any.
    currencies: frozenset[str] | None = None
    # A plain http:// base URL is refused unless the instance says so (the simulator, a demo).
    allow_insecure_http: bool = False
    # Variables the providers file names (`${VAR}`) that were unset when it was read leniently
    # for a command that only reads the database; such an instance may never call its provider.
    unset_variables: tuple[str, ...] = ()

    def require_secrets(self) -> None:
        """Refuse to talk to the provider with credentials whose variables were unset."""
        if self.unset_variables:
            raise ConfigError(
                f"provider instance {self.name}: environment variable "
                f"{', '.join(self.unset_variables)} is not set; calling the provider needs it")

    # Four-eyes: per currency, the amount from which a manual resolution needs a second operator.
    # A currency not listed (and an instance with none) always needs one: worker.admin.four_eyes.
    four_eyes_from: tuple[tuple[str, Decimal], ...] = ()

    def four_eyes_threshold(self, currency: str) -> Decimal | None:
        """The amount from which `currency` needs a second operator; None: not listed."""
        return dict(self.four_eyes_from).get(currency)

    def secret_values(self) -> list[str]:
        """Every secret of this instance, so output and logs can mask them."""
        return [
            value.get_secret_value()
            for value in vars(self.settings).values()
            if isinstance(value, SecretStr) and value.get_secret_value()
            and not self.unset_variables
        ]

    def describe(self) -> dict[str, Any]:
        """The instance as people may see it: secrets masked."""
        shown = {
            key: ("********" if isinstance(value, SecretStr) else value)
            for key, value in vars(self.settings).items()
        }
        policy: dict[str, Any] = {
            key: (str(value) if not isinstance(value, int | float | tuple) else value)
            for key, value in vars(self.policy).items()
        }
        policy["schedule"] = [str(step) for step in self.policy.schedule]
        return {
            "name": self.name,
            "kind": self.kind,
            "base_url": self.base_url,
            "timeout_s": self.timeout_s,
            "connect_timeout_s": self.connect_timeout_s,
            "deadline_s": self.deadline_s,
            "currencies": sorted(self.currencies) if self.currencies is not None else None,
            "allow_insecure_http": self.allow_insecure_http,
            "four_eyes_from": {code: f"{amount:.4f}" for code, amount in self.four_eyes_from},
            "credentials": shown,
            "unset_variables": list(self.unset_variables),
            "policy": policy,
        }


def mask(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "********")
    return text
