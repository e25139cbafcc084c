"""The polling policy: outcome + transfer + now -> decision. Pure; tested without I/O.

The engine asks this module what to do after every status query. Nothing here reads a clock,
a database or a random source of its own: the caller passes `now` and a jitter draw, so every
rule can be shown with plain values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from worker.domain.types import Outcome, State


@dataclass(frozen=True)
class Policy:
    """How one provider instance is polled. Every field is a setting of the instance."""

    initial_delay: timedelta = timedelta(seconds=10)
    schedule: tuple[timedelta, ...] = tuple(
        timedelta(seconds=s) for s in (10, 30, 60, 120, 300, 600, 1800, 3600)
    )
    max_age: timedelta = timedelta(hours=72)
    not_found_grace: timedelta = timedelta(minutes=5)
    not_found_confirmations: int = 2
    # Fraction added on top of each delay, drawn uniformly, so that a burst of transfers that
    # timed out together does not come back to the provider as one burst.
    jitter: float = 0.1
    rate_limited_delay: timedelta = timedelta(seconds=5)
    concurrency: int = 16
    rate_limit_per_s: float = 20.0
    breaker_threshold: int = 5
    breaker_cooldown: timedelta = timedelta(seconds=30)
    in_flight_deadline: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        if not self.schedule:
            raise ValueError("schedule must list at least one delay")
        if self.not_found_confirmations < 1:
            raise ValueError("not_found_confirmations must be at least 1")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.rate_limit_per_s <= 0:
            raise ValueError("rate_limit_per_s must be positive")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")


@dataclass(frozen=True)
class PollState:
    """The facts about one pending transfer that the policy weighs."""

    sent_at: datetime  # the wallet's word: when it called the provider, by the wallet's clock
    attempts: int  # checks that counted so far (rate-limited answers do not count)
    not_found_streak: int  # consecutive NOT_FOUND answers so far
    # When we registered the transfer, by our own clock. None: the same as sent_at.
    registered_at: datetime | None = None

    @property
    def grace_from(self) -> datetime:
        """Where the not-found grace starts: the later of sent_at and our registration.

        A wallet clock running behind makes sent_at look older than it is; counting the grace
        from it would fail a transfer the provider may still be processing (and refund a player
        whose money the provider kept). Our own registration time bounds that error.
        """
        if self.registered_at is None:
            return self.sent_at
        return max(self.sent_at, self.registered_at)


class Action(StrEnum):
    RESOLVE = "resolve"
    RECHECK = "recheck"
    REVIEW = "review"


@dataclass(frozen=True)
class Decision:
    action: Action
    attempts: int
    not_found_streak: int
    resolution: State | None = None  # SUCCEEDED or FAILED when action is RESOLVE
    next_check_at: datetime | None = None  # when action is RECHECK
    reason: str | None = None


# Outcomes that tell nothing about the transfer itself: they leave the not-found streak as it was.
_SILENT = frozenset({Outcome.RATE_LIMITED, Outcome.AUTH_ERROR, Outcome.RETRY})


def first_check_at(now: datetime, policy: Policy) -> datetime:
    return now + policy.initial_delay


def decide(
    outcome: Outcome,
    poll: PollState,
    policy: Policy,
    now: datetime,
    jitter_draw: Callable[[], float],
) -> Decision:
    """What to do with a pending transfer after one status query answered `outcome`."""
    attempts = poll.attempts + (0 if outcome is Outcome.RATE_LIMITED else 1)
    if outcome is Outcome.NOT_FOUND:
        streak = poll.not_found_streak + 1
    elif outcome in _SILENT:
        streak = poll.not_found_streak
    else:
        streak = 0

    def resolve(state: State, reason: str) -> Decision:
        return Decision(Action.RESOLVE, attempts, streak, resolution=state, reason=reason)

    def review(reason: str) -> Decision:
        return Decision(Action.REVIEW, attempts, streak, reason=reason)

    if outcome is Outcome.SUCCEEDED:
        return resolve(State.SUCCEEDED, "provider reports the transfer succeeded")
    if outcome is Outcome.FAILED:
        return resolve(State.FAILED, "provider reports the transfer failed")
    if outcome is Outcome.MISMATCH:
        return review("provider's record disagrees with ours")
    if outcome is Outcome.AUTH_ERROR:
        return review("provider refused our credentials or request; a person must act")

    age = now - poll.sent_at
    grace_over = now - poll.grace_from >= policy.not_found_grace
    if outcome is Outcome.NOT_FOUND and grace_over and streak >= policy.not_found_confirmations:
        return resolve(
            State.FAILED,
            f"provider has no record after {streak} consecutive queries "
            f"and {_human(policy.not_found_grace)} since it was sent",
        )
    if age >= policy.max_age:
        return review(
            f"no final answer within max age {_human(policy.max_age)} ({attempts} checks)"
        )

    if outcome is Outcome.RATE_LIMITED:
        delay = policy.rate_limited_delay
    else:
        delay = policy.schedule[min(max(attempts, 1), len(policy.schedule)) - 1]
    next_check_at = now + delay * (1 + policy.jitter * jitter_draw())
    if outcome is Outcome.NOT_FOUND and not grace_over:
        # Confirm promptly once the grace period ends instead of sleeping through a long step.
        next_check_at = min(next_check_at, poll.grace_from + policy.not_found_grace)
    # The last check falls on max age, so a transfer reaches review on time, not a step late.
    next_check_at = min(next_check_at, poll.sent_at + policy.max_age)
    return Decision(Action.RECHECK, attempts, streak, next_check_at=max(next_check_at, now))


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
