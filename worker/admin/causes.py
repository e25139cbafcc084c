"""Why a transfer waits for a person: its state and reason, normalized into a few causes.

Sixteen transfers in review because one instance's secret was wrong are one problem, not
sixteen; an admin fixes the secret and rechecks them together. Grouping needs a cause that is
the same for all of them, while the stored reasons carry counts and amounts that differ from
row to row. This module maps a transfer's row to a short cause code, in SQL, so that grouping
and filtering by cause run in the database over any number of rows.

Causes of `needs_review` come from the reason the engine wrote when it sent the transfer there
(`worker.domain.policy` and `worker.engine.sweep.due.unconfigured_reason`) and from the last
answer it saw; causes of a `pending` transfer that waits too long come from its last answer. The
texts matched here are the engine's own; `tests/integration/admin/test_causes.py` builds each
one through the engine's functions, so a reworded reason fails a test instead of falling into
`other`."""

from __future__ import annotations

from dataclasses import dataclass

from worker.domain.types import Outcome, State


@dataclass(frozen=True)
class Cause:
    code: str  # what filters and URLs carry: --cause auth
    state: State  # the state a transfer with this cause is in
    label: str  # what a person reads
    # A condition over a `transfers` row (aliased `t`), tried in the order of CAUSES.
    condition: str
    advice: str  # the usual remedy, shown beside the group


# A record mismatch whose only difference is the amount: the provider's detail lists each
# difference as "<field>: provider …, ours …" (worker.providers.answers), so no other field name
# may appear beside the amount's.
_ONLY_AMOUNT_DIFFERS = (
    "t.last_error LIKE '%amount: provider %' AND t.last_error NOT LIKE '%currency: provider %' "
    "AND t.last_error NOT LIKE '%direction: provider %' "
    "AND t.last_error NOT LIKE '%player: provider %' AND t.last_error NOT LIKE '%tx id: provider %'"
)

_REVIEW = State.NEEDS_REVIEW
_PENDING = State.PENDING

CAUSES: tuple[Cause, ...] = (
    Cause("not_configured", _REVIEW, "instance not configured",
          "t.review_reason LIKE 'provider instance % is not configured%'",
          "add the instance to the providers file (or fix its name), then recheck"),
    Cause("max_age", _REVIEW, "max age reached",
          "t.review_reason LIKE 'no final answer within max age%'",
          "ask the provider out of band; recheck once more or resolve by hand"),
    Cause("auth", _REVIEW, "credentials refused",
          f"t.last_outcome = '{Outcome.AUTH_ERROR}' "
          "OR t.review_reason LIKE 'provider refused our credentials%'",
          "fix the instance's secret or allow-listed address, then recheck"),
    Cause("amount_mismatch", _REVIEW, "amount mismatch",
          f"t.last_outcome = '{Outcome.MISMATCH}' AND {_ONLY_AMOUNT_DIFFERS}",
          "settle at the provider's amount, or resolve by hand after asking the provider"),
    Cause("record_mismatch", _REVIEW, "record disagrees with ours",
          f"t.last_outcome = '{Outcome.MISMATCH}' "
          "OR t.review_reason LIKE 'provider''s record disagrees%'",
          "compare the provider's record with ours; resolve by hand"),
    Cause("other_review", _REVIEW, "other reason", "TRUE",
          "read the transfer's history"),
    Cause("unchecked", _PENDING, "never answered", "t.last_outcome IS NULL",
          "check that the worker and beat run and the instance is reachable"),
    Cause("provider_pending", _PENDING, "provider still processing",
          f"t.last_outcome = '{Outcome.PENDING}'",
          "nothing to do yet; the provider has not finished"),
    Cause("not_found", _PENDING, "provider has no record yet",
          f"t.last_outcome = '{Outcome.NOT_FOUND}'",
          "wait for the not-found grace, or ask the provider"),
    Cause("rate_limited", _PENDING, "rate limited",
          f"t.last_outcome = '{Outcome.RATE_LIMITED}'",
          "lower the instance's rate or ask the provider for more"),
    Cause("provider_errors", _PENDING, "provider errors",
          f"t.last_outcome IN ('{Outcome.RETRY}', '{Outcome.AUTH_ERROR}')",
          "see the provider health panel and the last error"),
    Cause("other_pending", _PENDING, "other answer", "TRUE",
          "read the transfer's history"),
)

BY_CODE = {cause.code: cause for cause in CAUSES}
CODES = tuple(BY_CODE)


class UnknownCause(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown cause {code!r}; known: {', '.join(CODES)}")


def cause(code: str) -> Cause:
    try:
        return BY_CODE[code]
    except KeyError:
        raise UnknownCause(code) from None


def _case() -> str:
    branches = []
    for state in (_REVIEW, _PENDING):
        inner = " ".join(f"WHEN {c.condition} THEN '{c.code}'"
                         for c in CAUSES if c.state is state)
        branches.append(f"WHEN t.state = '{state}' THEN CASE {inner} END")
    return f"(CASE {' '.join(branches)} END)"


# The cause code of a `transfers` row aliased `t`; NULL for the other states. Built once from
# CAUSES, so the grouping, the filter and the labels cannot disagree.
CAUSE_SQL = _case()
