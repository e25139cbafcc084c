"""The demo from start to summary. Everything it starts, it stops: at the end, on Ctrl-C, on
SIGTERM, and when something fails.

It keeps to its own database (`resolver_demo`, made anew each run) and its own Redis database
(13), so it never touches a real deployment's data on the same servers.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import requests
from celery import Celery
from rich.console import Console
from rich.live import Live
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from resolver_tools.demo import display, envfile, scenario
from resolver_tools.demo.processes import Processes
from worker.process import migrate
from worker.process.db import engine_for
from worker.process.settings import get_settings

DEMO_DATABASE = "resolver_demo"
DEMO_REDIS_DB = 13
TIMEOUT_S = 240
ENV_FILE = "env"


@dataclass(frozen=True)
class Setup:
    work: Path
    env: dict[str, str]  # the processes' environment: this one's, plus `variables`
    variables: dict[str, str]  # what the demo's processes (and a person's CLI) need
    sim_url: str
    sim_port: int
    admin_port: int
    token: str  # the operator "admin"
    second_token: str  # the operator "second", who approves what "admin" proposes


def setup(console: Console, sim_port: int, admin_port: int, work: Path | None = None,
          database: str = DEMO_DATABASE, redis_db: int = DEMO_REDIS_DB) -> Setup:
    """The demo's files and stores, made anew: database, Redis, providers file, the
    simulator's merchants and `.demo/env` (for a person's own `resolver` commands)."""
    work = work or Path.cwd() / ".demo"
    work.mkdir(exist_ok=True)
    database_url = fresh_database(console, database)
    redis_url = fresh_redis(console, redis_db)
    sim_port, admin_port = free_port(sim_port), free_port(admin_port)
    sim_url = f"http://127.0.0.1:{sim_port}"
    (work / "providers.toml").write_text(scenario.providers_toml(sim_url))
    (work / "sim-merchants.toml").write_text(scenario.sim_merchants_toml())
    token, second_token = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    variables = {
        **scenario.environment(),
        "RESOLVER_DATABASE_URL": database_url,
        "RESOLVER_REDIS_URL": redis_url,
        "RESOLVER_PROVIDERS_FILE": str(work / "providers.toml"),
        "RESOLVER_ADMIN_TOKEN": token,
        # A second operator, so a four-eyes proposal can be approved in the demo.
        "RESOLVER_ADMIN_TOKENS": f"second:operator:{second_token}",
    }
    envfile.write(work / ENV_FILE, variables)
    console.print(f"for your own resolver commands against the demo: [bold]. "
                  f"{_relative(work / ENV_FILE)}[/]")
    return Setup(work=work, env={**os.environ, **variables}, variables=variables,
                 sim_url=sim_url, sim_port=sim_port, admin_port=admin_port, token=token,
                 second_token=second_token)


def run(console: Console, sim_port: int, admin_port: int, keep: bool, with_admin: bool) -> int:
    # Explicitly: a process started in the background may have inherited SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    made = setup(console, sim_port, admin_port)
    work, env, sim_url, token = made.work, made.env, made.sim_url, made.token
    sim_port, admin_port = made.sim_port, made.admin_port
    database_url, redis_url = env["RESOLVER_DATABASE_URL"], env["RESOLVER_REDIS_URL"]
    transfers = scenario.transfers()
    engine = engine_for(database_url)

    with Processes(work, env) as processes:
        try:
            console.print(f"starting the provider simulator on {sim_url}")
            processes.start("simulator", "worker.cli", "sim", "--port", str(sim_port),
                            "--merchants", str(work / "sim-merchants.toml"))
            wait_until_up(f"{sim_url}/_sim/health", processes)
            _load_simulator(sim_url, transfers)
            console.print("starting the worker and beat")
            processes.start("worker", "celery", "-A", "worker", "worker", "--loglevel=WARNING")
            processes.start("beat", "celery", "-A", "worker", "beat", "--loglevel=WARNING",
                            "--schedule", str(work / "celerybeat-schedule"))
            if with_admin:
                admin_url = f"http://127.0.0.1:{admin_port}"
                processes.start("admin", "worker.cli", "admin", "--port", str(admin_port))
                wait_until_up(f"{admin_url}/healthz", processes)
                console.print(f"admin server: [bold]{admin_url}[/] (sign in with token "
                              f"[bold]{token}[/]; a second operator, to approve what the first "
                              f"proposes: [bold]{made.second_token}[/])")
            console.print(f"registering {len(transfers)} timed-out transfers across "
                          f"{len(scenario.instances())} provider instances, as the wallet would")
            register_all(redis_url, transfers)
            settled = _watch(console, engine, len(transfers), processes)
            _wait_for_relay(engine)
            _summary(console, engine, redis_url, settled, len(transfers))
            console.print(f"try it: [bold]. {_relative(work / ENV_FILE)} && {_resolver()} "
                          f"pending[/]")
            if keep and with_admin:
                console.print("everything is still running; Ctrl-C stops it")
                while True:
                    processes.check_alive()
                    time.sleep(1)
        except KeyboardInterrupt:
            console.print("\ninterrupted: stopping everything the demo started")
            return 130
        finally:
            console.print(f"stopping {len(processes.running)} processes (logs in {work})")
    return 0


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _resolver() -> str:
    """How this shell reaches the command: `resolver` on PATH, else the path it was run by."""
    if shutil.which("resolver") or Path(sys.argv[0]).name != "resolver":
        return "resolver"
    return _relative(Path(sys.argv[0]).absolute())


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def fresh_database(console: Console, name: str = DEMO_DATABASE) -> str:
    """Drop and create the database `name` on the configured server, migrated; its URL."""
    url = make_url(get_settings().database_url).set(database=name)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    rendered = url.render_as_string(hide_password=False)
    migrate.upgrade(rendered)
    console.print(f"database {name} created and migrated")
    return rendered


def fresh_redis(console: Console, db: int = DEMO_REDIS_DB) -> str:
    """Empty Redis database `db` on the configured server; its URL."""
    import redis

    base = get_settings().redis_url.rsplit("/", 1)[0]
    url = f"{base}/{db}"
    redis.Redis.from_url(url).flushdb()
    console.print(f"redis database {db} emptied")
    return url


def free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def wait_until_up(url: str, processes: Processes, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processes.check_alive()
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def _load_simulator(sim_url: str, transfers: list[scenario.DemoTransfer]) -> None:
    response = requests.post(f"{sim_url}/_sim/transactions",
                             json=[t.sim_transaction() for t in transfers], timeout=30)
    response.raise_for_status()
    requests.post(f"{sim_url}/_sim/settings", json={"latency_ms": 15}, timeout=5)


def register_all(redis_url: str, transfers: list[scenario.DemoTransfer]) -> None:
    """Send every registration as the wallet would: the task by name to the intake queue, over
    one connection. The demo watches Postgres fill up, so it does not wait for each reply."""
    wallet = Celery("demo-wallet", broker=redis_url)
    with wallet.producer_or_acquire() as producer:
        for transfer in transfers:
            wallet.send_task("resolver.register_transfer", args=[transfer.registration()],
                             kwargs={"by": "demo-wallet"}, queue="resolver.intake",
                             producer=producer)


def _watch(console: Console, engine: object, total: int, processes: Processes) -> int:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    progress = display.progress_bar()
    bar = progress.add_task("settled", total=total)
    deadline = time.monotonic() + TIMEOUT_S
    settled = 0
    with Live(console=console, refresh_per_second=4) as live:
        while time.monotonic() < deadline:
            processes.check_alive()
            counts = display.counts_by_provider(engine)
            registered = sum(sum(by_state.values()) for by_state in counts.values())
            open_ = sum(by_state["pending"] + by_state["in_flight"]
                        for by_state in counts.values())
            settled = registered - open_
            progress.update(bar, completed=settled)
            live.update(display.live_view(progress, counts))
            if registered == total and open_ == 0:
                break
            time.sleep(0.5)
    return settled


def _wait_for_relay(engine: object, timeout_s: float = 15) -> None:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        written, published = display.event_counts(engine)
        if written == published:
            return
        time.sleep(0.3)


def _summary(console: Console, engine: object, redis_url: str, settled: int, total: int) -> None:
    import redis
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    console.rule("summary")
    if settled < total:
        console.print(f"[yellow]{total - settled} transfers were still open after "
                      f"{TIMEOUT_S} s[/]")
    console.print(display.state_table(display.counts_by_provider(engine),
                                      "transfers by provider and state"))
    console.print(display.ledger_table(engine))
    written, published = display.event_counts(engine)
    stream = get_settings().events_stream
    on_stream = redis.Redis.from_url(redis_url).xlen(stream)
    console.print(f"events: {written} written to the outbox, {published} published, "
                  f"{on_stream} on the stream {stream!r}")
