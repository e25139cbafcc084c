"""The admin web page: server-rendered, signed in with a token, every form CSRF-protected.

The page runs on the same queries and actions as the API. A session kept in Redis remembers who
signed in (the name and a fingerprint of the token, never the token); the browser holds only
its random id, in an HttpOnly, SameSite=Lax cookie (worker.admin.sessions). Every POST carries
the session's CSRF token in a hidden field.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from worker.admin import (
    actions,
    auth,
    causes,
    formatting,
    inputs,
    login_guard,
    oldest,
    proposals,
    queries,
    review_queries,
)
from worker.admin.schemas import (
    MAX_REASON_CHARS,
    review_out,
    stats_out,
    transfer_detail,
    transfer_out,
)
from worker.admin.tokens import Principal
from worker.domain import types
from worker.domain.refusal import InvalidInput
from worker.engine.check import throttle
from worker.process import heartbeat
from worker.process.db import transaction
from worker.process.runtime import Runtime

REFRESH_S = 15
PAGE_SIZE = 50
CSRF_FIELD = "csrf_token"
# Scripts only with this response's nonce (the dashboard's refresh); styles only from /static.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "script-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters.update(utc=formatting.utc, ago=formatting.relative, span=formatting.span,
                             short=formatting.short)
pages = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    """A page was asked for without a session: send the browser to sign in, then back."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def signed_in(request: Request) -> Principal:
    principal = auth.session_principal(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return principal


Person = Annotated[Principal, Depends(signed_in)]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, submitted: str) -> None:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(),
                                                                submitted.encode()):
        raise Forbidden("This form has expired or did not come from this site. "
                        "Reload the page and try again.")


def render(request: Request, template: str, context: Mapping[str, Any],
           status: int = 200) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    response = templates.TemplateResponse(request, template, {
        "nonce": nonce,
        "csrf": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "flash": request.session.pop("flash", None),
        "now": datetime.now(UTC),
        "who": auth.session_principal(request),
        **context,
    }, status_code=status)
    response.headers["Content-Security-Policy"] = CSP.format(nonce=nonce)
    return response


def not_found(request: Request, message: str) -> HTMLResponse:
    return render(request, "error.html", {"title": "Not found", "message": message}, status=404)


def runtime_of(request: Request) -> Runtime:
    found: Runtime = request.app.state.runtime
    return found


def _safe_next(path: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"


@pages.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if auth.session_principal(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next)})


