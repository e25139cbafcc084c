"""The web page's resolve (with its confirmation step) and its four-eyes proposals.

Resolving is irreversible, so the transfer page's form does not resolve: its first POST shows
what would happen (outcome, amounts, ledger postings, whether a second operator must approve)
and a confirm button that posts the same choice again with `confirmed`. It works without
JavaScript; each POST carries the session's CSRF token. The confirmation also carries the
provider's amount it showed, so what is confirmed is what was seen.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from models.proposal import PROPOSAL_STATUSES
from worker.admin import actions, manual, proposals
from worker.admin.schemas import MAX_REASON_CHARS
from worker.admin.tokens import Principal
from worker.admin.web import Forbidden, Person, check_csrf, not_found, render, runtime_of
from worker.domain.money import InvalidMoney, parse_amount
from worker.domain.refusal import InvalidInput

pages = APIRouter(include_in_schema=False)


@pages.post("/transfers/{transfer_id}/resolve")
def resolve(request: Request, who: Person, transfer_id: int,
            csrf_token: Annotated[str, Form()] = "",
            outcome: Annotated[str, Form()] = "",
            reason: Annotated[str, Form()] = "",
            at_provider_amount: Annotated[str, Form()] = "",
            provider_amount: Annotated[str, Form()] = "",
            confirmed: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    _operator(who)
    runtime = runtime_of(request)
    at_provider = bool(at_provider_amount)
    back = RedirectResponse(f"/transfers/{transfer_id}", status_code=303)
    try:
        # The decision is checked before the confirmation is shown, not after.
        manual.read_resolution(outcome=outcome, reason=reason, by=who.name,
                               at_provider_amount=at_provider)
        seen = proposals.preview(runtime.engine, runtime.providers, transfer_id, outcome,
                                 at_provider_amount=at_provider)
        if not confirmed:
            return render(request, "resolve_confirm.html", {
                "p": seen, "reason": reason, "at_provider_amount": at_provider,
                "ttl": runtime.settings.proposal_ttl,
            })
        result = proposals.request_resolution(
            runtime.engine, runtime.providers, transfer_id, outcome, actor=who.name, reason=reason,
            at_provider_amount=at_provider, ttl=runtime.settings.proposal_ttl,
            expected_provider_amount=_amount(provider_amount) if at_provider else None)
    except actions.TransferNotFound:
        return not_found(request, f"No transfer {transfer_id}.")
    except (actions.ActionRefused, InvalidInput) as exc:
        request.session["form_error"] = str(exc)
        return back
    if isinstance(result, proposals.ProposalView):
        request.session["flash"] = (f"Proposal {result.id} made: another operator must approve "
                                    f"it before anything moves.")
    else:
        request.session["flash"] = f"Resolved by hand as {outcome}."
    return back


@pages.get("/proposals")
def proposal_list(request: Request, who: Person, status: str = "open") -> Response:
    if status not in (*PROPOSAL_STATUSES, "any"):
        status = "open"
    found = proposals.list_proposals(runtime_of(request).engine,
                                     status=None if status == "any" else status, limit=200)
    return render(request, "proposals.html", {"items": found, "status": status,
                                              "statuses": (*PROPOSAL_STATUSES, "any")})


@pages.get("/proposals/{proposal_id}")
def proposal_page(request: Request, who: Person, proposal_id: str) -> Response:
    number = int(proposal_id) if proposal_id.isascii() and proposal_id.isdigit() else 0
    try:
        view = proposals.get(runtime_of(request).engine, number)
    except proposals.ProposalNotFound:
        return not_found(request, f"No proposal {proposal_id}.")
    return render(request, "proposal.html", {"pr": view, "max_reason": MAX_REASON_CHARS,
                                             "error": request.session.pop("form_error", None)})


@pages.post("/proposals/{proposal_id}/approve")
def approve(request: Request, who: Person, proposal_id: int,
            csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    _operator(who)
    return _decide(request, proposal_id, lambda: proposals.approve(
        runtime_of(request).engine, proposal_id, actor=who.name))


@pages.post("/proposals/{proposal_id}/reject")
def reject(request: Request, who: Person, proposal_id: int,
           csrf_token: Annotated[str, Form()] = "",
           reason: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    _operator(who)
    return _decide(request, proposal_id, lambda: proposals.reject(
        runtime_of(request).engine, proposal_id, actor=who.name, reason=reason))


def _decide(request: Request, proposal_id: int, call: Any) -> Response:
    try:
        view: proposals.ProposalView = call()
    except proposals.ProposalNotFound:
        return not_found(request, f"No proposal {proposal_id}.")
    except (actions.ActionRefused, InvalidInput) as exc:
        request.session["form_error"] = str(exc)
    else:
        applied = sum(item.state == "applied" for item in view.items)
        refused = sum(item.state == "refused" for item in view.items)
        request.session["flash"] = (
            f"Proposal {view.id} {view.status}" + (
                f": {applied} applied, {refused} refused" if view.status == "approved" else "")
            + ".")
    return RedirectResponse(f"/proposals/{proposal_id}", status_code=303)


def _operator(who: Principal) -> None:
    if not who.role.may_write:
        raise Forbidden(f"{who.name} holds a viewer token: only operators resolve, propose, "
                        f"approve or reject.")


def _amount(text: str) -> Decimal | None:
    """The provider's amount the confirmation showed, posted back with it."""
    if not text:
        return None
    try:
        return parse_amount(text, "provider_amount")
    except InvalidMoney as exc:
        raise InvalidInput(exc.field, exc.message) from None
