"""`resolver review`: what waits for a person, a line per instance, state and cause, with the
command that acts on each group.

Read-only: it needs the database, never a provider's secret, and goes through the same runtime
entry point as `pending`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from worker.admin import review_queries
from worker.admin.formatting import span
from worker.admin.review_queries import CauseGroup
from worker.admin.schemas import review_out
from worker.cli.base import current_runtime, emit, main, refuse_on
from worker.domain.refusal import InvalidInput
from worker.process.db import transaction

WIDTH = 100  # a terminal's usual width: the table never runs past it
HEADERS = ("INSTANCE", "STATE", "CAUSE", "COUNT", "TOTAL", "OLDEST")
STATES = {"needs_review": "review", "pending": "pending"}


@main.command()
@click.option("--pending-older-than", default="1h", show_default=True,
              help="Pending transfers count once registered this long ago: 30m, 1h, 2d.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@refuse_on(InvalidInput)
def review(pending_older_than: str, as_json: bool) -> None:
    """What waits for a person, by instance and cause: count, totals per currency, the oldest,
    and the `resolver recheck` command that acts on each group."""
    stuck_after = review_queries.stuck_after(pending_older_than)
    runtime = current_runtime()
    now = datetime.now(UTC)
    with transaction(runtime.engine) as session:
        groups = review_queries.review_groups(session, now, stuck_after)
    shaped = review_out(groups, stuck_after, now)
    emit(shaped.model_dump(mode="json"), as_json,
         lambda _: click.echo("\n".join(table(groups, now, stuck_after))))


def table(groups: list[CauseGroup], now: datetime, stuck_after: timedelta) -> list[str]:
    """A line per group and one more per further currency, each group followed by its
    command; at most WIDTH columns (the instance, then the cause, are cut to fit)."""
    after = review_queries.duration_text(stuck_after)
    if not groups:
        return [f"nothing waits for a person (pending ones count after {after})"]
    blocks = []
    for g in groups:
        totals = [f"{amount:.4f} {currency}" for currency, amount in g.totals.items()]
        lines = [[g.provider, STATES[g.state], g.label, str(g.count), totals[0],
                  span((now - g.oldest).total_seconds())]]
        lines += [["", "", "", "", extra, ""] for extra in totals[1:]]
        blocks.append((lines, review_queries.recheck_command(g, now - stuck_after)))
    rows = [line for lines, _ in blocks for line in lines]
    widths = [max([len(HEADERS[i])] + [len(row[i]) for row in rows]) for i in range(6)]
    over = sum(widths) + 2 * (len(widths) - 1) - WIDTH
    for column in (0, 2):
        cut = min(max(over, 0), widths[column] - len(HEADERS[column]))
        widths[column] -= cut
        over -= cut
    out = [_line(HEADERS, widths)]
    for lines, command in blocks:
        out += [_line(line, widths) for line in lines]
        out.append(_command(command))
    out.append(f"pending ones count after {after}; write the reason before running a command")
    return out


def _line(cells: tuple[str, ...] | list[str], widths: list[int]) -> str:
    fitted = [cell if len(cell) <= width else cell[: width - 1] + "…"
              for cell, width in zip(cells, widths, strict=True)]
    aligned = [cell.rjust(widths[i]) if i in (3, 4) else cell.ljust(widths[i])
               for i, cell in enumerate(fitted)]
    return "  ".join(aligned).rstrip()


def _command(command: str) -> str:
    """Under its group; a long one is broken between options, the way a shell continues a
    line, so that it still pastes as one command."""
    first, *options = command.split(" --")
    lines, current = [], f"  $ {first}"
    for option in options:
        if len(current) + len(option) + 5 > WIDTH:
            lines.append(current + " \\")
            current = "      --" + option
        else:
            current += " --" + option
    return "\n".join([*lines, current])
