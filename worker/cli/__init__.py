"""`resolver`: the command line. Tables for people, `--json` for scripts.

Each area of commands lives in its own module and registers itself on `main`. The tools that
are not the running service (the simulator, the demo, the benchmarks, the chaos drill) live in
`resolver_tools` and add their commands through the `resolver.commands` entry points, so the
service's own package never imports them.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from worker.cli import (  # noqa: F401  (each module registers its commands)
    admin_commands,
    bulk_commands,
    events_commands,
    health_commands,
    intake_commands,
    ops_commands,
    proposal_commands,
    provider_commands,
    review_commands,
)
from worker.cli.base import main

for _tool in entry_points(group="resolver.commands"):
    _tool.load()  # importing the module registers its commands on `main`

__all__ = ["main"]
