"""Runs the simulator under uvicorn: `serve()` for a process, `running_simulator()` for tests.

    python -m resolver_tools.sim --host 127.0.0.1 --port 8900 --merchants providers.toml
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from resolver_tools.sim.app import create_app
from resolver_tools.sim.merchants import MerchantError
from resolver_tools.sim.simulator import Simulator

STARTUP_TIMEOUT_S = 10.0


def _config(simulator: Simulator, host: str, port: int, graceful_s: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(simulator),
        host=host,
        port=port,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=graceful_s,
        timeout_keep_alive=30,
    )


def serve(host: str, port: int, merchants_file: str | None = None) -> None:
    """Serve the five provider endpoints and /_sim/ on host:port until interrupted."""
    simulator = Simulator.from_merchants_file(merchants_file)
    uvicorn.Server(_config(simulator, host, port, graceful_s=5)).run()


@contextmanager
def running_simulator(
    port: int = 0,
    host: str = "127.0.0.1",
    merchants_file: str | None = None,
    simulator: Simulator | None = None,
) -> Iterator[str]:
    """Serve in a background thread (port 0: a free one); yields the base URL, stops on exit.

    Pass your own `simulator` to reach its store and merchants directly from the test.
    """
    if simulator is None:
        simulator = Simulator.from_merchants_file(merchants_file)
    # proto must say TCP: asyncio only turns Nagle off (TCP_NODELAY) on sockets that do, and
    # with Nagle on every keep-alive answer waits for the client's delayed ACK (~40 ms).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    bound_port = listener.getsockname()[1]
    server = uvicorn.Server(_config(simulator, host, bound_port, graceful_s=1))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="provider-simulator", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the provider simulator did not start")
            time.sleep(0.01)
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)
        listener.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the five provider status APIs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--merchants", help="provider TOML file whose credentials to accept")
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port, args.merchants)
    except MerchantError as exc:
        parser.exit(2, f"{exc}\n")


if __name__ == "__main__":
    main()
