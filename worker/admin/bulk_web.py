"""The /bulk page: a filter in the query shows the preview; its form confirms with the
preview's fingerprint.

The confirmation runs inside the POST and the page shows every transfer's result when it is
done. That is a choice for a bounded wait over a run record and a polling page: the set is at
most RESOLVER_BULK_MAX transfers and a recheck is one short transaction each (about 2 ms:
10,000 take under half a minute), and a run that lives in the request cannot be left half done
by a page nobody polls. The command line shows progress, for runs someone wants to watch.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from worker.admin import bulk, causes, inputs, queries
from worker.admin.schemas import MAX_REASON_CHARS, money, transfer_out
from worker.admin.web import Forbidden, Person, check_csrf, render, runtime_of

pages = APIRouter(include_in_schema=False)

# The filter's fields as the query and the hidden form fields name them.
FIELDS = ("state", "provider", "cause", "currency", "registered_after", "registered_before",
          "older_than", "min_amount", "max_amount")
APPLIED_SHOWN = 200  # results listed one by one; refusals are always all listed


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
    rt = runtime_of(request)
    try:
        filters, act = _parse(chosen)
        found = bulk.preview(rt.engine, filters, act, limit=rt.settings.bulk_max)
    except (inputs.InvalidInput, bulk.BulkRefused) as exc:
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
    rt = runtime_of(request)
    try:
        filters, act = _parse(posted)
    except inputs.InvalidInput as exc:
        return render(request, "bulk.html", {**context, "error": str(exc)}, status=400)
    try:
        run = bulk.confirm(rt.engine, filters, act, fingerprint, actor=who.name, reason=reason,
                           limit=rt.settings.bulk_max)
    except (inputs.InvalidInput, bulk.BulkRefused, bulk.NotAvailableYet) as exc:
        status = {bulk.BulkRefused: 409, bulk.NotAvailableYet: 501}.get(type(exc), 400)
        fresh: dict[str, Any] = {}
        with contextlib.suppress(bulk.BulkRefused):  # the set now, with a new fingerprint
            fresh = _preview_context(bulk.preview(rt.engine, filters, act,
                                                  limit=rt.settings.bulk_max))
        return render(request, "bulk.html", {**context, **fresh, "error": str(exc),
                                             "reason": reason}, status=status)
    shown = [r for r in run.results if r.status != "applied"] + \
        [r for r in run.results if r.status == "applied"][:APPLIED_SHOWN]
    return render(request, "bulk_done.html", {**context, "run": run, "shown": shown,
                                              "hidden": len(run.results) - len(shown)})
