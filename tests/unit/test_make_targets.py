"""`make test` stops at once, naming the one command, when a tool its tests need is missing;
`make sim` and `make admin` run what their names say."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def require(what: str, package: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / "scripts" / "require.sh"), what, package],
                          env={**os.environ, "RESOLVER_NO_INSTALL": "1"}, capture_output=True,
                          text=True, timeout=30)


def planned(*targets: str) -> list[str]:
    """The commands `make` would run for the targets (nothing is run)."""
    return subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT), *targets],
                          capture_output=True, text=True, timeout=30,
                          check=True).stdout.splitlines()


def test_a_missing_tool_stops_with_the_command_that_installs_it():
    # when
    result = require("/usr/bin/no-such-browser", "no-such-browser-package")
    # then
    assert result.returncode == 1
    assert "sudo apt-get install no-such-browser-package" in result.stderr


def test_a_present_tool_passes_quietly():
    # when
    result = require("sh", "dash")
    # then
    assert (result.returncode, result.stderr) == (0, "")


def test_make_test_checks_chromium_and_promtool_before_any_test():
    # when
    steps = planned("test")
    # then
    pytest_step = next(i for i, step in enumerate(steps) if step.endswith("pytest -q"))
    checks = [i for i, step in enumerate(steps) if "require.sh" in step]
    assert [steps[i].split()[1] for i in checks] == ["promtool", "/usr/bin/chromium"]
    assert all(i < pytest_step for i in checks)


def test_make_sim_and_make_admin_start_the_simulator_and_the_admin_server():
    # when / then
    assert planned("sim")[-1].endswith("resolver sim")
    assert planned("admin")[-1].endswith("resolver admin")
