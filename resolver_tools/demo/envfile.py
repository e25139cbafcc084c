"""`.demo/env`: the demo's settings and secrets as `export X=...` lines for a shell to source.

The providers file names its secrets as `${VAR}`; a person's own `resolver` commands against
the demo need the same variables, so the demo writes them down. Readable by its owner only
(0600) from the moment it exists: it holds the admin token and the providers' secrets.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path


def render(variables: Mapping[str, str]) -> str:
    lines = ["# Written by `resolver demo`; source it: . .demo/env"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(variables.items())]
    return "\n".join(lines) + "\n"


def write(path: Path, variables: Mapping[str, str]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file left by an older run keeps its mode otherwise
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(render(variables))
