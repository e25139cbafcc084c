"""The JSON API under /api/v1, and /healthz, /readyz and /metrics. Every route but those three
needs a bearer token.

Routes stay thin: they check input, call the shared queries and actions, and shape the answer
with `worker.admin.schemas`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from resolver_consumer import outbox
from worker.admin import actions, inputs, proposals, queries, review_queries
from worker.admin.auth import Operator, Reader
from worker.admin.manual import ResolveBody
from worker.admin.proposal_schemas import ProposalOut, proposal_out
from worker.admin.schemas import (
    ActionResult,
    Balances,
    ErrorBody,
    EventsPage,
    Health,
    Liveness,
    RecheckBody,
    RegisterResult,
    ReviewOut,
    StateFilter,
    StatsOut,
    TransferDetail,
    TransferPage,
    action_result,
    balances,
    review_out,
    stats_out,
    transfer_detail,
    transfer_page,
)
from worker.domain.refusal import InvalidInput
from worker.engine.intake import service
from worker.engine.intake.registration import ConflictError
from worker.engine.intake.request import Registration
from worker.engine.resolve import ledger
from worker.process import heartbeat
from worker.process.db import transaction
from worker.process.runtime import Runtime


class ApiProblem(Exception):
    """An answer other than success: becomes {"detail": ..., "field": ...} with its status."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field


def problem_response(problem: ApiProblem) -> JSONResponse:
    body = ErrorBody(detail=problem.detail, field=problem.field)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=problem.status)


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    meaning = {
        401: "No valid bearer token.",
        403: "The token is a viewer's; this needs an operator.",
        404: "No such transfer.",
        409: "The transfer's state does not allow this, or the tx_id is taken with other facts.",
        413: "The body is larger than RESOLVER_ADMIN_MAX_BODY_BYTES.",
        422: "A parameter or a field of the body is invalid; `field` names it.",
        429: "Too many wrong tokens from this address: wait Retry-After seconds.",
    }
    return {status: {"model": ErrorBody, "description": meaning[status]} for status in statuses}


api = APIRouter(prefix="/api/v1", tags=["admin"], responses=_errors(401, 413, 422, 429))
health = APIRouter(tags=["health"])

# Query text is kept to printable characters: nothing else can be a provider or a tx_id.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
TransferId = Annotated[int, Path(ge=1, le=queries.MAX_ID, description="The transfer's id.")]


def runtime_of(request: Request) -> Runtime:
    found: Runtime = request.app.state.runtime
    return found


def _now() -> datetime:
    return datetime.now(UTC)


