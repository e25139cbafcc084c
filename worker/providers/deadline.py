"""A total deadline for one provider call: connect, send, headers and body, every try included.

Why not a timeout setting: requests' `timeout=(connect, read)`, urllib3's `Timeout(total=...)`
and httpx's connect/read/write/pool timeouts all bound one socket operation at a time (urllib3's
`total` only shortens each read to what the connect left over). A provider that sends one byte
every half second answers every read in time and can hold a call for minutes. The other ways
to bound a blocking call from the outside do not fit a worker thread: `signal.alarm` works in
the main thread only; running the call in a helper thread and abandoning it leaves the thread
and its socket behind; httpx's async client under `asyncio.timeout` would bound it but needs an
event loop per call and a second HTTP stack beside requests; pycurl's total timeout is a C
dependency for one setting.

So a call keeps requests and is cut off from outside: `within(seconds)` registers the call with
one watchdog thread per process, and the sessions made by `deadline_session()` use a connection
class that hands the watchdog a duplicate of each socket the call uses (the raw TCP socket as
soon as it is connected, so a TLS handshake is covered too; the socket of a reused keep-alive
connection when its request starts). When the deadline passes the watchdog calls
`shutdown(SHUT_RDWR)` on it: a read blocked on the socket returns at once with end of file,
and requests raises, whatever phase the call was in. The caller then sees `Deadline.passed`
and reports the deadline, not the symptom. Timeouts still apply inside, capped (`cap()`) to the
time left.

A cut connection cannot go back to the pool half-read: the raised error makes urllib3 close
it, and a connection whose socket was cut closes itself before it would send again.
Name resolution (getaddrinfo) is the one step the watchdog cannot interrupt; the instance's
`base_url` names a host the operating system resolves from its cache or its resolver timeout.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Deadline:
    """The time limit of one call, and the sockets it is using."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires_at = time.monotonic() + seconds
        self.passed = False  # set by the watchdog when it cut the call off
        self.finished = False
        self._lock = threading.Lock()
        self._switches: list[_KillSwitch] = []

    def left(self) -> float:
        return self.expires_at - time.monotonic()

    def cap(self, timeout: float) -> float:
        """A connect or read timeout, never longer than the time left."""
        return max(0.001, min(timeout, self.left()))

    def _attach(self, switch: _KillSwitch) -> None:
        with self._lock:
            if self.finished:
                return
            self._switches.append(switch)
            cut_now = self.passed
        if cut_now:  # registered after the deadline passed: do not let it start
            switch.pull()

    def _cut(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.passed = True
            switches = list(self._switches)
        for switch in switches:
            switch.pull()

    def _finish(self) -> None:
        with self._lock:
            self.finished = True
            self._switches.clear()


class _KillSwitch:
    """A duplicate of a connection's socket, so the watchdog can shut the connection down.

    shutdown() acts on the socket itself, whichever descriptor names it; a duplicate is never
    closed under the watchdog (the lock), so it can never hit a descriptor number the process
    has since reused for another connection.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._lock = threading.Lock()
        self._handle: socket.socket | None = sock.dup()
        self.pulled = False

    def pull(self) -> None:
        with self._lock:
            self.pulled = True
            if self._handle is not None:
                with suppress(OSError):  # already gone: nothing left to stop
                    self._handle.shutdown(socket.SHUT_RDWR)

    def dispose(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


class _Watchdog:
    """One thread per process that cuts off calls whose deadline has passed."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._pid: int | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._cond:
            if self._pid != os.getpid():  # first use, or a forked child without the thread
                self._heap.clear()
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="provider-deadline-watchdog",
                                 daemon=True).start()
            heapq.heappush(self._heap, (deadline.expires_at, next(self._order), deadline))
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, due = heapq.heappop(self._heap)
                due._cut()


_WATCHDOG = _Watchdog()
_current = threading.local()
# A child forked while the watchdog held its lock would wait on it forever: start afresh.
os.register_at_fork(after_in_child=_WATCHDOG.reset)


@contextmanager
def within(seconds: float) -> Iterator[Deadline]:
    """Run the HTTP calls of this block (on a `deadline_session()`) under one total deadline."""
    deadline = Deadline(seconds)
    outer = getattr(_current, "deadline", None)
    _current.deadline = deadline
    _WATCHDOG.watch(deadline)
    try:
        yield deadline
    finally:
        deadline._finish()
        _current.deadline = outer


def _attach_to_current(switch: _KillSwitch) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline._attach(switch)


class _WatchedConnection(HTTPConnection):
    """An HTTP(S) connection whose socket the current call's deadline can shut down."""

    _switch: _KillSwitch | None = None

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._drop_switch()
        self._switch = _KillSwitch(sock)
        _attach_to_current(self._switch)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self._switch is not None:
            if self._switch.pulled:  # cut off earlier: never send on a half-read connection
                self.close()
            else:
                _attach_to_current(self._switch)
        super().request(*args, **kwargs)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._drop_switch()

    def _drop_switch(self) -> None:
        if self._switch is not None:
            self._switch.dispose()
            self._switch = None


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' transport adapter with connections a `within()` deadline can cut off."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool,
                                                   "https": _WatchedHTTPSPool}


def deadline_session() -> requests.Session:
    """A requests session whose calls `within()` can bound."""
    session = requests.Session()
    equip(session)
    return session


def equip(session: requests.Session) -> None:
    """Mount the deadline adapter on a session that lacks it (keeps one that has it)."""
    for prefix in ("http://", "https://"):
        if not isinstance(session.adapters.get(prefix), DeadlineAdapter):
            session.mount(prefix, DeadlineAdapter())
