"""The drill's own PostgreSQL and Redis: throwaway servers on free ports under a temp dir.

The drill kills and restarts these freely, so it never uses the machine's own servers. The
PostgreSQL server refuses to run as root, so when the drill runs as root every PostgreSQL
command runs as the `postgres` user, and the data directory belongs to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


class SetupError(RuntimeError):
    """The drill could not set up what it needs (a missing binary, a server that would not
    start); nothing about the system under test is known yet."""


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SetupError(f"{what} did not listen on port {port} within {timeout_s:.0f} s")


def postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise SetupError("no PostgreSQL server binaries (initdb) found: install the postgresql package")


class PostgresCluster:
    """A cluster made with initdb in `root`, run with pg_ctl on `port`; trust auth, no fsync."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.bin = postgres_bin_dir()
        self.root = root
        self.data = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = port or free_port()
        self.restarts = 0
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/resolver"

    def start(self) -> None:
        if self._as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(),
                  "-w", "-t", "60", "start")

    def restart(self) -> None:
        """Stop at once (as a crash would: no checkpoint) and start again."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(),
                  "-m", "immediate", "-w", "-t", "60", "restart")
        self.restarts += 1

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop",
                      check=False)

    def _options(self) -> str:
        # The cluster lives for one drill. fsync=off loses data only if the machine itself
        # crashes: a server stopped at once (-m immediate) keeps every commit, its WAL being in
        # the kernel's cache. synchronous_commit stays on: without it a commit acknowledged to
        # the wallet could vanish in the restart (the drill reports exactly that). The socket
        # directory is ours, so the machine's own server is never in the way.
        return (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                "-c fsync=off -c full_page_writes=off "
                "-c max_connections=300 -c shared_buffers=256MB")

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root,
                              timeout=120)
        if check and done.returncode != 0:
            raise SetupError(f"{tool} failed (exit {done.returncode}): "
                             f"{(done.stderr or done.stdout).strip()[-800:]}")


class RedisServer:
    """A redis-server on `port` that keeps nothing on disk, so a restart starts it empty."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SetupError("redis-server is not on PATH: install the redis-server package")
        self.binary = binary
        self.root = root
        self.port = port or free_port()
        self.wipes = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.root / "redis.log", "ab")  # noqa: SIM115  (closed with the process)
        self._process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, 10, "redis-server")
        # Listening is not yet serving: wait for PING.
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise SetupError("redis-server did not answer PING") from None
                time.sleep(0.05)
        client.close()

    def restart_empty(self) -> None:
        """Kill the server outright and start a fresh one on the same port: every key, queue,
        result and stream is gone, as after a crash of a Redis that keeps nothing."""
        self.stop(force=True)
        self.start()
        self.wipes += 1

    def stop(self, force: bool = False) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill() if force else self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
