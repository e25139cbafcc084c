"""The benchmark's smoke runs, so the harness cannot rot: `resolver bench --smoke` runs all three
contenders on a hundred and fifty transfers with real workers, beat and the simulator, and
every figure it writes must add up; `--scenario steady --smoke` does the same with 40 transfers
falling due a second for 5 s. About a minute each on two cores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from worker.process.settings import get_settings

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


def _bench(tmp_path: Path, database: str, *options: str) -> tuple[dict, dict, str]:
    """Run `resolver bench` with this test's Redis database; the record, the paths, the table."""
    redis_db = os.environ["RESOLVER_REDIS_URL"].rsplit("/", 1)[1]
    done = subprocess.run(
        [sys.executable, "-m", "worker.cli", "bench", *options, "--out", str(tmp_path / "out"),
         "--database", database, "--redis-db", redis_db],
        capture_output=True, text=True, timeout=230, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    paths = json.loads(done.stdout)
    assert Path(paths["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return json.loads(Path(paths["json"]).read_text()), paths, Path(paths["markdown"]).read_text()


def test_smoke_run_settles_every_transfer_once_per_contender_and_writes_its_reports(
        tmp_path, bench_database):
    # given the harness's own database and this test's Redis database

    # when the smoke run runs
    record, _paths, table = _bench(tmp_path, bench_database, "--smoke")

    # then it writes the JSON, the table and the plot
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


def test_steady_smoke_run_checks_each_transfer_from_its_own_due_time_and_samples_memory(
        tmp_path, bench_database):
    # given 40 transfers falling due a second for 5 s, each answering on the first query

    # when the steady smoke run runs every contender
    record, _paths, table = _bench(tmp_path, bench_database, "--scenario", "steady", "--smoke")

    # then the table names every contender and says whether each kept up
    assert record["transfers"] == 200 and record["rate"] == 40 and record["duration_s"] == 5
    assert all(label in table for label in record["contenders"].values())
    assert "Kept up" in table and "RSS growth %" in table

    # and every contender resolved every transfer exactly once, on one provider query each
    runs = {run["contender"]: run for run in record["runs"]}
    assert sorted(runs) == sorted(CONTENDERS)
    for name, run in runs.items():
        assert run["resolved"] == run["transfers"] == 200, name
        assert run["duplicate_resolutions"] == 0 and run["duplicate_queries"] == 0, name
        assert run["queries_per_resolution"] == 1.0, name

        # and the lag counts from each transfer's own due time, the last 4.975 s after go
        assert 0 <= run["lag_p50_s"] <= run["lag_p95_s"] <= run["lag_p99_s"] <= run["lag_max_s"]
        assert run["last_due_s"] == 4.975, name
        assert run["seconds"] >= run["last_due_s"], name  # none resolved before it was due
        assert isinstance(run["kept_up"], bool), name

        # and memory was sampled about once a second, over the whole run
        series = run["rss_series"]
        assert len(series) >= 5 and all(mb > 0 for _at, mb, _done in series), name
        assert series[-1][2] == 200 and series[-1][0] >= 4.9, name
        assert run["rss_start_mb"] > 0 and run["rss_end_mb"] > 0, name

    # and the bare limit, asking at each due time, kept up with 40 a second
    assert runs["bare"]["kept_up"] is True