def _input(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except InvalidInput as exc:
        raise ApiProblem(422, exc.message, exc.field) from None


# The body is taken as whatever JSON was sent and read by the service with intake's own model
# (`Registration`), the one every other way in uses and whose schema the OpenAPI document
# shows: letting FastAPI read it first would answer some mistakes in its own words; no body at
# all is the model's "not an object" too.
@api.post("/transfers", status_code=201, response_model=RegisterResult,
          responses={200: {"model": RegisterResult,
                           "description": "Already registered with the same facts."},
                     201: {"description": "Registered now."},
                     **_errors(403, 409)},
          openapi_extra={"requestBody": {"required": True, "content": {
              "application/json": {"schema": Registration.model_json_schema()}}}})
def register_transfer(request: Request, who: Operator,
                      body: Annotated[Any, Body()] = None) -> JSONResponse:
    """Register a transfer whose call timed out: the same rules as every other intake."""
    try:
        result = service.register(runtime_of(request), body, by=f"api:{who.name}")
    except InvalidInput as exc:
        raise ApiProblem(422, exc.message, exc.field) from None
    except ConflictError as exc:
        raise ApiProblem(409, str(exc), exc.field) from None
    shaped = RegisterResult.model_validate(result).model_dump(mode="json")
    return JSONResponse(shaped, status_code=201 if result["created"] else 200)


@api.get("/transfers", response_model=TransferPage)
def list_transfers(
    request: Request,
    who: Reader,
    state: Annotated[
        StateFilter | None,
        Query(description="One state, or `open` for every state that is not final.")] = None,
    provider: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    older_than: Annotated[str | None, Query(
        max_length=32, pattern=PRINTABLE,
        description="Registered at least this long ago: 90s, 10m, 1h, 2d.")] = None,
    tx_id: Annotated[str | None, Query(max_length=128, pattern=PRINTABLE)] = None,
    contradicted: Annotated[bool, Query(
        description="Only transfers whose final state a caller's answer contradicted.")] = False,
    cause: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE,
                                       description="A cause code (auth, max_age, ...).")] = None,
    currency: Annotated[str | None, Query(max_length=10, pattern=PRINTABLE)] = None,
    registered_after: Annotated[str | None, Query(
        max_length=40, pattern=PRINTABLE,
        description="At or after: ISO 8601 with offset, or a duration ago (2h).")] = None,
    registered_before: Annotated[str | None, Query(
        max_length=40, pattern=PRINTABLE,
        description="Before: ISO 8601 with offset, or a duration ago (2h).")] = None,
    min_amount: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE,
                                            description="At least, such as 100.00.")] = None,
    max_amount: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE,
                                        description="`next_cursor` of the page before.")] = None,
) -> TransferPage:
    """Transfers, oldest registered first, a page at a time."""
    filters = _input(lambda: inputs.transfer_filter(
        _states(state), provider=provider, tx_id=tx_id, older_than_text=older_than,
        contradicted=contradicted, cause_text=cause, currency_text=currency,
        registered_after=registered_after, registered_before=registered_before,
        min_amount=min_amount, max_amount=max_amount))
    after = _input(inputs.cursor, cursor)
    now = _now()
    with transaction(runtime_of(request).engine) as session:
        page = queries.list_transfers(session, filters, now, limit=limit, cursor=after)
        return transfer_page(page, now)


def _states(state: str | None) -> tuple[str, ...]:
    if state is None:
        return queries.ALL_STATES
    if state == "open":
        return queries.OPEN_STATES
    return (state,)


@api.get("/transfers/{transfer_id}", response_model=TransferDetail, responses=_errors(404))
def get_transfer(transfer_id: TransferId, request: Request, who: Reader) -> TransferDetail:
    """A transfer with its checks, ledger entries, events and audit records."""
    now = _now()
    with transaction(runtime_of(request).engine) as session:
        history = queries.history(session, transfer_id)
        if history is None:
            raise ApiProblem(404, f"no transfer with id {transfer_id}")
        return transfer_detail(history, now)


@api.post("/transfers/{transfer_id}/recheck", response_model=ActionResult,
          responses=_errors(403, 404, 409))
def recheck_transfer(transfer_id: TransferId, request: Request, who: Operator,
                     body: RecheckBody | None = None) -> ActionResult:
    """Make it due now; a transfer under review goes back to pending for one more look."""
    reason = body.reason if body else None
    return _act(request, lambda: actions.recheck(runtime_of(request).engine, transfer_id,
                                                 actor=who.name, reason=reason))


@api.post("/transfers/{transfer_id}/resolve", response_model=ActionResult,
          responses={202: {"model": ProposalOut,
                           "description": "At or above the instance's four-eyes limit: a "
                                          "proposal, applied once another operator approves."},
                     **_errors(403, 404, 409)})
def resolve_transfer(transfer_id: TransferId, body: ResolveBody, request: Request,
                     who: Operator) -> Any:
    """Settle a pending or needs_review transfer by hand; the token's name is the actor.

    200 when applied; 202 with the proposal when a second operator must approve it."""
    runtime = runtime_of(request)
    result = refusals_answered(lambda: proposals.request_resolution(
        runtime.engine, runtime.providers, transfer_id, body.outcome, actor=who.name,
        reason=body.reason, at_provider_amount=body.at_provider_amount,
        ttl=runtime.settings.proposal_ttl))
    if isinstance(result, proposals.ProposalView):
        return JSONResponse(proposal_out(result).model_dump(mode="json"), status_code=202)
    return _act(request, lambda: result)


