"""The alert rules: valid, each tested firing and quiet by promtool, each with its runbook.

promtool is Debian's `prometheus` package; `.ci/run` installs it and `make test` says how when
it is missing. These tests fail, rather than skip, without it: untested rules are how an alert
that never fires gets deployed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "alerts_test.yml"
OPERATIONS = ROOT / "docs" / "operations.md"
INSTALL = "apt-get install prometheus  (Debian's package; it provides promtool)"


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail(f"promtool is not installed; run: {INSTALL}", pytrace=False)
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


def test_the_rules_and_the_prometheus_config_are_valid():
    # when / then
    for args in (("check", "rules", str(RULES)), ("check", "config", str(PROMETHEUS /
                                                                         "prometheus.yml"))):
        result = promtool(*args)
        assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_passes_its_promtool_cases():
    # when
    result = promtool("test", "rules", str(RULE_TESTS))
    # then
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_case_and_a_quiet_case():
    # when the promtool cases are read
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    # then
    assert names - fires == set(), "alerts never shown to fire"
    assert names - quiet == set(), "alerts never shown to stay quiet"
    assert (fires | quiet) - names == set(), "cases for alerts that do not exist"


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_says_how_bad_what_and_where_its_runbook_is(rule):
    # then
    assert rule["labels"]["severity"] in {"critical", "warning"}
    annotations = rule["annotations"]
    assert annotations["summary"] and annotations["description"]
    anchor = rule["alert"].lower()
    assert annotations["runbook_url"] == f"docs/operations.md#{anchor}"


def test_every_alert_has_its_runbook_section():
    # when the runbook sections are read
    headings = re.findall(r"^### (\S+)\n(.+?)(?=^#{2,3} |\Z)", OPERATIONS.read_text(),
                          flags=re.MULTILINE | re.DOTALL)
    sections = {name: body for name, body in headings}
    # then
    for rule in alerts():
        body = sections.get(rule["alert"])
        assert body is not None, f"docs/operations.md has no '### {rule['alert']}' section"
        # A runbook says what it means, how to look and what to do, each in its own words
        for part in ("**Means.**", "**Look.**", "**Do.**"):
            assert part in body, f"{rule['alert']}'s runbook lacks {part}"