@pages.post("/login")
def login(request: Request, token: Annotated[str, Form()] = "",
          csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    check_csrf(request, csrf_token)
    address = login_guard.client_address(request)
    blocked = auth.guard(request).check(address)
    if blocked is not None:
        refused = render(request, "login.html", {
            "next": _safe_next(next),
            "error": f"Too many wrong tokens from your address. Try again in "
                     f"{blocked.retry_after_s} s."}, status=429)
        refused.headers["Retry-After"] = str(blocked.retry_after_s)
        return refused
    principal = auth.token_book(request).identify(token.strip())
    if principal is None:
        auth.guard(request).failed(address)
        return render(request, "login.html", {"next": _safe_next(next),
                                              "error": "That token is not valid."}, status=401)
    auth.sign_in(request, principal)
    return RedirectResponse(_safe_next(next), status_code=303)


@pages.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    auth.sign_out(request)
    return RedirectResponse("/login", status_code=303)


@pages.get("/")
def dashboard(request: Request, who: Person) -> Response:
    now = datetime.now(UTC)
    runtime = runtime_of(request)
    with transaction(runtime.engine) as session:
        stats = stats_out(queries.stats(session, now), now)
        review = queries.list_transfers(
            session, queries.TransferFilter(states=("needs_review",)), now, limit=100)
        checks = queries.provider_health(session, now)
        by_cause = review_out(review_queries.review_groups(session, now),
                              review_queries.STUCK_AFTER, now)
        oldest_open = oldest.oldest_open(session, now)
    try:
        since_sweep = heartbeat.seconds_since(runtime.redis, heartbeat.SWEEP)
        breakers: dict[str, throttle.BreakerState] | None = throttle.breaker_states(
            runtime.redis, sorted(runtime.providers), now.timestamp())
    except Exception:  # Redis down: the page still shows what Postgres knows
        since_sweep, breakers = None, None
    return render(request, "dashboard.html", {
        "stats": stats,
        "oldest_open": oldest_open,
        "table": _pivot(stats.counts, runtime),
        "review": [transfer_out(row, now) for row in review.items],
        "review_more": review.next_cursor is not None,
        "biggest_bucket": max([b.count for b in stats.pending_by_age] + [1]),
        "since_sweep": since_sweep,
        "health": _health(runtime, checks, breakers),
        "health_window": queries.HEALTH_WINDOW,
        "refresh_s": REFRESH_S,
        "by_cause": by_cause,
    })


def _health(runtime: Runtime, checks: dict[str, queries.CheckHealth],
            breakers: dict[str, throttle.BreakerState] | None) -> list[dict[str, Any]]:
    """A row per instance, configured or with checks in the window: breaker, outcomes, p95."""
    empty = queries.CheckHealth(0, {}, None)
    return [{"provider": name, "configured": name in runtime.providers,
             "checks": checks.get(name, empty),
             "breaker": None if breakers is None else breakers.get(name)}
            for name in sorted(set(runtime.providers) | set(checks))]


def _pivot(counts: list[Any], runtime: Runtime) -> dict[str, Any]:
    """Counts as a table: a row per provider (every configured one), a column per state."""
    rows: dict[str, dict[str, int]] = {name: {} for name in sorted(runtime.providers)}
    for count in counts:
        rows.setdefault(count.provider, {})[count.state] = count.count
    totals = {state: sum(row.get(state, 0) for row in rows.values())
              for state in queries.ALL_STATES}
    return {"states": queries.ALL_STATES, "rows": rows, "totals": totals}


# The list's filter fields beyond state and contradicted, as the query names them.
FILTER_FIELDS = ("provider", "older_than", "tx_id", "cause", "currency", "registered_after",
                 "registered_before", "min_amount", "max_amount")


@pages.get("/transfers")
def transfer_list(request: Request, who: Person, state: str = "open", contradicted: str = "",
                  cursor: str = "") -> Response:
    now = datetime.now(UTC)
    chosen = {"state": state, "contradicted": "1" if contradicted else "",
              **{name: request.query_params.get(name, "").strip() for name in FILTER_FIELDS}}
    context: dict[str, Any] = {"filters": chosen,
                               "states": ("open", "any", *queries.ALL_STATES),
                               "providers": sorted(runtime_of(request).providers),
                               "causes": causes.CAUSES}
    try:
        if state not in context["states"]:
            raise InvalidInput("state", "choose one of the listed states")
        filters = inputs.transfer_filter(
            {"open": queries.OPEN_STATES, "any": queries.ALL_STATES}.get(state, (state,)),
            provider=chosen["provider"], tx_id=chosen["tx_id"],
            older_than_text=chosen["older_than"], contradicted=bool(chosen["contradicted"]),
            cause_text=chosen["cause"], currency_text=chosen["currency"],
            registered_after=chosen["registered_after"],
            registered_before=chosen["registered_before"],
            min_amount=chosen["min_amount"], max_amount=chosen["max_amount"])
        after = inputs.cursor(cursor)
    except InvalidInput as exc:
        return render(request, "transfers.html", {**context, "error": str(exc), "items": []},
                      status=400)
    with transaction(runtime_of(request).engine) as session:
        page = queries.list_transfers(session, filters, now, limit=PAGE_SIZE, cursor=after)
    next_link = None
    if page.next_cursor:
        next_link = "/transfers?" + urlencode({**chosen, "cursor": page.next_cursor})
    return render(request, "transfers.html", {
        **context,
        "items": [transfer_out(row, now) for row in page.items],
        "next_link": next_link,
        "first_page": not cursor,
        "bulk_query": _bulk_query(chosen),
    })


def _bulk_query(chosen: dict[str, str]) -> str | None:
    """The list's filter as /bulk takes it, when bulk actions can take it."""
    if chosen["state"] not in ("open", *types.ACTIONABLE_STATES) or chosen["tx_id"] \
            or chosen["contradicted"]:
        return None
    return urlencode({name: value for name, value in chosen.items() if value})


@pages.get("/transfers/{transfer_id}")
def transfer_page(request: Request, who: Person, transfer_id: str) -> Response:
    now = datetime.now(UTC)
    number = inputs.transfer_id(transfer_id) or 0
    with transaction(runtime_of(request).engine) as session:
        history = queries.history(session, number)
    if history is None:
        return not_found(request, f"No transfer {transfer_id}.")
    return render(request, "transfer.html", {
        "t": transfer_detail(history, now),
        "max_reason": MAX_REASON_CHARS,
        "error": request.session.pop("form_error", None),
        # Four-eyes: the transfer's open proposal, and the provider's amount it may settle at.
        "proposal": proposals.open_proposal_of(runtime_of(request).engine, number, now),
        "provider_amount": proposals.provider_amount_offer(runtime_of(request).engine, number),
    })


@pages.post("/transfers/{transfer_id}/recheck")
def recheck(request: Request, who: Person, transfer_id: int,
            csrf_token: Annotated[str, Form()] = "",
            reason: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    return _act(request, who, transfer_id, "Recheck requested: the transfer is due now.",
                lambda: actions.recheck(runtime_of(request).engine, transfer_id,
                                        actor=who.name, reason=reason))


# POST /transfers/{id}/resolve, with its confirmation step, lives in worker.admin.proposal_web.


def _act(request: Request, who: Principal, transfer_id: int, done: str, action: Any
         ) -> Response:
    if not who.role.may_write:
        raise Forbidden(f"{who.name} holds a viewer token: only operators recheck or resolve.")
    try:
        action()
        request.session["flash"] = done
    except actions.TransferNotFound:
        return not_found(request, f"No transfer {transfer_id}.")
    except (actions.ActionRefused, InvalidInput) as exc:
        request.session["form_error"] = str(exc)
    return RedirectResponse(f"/transfers/{transfer_id}", status_code=303)


def sign_in_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse("/login?" + urlencode({"next": exc.next_path}), status_code=303)


def invalid_form_page(request: Request, location: str) -> Response:
    """A web form or page address FastAPI could not read (`/transfers/²/recheck`): a page in
    the console's words, never the API's JSON. A path that names nothing is not found."""
    if location == "path":
        return not_found(request, "Nothing is at this address.")
    return render(request, "error.html", {"title": "Bad request",
                                          "message": "The form could not be read; go back "
                                                     "and try again."}, status=400)


def forbidden_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    return render(request, "error.html", {"title": "Not allowed", "message": exc.message},
                  status=403)
