"""`resolver`: the command line. Tables for people, `--json` for scripts.

Each area of commands lives in its own module and registers itself on `main`.
"""

from __future__ import annotations

from worker.cli import (  # noqa: F401  (each module registers its commands)
    admin_commands,
    bench_commands,
    bulk_commands,
    chaos_commands,
    demo_commands,
    events_commands,
    health_commands,
    intake_commands,
    ops_commands,
    proposal_commands,
    provider_commands,
    review_commands,
)
from worker.cli.base import main

__all__ = ["main"]
