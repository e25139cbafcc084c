"""The three contenders: how each is started, set going on the due transfers, and finished.

Each gets the same worker processes and threads: the resolver and naive Celery as real
`celery worker` processes (`--concurrency` threads each), the bare limit as as many processes
of its own with as many threads. A contender is ready before the clock starts; `go` starts it,
with every transfer's due time as an offset from the go instant (all zero in the drain).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from celery import Celery
from sqlalchemy import Engine

from resolver_tools.bench import workload
from resolver_tools.demo.processes import Processes

READY_TIMEOUT_S = 60


@dataclass(frozen=True)
class Shape:
    processes: int
    threads: int


class Contender(Protocol):
    name: str
    label: str

    def start(self, processes: Processes, shape: Shape, ids: list[int], offsets: list[float],
              work: Path) -> None: ...

    def go(self, engine: Engine, ids: list[int], offsets: list[float]) -> datetime: ...

    def finish(self) -> dict[str, Any]: ...


def _celery_workers(processes: Processes, shape: Shape, app: str, name: str) -> None:
    for n in range(shape.processes):
        processes.start(f"{name}-worker-{n}", "celery", "-A", app, "worker",
                        "--loglevel=WARNING", "--pool", "threads",
                        "--concurrency", str(shape.threads), "-n", f"{name}{n}@%h")


def _wait_for_workers(processes: Processes, count: int) -> None:
    """Until `count` workers answer a ping: connected to the broker and consuming."""
    client = Celery("bench-ping", broker=processes.env["RESOLVER_REDIS_URL"])
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        processes.check_alive()
        if len(client.control.ping(timeout=0.5) or []) >= count:
            return
    raise RuntimeError(f"{count} workers did not answer within {READY_TIMEOUT_S} s")


class Resolver:
    """As deployed: `celery -A worker` workers and beat; the sweep claims what is due."""

    name = "resolver"
    label = "resolver (as deployed)"

    def start(self, processes: Processes, shape: Shape, ids: list[int], offsets: list[float],
              work: Path) -> None:
        _celery_workers(processes, shape, "resolver_tools.bench.deployed", self.name)
        processes.start("beat", "celery", "-A", "worker", "beat", "--loglevel=WARNING",
                        "--schedule", str(work / "celerybeat-schedule"))
        _wait_for_workers(processes, shape.processes)

    def go(self, engine: Engine, ids: list[int], offsets: list[float]) -> datetime:
        """The rows' due times are all it needs: the sweep claims each as it falls due."""
        return workload.make_due(engine, ids, offsets)

    def finish(self) -> dict[str, Any]:
        return {}


class NaiveCelery:
    """One task per transfer, retried every 0.2 s until final (resolver_tools.bench.naive)."""

    name = "naive"
    label = "naive Celery"

    def __init__(self) -> None:
        self._broker = ""
        self._feeder: threading.Thread | None = None

    def start(self, processes: Processes, shape: Shape, ids: list[int], offsets: list[float],
              work: Path) -> None:
        self._broker = processes.env["RESOLVER_REDIS_URL"]
        _celery_workers(processes, shape, "resolver_tools.bench.naive", self.name)
        _wait_for_workers(processes, shape.processes)

    def go(self, engine: Engine, ids: list[int], offsets: list[float]) -> datetime:
        """All at once (drain), or from a feeder thread in this process that sends each task as
        its transfer falls due (steady); its cost is intake's and not counted, as the other
        contenders' UPDATE at go is not."""
        from resolver_tools.bench import naive

        started = workload.make_due(engine, ids, offsets)
        if not any(offsets):
            naive.send_all(self._broker, ids)
            return started
        go = workload.monotonic_at(started.timestamp())
        self._feeder = threading.Thread(
            target=naive.send_all, args=(self._broker, ids, [go + o for o in offsets]),
            name="naive-feeder", daemon=True)
        self._feeder.start()
        return started

    def finish(self) -> dict[str, Any]:
        if self._feeder is not None:
            self._feeder.join()
        return {}


class BareLimit:
    """Threads asking the provider and writing one UPDATE per answer (resolver_tools.bench.bare)."""

    name = "bare"
    label = "bare limit"

    def __init__(self) -> None:
        self._go: Path | None = None
        self._outs: list[Path] = []

    def start(self, processes: Processes, shape: Shape, ids: list[int], offsets: list[float],
              work: Path) -> None:
        self._go = work / "bare.go"
        self._go.unlink(missing_ok=True)
        self._outs = []
        readies = []
        for n in range(shape.processes):
            share = work / f"bare-{n}.due.json"
            share.write_text(json.dumps(list(zip(ids, offsets, strict=True))[n::shape.processes]))
            ready, out = work / f"bare-{n}.ready", work / f"bare-{n}.out.json"
            ready.unlink(missing_ok=True)
            out.unlink(missing_ok=True)
            processes.start(f"bare-{n}", "resolver_tools.bench.bare", "--ids", str(share),
                            "--threads", str(shape.threads), "--ready", str(ready),
                            "--go", str(self._go), "--out", str(out))
            readies.append(ready)
            self._outs.append(out)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not all(ready.exists() for ready in readies):
            processes.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bare limit was not ready within {READY_TIMEOUT_S} s")
            time.sleep(0.05)

    def go(self, engine: Engine, ids: list[int], offsets: list[float]) -> datetime:
        """The go instant into the go file (written whole, then renamed into place): each
        process asks about each of its transfers at that instant plus its offset."""
        assert self._go is not None
        started = workload.make_due(engine, ids, offsets)
        written = self._go.with_suffix(".tmp")
        written.write_text(repr(started.timestamp()))
        written.rename(self._go)
        return started

    def finish(self) -> dict[str, Any]:
        """Its own count of resolutions written and when each transfer was first asked."""
        deadline = time.monotonic() + 30
        while not all(out.exists() for out in self._outs) and time.monotonic() < deadline:
            time.sleep(0.05)
        found = [json.loads(out.read_text()) for out in self._outs]
        return {"resolutions_written": sum(f["resolutions"] for f in found),
                "cpu_s": sum(f["cpu_s"] for f in found),
                "first_checked": {int(i): t for f in found for i, t in f["first_checked"].items()}}


CONTENDERS: dict[str, type[Resolver] | type[NaiveCelery] | type[BareLimit]] = {
    "resolver": Resolver, "naive": NaiveCelery, "bare": BareLimit}
