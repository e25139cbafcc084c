"""How many signed status queries a second the provider simulator answers.

Starts the simulator in a child process on a free 127.0.0.1 port (or uses --url), registers one
merchant per kind, loads --transactions transactions in one call, then fires --queries correctly
signed queries over keep-alive connections from --threads threads, stopping early after
--max-seconds. Prints queries/second and the answers counted. Talks only to 127.0.0.1.

    .venv/bin/python benchmarks/sim_throughput.py --transactions 2000 --queries 5000 --threads 4
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode, urlsplit

MERCHANTS = {
    "minigame": {"appid": "1005", "key": "bench-minigame-key"},
    "lucko": {"agent_id": "agent001", "key": "bench-lucko-key"},
    "hrg": {"agent_id": "hrgag", "api_key": "bench-hrg-key"},
    "vct": {"api_key": "BENCHAGENT", "api_secret": "bench-vct-secret"},
    "naga": {"brand_code": "srot", "group_code": "dpae", "secret_key": "bench-naga-key"},
}
KINDS = tuple(MERCHANTS)
SCRIPT = [{"answer": "pending", "times": 2}, {"answer": "succeeded"}]


def signed_request(kind: str, tx_id: str, now: float) -> tuple[str, str, dict[str, str], bytes]:
    """(method, target, headers, body) signed as the provider's documentation says."""
    creds = MERCHANTS[kind]
    if kind == "minigame":
        query = f"trace_id=b{time.perf_counter_ns()}"
        body = json.dumps({"appid": creds["appid"], "timestamp": int(now), "token": "p",
                           "tx_id": tx_id}).encode()
        sign = hashlib.md5(query.encode() + body + creds["key"].encode()).hexdigest()
        return ("POST", f"/api/cash/v1/transfer/status?{query}",
                {"Content-Type": "application/json", "sign": sign}, body)
    if kind == "lucko":
        params = {"agent_id": creds["agent_id"], "timestamp": str(int(now * 1000)),
                  "txn_id": tx_id, "type": "deposit", "user_id": "p"}
        text = creds["key"] + "&" + "&".join(f"{k}={params[k]}" for k in sorted(params))
        params["sign"] = hashlib.md5(text.encode()).hexdigest()
        return "GET", "/api/wallet/check?" + urlencode(params), {}, b""
    if kind == "hrg":
        basic = base64.b64encode(f"{creds['agent_id']}:{creds['api_key']}".encode()).decode()
        body = json.dumps({"agentId": creds["agent_id"], "transactionCode": tx_id}).encode()
        return ("POST", "/api/check_transfer_operation",
                {"Authorization": f"Basic {basic}", "Content-Type": "application/json"}, body)
    if kind == "vct":
        seconds = str(int(now))
        mac = hmac.new(creds["api_secret"].encode(), f"{creds['api_key']}.{seconds}".encode(),
                       hashlib.sha256).hexdigest()
        return ("POST", "/papi/v1/order/status",
                {"Authorization": f"Bearer {creds['api_key']}.{seconds}.{mac}",
                 "Content-Type": "application/x-www-form-urlencoded"},
                f"transfer_id={tx_id}".encode())
    payload = json.dumps({"brandCode": creds["brand_code"], "groupCode": creds["group_code"]},
                         separators=(",", ":"))
    signature = hmac.new(creds["secret_key"].encode(), payload.encode(), hashlib.sha256).hexdigest()
    target = (f"/operator/transfer/transactions/{tx_id}"
              f"?brandCode={creds['brand_code']}&groupCode={creds['group_code']}")
    return "GET", target, {"X-Signature": signature}, b""


def _control(host: str, port: int, method: str, path: str, body: object = None) -> object:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: HTTP {response.status} {payload[:300]!r}")
        return json.loads(payload)
    finally:
        connection.close()


@contextmanager
def simulator_process() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, "-m", "resolver_tools.sim", "--host", "127.0.0.1", "--port", str(port)]
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                _control("127.0.0.1", port, "GET", "/_sim/health")
                break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the simulator did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(timeout=10)


def _fire(host: str, port: int, jobs: list[tuple[str, str]], deadline: float,
          counts: Counter[str], lock: threading.Lock) -> None:
    local: Counter[str] = Counter()
    connection = http.client.HTTPConnection(host, port, timeout=10)
    for kind, tx_id in jobs:
        if time.monotonic() > deadline:
            break
        method, target, headers, body = signed_request(kind, tx_id, time.time())
        connection.request(method, target, body=body or None, headers=headers)
        response = connection.getresponse()
        response.read()
        local[f"{kind} HTTP {response.status}"] += 1
    connection.close()
    with lock:
        counts.update(local)


def run(base_url: str, transactions: int, queries: int, threads: int, max_seconds: float) -> None:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit("this benchmark only talks to 127.0.0.1")
    _control(host, port, "POST", "/_sim/reset")
    for kind, credentials in MERCHANTS.items():
        _control(host, port, "POST", "/_sim/merchants", {"kind": kind, "credentials": credentials})
    batch = [
        {"kind": KINDS[i % len(KINDS)], "merchant": next(iter(MERCHANTS[KINDS[i % len(KINDS)]]
                                                             .values())),
         "tx_id": f"bench-{i}", "direction": "deposit" if i % 2 else "withdraw",
         "amount": f"{1 + i % 500}.25", "currency": "USD", "player": "p", "script": SCRIPT}
        for i in range(transactions)
    ]
    started = time.perf_counter()
    _control(host, port, "POST", "/_sim/transactions", batch)
    load_s = time.perf_counter() - started

    jobs = [(batch[i % transactions]["kind"], batch[i % transactions]["tx_id"])
            for i in range(queries)]
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds
    workers = [
        threading.Thread(target=_fire, args=(host, port, jobs[n::threads], deadline, counts, lock))
        for n in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    answered = sum(counts.values())
    stats = _control(host, port, "GET", "/_sim/stats")
    assert isinstance(stats, dict)
    outcomes: Counter[str] = Counter()
    for kind_stats in stats["kinds"].values():
        outcomes.update(kind_stats["outcomes"])
    print(f"loaded {transactions} transactions in one call: {load_s * 1000:.0f} ms")
    print(f"{answered} signed queries from {threads} threads in {elapsed:.2f} s: "
          f"{answered / elapsed:.0f} queries/second")
    print("HTTP statuses:", dict(sorted(counts.items())))
    print("simulator outcomes:", dict(sorted(outcomes.items())))
    rejected = answered - sum(outcomes[name] for name in ("pending", "succeeded"))
    if rejected:
        raise SystemExit(f"{rejected} queries were not answered from their scripts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running simulator on 127.0.0.1 (default: start one)")
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if args.url:
        run(args.url, args.transactions, args.queries, args.threads, args.max_seconds)
        return
    with simulator_process() as base_url:
        run(base_url, args.transactions, args.queries, args.threads, args.max_seconds)


if __name__ == "__main__":
    main()
