"""SQLAlchemy models: the queue of record, the checks, the ledger, the outbox, the audit trail."""

from models.audit import AuditRecord
from models.base import Base
from models.check import Check
from models.contradiction import Contradiction
from models.ledger import Account, LedgerEntry
from models.outbox import OutboxEvent
from models.proposal import Proposal, ProposalItem
from models.transfer import Transfer
from models.webhook import WebhookAttempt, WebhookDelivery, WebhookFanout

__all__ = ["Account", "AuditRecord", "Base", "Check", "Contradiction", "LedgerEntry",
           "OutboxEvent", "Proposal",
           "ProposalItem", "Transfer", "WebhookAttempt", "WebhookDelivery", "WebhookFanout"]
