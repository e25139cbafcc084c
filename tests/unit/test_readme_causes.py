"""The README's table of causes lists each cause the code knows, with its state and remedy."""

from __future__ import annotations

import re
from pathlib import Path

from worker.admin import causes

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_cause_with_its_state_and_remedy() -> None:
    # given the README's Causes subsection
    text = README.read_text()
    section = text[text.index("### Causes\n"):]
    section = section[:section.index("\n#")]
    # when its table rows are read
    rows = re.findall(r"^\| `([a-z_]+)` \| ([a-z_]+) \| (.+) \|$", section, re.MULTILINE)
    # then they are exactly the causes of worker.admin.causes, each in its state with its
    # remedy, in the same order
    assert rows == [(c.code, str(c.state), c.advice) for c in causes.CAUSES]
