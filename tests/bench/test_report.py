"""The bench's reports from a record: medians and spreads, the scale table's plans. No I/O."""

from __future__ import annotations

from resolver_tools.bench import report, scale


def _run(contender: str, round_: int, per_s: float, duplicates: int = 0) -> dict[str, object]:
    figures: dict[str, object] = {key: 1.0 for key, _heading, _digits in report.COLUMNS}
    return {**figures, "contender": contender, "round": round_, "resolutions_per_s": per_s,
            "duplicate_resolutions": duplicates}


def test_table_shows_the_median_and_the_spread_of_the_rounds_per_contender():
    # given three rounds of two contenders
    record = {"scenario": "drain", "transfers": 10, "script": "pending twice", "latency_ms": 20,
              "processes": 1, "threads": 4, "rounds": 3,
              "contenders": {"resolver": "resolver (as deployed)", "bare": "bare limit"},
              "runs": [_run("resolver", 1, 10.0), _run("resolver", 2, 30.0),
                       _run("resolver", 3, 12.0), _run("bare", 1, 100.0, duplicates=1),
                       _run("bare", 2, 90.0), _run("bare", 3, 95.0)]}

    # when the table is written
    table = report.markdown(record)

    # then each contender's row leads with its median and min-max, and duplicates are summed
    rows = {line.split(" | ")[0]: line for line in table.splitlines() if line.startswith("| ")}
    assert rows["| resolver (as deployed)"].split(" | ")[1] == "12.0 (10.0-30.0)"
    assert rows["| bare limit"].split(" | ")[1] == "95.0 (90.0-100.0)"
    assert "resolver (as deployed) 0, bare limit 1" in table


def test_steady_table_shows_lag_percentiles_memory_growth_and_who_kept_up():
    # given one steady round of two contenders, one of which fell behind
    def steady_run(contender: str, p99: float, kept_up: bool) -> dict[str, object]:
        figures: dict[str, object] = {key: 1.0 for key, _h, _d in report.STEADY_COLUMNS}
        return {**figures, "contender": contender, "round": 1, "lag_p99_s": p99,
                "rss_growth_pct": 4.34, "kept_up": kept_up, "duplicate_resolutions": 0,
                "rss_series": [[0.0, 80.0, 0], [1.0, 81.0, 40]]}

    record = {"scenario": "steady", "transfers": 200, "rate": 40.0, "duration_s": 5.0,
              "script": "succeeded", "latency_ms": 20, "processes": 1, "threads": 8,
              "rounds": 1, "kept_up_within_s": 3.0, "warm_share": 0.1,
              "contenders": {"resolver": "resolver (as deployed)", "bare": "bare limit"},
              "runs": [steady_run("resolver", 7.5, False), steady_run("bare", 0.01, True)]}

    # when the table is written
    table = report.markdown(record)

    # then it says the arrival rate, shows the steady columns and who kept up
    assert "200 transfers falling due at 40/s for 5 s" in table
    header = next(line for line in table.splitlines() if line.startswith("| contender"))
    assert "lag p95 s" in header and "RSS growth %" in header and "checks/s" not in header
    rows = {line.split(" | ")[0]: line.split(" | ") for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| contender")}
    headings = [heading for _key, heading, _d in report.STEADY_COLUMNS]
    assert rows["| resolver (as deployed)"][1 + headings.index("lag p99 s")] == "7.50"
    assert rows["| bare limit"][1 + headings.index("RSS growth %")].rstrip(" |") == "4.3"
    assert "resolver (as deployed) 0 of 1, bare limit 1 of 1" in table


def test_scale_table_names_the_claims_access_path_and_postgres_timings():
    # given one measurement with the plans Postgres printed
    claim_plan = ["Update on transfers t (actual time=0.1..0.2 rows=0 loops=1)",
                  "  ->  Index Scan using ix_transfers_due on transfers (actual rows=200)",
                  "Planning Time: 0.3 ms", "Execution Time: 4.512 ms"]
    count_plan = ["Aggregate (actual rows=1 loops=1)", "  ->  Seq Scan on transfers",
                  "Execution Time: 18.5 ms"]
    result = {"stored": 1_000_000, "backlog": 300_000, "sweep_ms_median": 98.04,
              "claim_plan": claim_plan, "concurrency_count_plan": count_plan}

    # when the table is written
    table = scale.markdown([result])

    # then the row shows the pass, the index the claim used and both execution times
    assert "| 1,000,000 | 300,000 | 98.0 | Index Scan ix_transfers_due | 4.512 | 18.5 |" in table
