"""The benchmark's smoke run, so the harness cannot rot: `resolver bench --smoke` runs all three
contenders on a hundred and fifty transfers with real workers, beat and the simulator, and
every figure it writes must add up. About a minute on two cores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from worker.settings import get_settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

CONTENDERS = ("resolver", "naive", "bare")


@pytest.fixture
def bench_database():
    """A database name of this test's own, dropped afterwards."""
    name = f"resolver_bench_smoke_{os.getpid()}"
    yield name
    url = make_url(get_settings().database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_smoke_run_settles_every_transfer_once_per_contender_and_writes_its_reports(
        tmp_path, bench_database):
    # given the harness's own database and this test's Redis database
    redis_db = os.environ["RESOLVER_REDIS_URL"].rsplit("/", 1)[1]

    # when the smoke run runs
    done = subprocess.run(
        [sys.executable, "-m", "worker.cli", "bench", "--smoke", "--out", str(tmp_path / "out"),
         "--database", bench_database, "--redis-db", redis_db],
        capture_output=True, text=True, timeout=230, cwd=tmp_path)

    # then it writes the JSON, the table and the plot
    assert done.returncode == 0, done.stderr[-3000:]
    paths = json.loads(done.stdout)
    record = json.loads(Path(paths["json"]).read_text())
    assert Path(paths["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = Path(paths["markdown"]).read_text()
    assert all(label in table for label in record["contenders"].values())

    # and every contender resolved every transfer exactly once, asking at least three times
    runs = {run["contender"]: run for run in record["runs"]}
    assert sorted(runs) == sorted(CONTENDERS)
    for name, run in runs.items():
        assert run["resolved"] == run["transfers"] == 150, name
        assert run["duplicate_resolutions"] == 0, name
        assert run["queries_per_resolution"] >= 3, name
        assert run["resolutions_per_s"] > 0 and run["cpu_s"] > 0, name
        assert run["peak_rss_mb"] > 0 and run["lag_p99_s"] >= run["lag_p50_s"] >= 0, name
        assert run["statements_per_check"] > 0, name

    # and the bare limit's one UPDATE per answer is what the statement counter saw
    assert runs["bare"]["statements_per_check"] == 1.0
    assert runs["bare"]["transactions_per_check"] == 1.0
