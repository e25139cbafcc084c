"""The system under test, as the drill runs it: its own PostgreSQL and Redis, two provider
simulators, two worker processes and beat; and the faults done to them.

Everything lives under one temp dir and is stopped and removed by `close()`, which the drill
calls on the way out whatever happened (an exception, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from resolver_tools.chaos import scenario
from resolver_tools.chaos.scenario import Planned
from resolver_tools.chaos.services import PostgresCluster, RedisServer, SetupError, free_port
from resolver_tools.demo.processes import Processes
from resolver_tools.demo.scenario import environment, sim_merchants_toml
from worker.process import migrate

WORKERS = ("worker-1", "worker-2")
BEAT, SECOND_BEAT = "beat-1", "beat-2"
MAIN_SIM, DOWN_SIM = "sim-main", "sim-down"
WORKER_THREADS = 16
# A check's lease: longer than any check can take (deadline_s 5 s, a few tries), short enough
# that transfers whose check died with a worker or with Redis are taken up again quickly.
LEASE_S = 20


class System:
    def __init__(self, planned: list[Planned], seed: int, keep_dir: bool = False) -> None:
        self.planned = planned
        self.chance = random.Random(seed)
        self.keep_dir = keep_dir
        self.root = Path(tempfile.mkdtemp(prefix="resolver-chaos-"))
        os.chmod(self.root, 0o755)
        self.logs = self.root / "logs"
        self.logs.mkdir()
        try:
            self.postgres = PostgresCluster(self.root)
            self.redis = RedisServer(self.logs)
        except SetupError:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        self.sim_ports = {MAIN_SIM: free_port(), DOWN_SIM: free_port()}
        self.processes: Processes | None = None
        self.unplanned_exits: list[str] = []
        # The fault thread and the supervising loop both start and stop processes.
        self._lock = threading.RLock()

    # --- start and stop -------------------------------------------------------------------

    def start(self) -> None:
        self.postgres.start()
        migrate.ensure_database(self.postgres.url)
        migrate.upgrade(self.postgres.url)
        self.redis.start()
        files = self.root / "files"
        files.mkdir()
        (files / "providers.toml").write_text(
            scenario.providers_toml(self.sim_url(MAIN_SIM), self.sim_url(DOWN_SIM)))
        sims = {MAIN_SIM: scenario.main_sim_instances(), DOWN_SIM: [scenario.DOWN]}
        for name, served in sims.items():
            (files / f"{name}.toml").write_text(sim_merchants_toml(served))
        env = {
            **os.environ,
            **environment(scenario.all_instances()),
            "RESOLVER_DATABASE_URL": self.postgres.url,
            "RESOLVER_REDIS_URL": self.redis.url,
            "RESOLVER_PROVIDERS_FILE": str(files / "providers.toml"),
            "RESOLVER_LEASE_S": str(LEASE_S),
            "RESOLVER_WORKER_CONCURRENCY": str(WORKER_THREADS),
        }
        for unset in ("RESOLVER_BROKER_URL", "RESOLVER_RESULT_BACKEND", "RESOLVER_WEBHOOKS_FILE"):
            env.pop(unset, None)
        self.processes = Processes(self.logs, env)
        for name in (MAIN_SIM, DOWN_SIM):
            self.processes.start(name, "worker.cli", "sim", "--port", str(self.sim_ports[name]),
                                 "--merchants", str(files / f"{name}.toml"))
        for name in (MAIN_SIM, DOWN_SIM):
            self._load_simulator(name)
        for name in WORKERS:
            self.processes.start(name, "celery", "-A", "worker", "worker", "--loglevel=WARNING",
                                 "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
                                 "--without-heartbeat")
        self._start_beat(BEAT)

    def close(self) -> None:
        """Stop everything the drill started and remove its files. Safe to call twice."""
        if self.processes is not None:
            self.processes.stop_all(grace_s=5)
        self.redis.stop(force=True)
        self.postgres.stop()
        if not self.keep_dir:
            shutil.rmtree(self.root, ignore_errors=True)

    def sim_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.sim_ports[name]}"

    @property
    def procs(self) -> Processes:
        if self.processes is None:
            raise SetupError("the system is not started")
        return self.processes

    def supervise(self) -> None:
        """A worker or beat that ended by itself is recorded and started again; a simulator
        that ended by itself stops the drill (the drill's own tool broke)."""
        with self._lock:
            self._supervise()

    def _supervise(self) -> None:
        for name, process in list(self.procs.running):
            if process.poll() is None:
                continue
            if name in (MAIN_SIM, DOWN_SIM):
                raise SetupError(f"the simulator {name} stopped (exit {process.returncode}); "
                                 f"see {self.logs / (name + '.log')}")
            self.unplanned_exits.append(f"{name} exit {process.returncode}")
            self.procs.kill(name)
            self.procs.restart(name)

    # --- faults ---------------------------------------------------------------------------

    def fault_actions(self) -> dict[str, Callable[[], str]]:
        """Each fault by its name in resolver_tools.chaos.faults, run one at a time."""
        from resolver_tools.chaos import faults

        actions = {
            faults.KILL_WORKER: self.kill_worker,
            faults.WIPE_REDIS: self.wipe_redis,
            faults.RESTART_POSTGRES: self.restart_postgres,
            faults.SECOND_BEAT: self.start_second_beat,
            faults.SECOND_BEAT_ENDS: self.stop_second_beat,
            faults.PROVIDER_DOWN: self.provider_down,
            faults.PROVIDER_UP: self.provider_up,
        }
        return {name: self._locked(action) for name, action in actions.items()}

    def _locked(self, action: Callable[[], str]) -> Callable[[], str]:
        def run() -> str:
            with self._lock:
                return action()
        return run

    def kill_worker(self) -> str:
        name = self.chance.choice(WORKERS)
        self.procs.kill(name, signal.SIGKILL)
        self.procs.restart(name)
        return name

    def wipe_redis(self) -> str:
        self.redis.restart_empty()
        return f"port {self.redis.port}"

    def restart_postgres(self) -> str:
        began = time.monotonic()
        self.postgres.restart()
        return f"down {time.monotonic() - began:.1f} s"

    def start_second_beat(self) -> str:
        self._start_beat(SECOND_BEAT)
        return SECOND_BEAT

    def stop_second_beat(self) -> str:
        self.procs.stop(SECOND_BEAT)
        return SECOND_BEAT

    def provider_down(self) -> str:
        self.procs.stop(DOWN_SIM, grace_s=2)
        return f"{scenario.DOWN.name}: connections refused"

    def provider_up(self) -> str:
        self.procs.restart(DOWN_SIM)
        self._load_simulator(DOWN_SIM)
        return f"{scenario.DOWN.name}: serving again, scripts from the start"

    # --- helpers --------------------------------------------------------------------------

    def _start_beat(self, name: str) -> None:
        self.procs.start(name, "celery", "-A", "worker", "beat", "--loglevel=WARNING",
                         "--schedule", str(self.root / f"{name}-schedule"))

    def _load_simulator(self, name: str) -> None:
        url = self.sim_url(name)
        _wait_until_up(f"{url}/_sim/health", 30)
        served = {i.name for i in (scenario.main_sim_instances() if name == MAIN_SIM
                                   else [scenario.DOWN])}
        transactions = [p.transfer.sim_transaction() for p in self.planned
                        if p.transfer.instance.name in served]
        for start in range(0, len(transactions), 5000):
            response = requests.post(f"{url}/_sim/transactions",
                                     json=transactions[start:start + 5000], timeout=60)
            if response.status_code != 200:
                raise SetupError(f"the simulator refused the transactions: {response.text}")


def _wait_until_up(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SetupError(f"{url} did not answer within {timeout_s:.0f} s")
