"""Child processes (the demo's, the chaos drill's): started in their own sessions, always
stopped on the way out. Each has a name, so one can be killed, stopped or started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType


class Processes:
    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._commands: dict[str, tuple[str, ...]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        # A process started again under its name appends to its log: one behaviour per process.
        mode = "ab" if name in self._commands else "wb"
        log = open(self.log_dir / f"{name}.log", mode)  # noqa: SIM115  (closed with the process)
        process = subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            # Own session: Ctrl-C reaches the demo, which then stops each child in order.
            start_new_session=True,
        )
        self.running.append((name, process))
        self._commands[name] = args
        return process

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Send `signum` to the named process's group and wait for it to end."""
        process = self._take(name)
        if process.poll() is None:
            os.killpg(process.pid, signum)
        process.wait()

    def stop(self, name: str, grace_s: float = 10.0) -> None:
        """End the named process politely (SIGTERM), or by force after `grace_s`."""
        process = self._take(name)
        _end(process, time.monotonic() + grace_s)

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        """Start the named process again with the arguments it was first started with."""
        return self.start(name, *self._commands[name])

    def names(self) -> list[str]:
        return [name for name, _process in self.running]

    def _take(self, name: str) -> subprocess.Popen[bytes]:
        for index, (known, process) in enumerate(self.running):
            if known == name:
                del self.running[index]
                return process
        raise KeyError(f"no running process named {name!r}")

    def check_alive(self) -> None:
        for name, process in self.running:
            if process.poll() is not None:
                raise RuntimeError(f"{name} stopped (exit {process.returncode}); "
                                   f"see {self.log_dir / (name + '.log')}")

    def stop_all(self, grace_s: float = 10.0) -> None:
        for _name, process in reversed(self.running):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for _name, process in reversed(self.running):
            _end(process, deadline)
        self.running.clear()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop_all()


def _end(process: subprocess.Popen[bytes], deadline: float) -> None:
    """SIGTERM (if still running), then SIGKILL once `deadline` has passed."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
