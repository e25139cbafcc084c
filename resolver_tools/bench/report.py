"""The record of a bench invocation, written three ways: JSON (every run's raw figures), a
Markdown table (median and spread per contender) and a PNG plot (matplotlib, Agg backend)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from resolver_tools.bench import scale
from resolver_tools.bench.measure import median_and_spread

# (figure, heading, shown with this many decimals), per scenario
COLUMNS = [
    ("resolutions_per_s", "resolutions/s", 1),
    ("checks_per_s", "checks/s", 1),
    ("queries_per_resolution", "provider queries per resolution", 2),
    ("statements_per_check", "SQL statements per check", 1),
    ("transactions_per_check", "transactions per check", 1),
    ("cpu_s_per_1000", "CPU s per 1,000 resolutions", 1),
    ("peak_rss_mb", "peak RSS MB", 0),
    ("lag_p50_s", "lag p50 s", 2),
    ("lag_p99_s", "lag p99 s", 2),
]
STEADY_COLUMNS = [
    ("resolutions_per_s", "resolutions/s", 1),
    ("lag_p50_s", "lag p50 s", 2),
    ("lag_p95_s", "lag p95 s", 2),
    ("lag_p99_s", "lag p99 s", 2),
    ("lag_max_s", "lag max s", 2),
    ("behind_s", "last resolution after last due s", 1),
    ("cpu_s_per_1000", "CPU s per 1,000 resolutions", 1),
    ("peak_rss_mb", "peak RSS MB", 0),
    ("rss_start_mb", "RSS after warm-up MB", 0),
    ("rss_end_mb", "RSS at end MB", 0),
    ("rss_growth_pct", "RSS growth %", 1),
]


COLORS = ["#4c72b0", "#dd8452", "#55a868"]


def columns(record: dict[str, Any]) -> list[tuple[str, str, int]]:
    return STEADY_COLUMNS if record["scenario"] == "steady" else COLUMNS


def summary(record: dict[str, Any]) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Per contender and figure: (median, min, max) over the rounds."""
    found: dict[str, dict[str, tuple[float, float, float]]] = {}
    for name in record["contenders"]:
        runs = [run for run in record["runs"] if run["contender"] == name]
        if runs:
            found[name] = {key: median_and_spread([run[key] for run in runs])
                           for key, _heading, _digits in columns(record)}
    return found


def _setting(record: dict[str, Any]) -> str:
    """The table's opening sentence: what was run."""
    if record["scenario"] == "steady":
        load = (f"{record['transfers']:,} transfers falling due at {record['rate']:g}/s for "
                f"{record['duration_s']:g} s")
    else:
        load = f"{record['transfers']:,} transfers due at once"
    return (f"Scenario {record['scenario']}: {load} ({record['script']}), provider latency "
            f"{record['latency_ms']} ms, {record['processes']} worker process(es) x "
            f"{record['threads']} threads per contender; median of {record['rounds']} round(s), "
            f"min-max in brackets.")


def markdown(record: dict[str, Any]) -> str:
    """One table for every contender scenario: a row per contender, the scenario's columns."""
    medians = summary(record)
    shown = columns(record)
    rounds = record["rounds"]
    labels = record["contenders"]
    lines = [
        _setting(record),
        "",
        "| contender | " + " | ".join(heading for _key, heading, _d in shown) + " |",
        "|---|" + "---|" * len(shown),
    ]
    for name, by_key in medians.items():
        cells = []
        for key, _heading, digits in shown:
            middle, low, high = by_key[key]
            cell = f"{middle:,.{digits}f}"
            if rounds > 1:
                cell += f" ({low:,.{digits}f}-{high:,.{digits}f})"
            cells.append(cell)
        lines.append(f"| {labels[name]} | " + " | ".join(cells) + " |")
    duplicates = {name: sum(run["duplicate_resolutions"] for run in record["runs"]
                            if run["contender"] == name) for name in medians}
    lines += ["", "Duplicate resolutions over all rounds: "
              + ", ".join(f"{labels[n]} {d}" for n, d in duplicates.items()) + "."]
    if record["scenario"] == "steady":
        kept = {name: sum(bool(run["kept_up"]) for run in record["runs"]
                          if run["contender"] == name) for name in medians}
        lines += ["", f"Kept up (last resolution within {record['kept_up_within_s']:g} s of the "
                  "last due time), rounds: "
                  + ", ".join(f"{labels[n]} {k} of {rounds}" for n, k in kept.items()) + ". "
                  f"RSS after warm-up is the first sample once {record['warm_share']:.0%} of "
                  "the transfers had resolved; growth is from there to the end."]
    return "\n".join(lines) + "\n"


