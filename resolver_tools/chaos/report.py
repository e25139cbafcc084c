"""What the drill prints at the end: its figures, the outcome of each invariant, and the same as
one JSON document for scripts (`--json`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table

from resolver_tools.chaos.verify import INVARIANTS, Violation

EXAMPLES = 3  # violations shown per invariant; the JSON has them all


@dataclass
class Figures:
    transfers: int
    seed: int
    acknowledged: int = 0
    sends: int = 0
    resends: int = 0
    wallet_errors: int = 0
    faults: dict[str, int] = field(default_factory=dict)  # action -> times fired
    fault_errors: list[str] = field(default_factory=list)
    unplanned_exits: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> duration
    checks: int = 0
    states: dict[str, int] = field(default_factory=dict)
    expected_states: dict[str, int] = field(default_factory=dict)
    events: int = 0


def as_json(figures: Figures, violations: dict[str, list[Violation]]) -> dict[str, Any]:
    return {
        "ok": not any(violations.values()),
        "figures": figures.__dict__,
        "invariants": {
            name: {"holds": not violations.get(name), "violations": [
                {"subject": v.subject, "detail": v.detail} for v in violations.get(name, [])]}
            for name in INVARIANTS
        },
    }


def tables(figures: Figures, violations: dict[str, list[Violation]]) -> Group:
    run = Table(title="chaos drill", title_justify="left", show_header=False)
    run.add_column("what")
    run.add_column("figure", justify="right")
    run.add_row("transfers registered (acknowledged)", f"{figures.acknowledged:,} of "
                                                       f"{figures.transfers:,}")
    run.add_row("registrations sent (re-sent after no answer)",
                f"{figures.sends:,} ({figures.resends:,})")
    run.add_row("wallet calls that met Redis away", f"{figures.wallet_errors:,}")
    for action, count in figures.faults.items():
        run.add_row(action, str(count))
    run.add_row("workers or beats that ended by themselves",
                ", ".join(figures.unplanned_exits) or "none")
    run.add_row("provider checks recorded", f"{figures.checks:,}")
    run.add_row("outbox events", f"{figures.events:,}")
    for phase, seconds in figures.seconds.items():
        run.add_row(f"{phase} (s)", f"{seconds:.1f}")
    run.add_row("seed", str(figures.seed))

    states = Table(title="final states", title_justify="left")
    states.add_column("state")
    states.add_column("expected", justify="right")
    states.add_column("found", justify="right")
    for state in sorted(set(figures.expected_states) | set(figures.states)):
        states.add_row(state, f"{figures.expected_states.get(state, 0):,}",
                       f"{figures.states.get(state, 0):,}")

    verdict = Table(title="invariants", title_justify="left")
    verdict.add_column("invariant")
    verdict.add_column("holds")
    verdict.add_column("violations", justify="right")
    examples: list[str] = []
    for name, description in INVARIANTS.items():
        found = violations.get(name, [])
        verdict.add_row(description, "[green]yes[/]" if not found else "[red]NO[/]",
                        str(len(found)))
        examples += [f"  {name}: {v.subject}: {v.detail}" for v in found[:EXAMPLES]]
    parts: list[Any] = [run, states, verdict]
    if examples:
        parts.append("[red]first violations of each invariant:[/]\n" + "\n".join(examples))
    if figures.fault_errors:
        parts.append("[red]faults that could not be caused:[/] " + "; ".join(figures.fault_errors))
    return Group(*parts)
