"""The short chaos drill: about a thousand transfers through the acknowledged path while
workers are SIGKILLed, Redis restarts empty twice (once during intake), Postgres restarts once
and a second beat runs; then every invariant must hold. A few minutes on two cores."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.drill, pytest.mark.timeout(900)]


def test_the_short_drill_keeps_every_invariant_under_its_faults(tmp_path):
    # when
    done = subprocess.run(
        [sys.executable, "-m", "worker.cli", "chaos", "--transfers", "1000",
         "--worker-kills", "4", "--redis-wipes", "2", "--pg-restarts", "1", "--json"],
        capture_output=True, text=True, timeout=840, cwd=tmp_path)
    # then
    assert done.stdout, done.stderr[-3000:]
    verdict = json.loads(done.stdout)

    broken = {name: result["violations"][:5] for name, result in verdict["invariants"].items()
              if not result["holds"]}
    assert broken == {}
    assert done.returncode == 0, done.stderr[-3000:]
    figures = verdict["figures"]
    assert figures["acknowledged"] == figures["transfers"] == 1000
    assert figures["faults"] == {
        "worker processes SIGKILLed": 4,
        "Redis restarted empty": 2,
        "Postgres restarted": 1,
        "second beat runs": 1,
        "provider outages": 1,
    }
    assert figures["fault_errors"] == []
    assert figures["resends"] > 0  # the wallet had to send again: the faults reached intake
