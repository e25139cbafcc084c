"""The /bulk page: a filter in the query shows the preview; its form confirms with the
preview's fingerprint.

A confirmed recheck runs inside the POST, and the page is sent while it runs: a progress line
after each twentieth of the set, then every refusal and the transfers acted on. That keeps
the run and its progress in one request, with no run record for a page to poll and no run
left going after nobody watches: the browser shows progress as the response arrives, and if
it goes away the run stops between two transfers. The set is bounded by RESOLVER_BULK_MAX
(10,000): a recheck is one short transaction, about 5 ms on a busy 2-core machine (2,000 in
10 s), so the longest page takes under a minute.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse

from worker.admin import actions, auth, bulk, causes, inputs, queries
from worker.admin.schemas import MAX_REASON_CHARS, money, transfer_out
from worker.admin.web import (
    CSP,
    CSRF_FIELD,
    Forbidden,
    Person,
    check_csrf,
    csrf_token,
    render,
    runtime_of,
    templates,
)
from worker.domain.refusal import InvalidInput

pages = APIRouter(include_in_schema=False)

# The filter's fields as the query and the hidden form fields name them.
FIELDS = ("state", "provider", "cause", "currency", "registered_after", "registered_before",
          "older_than", "min_amount", "max_amount")
APPLIED_SHOWN = 200  # results listed one by one; refusals are always all listed
PROGRESS_LINES = 20  # a long run shows at most this many progress lines


def _chosen(values: Any) -> dict[str, str]:
    return {name: str(values.get(name) or "").strip() for name in (*FIELDS, "action", "outcome")}


def _parse(chosen: dict[str, str]) -> tuple[queries.TransferFilter, bulk.Action]:
    filters = inputs.transfer_filter(
        bulk.states(chosen["state"]), provider=chosen["provider"],
        older_than_text=chosen["older_than"], cause_text=chosen["cause"],
        currency_text=chosen["currency"], registered_after=chosen["registered_after"],
        registered_before=chosen["registered_before"], min_amount=chosen["min_amount"],
        max_amount=chosen["max_amount"])
    return filters, bulk.action(chosen["action"] or "recheck", chosen["outcome"] or None)


def _context(request: Request, chosen: dict[str, str]) -> dict[str, Any]:
    return {"chosen": chosen, "fields": FIELDS, "causes": causes.CAUSES,
            "providers": sorted(runtime_of(request).providers), "max_reason": MAX_REASON_CHARS,
            "list_link": "/transfers?" + urlencode(
                {k: v for k, v in chosen.items() if k in FIELDS and v})}


def _preview_context(found: bulk.Preview) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"preview": found,
            "totals": [f"{money(amount)} {currency}" for currency, amount in found.totals.items()],
            "first": [transfer_out(row, now) for row in found.first]}


@pages.get("/bulk")
def bulk_page(request: Request, who: Person) -> Response:
    chosen = _chosen(request.query_params)
    context = _context(request, chosen)
    if chosen["action"] == "resolve" and not chosen["outcome"]:
        return render(request, "bulk.html", {**context, "note": "Choose the outcome to see "
                                                                "what a resolution would take."})
    runtime = runtime_of(request)
    try:
        filters, act = _parse(chosen)
        found = bulk.preview(runtime.engine, filters, act, limit=runtime.settings.bulk_max)
    except (InvalidInput, bulk.BulkRefused) as exc:
        status = 409 if isinstance(exc, bulk.BulkRefused) else 400
        return render(request, "bulk.html", {**context, "error": str(exc)}, status=status)
    return render(request, "bulk.html", {**context, **_preview_context(found)})


def _posted(state: Annotated[str, Form()] = "", provider: Annotated[str, Form()] = "",
            cause: Annotated[str, Form()] = "", currency: Annotated[str, Form()] = "",
            registered_after: Annotated[str, Form()] = "",
            registered_before: Annotated[str, Form()] = "",
            older_than: Annotated[str, Form()] = "", min_amount: Annotated[str, Form()] = "",
            max_amount: Annotated[str, Form()] = "", action: Annotated[str, Form()] = "",
            outcome: Annotated[str, Form()] = "") -> dict[str, str]:
    """The filter and action the confirm form carries back in hidden fields."""
    return _chosen(locals())


@pages.post("/bulk")
def bulk_confirm(request: Request, who: Person, posted: Annotated[dict[str, str],
                                                                  Depends(_posted)],
                 csrf_token: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
                 fingerprint: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    if not who.role.may_write:
        raise Forbidden(f"{who.name} holds a viewer token: only operators act on transfers.")
    context = _context(request, posted)
    runtime = runtime_of(request)
    try:
        filters, act = _parse(posted)
    except InvalidInput as exc:
        return render(request, "bulk.html", {**context, "error": str(exc)}, status=400)
    try:
        confirmation = bulk.confirmed(runtime.engine, filters, act, fingerprint, actor=who.name,
                                      reason=reason, limit=runtime.settings.bulk_max)
        if act.kind == "recheck":
            return _stream_rechecks(request, context, confirmation)
        run = bulk.execute(runtime.engine, confirmation, ttl=runtime.settings.proposal_ttl)
    except (InvalidInput, actions.ActionRefused) as exc:
        status = 400 if isinstance(exc, InvalidInput) else 409
        fresh: dict[str, Any] = {}
        with contextlib.suppress(bulk.BulkRefused):  # the set now, with a new fingerprint
            fresh = _preview_context(bulk.preview(runtime.engine, filters, act,
                                                  limit=runtime.settings.bulk_max))
        return render(request, "bulk.html", {**context, **fresh, "error": str(exc),
                                             "reason": reason}, status=status)
    return render(request, "bulk_done.html", {**context, **_shown(run)})


def _shown(run: bulk.Run) -> dict[str, Any]:
    """Every refusal, and the first APPLIED_SHOWN of the transfers acted on."""
    applied = [r for r in run.results if r.status == "applied"]
    shown = [r for r in run.results if r.status != "applied"] + applied[:APPLIED_SHOWN]
    return {"run": run, "shown": shown, "hidden": len(run.results) - len(shown)}


def _stream_rechecks(request: Request, context: dict[str, Any],
                     confirmation: bulk.Confirmed) -> Response:
    """The results page, sent while the rechecks run: a line per chunk done, then the results.

    The template loops over `steps`, which rechecks a chunk before each line it yields, so the
    browser shows the progress as it is made. The run lives in this request: if the browser
    goes away, the generator stops between two transfers, and each transfer acted on so far
    keeps its audit record (with the bulk id).
    """
    engine = runtime_of(request).engine
    ids, results = confirmation.ids, []
    step = max(1, -(-len(ids) // PROGRESS_LINES))

    def steps() -> Iterator[int]:
        for start in range(0, len(ids), step):
            results.extend(bulk.recheck_each(
                engine, ids[start:start + step], actor=confirmation.actor,
                reason=confirmation.reason, bulk_id=confirmation.bulk_id))
            yield len(results)

    def finish() -> dict[str, Any]:
        return _shown(bulk.Run(confirmation.bulk_id, confirmation.action, results))

    nonce = secrets.token_urlsafe(16)
    body = templates.get_template("bulk_done.html").generate({
        "request": request, "nonce": nonce, "csrf": csrf_token(request),
        "csrf_field": CSRF_FIELD, "now": datetime.now(UTC),
        "who": auth.session_principal(request), **context,
        "steps": steps(), "total": len(ids), "finish": finish,
        "bulk_id": confirmation.bulk_id})
    response = StreamingResponse(body, media_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = CSP.format(nonce=nonce)
    return response
