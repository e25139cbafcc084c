"""The package boundaries hold: the service imports no tool, the consumer library no service."""

from __future__ import annotations

import subprocess
import sys

import pytest


def modules_loaded_by(statement: str) -> set[str]:
    probe = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize("statement", [
    "import worker.process.celery_app, worker.process.tasks",
    "import worker.admin.app",
])
def test_the_running_service_loads_no_tool(statement):
    # given the service's entry points (the Celery app with its tasks, the admin app)
    # when a process loads them
    loaded = modules_loaded_by(statement)
    # then nothing of the simulator, the demo, the benchmarks or the drill comes with them
    assert {name for name in loaded if name.startswith("resolver_tools")} == set()


def test_the_consumer_library_needs_nothing_of_the_service():
    # given a downstream service that reads the events
    # when it loads the consumer library
    loaded = modules_loaded_by("import resolver_consumer")
    # then neither the service's package nor its models come along
    assert {name for name in loaded if name.split(".")[0] in {"worker", "models"}} == set()
