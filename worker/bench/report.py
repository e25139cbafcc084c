"""The record of a bench invocation, written three ways: JSON (every run's raw figures), a
Markdown table (median and spread per contender) and a PNG plot (matplotlib, Agg backend)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from worker.bench import scale
from worker.bench.measure import median_and_spread

# (figure, heading, shown with this many decimals)
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


COLORS = ["#4c72b0", "#dd8452", "#55a868"]


def summary(record: dict[str, Any]) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Per contender and figure: (median, min, max) over the rounds."""
    found: dict[str, dict[str, tuple[float, float, float]]] = {}
    for name in record["contenders"]:
        runs = [run for run in record["runs"] if run["contender"] == name]
        if runs:
            found[name] = {key: median_and_spread([run[key] for run in runs])
                           for key, _heading, _digits in COLUMNS}
    return found


def markdown(record: dict[str, Any]) -> str:
    medians = summary(record)
    rounds = record["rounds"]
    lines = [
        f"Scenario {record['scenario']}: {record['transfers']} transfers due at once "
        f"({record['script']}), provider latency {record['latency_ms']} ms, "
        f"{record['processes']} worker process(es) x {record['threads']} threads per contender; "
        f"median of {rounds} round(s), min-max in brackets.",
        "",
        "| contender | " + " | ".join(heading for _key, heading, _d in COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for name, by_key in medians.items():
        cells = []
        for key, _heading, digits in COLUMNS:
            middle, low, high = by_key[key]
            cell = f"{middle:,.{digits}f}"
            if rounds > 1:
                cell += f" ({low:,.{digits}f}-{high:,.{digits}f})"
            cells.append(cell)
        lines.append(f"| {record['contenders'][name]} | " + " | ".join(cells) + " |")
    duplicates = {name: sum(run["duplicate_resolutions"] for run in record["runs"]
                            if run["contender"] == name) for name in medians}
    lines += ["", "Duplicate resolutions over all rounds: "
              + ", ".join(f"{record['contenders'][n]} {d}" for n, d in duplicates.items()) + "."]
    return "\n".join(lines) + "\n"


def plot(record: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on a server
    import matplotlib.pyplot as plt

    medians = summary(record)
    names = list(medians)
    labels = [record["contenders"][name] for name in names]
    shown = [("resolutions_per_s", "resolutions/s (higher is better)"),
             ("cpu_s_per_1000", "CPU s per 1,000 resolutions (lower is better)")]
    figure, axes = plt.subplots(1, len(shown), figsize=(11, 4))
    for axis, (key, title) in zip(axes, shown, strict=True):
        middles = [medians[name][key][0] for name in names]
        errors = [[medians[n][key][0] - medians[n][key][1] for n in names],
                  [medians[n][key][2] - medians[n][key][0] for n in names]]
        axis.bar(labels, middles, yerr=errors, capsize=4, color=COLORS[:len(names)])
        axis.set_title(title, fontsize=10)
        axis.tick_params(axis="x", labelsize=8)
    figure.suptitle(f"{record['scenario']}: {record['transfers']} transfers, "
                    f"{record['processes']} x {record['threads']} threads, "
                    f"latency {record['latency_ms']} ms, median of {record['rounds']} round(s)",
                    fontsize=10)
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