def refusals_answered(action: Any) -> Any:
    """Run an admin action, answering its refusals in this API's words: no such transfer or
    proposal 404, refused 409, invalid input 422 naming the field."""
    try:
        return action()
    except (actions.TransferNotFound, proposals.ProposalNotFound) as exc:
        raise ApiProblem(404, str(exc)) from None
    except actions.ActionRefused as exc:
        raise ApiProblem(409, str(exc)) from None
    except InvalidInput as exc:
        raise ApiProblem(422, exc.message, exc.field) from None


def _act(request: Request, action: Any) -> ActionResult:
    applied: actions.Applied = refusals_answered(action)
    with transaction(runtime_of(request).engine) as session:
        row = queries.transfer(session, applied.transfer_id)
        assert row is not None
        return action_result(row, queries.audit_record(session, applied.audit_id), _now())


@api.get("/ledger/accounts", response_model=Balances)
def ledger_accounts(request: Request, who: Reader) -> Balances:
    """Every account's balance, and each currency's total (zero when the books are right)."""
    with transaction(runtime_of(request).engine) as session:
        return balances(ledger.balances(session))


@api.get("/events", response_model=EventsPage)
def list_events(
    request: Request,
    who: Reader,
    after: Annotated[int, Query(ge=0, le=queries.MAX_ID,
                                description="The last seq already handled.")] = 0,
    limit: Annotated[int, Query(ge=1, le=outbox.MAX_PAGE)] = 100,
) -> EventsPage:
    """The outbox in order, for consumers that replay what they missed."""
    found = outbox.events_after(runtime_of(request).engine, after, limit)
    return EventsPage.model_validate({
        "items": found,
        "next_after": found[-1]["seq"] if found else after,
    })


@api.get("/stats", response_model=StatsOut)
def stats(request: Request, who: Reader) -> StatsOut:
    """Counts by provider and state, pending by age, the oldest pending, recent resolutions."""
    now = _now()
    with transaction(runtime_of(request).engine) as session:
        return stats_out(queries.stats(session, now), now)


@api.get("/review", response_model=ReviewOut)
def review(
    request: Request,
    who: Reader,
    pending_older_than: Annotated[str | None, Query(
        max_length=32, pattern=PRINTABLE,
        description="Pending transfers count once registered this long ago: 30m, 1h (the "
                    "default), 2d.")] = None,
) -> ReviewOut:
    """What waits for a person, by instance, state and cause: count, totals per currency,
    the oldest, the list of those transfers and the bulk actions that apply."""
    stuck_after = _input(review_queries.stuck_after, pending_older_than)
    now = _now()
    with transaction(runtime_of(request).engine) as session:
        return review_out(review_queries.review_groups(session, now, stuck_after),
                          stuck_after, now)


@health.get("/healthz", response_model=Liveness)
def healthz() -> Liveness:
    """Liveness, no token needed: the process answers. It touches neither Postgres nor Redis.

    A liveness probe that failed with the database would have every admin restarted during a
    database outage, which mends nothing; whether it can serve is /readyz's question.
    """
    return Liveness(status="ok")


@health.get("/readyz", response_model=Health,
            responses={503: {"model": Health, "description": "Postgres or Redis unreachable."}})
def readyz(request: Request) -> JSONResponse:
    """Readiness, no token needed: are Postgres and Redis reachable (503 if not), and when did
    the sweep last run (reported, not judged: the sweep is beat's business, not the admin's)."""
    runtime = runtime_of(request)
    try:
        with transaction(runtime.engine) as session:
            postgres = queries.database_reachable(session)
    except Exception:  # any failure to reach the database is the answer, not an error
        postgres = False
    try:
        redis_up = bool(runtime.redis.ping())
        since = heartbeat.seconds_since(runtime.redis, heartbeat.SWEEP)
    except Exception:
        redis_up, since = False, None
    ok = postgres and redis_up
    body = Health(status="ok" if ok else "degraded", postgres=postgres, redis=redis_up,
                  seconds_since_sweep=None if since is None else round(since, 3))
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


@health.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """No token needed, like /healthz: Prometheus' text format (worker.metrics.state).

    What it shows is counts and sums, never a transfer, a player or a secret; put the admin
    app behind a network boundary if even those figures must stay inside.
    """
    body = generate_latest(request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
