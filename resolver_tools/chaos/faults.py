"""The fault schedule: what goes wrong and when. Planning is pure (a seed gives the same
schedule); `FaultRunner` carries it out on a thread while the drill runs.

A fault fires either part-way through intake (when that fraction of the registrations has
been acknowledged) or some seconds after intake ended. Some faults bring their own end with
them (a provider back up, the second beat stopped) a fixed time later.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from resolver_tools.chaos.intake import IntakeProgress

log = logging.getLogger(__name__)

KILL_WORKER = "kill worker"
WIPE_REDIS = "restart Redis empty"
RESTART_POSTGRES = "restart Postgres"
SECOND_BEAT = "start a second beat"
SECOND_BEAT_ENDS = "stop the second beat"
PROVIDER_DOWN = "provider down"
PROVIDER_UP = "provider back up"


@dataclass(frozen=True)
class Fault:
    action: str
    during_intake: float | None = None  # fire when this fraction is acknowledged...
    after_intake_s: float | None = None  # ...or this long after intake ended
    ends_after_s: float | None = None  # its end (`ENDS[action]`) comes this long after it

    def describe(self) -> str:
        when = (f"at {self.during_intake:.0%} of intake" if self.during_intake is not None
                else f"{self.after_intake_s:.0f} s after intake")
        return f"{self.action} {when}"


ENDS = {SECOND_BEAT: SECOND_BEAT_ENDS, PROVIDER_DOWN: PROVIDER_UP}


def plan_faults(worker_kills: int, redis_wipes: int, pg_restarts: int, seed: int,
                window_s: float, provider_down_s: float = 20.0,
                second_beat_s: float = 30.0) -> list[Fault]:
    """Spread the faults over intake and the `window_s` seconds after it.

    About half the worker kills fall in intake; the first Redis restart and the first Postgres
    restart fall in intake too (the wallet must keep re-sending across them), later ones after
    it. The provider goes down early in intake, the second beat starts soon after.
    """
    chance = random.Random(seed)
    faults = [Fault(PROVIDER_DOWN, during_intake=0.25, ends_after_s=provider_down_s),
              Fault(SECOND_BEAT, during_intake=0.15, ends_after_s=second_beat_s)]
    for n in range(worker_kills):
        if n % 2 == 0:
            faults.append(Fault(KILL_WORKER, during_intake=chance.uniform(0.05, 0.95)))
        else:
            faults.append(Fault(KILL_WORKER, after_intake_s=chance.uniform(0, window_s)))
    for action, count, first_at in ((WIPE_REDIS, redis_wipes, 0.5),
                                    (RESTART_POSTGRES, pg_restarts, 0.7)):
        for n in range(count):
            if n == 0:
                faults.append(Fault(action, during_intake=first_at))
            else:
                faults.append(Fault(action, after_intake_s=window_s * n / count))
    return faults


@dataclass
class Fired:
    action: str
    at_s: float  # seconds since the drill started
    detail: str = ""


class FaultRunner:
    """Fires each fault when its moment comes; `done` once every fault and end has fired."""

    def __init__(self, faults: list[Fault], progress: IntakeProgress,
                 actions: dict[str, Callable[[], str]], started: float) -> None:
        self._due: list[tuple[Fault, float | None]] = [(fault, None) for fault in faults]
        self.progress = progress
        self.actions = actions
        self.started = started
        self.fired: list[Fired] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faults", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    @property
    def done(self) -> bool:
        return not self._due

    def count(self, action: str) -> int:
        return sum(1 for fired in self.fired if fired.action == action)

    def _run(self) -> None:
        while self._due and not self._stop.is_set():
            now = time.monotonic()
            for entry in list(self._due):
                if self._stop.is_set():
                    return
                if self._is_due(entry, now):
                    self._due.remove(entry)
                    self._fire(entry[0])
            self._stop.wait(0.05)

    def _is_due(self, entry: tuple[Fault, float | None], now: float) -> bool:
        fault, at = entry
        if at is not None:
            return now >= at
        if fault.during_intake is not None:
            return self.progress.done or self.progress.fraction >= fault.during_intake
        assert fault.after_intake_s is not None
        ended = self.progress.finished_at
        return ended is not None and now >= ended + fault.after_intake_s

    def _fire(self, fault: Fault) -> None:
        at_s = time.monotonic() - self.started
        try:
            detail = self.actions[fault.action]()
        except Exception as exc:  # a fault that could not be caused is reported, not hidden
            log.exception("fault %s failed", fault.action)
            self.errors.append(f"{fault.action}: {exc}")
            return
        self.fired.append(Fired(fault.action, at_s, detail))
        log.info("%.1f s: %s %s", at_s, fault.action, detail)
        if fault.ends_after_s is not None:
            end = Fault(ENDS[fault.action])
            self._due.append((end, time.monotonic() + fault.ends_after_s))
