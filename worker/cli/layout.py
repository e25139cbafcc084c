"""Tables for a terminal 100 columns wide: `resolver pending` and friends.

Pure text in, lines out, so the layout is tested without a database. A cell is never cut: the
one long text a row may carry (a review reason) goes on indented lines under it, wrapped, and
a row that is still too wide (very long names) wraps too rather than run past the edge.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

WIDTH = 100
INDENT = "    "


def table(headers: Sequence[str], rows: Sequence[Sequence[object]],
          notes: Sequence[str | None] | None = None, width: int = WIDTH) -> list[str]:
    """Columns as wide as their widest cell, two spaces apart; `notes[i]`, when given, is
    printed whole under row i, wrapped to `width` and indented."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(headers[i])] + [len(row[i]) for row in cells])
              for i in range(len(headers))]
    lines = _fit("  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip(), width)
    for index, row in enumerate(cells):
        lines += _fit("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip(),
                      width)
        note = notes[index] if notes else None
        if note:
            lines += textwrap.wrap(" ".join(note.split()), width, initial_indent=INDENT,
                                   subsequent_indent=INDENT, break_long_words=True,
                                   break_on_hyphens=False)
    return lines


def _fit(line: str, width: int) -> list[str]:
    if len(line) <= width:
        return [line]
    return textwrap.wrap(line, width, subsequent_indent=INDENT, break_long_words=True,
                         break_on_hyphens=False)


def money(amount: Decimal | str, currency: str) -> str:
    """'250.00 EUR' for 250.0000: at least two decimals, no trailing zeros past them."""
    text = format(Decimal(str(amount)), "f")
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{whole}.{fraction} {currency}"


def age(seconds: float) -> str:
    """The largest unit only, rounded down: '45 s', '12 min', '3 h', '2 d'."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (2 if unit == "d" else 1):
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def until(moment: datetime | None, now: datetime) -> str:
    """'due now' once it has passed, else 'in 12 min'."""
    if moment is None:
        return "-"
    left = (moment - now).total_seconds()
    return "due now" if left < 1 else f"in {age(left)}"
