"""The five simulated provider kinds, one module each."""

from __future__ import annotations

from worker.sim.providers.base import ProviderKind
from worker.sim.providers.hrg import HRG
from worker.sim.providers.lucko import LUCKO
from worker.sim.providers.minigame import MINIGAME
from worker.sim.providers.naga import NAGA
from worker.sim.providers.vct import VCT

PROVIDER_KINDS: dict[str, ProviderKind] = {
    spec.kind: spec for spec in (MINIGAME, LUCKO, HRG, VCT, NAGA)
}
