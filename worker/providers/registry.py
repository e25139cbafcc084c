"""Kind name -> adapter class. A new provider kind is one module and one line here."""

from __future__ import annotations

from typing import Any

import requests

from worker.providers import hrg, lucko, minigame, naga, scripted, vct
from worker.providers.base import ProviderAdapter
from worker.providers.instance import ProviderInstance

ADAPTERS: dict[str, type[ProviderAdapter[Any]]] = {
    module.Adapter.kind: module.Adapter
    for module in (scripted, minigame, lucko, hrg, vct, naga)
}


def adapter_for(
    instance: ProviderInstance, http: requests.Session | None = None
) -> ProviderAdapter[Any]:
    instance.require_secrets()
    return ADAPTERS[instance.kind](instance, http=http)
