"""The five simulated provider kinds, one module each."""

from __future__ import annotations

from resolver_tools.sim.providers.base import ProviderKind
from resolver_tools.sim.providers.hrg import HRG
from resolver_tools.sim.providers.lucko import LUCKO
from resolver_tools.sim.providers.minigame import MINIGAME
from resolver_tools.sim.providers.naga import NAGA
from resolver_tools.sim.providers.vct import VCT

PROVIDER_KINDS: dict[str, ProviderKind] = {
    spec.kind: spec for spec in (MINIGAME, LUCKO, HRG, VCT, NAGA)
}
