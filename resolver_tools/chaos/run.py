"""The drill from start to verdict: set up, register under fire, let it settle, verify, report.

Exit status: 0 when every invariant holds, 1 on any violation, 2 when the drill itself could not
run as asked (a server would not start, a fault could not be caused). Everything it started is
stopped and its temp dir removed on the way out, also on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from rich.console import Console

from resolver_tools.chaos import faults, report, scenario, verify
from resolver_tools.chaos.intake import IntakeProgress, register_all, wallet_app
from resolver_tools.chaos.services import SetupError
from resolver_tools.chaos.system import System
from worker.process.db import engine_for

log = logging.getLogger(__name__)

OK, VIOLATION, SETUP_PROBLEM = 0, 1, 2


@dataclass(frozen=True)
class Options:
    transfers: int = 1000
    worker_kills: int = 4
    redis_wipes: int = 2
    pg_restarts: int = 1
    seed: int = 1
    timeout_s: float = 300.0  # for settling once the faults stopped
    fault_window_s: float = 40.0  # faults after intake are spread over this long
    as_json: bool = False
    keep_dir: bool = False


def run(console: Console, options: Options) -> int:
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    # With --json, stdout carries the one JSON document and progress goes to stderr.
    notes = Console(stderr=True) if options.as_json else console
    say = notes.print
    planned = scenario.plan(options.transfers, options.seed)
    system: System | None = None
    try:
        system = System(planned, options.seed, options.keep_dir)
        began = time.monotonic()
        say(f"starting PostgreSQL, Redis, 2 simulators, 2 workers and beat under {system.root}")
        _start(system)
        figures = report.Figures(options.transfers, options.seed,
                                 expected_states=scenario.expected_counts(planned))
        figures.seconds["setup"] = time.monotonic() - began
        violations, fault_errors = _drill(system, planned, options, figures, say)
        figures.seconds["total"] = time.monotonic() - began
    except SetupError as exc:
        notes.print(f"[red]chaos drill could not run:[/] {exc}")
        return SETUP_PROBLEM
    except KeyboardInterrupt:
        notes.print("\ninterrupted: stopping everything the drill started")
        return 130
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if system is not None:
            say(f"stopping everything (logs were in {system.logs})")
            system.close()
    if options.as_json:
        sys.stdout.write(json.dumps(report.as_json(figures, violations), default=str) + "\n")
    else:
        console.print(report.tables(figures, violations))
    if any(violations.values()):
        return VIOLATION
    return SETUP_PROBLEM if fault_errors else OK


def _start(system: System) -> None:
    """Start the system; anything that goes wrong here is the drill's setup, not a finding."""
    try:
        system.start()
    except SetupError:
        raise
    except Exception as exc:
        raise SetupError(f"starting the system failed: {exc}") from exc


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _drill(system: System, planned: list[scenario.Planned], options: Options,
           figures: report.Figures, say: Callable[[str], None]
           ) -> tuple[dict[str, list[verify.Violation]], list[str]]:
    progress = IntakeProgress(len(planned))
    schedule = faults.plan_faults(options.worker_kills, options.redis_wipes, options.pg_restarts,
                                  options.seed, options.fault_window_s)
    runner = faults.FaultRunner(schedule, progress, system.fault_actions(),
                                started=time.monotonic())
    engine = engine_for(system.postgres.url)
    app = wallet_app(system.redis.url, system.redis.url)
    say(f"registering {len(planned):,} transfers through the acknowledged path; "
        f"{len(schedule)} faults planned")
    runner.start()
    intake_began = time.monotonic()
    stop = threading.Event()
    intake = threading.Thread(target=register_all, args=(app, planned, progress), daemon=True,
                              kwargs={"should_stop": stop.is_set})
    intake.start()
    try:
        last_note = 0.0
        while intake.is_alive() or not runner.done:
            system.supervise()
            if time.monotonic() - last_note > 10:
                last_note = time.monotonic()
                say(_note(progress, runner, engine, intake.is_alive()))
            time.sleep(0.2)
    finally:
        stop.set()
        runner.stop()
    figures.seconds["intake"] = (progress.finished_at or time.monotonic()) - intake_began
    figures.seconds["intake and faults"] = time.monotonic() - intake_began
    say(f"faults over ({len(runner.fired)} fired); waiting for the system to settle")
    settle_began = time.monotonic()
    _settle(system, engine, options.timeout_s, say)
    figures.seconds["settling after the faults"] = time.monotonic() - settle_began
    violations = verify.verify(engine, planned, progress.acknowledged, progress.refused)
    _fill(figures, progress, runner, system, engine)
    engine.dispose()
    return violations, runner.errors


def _settle(system: System, engine: object, timeout_s: float,
            say: Callable[[str], None]) -> None:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    deadline = time.monotonic() + timeout_s
    last_note = time.monotonic()
    while time.monotonic() < deadline:
        system.supervise()
        try:
            open_transfers, unpublished = verify.open_work(engine)
        except Exception as exc:  # Postgres may still be coming back
            log.debug("settle: %s", exc)
            time.sleep(1)
            continue
        if open_transfers == 0 and unpublished == 0:
            return
        if time.monotonic() - last_note > 10:
            last_note = time.monotonic()
            say(f"  {open_transfers:,} transfers open, {unpublished:,} events unpublished")
        time.sleep(0.5)


def _note(progress: IntakeProgress, runner: faults.FaultRunner, engine: object,
          intake_running: bool) -> str:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    try:
        open_transfers, _ = verify.open_work(engine)
        still = f"{open_transfers:,} open"
    except Exception:  # Postgres restarting
        still = "Postgres away"
    phase = "intake" if intake_running else "faults"
    return (f"  {phase}: {len(progress.acknowledged):,}/{progress.total:,} acknowledged, "
            f"{progress.resends:,} re-sent, {still}, faults so far: "
            + (", ".join(f"{f.action} ({f.detail})" for f in runner.fired[-3:]) or "none"))


def _fill(figures: report.Figures, progress: IntakeProgress, runner: faults.FaultRunner,
          system: System, engine: object) -> None:
    from sqlalchemy import Engine, text

    assert isinstance(engine, Engine)
    figures.acknowledged = len(progress.acknowledged)
    figures.sends, figures.resends = progress.sends, progress.resends
    figures.wallet_errors = progress.wallet_errors
    figures.faults = {
        "worker processes SIGKILLed": runner.count(faults.KILL_WORKER),
        "Redis restarted empty": runner.count(faults.WIPE_REDIS),
        "Postgres restarted": runner.count(faults.RESTART_POSTGRES),
        "second beat runs": runner.count(faults.SECOND_BEAT),
        "provider outages": runner.count(faults.PROVIDER_DOWN),
    }
    figures.fault_errors = list(runner.errors)
    figures.unplanned_exits = list(system.unplanned_exits)
    with engine.connect() as connection:
        figures.checks = int(connection.execute(text("SELECT count(*) FROM checks")).scalar_one())
        figures.events = int(
            connection.execute(text("SELECT count(*) FROM outbox_events")).scalar_one())
        figures.states = {state: int(count) for state, count in connection.execute(
            text("SELECT state, count(*) FROM transfers GROUP BY state"))}
