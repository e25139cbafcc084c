"""The bare limit: threads doing the status query with the same adapters and one UPDATE.

Nothing else: no leases, no check rows, no ledger, no events, no broker. What is left is the
cost of asking the provider and writing the answer, the ceiling any design on this machine
works under. The transfers are read before the clock starts; each is first asked at its due
time (the go instant written into the go file, plus its offset); a pending answer puts the
transfer back to be asked again 0.2 s later (the re-check interval every contender uses).
Once every transfer is final it writes its figures and stays up, idle, until stopped, so its
memory is sampled to the end of the run as the other contenders' is.

    python -m resolver_tools.bench.bare --ids DUE.json --threads T --ready FILE --go FILE --out FILE

DUE.json holds [transfer id, seconds after the go instant] pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, select, text

from models import Transfer
from resolver_tools.bench import statements, workload
from worker.domain.types import Outcome, TransferRef
from worker.engine.check.batch import to_ref
from worker.process.db import transaction
from worker.process.runtime import current_runtime
from worker.process.settings import get_settings

RETRY_S = 0.2
FINAL = {Outcome.SUCCEEDED: "succeeded", Outcome.FAILED: "failed"}

# The one statement per answer; guarded by state so a transfer is resolved once at most.
RESOLVE = text(
    """
    UPDATE transfers SET state = :state, resolved_at = now(), resolved_by = 'bare-limit',
                         next_check_at = NULL, attempts = attempts + 1, updated_at = now()
    WHERE id = :id AND state = 'pending'
    """
)
STILL_PENDING = text(
    "UPDATE transfers SET attempts = attempts + 1, last_checked_at = now() WHERE id = :id"
)


def drain(engine: Engine, refs: dict[int, TransferRef], due_at: dict[int, float],
          threads: int) -> dict[str, object]:
    """Ask about every transfer from its due time (monotonic) until each has its final answer;
    the figures of the run."""
    runtime = current_runtime()
    due: queue.PriorityQueue[tuple[float, int]] = queue.PriorityQueue()
    for transfer_id in refs:
        due.put((due_at[transfer_id], transfer_id))
    first_checked: dict[int, float] = {}
    lock = threading.Lock()
    figures = {"checks": 0, "resolutions": 0, "open": len(refs)}

    def work() -> None:
        while True:
            at, transfer_id = due.get()
            if transfer_id < 0:
                return
            time.sleep(max(0.0, at - time.monotonic()))
            ref = refs[transfer_id]
            asked = time.time()
            result = runtime.adapter_for(runtime.providers[ref.provider]).check(ref)
            final = FINAL.get(result.outcome)
            with engine.begin() as connection:
                if final is None:
                    connection.execute(STILL_PENDING, {"id": transfer_id})
                    resolved = 0
                else:
                    resolved = connection.execute(
                        RESOLVE, {"id": transfer_id, "state": final}).rowcount
            with lock:
                first_checked.setdefault(transfer_id, asked)
                figures["checks"] += 1
                figures["resolutions"] += resolved
                if final is not None:
                    figures["open"] -= 1
                    if figures["open"] == 0:
                        for _ in range(threads):
                            due.put((-1.0, -1))
            if final is None:
                due.put((time.monotonic() + RETRY_S, transfer_id))

    pool = [threading.Thread(target=work, name=f"bare-{n}") for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return {**figures, "first_checked": first_checked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=Path, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--go", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args()
    settings = get_settings()
    offsets = {transfer_id: offset for transfer_id, offset in json.loads(options.ids.read_text())}
    ids = list(offsets)
    # Pooled connections, one per thread, and no pre-ping: nothing but the UPDATE per answer.
    engine = create_engine(settings.database_url, pool_size=options.threads, max_overflow=0)
    with transaction(engine) as session:
        refs = {t.id: to_ref(t) for t in session.execute(
            select(Transfer).where(Transfer.id.in_(ids))).scalars()}
    flush_counts = statements.install(settings.redis_url)
    options.ready.touch()
    while not options.go.exists():  # written whole, then renamed into place
        time.sleep(0.005)
    go_monotonic = workload.monotonic_at(float(options.go.read_text()))
    cpu_before = _cpu_s()
    figures = drain(engine, refs, {i: go_monotonic + offset for i, offset in offsets.items()},
                    options.threads)
    flush_counts()
    # Its own CPU, read as it ends: a sample from outside could miss the last moments.
    # Written whole, then renamed into place: the harness reads it as soon as it exists.
    written = options.out.with_suffix(".tmp")
    written.write_text(json.dumps({**figures, "cpu_s": _cpu_s() - cpu_before}))
    written.rename(options.out)
    while True:  # idle until the harness stops it (see the docstring)
        time.sleep(60)


def _cpu_s() -> float:
    used = os.times()
    return used.user + used.system


if __name__ == "__main__":
    main()
