"""docker-compose.yml, read as Compose would (no Docker engine needed): health checks run the
right command for each role, the provider secrets reach the processes that call providers,
Redis persists, and the monitoring profile mounts what the repository holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from worker.admin.api import health as health_routes
from worker.process import health
from worker.process.config_files import _VAR

ROOT = Path(__file__).resolve().parents[2]


def services() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return found


def test_worker_and_beat_check_their_own_role():
    for name in ("worker", "beat"):
        # given the role's health check
        test = services()[name]["healthcheck"]["test"]
        # then it runs the health command for that role
        assert test == ["CMD", "resolver", "health", "--role", name]
        assert name in health.ROLES


def test_the_admin_is_healthy_when_ready():
    # given the admin's health check
    [*_, probe] = services()["admin"]["healthcheck"]["test"]
    # then it probes readiness, a route the admin serves
    assert "http://127.0.0.1:8000/readyz" in probe
    assert "/readyz" in {route.path for route in health_routes.routes}


def test_every_long_running_service_has_a_health_check():
    # then
    for name, service in services().items():
        if name != "migrate":
            assert "healthcheck" in service or "profiles" in service, name


def test_the_worker_metrics_port_is_reachable_by_prometheus():
    # then the worker exposes the port Prometheus scrapes
    assert "9464" in services()["worker"]["expose"]
    # and the Prometheus config scrapes the worker and the admin
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["resolver-worker"]["dns_sd_configs"][0]["port"] == 9464
    assert jobs["resolver-admin"]["static_configs"][0]["targets"] == ["admin:8000"]


def test_monitoring_runs_only_under_its_profile_with_the_rules_and_dashboards():
    # given the compose file
    prometheus, grafana = services()["prometheus"], services()["grafana"]
    # then
    assert prometheus["profiles"] == grafana["profiles"] == ["monitoring"]
    assert prometheus["image"].startswith("prom/prometheus:")
    assert grafana["image"].startswith("grafana/grafana:")
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert (ROOT / "deploy/prometheus/prometheus.yml").is_file()
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]


def test_every_secret_the_providers_file_names_reaches_the_processes_that_call_providers():
    # Given the ${VAR} names in the example providers file (copied to the mounted providers.toml)
    named = set(_VAR.findall((ROOT / "providers.example.toml").read_text()))
    assert named, "the example providers file names no secret: nothing to check"
    # and the example env file that provider-secrets.env is copied from
    lines = (ROOT / "provider-secrets.example.env").read_text().splitlines()
    given = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    # then it sets every one of them,
    assert named <= given, f"missing from provider-secrets.example.env: {sorted(named - given)}"
    # and worker, beat and admin read that file, while the one-shot migration does not need it.
    for name in ("worker", "beat", "admin"):
        assert services()[name]["env_file"] == ["provider-secrets.env"], name
    assert "env_file" not in services()["migrate"]
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "/provider-secrets.env" in ignored


def test_redis_appends_to_a_volume():
    # given the compose file
    redis = services()["redis"]
    # then
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    [volume] = redis["volumes"]
    name, target = volume.split(":")
    assert target == "/data"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert name in compose["volumes"]
