"""`resolver`: the command line. Tables for people, `--json` for scripts.

Each area of commands lives in its own module and registers itself on `main`.
"""

from __future__ import annotations

from worker.cli import intake_commands, ops_commands  # noqa: F401  (they register commands)
from worker.cli.base import main

__all__ = ["main"]