def _bars(axis: Any, record: dict[str, Any], key: str, title: str) -> None:
    medians = summary(record)
    names = list(medians)
    middles = [medians[name][key][0] for name in names]
    errors = [[medians[n][key][0] - medians[n][key][1] for n in names],
              [medians[n][key][2] - medians[n][key][0] for n in names]]
    axis.bar([record["contenders"][name] for name in names], middles, yerr=errors, capsize=4,
             color=COLORS[:len(names)])
    axis.set_title(title, fontsize=10)
    axis.tick_params(axis="x", labelsize=8)


def _lag_percentiles(axis: Any, record: dict[str, Any]) -> None:
    """Grouped bars: p50, p95, p99 and max lag per contender (medians over the rounds)."""
    medians = summary(record)
    keys = [("lag_p50_s", "p50"), ("lag_p95_s", "p95"), ("lag_p99_s", "p99"),
            ("lag_max_s", "max")]
    width = 0.8 / len(medians)
    for n, name in enumerate(medians):
        axis.bar([k + n * width for k in range(len(keys))],
                 [medians[name][key][0] for key, _label in keys], width,
                 label=record["contenders"][name], color=COLORS[n % len(COLORS)])
    axis.set_xticks([k + width * (len(medians) - 1) / 2 for k in range(len(keys))],
                    [label for _key, label in keys])
    axis.set_ylabel("seconds")
    axis.set_title("lag from due time to first check (lower is better)", fontsize=10)
    axis.legend(fontsize=8)


def _rss_over_time(axis: Any, record: dict[str, Any]) -> None:
    """Each run's process-tree RSS against seconds since the go instant."""
    for n, name in enumerate(record["contenders"]):
        for number, run in enumerate(r for r in record["runs"] if r["contender"] == name):
            series = run.get("rss_series") or []
            axis.plot([point[0] for point in series], [point[1] for point in series],
                      color=COLORS[n % len(COLORS)], linewidth=1,
                      label=record["contenders"][name] if number == 0 else None)
    axis.set_xlabel("seconds since go")
    axis.set_ylabel("RSS MB")
    axis.set_title("worker memory over the run", fontsize=10)
    axis.legend(fontsize=8)


def plot(record: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on a server
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    if record["scenario"] == "steady":
        _lag_percentiles(axes[0], record)
        _rss_over_time(axes[1], record)
        load = f"{record['rate']:g}/s for {record['duration_s']:g} s"
    else:
        _bars(axes[0], record, "resolutions_per_s", "resolutions/s (higher is better)")
        _bars(axes[1], record, "cpu_s_per_1000", "CPU s per 1,000 resolutions (lower is better)")
        load = f"{record['transfers']} transfers"
    figure.suptitle(f"{record['scenario']}: {load}, {record['processes']} x "
                    f"{record['threads']} threads, latency {record['latency_ms']} ms, median of "
                    f"{record['rounds']} round(s)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_scale(record: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    for backlog in sorted({result["backlog"] for result in record["results"]}):
        shown = [r for r in record["results"] if r["backlog"] == backlog]
        axis.plot([r["stored"] for r in shown], [r["sweep_ms_median"] for r in shown],
                  marker="o", label=f"waiting backlog {backlog:,}")
    axis.set_xscale("log")
    axis.set_xlabel("transfers stored")
    axis.set_ylabel("sweep pass, ms (median)")
    axis.set_title("scale: one sweep claiming 1,000 due transfers", fontsize=10)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write(record: dict[str, Any], out: Path) -> dict[str, Path]:
    """bench.json, bench.md and bench.png in `out` (named after the scenario); their paths."""
    out.mkdir(parents=True, exist_ok=True)
    stem = "bench" if record["scenario"] == "drain" else f"bench-{record['scenario']}"
    paths = {"json": out / f"{stem}.json", "markdown": out / f"{stem}.md",
             "plot": out / f"{stem}.png"}
    paths["json"].write_text(json.dumps(record, indent=2) + "\n")
    if record["scenario"] == "scale":
        paths["markdown"].write_text(scale.markdown(record["results"]))
        plot_scale(record, paths["plot"])
    else:
        paths["markdown"].write_text(markdown(record))
        plot(record, paths["plot"])
    return paths
