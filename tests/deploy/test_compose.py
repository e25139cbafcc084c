"""docker-compose.yml, read as Compose would (no Docker engine needed): health checks run the
right command for each role, and the monitoring profile mounts what the repository holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from worker import health
from worker.admin.api import health as health_routes

ROOT = Path(__file__).resolve().parents[2]


def services() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return found


def test_worker_and_beat_check_their_own_role():
    for name in ("worker", "beat"):
        test = services()[name]["healthcheck"]["test"]
        assert test == ["CMD", "resolver", "health", "--role", name]
        assert name in health.ROLES


def test_the_admin_is_healthy_when_ready():
    [*_, probe] = services()["admin"]["healthcheck"]["test"]
    assert "http://127.0.0.1:8000/readyz" in probe
    assert "/readyz" in {route.path for route in health_routes.routes}


def test_every_long_running_service_has_a_health_check():
    for name, service in services().items():
        if name != "migrate":
            assert "healthcheck" in service or "profiles" in service, name


def test_the_worker_metrics_port_is_reachable_by_prometheus():
    assert "9464" in services()["worker"]["expose"]
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["resolver-worker"]["dns_sd_configs"][0]["port"] == 9464
    assert jobs["resolver-admin"]["static_configs"][0]["targets"] == ["admin:8000"]


def test_monitoring_runs_only_under_its_profile_with_the_rules_and_dashboards():
    prometheus, grafana = services()["prometheus"], services()["grafana"]
    assert prometheus["profiles"] == grafana["profiles"] == ["monitoring"]
    assert prometheus["image"].startswith("prom/prometheus:")
    assert grafana["image"].startswith("grafana/grafana:")
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert (ROOT / "deploy/prometheus/prometheus.yml").is_file()
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
