"""The Grafana dashboard and its provisioning: every panel queries metrics that exist."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from worker.metrics import engine, exported_names, state

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "resolver.json"
# A metric name in PromQL: our prefix, then name characters. Label names and values never
# start with it, and functions (rate, histogram_quantile, time) do not either.
METRIC = re.compile(r"\bresolver_[a-zA-Z0-9_:]*")


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows included; rows themselves left out."""
    found = []
    for panel in board["panels"]:
        found.extend(panel.get("panels", []))
        if panel["type"] != "row":
            found.append(panel)
    return found


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def test_every_panel_queries_only_metrics_the_registry_defines(board):
    # given
    known = exported_names()
    # when / then
    assert panels(board), "the dashboard has no panels"
    for panel in panels(board):
        exprs = [target["expr"] for target in panel.get("targets", [])]
        assert exprs, f"panel {panel['title']!r} has no query"
        for expr in exprs:
            used = set(METRIC.findall(expr))
            assert used, f"panel {panel['title']!r} queries none of our metrics: {expr}"
            assert used <= known, (f"panel {panel['title']!r} queries metrics nothing exports: "
                                   f"{sorted(used - known)}")


def test_every_metric_is_charted_somewhere(board):
    # when the metrics the panels use are collected
    used = {name for panel in panels(board) for target in panel["targets"]
            for name in METRIC.findall(target["expr"])}
    families = {name.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count")
                for name in used}
    # then
    assert set(state.GAUGES) <= families
    assert engine.sample_names() & used, "no engine metric charted"
    missing = {name for name in engine.sample_names()
               if name.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count")
               not in families}
    assert not missing


def test_panels_have_unique_ids_titles_and_a_place_on_the_grid(board):
    # when
    every = [panel for panel in board["panels"]] + [
        inner for panel in board["panels"] for inner in panel.get("panels", [])]
    ids = [panel["id"] for panel in every]
    # then
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        assert panel["title"] and panel.get("description")
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24
        assert panel["datasource"]["uid"] == "${datasource}"


def test_provisioning_loads_the_dashboard_from_prometheus():
    # when
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" /
                                  "prometheus.yml").read_text())
    [source] = datasources["datasources"]
    # then
    assert (source["type"], source["url"]) == ("prometheus", "http://prometheus:9090")
    dashboards = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" /
                                 "resolver.yml").read_text())
    [provider] = dashboards["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]


def test_every_query_is_valid_promql(board, tmp_path):
    """promtool (Debian's prometheus package) parses each query as a recording rule's."""
    # given
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    # when each query is written as a recording rule and checked
    rules = [{"record": f"dashboard:query_{n}", "expr": target["expr"]}
             for n, target in enumerate((target for panel in panels(board)
                                         for target in panel["targets"]), start=1)]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                             text=True, check=False)
    # then
    assert checked.returncode == 0, checked.stdout + checked.stderr
