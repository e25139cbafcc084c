"""Four-eyes: a manual resolution that waits for a second operator.

`request_resolution` is what the console calls when a person resolves a transfer: below the
instance's four-eyes limit it applies at once (worker.admin.actions.resolve_by_hand); at or
above it, or for a bulk resolution, it becomes a proposal. Nothing moves on a proposal: the
ledger postings, the event and the state change happen only when an operator other than the
proposer approves it, each transfer in its own transaction through the same manual resolution
path, with its own audit record and event. A proposal can be rejected (the proposer may
withdraw their own) and expires after its time to live; an expired proposal is never applied.

Expiry is written lazily: every operation here first marks the open proposals whose time is
up as expired, with an audit record on each of their transfers, so an expired proposal shows
as expired wherever it is read and its transfers are free for a new proposal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import AuditRecord, Proposal, ProposalItem, Transfer
from models.proposal import PROPOSAL_STATUSES
from worker.admin import actions, four_eyes, manual
from worker.admin.actions import ActionRefused, Applied, TransferNotFound
from worker.admin.queries import MAX_ID
from worker.domain.refusal import InvalidInput
from worker.domain.types import Direction, State
from worker.engine.resolve.ledger import provider_amount_moves, resolution_move
from worker.process import logs
from worker.process.db import transaction
from worker.providers.instance import ProviderInstance

DEFAULT_TTL = timedelta(hours=24)
MAX_TRANSFERS = 10_000  # one proposal; a bigger set is several proposals
EXPIRY_ACTOR = "resolver"  # who writes the audit record of an expiry: nobody in person
log = logs.get(__name__)


class ProposalNotFound(LookupError):
    """No proposal has that id."""

    exit_code = 2


@dataclass(frozen=True)
class ItemView:
    """One transfer of a proposal: what was proposed for it, and what came of it."""

    transfer_id: int
    provider: str
    tx_id: str
    direction: str
    transfer_state: str
    amount: Decimal
    currency: str
    provider_amount: Decimal | None
    state: str  # open, applied, refused, rejected, expired
    note: str | None
    audit_id: int | None


@dataclass(frozen=True)
class ProposalView:
    id: int
    status: str  # open, approved, rejected, expired
    outcome: str
    at_provider_amount: bool
    bulk: bool
    proposed_by: str
    reason: str
    created_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class Posting:
    kind: str
    from_account: str
    to_account: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Preview:
    """What resolving a transfer would do, shown before a person confirms it."""

    transfer_id: int
    outcome: str
    amount: Decimal
    currency: str
    provider_amount: Decimal | None
    postings: tuple[Posting, ...]
    needs_second_operator: bool
    why: str


def propose(engine: Engine, transfer_ids: Sequence[int], outcome: str, *, actor: str,
            reason: str, at_provider_amount: bool = False, bulk: bool = False,
            ttl: timedelta = DEFAULT_TTL, now: datetime | None = None) -> ProposalView:
    """A proposal to resolve `transfer_ids` as `outcome`, for a second operator to approve.

    All or nothing: a transfer that is missing, final, in flight, already in an open proposal
    or (at the provider's amount) not an amount mismatch refuses the whole proposal, naming it,
    and nothing is written. Each transfer gets a `propose` audit record.
    """
    now = now or datetime.now(UTC)
    chosen = manual.read_resolution(outcome=outcome, reason=reason, by=actor,
                                    at_provider_amount=at_provider_amount)
    actor, why, target = chosen.by, chosen.reason, chosen.state
    wanted = list(dict.fromkeys(transfer_ids))  # once each, in the order given
    if not wanted:
        raise InvalidInput("transfer_ids", "name at least one transfer")
    if len(wanted) > MAX_TRANSFERS:
        raise InvalidInput("transfer_ids", f"at most {MAX_TRANSFERS} transfers per proposal")
    if ttl <= timedelta(0):
        raise InvalidInput("ttl", "must be positive")
    _expire_due(engine, now)
    try:
        with transaction(engine) as session:
            # Locked in id order, so two proposals over overlapping sets cannot deadlock.
            transfers = {number: actions.locked(session, number) for number in sorted(wanted)}
            amounts: dict[int, Decimal | None] = {}
            for number in wanted:
                transfer = transfers[number]
                actions.check_resolvable(transfer)
                _refuse_if_open(session, transfer.id)
                amounts[number] = (actions.mismatch_amount(session, transfer)
                                   if at_provider_amount else None)
            proposal = Proposal(status="open", outcome=target.value,
                                at_provider_amount=at_provider_amount, bulk=bulk,
                                proposed_by=actor, reason=why, created_at=now,
                                expires_at=now + ttl)
            session.add(proposal)
            session.flush()
            for number in wanted:
                transfer = transfers[number]
                session.add(ProposalItem(proposal_id=proposal.id, transfer_id=transfer.id,
                                         state="open", amount=transfer.amount,
                                         currency=transfer.currency,
                                         provider_amount=amounts[number]))
                details: dict[str, object] = {
                    "proposal_id": proposal.id, "outcome": target.value,
                    "amount": f"{transfer.amount:.4f}", "currency": transfer.currency,
                    "expires_at": proposal.expires_at.isoformat(), "bulk": bulk,
                }
                if amounts[number] is not None:
                    details["provider_amount"] = f"{amounts[number]:.4f}"
                _audit(session, transfer.id, actor, "propose", why, details, now)
            session.flush()
            view = _view(session, proposal)
    except IntegrityError as exc:
        if "uq_proposal_items_one_open" in str(exc.orig):
            raise ActionRefused("another proposal for one of these transfers was made at the "
                                "same moment; look at the open proposals") from None
        raise
    log.info("resolution proposed", proposal_id=view.id, by=f"admin:{actor}",
             outcome=view.outcome, transfers=len(view.items), bulk=bulk,
             at_provider_amount=at_provider_amount)
    return view


def approve(engine: Engine, proposal_id: int, *, actor: str,
            now: datetime | None = None) -> ProposalView:
    """Approve as a second operator, then apply each transfer in its own transaction.

    A transfer that can no longer be resolved (final meanwhile, in flight, no longer the
    mismatch that was proposed) is reported on its item as refused, with why; the others are
    still applied. Approving an approved proposal whose items were not all carried out (the
    process stopped half-way) carries out the rest.
    """
    now = now or datetime.now(UTC)
    actor = manual.actor_name(actor)
    _expire_due(engine, now)
    with transaction(engine) as session:
        proposal = locked_proposal(session, proposal_id)
        if actor.casefold() == proposal.proposed_by.casefold():  # "Olga" is olga too
            raise ActionRefused(f"proposal {proposal.id} was made by {actor}: another operator "
                                f"must approve it (four-eyes)")
        if proposal.status == "open":
            proposal.status = "approved"
            proposal.decided_by = actor
            proposal.decided_at = now
        elif proposal.status != "approved" or not _open_items(session, proposal.id):
            raise ActionRefused(_decided(proposal))
        outcome, proposer, reason = proposal.outcome, proposal.proposed_by, proposal.reason
        items = _open_items(session, proposal.id)
    for item_id in items:
        _apply_item(engine, item_id, proposal_id, State(outcome), proposer=proposer,
                    approver=actor, reason=reason, now=now)
    with transaction(engine) as session:
        view = _view(session, locked_proposal(session, proposal_id, lock=False))
    log.info("proposal approved", proposal_id=view.id, by=f"admin:{actor}",
             applied=sum(item.state == "applied" for item in view.items),
             refused=sum(item.state == "refused" for item in view.items))
    return view


def reject(engine: Engine, proposal_id: int, *, actor: str, reason: str,
           now: datetime | None = None) -> ProposalView:
    """Turn a proposal down (its proposer may withdraw it too); nothing moves."""
    now = now or datetime.now(UTC)
    actor = manual.actor_name(actor)
    why = manual.reason_text(reason, required=True)
    assert why is not None
    _expire_due(engine, now)
    with transaction(engine) as session:
        proposal = locked_proposal(session, proposal_id)
        if proposal.status != "open":
            raise ActionRefused(_decided(proposal))
        proposal.status = "rejected"
        proposal.decided_by = actor
        proposal.decided_at = now
        proposal.decision_reason = why
        rows = session.execute(
            update(ProposalItem).where(ProposalItem.proposal_id == proposal.id,
                                       ProposalItem.state == "open")
            .values(state="rejected").returning(ProposalItem.transfer_id)).scalars().all()
        for transfer_id in rows:
            _audit(session, transfer_id, actor, "reject", why,
                   {"proposal_id": proposal.id, "proposed_by": proposal.proposed_by}, now)
        session.flush()
        view = _view(session, proposal)
    log.info("proposal rejected", proposal_id=view.id, by=f"admin:{actor}")
    return view


def get(engine: Engine, proposal_id: int, *, now: datetime | None = None) -> ProposalView:
    _expire_due(engine, now or datetime.now(UTC))
    with transaction(engine) as session:
        return _view(session, locked_proposal(session, proposal_id, lock=False))


def list_proposals(engine: Engine, *, status: str | None = None, transfer_id: int | None = None,
                   limit: int = 100, now: datetime | None = None) -> list[ProposalView]:
    """Newest first; `status` one of open, approved, rejected, expired; or those of a transfer."""
    if status is not None and status not in PROPOSAL_STATUSES:
        raise InvalidInput("status", f"must be {', '.join(PROPOSAL_STATUSES[:-1])} or "
                                     f"{PROPOSAL_STATUSES[-1]}")
    _expire_due(engine, now or datetime.now(UTC))
    query = select(Proposal).order_by(Proposal.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Proposal.status == status)
    if transfer_id is not None:
        query = query.where(Proposal.id.in_(
            select(ProposalItem.proposal_id).where(ProposalItem.transfer_id == transfer_id)))
    with transaction(engine) as session:
        return [_view(session, proposal) for proposal in session.execute(query).scalars()]


def request_resolution(engine: Engine, providers: Mapping[str, ProviderInstance],
                       transfer_id: int, outcome: str, *, actor: str, reason: str,
                       at_provider_amount: bool = False, ttl: timedelta = DEFAULT_TTL,
                       expected_provider_amount: Decimal | None = None,
                       now: datetime | None = None) -> Applied | ProposalView:
    """A person resolves one transfer: applied now (Applied), or a proposal (ProposalView)
    when the instance's four-eyes limit says a second operator must approve."""
    _expire_due(engine, now or datetime.now(UTC))  # an expired proposal blocks nothing
    seen = preview(engine, providers, transfer_id, outcome, at_provider_amount=at_provider_amount)
    if expected_provider_amount is None:
        expected_provider_amount = seen.provider_amount
    elif seen.provider_amount != expected_provider_amount:
        raise ActionRefused(f"transfer {transfer_id}: the provider's amount is now "
                            f"{seen.provider_amount}, not the {expected_provider_amount} seen; "
                            f"look again")
    if seen.needs_second_operator:
        return propose(engine, [transfer_id], outcome, actor=actor, reason=reason,
                       at_provider_amount=at_provider_amount, ttl=ttl, now=now)
    # The transfer is locked again there, and the provider's amount checked against this one.
    return actions.resolve_by_hand(engine, transfer_id, outcome, actor=actor, reason=reason,
                                   at_provider_amount=at_provider_amount,
                                   expected_provider_amount=expected_provider_amount, now=now)


def preview(engine: Engine, providers: Mapping[str, ProviderInstance], transfer_id: int,
            outcome: str, *, at_provider_amount: bool = False) -> Preview:
    """What resolving would do: the postings, and whether a second operator must approve.

    Refuses as the resolution itself would (missing, final, in flight, not a mismatch...), so
    a person is told before they confirm, not after.
    """
    target = manual.outcome_state(outcome, at_provider_amount)
    with transaction(engine) as session:
        transfer = actions.locked(session, transfer_id, lock=False)
        actions.check_resolvable(transfer)
        _refuse_if_open(session, transfer.id)
        provider_amount = (actions.mismatch_amount(session, transfer)
                           if at_provider_amount else None)
        facts = (Direction(transfer.direction), transfer.provider, transfer.player_id,
                 transfer.amount, transfer.currency)
    direction, provider, player_id, amount, currency = facts
    if provider_amount is not None:
        moves = provider_amount_moves(direction, provider, player_id, amount, provider_amount)
    else:
        move = resolution_move(direction, provider, player_id, target)
        moves = [] if move is None else [(*move, amount)]
    postings = tuple(Posting(kind, f"{source[0]}:{source[1]}", f"{sink[0]}:{sink[1]}", value,
                             currency) for kind, source, sink, value in moves)
    decision = four_eyes.gate(providers.get(provider), currency, amount, provider_amount)
    return Preview(transfer_id, target.value, amount, currency, provider_amount, postings,
                   decision.needs_second_operator, decision.why)


def provider_amount_offer(engine: Engine, transfer_id: int) -> Decimal | None:
    """The provider's amount a transfer could be settled at now, or None when that does not
    apply (not in review because of an amount mismatch in our currency): what the transfer
    page offers."""
    with transaction(engine) as session:
        try:
            return actions.mismatch_amount(session, actions.locked(session, transfer_id,
                                                                   lock=False))
        except (ActionRefused, TransferNotFound):
            return None


def open_proposal_of(engine: Engine, transfer_id: int,
                     now: datetime | None = None) -> ProposalView | None:
    """The transfer's open proposal, if it has one (at most one: the database holds that)."""
    found = list_proposals(engine, status="open", transfer_id=transfer_id, limit=1, now=now)
    return found[0] if found else None


def _apply_item(engine: Engine, item_id: int, proposal_id: int, outcome: State, *,
                proposer: str, approver: str, reason: str, now: datetime) -> None:
    done = None
    with transaction(engine) as session:
        item = session.execute(select(ProposalItem).where(ProposalItem.id == item_id)
                               .with_for_update()).scalar_one()
        if item.state != "open":
            return  # carried out by an approval running at the same time
        try:
            done = actions.resolve_locked(
                session, item.transfer_id, outcome, actor=approver, reason=reason,
                at_provider_amount=item.provider_amount is not None,
                expected_provider_amount=item.provider_amount, now=now,
                proposal=(proposal_id, proposer))
        except (ActionRefused, TransferNotFound) as refusal:
            item.state, item.note = "refused", str(refusal)
            item.audit_id = _audit(session, item.transfer_id, approver, "approve", reason,
                                   {"proposal_id": proposal_id, "proposed_by": proposer,
                                    "applied": False, "note": str(refusal)}, now).id
        else:
            item.state, item.audit_id = "applied", done.applied.audit_id
    if done is not None:
        done.announce()  # committed


def _expire_due(engine: Engine, now: datetime) -> None:
    with transaction(engine) as session:
        expired = session.execute(EXPIRE_DUE, {"now": now}).all()
        for row in expired:
            why = (f"proposal {row.proposal_id} was not approved before "
                   f"{row.expires_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
            _audit(session, row.transfer_id, EXPIRY_ACTOR, "proposal_expired", why,
                   {"proposal_id": row.proposal_id}, now)


# Open proposals whose time is up, with their open items, in one statement: the proposals
# become expired as of their expiry time, and each item's transfer is returned for its audit.
EXPIRE_DUE = text(
    """
    WITH due AS (
        UPDATE proposals SET status = 'expired', decided_at = expires_at
        WHERE status = 'open' AND expires_at <= :now
        RETURNING id, expires_at
    )
    UPDATE proposal_items i SET state = 'expired'
    FROM due WHERE i.proposal_id = due.id AND i.state = 'open'
    RETURNING i.proposal_id, i.transfer_id, due.expires_at
    """
)


def _refuse_if_open(session: Session, transfer_id: int) -> None:
    other = session.execute(
        select(ProposalItem.proposal_id).where(ProposalItem.transfer_id == transfer_id,
                                               ProposalItem.state == "open")
    ).scalar_one_or_none()
    if other is not None:
        raise ActionRefused(f"transfer {transfer_id} already has an open proposal ({other}); "
                            f"approve or reject that one first")


def _open_items(session: Session, proposal_id: int) -> list[int]:
    return list(session.execute(
        select(ProposalItem.id).where(ProposalItem.proposal_id == proposal_id,
                                      ProposalItem.state == "open").order_by(ProposalItem.id)
    ).scalars())


def locked_proposal(session: Session, proposal_id: int, *, lock: bool = True) -> Proposal:
    if not 0 < proposal_id <= MAX_ID:
        raise ProposalNotFound(f"no proposal with id {proposal_id}")
    query = select(Proposal).where(Proposal.id == proposal_id)
    found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if found is None:
        raise ProposalNotFound(f"no proposal with id {proposal_id}")
    return found


def _decided(proposal: Proposal) -> str:
    if proposal.status == "expired":
        return (f"proposal {proposal.id} expired at "
                f"{proposal.expires_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC "
                f"without approval; propose it anew")
    return (f"proposal {proposal.id} is already {proposal.status} (by {proposal.decided_by}); "
            f"a decided proposal never changes")


def _audit(session: Session, transfer_id: int, actor: str, action: str, reason: str | None,
           details: dict[str, object], now: datetime) -> AuditRecord:
    record = AuditRecord(transfer_id=transfer_id, actor=actor, action=action, reason=reason,
                         details=details, created_at=now)
    session.add(record)
    session.flush()
    return record


def _view(session: Session, proposal: Proposal) -> ProposalView:
    rows = session.execute(
        select(ProposalItem, Transfer.provider, Transfer.tx_id, Transfer.direction,
               Transfer.state)
        .join(Transfer, Transfer.id == ProposalItem.transfer_id)
        .where(ProposalItem.proposal_id == proposal.id).order_by(ProposalItem.id)
    ).all()
    items = tuple(
        ItemView(item.transfer_id, provider, tx_id, direction, state, item.amount, item.currency,
                 item.provider_amount, item.state, item.note, item.audit_id)
        for item, provider, tx_id, direction, state in rows
    )
    return ProposalView(proposal.id, proposal.status, proposal.outcome,
                        proposal.at_provider_amount, proposal.bulk, proposal.proposed_by,
                        proposal.reason, proposal.created_at, proposal.expires_at,
                        proposal.decided_by, proposal.decided_at, proposal.decision_reason,
                        items)
