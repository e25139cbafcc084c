"""The admin server: the JSON API, /healthz, /readyz and the web page in one FastAPI application.

`create_app()` builds it over a runtime (tests pass their own). The token settings are read
once, here, so a mistake in them stops start-up instead of failing the first request.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from worker.admin import (
    api,
    auth,
    bulk_api,
    bulk_web,
    docs,
    errors,
    proposal_api,
    proposal_web,
    web,
)
from worker.admin.body_limit import BodyLimit
from worker.admin.login_guard import LoginGuard
from worker.admin.schemas import ErrorBody
from worker.admin.sessions import ServerSessions, SessionStore
from worker.admin.tokens import TokenBook, parse_tokens
from worker.metrics import state
from worker.process import tracing
from worker.process.runtime import Runtime, current_runtime

SESSION_COOKIE = "resolver_session"
SESSION_MAX_AGE_S = 8 * 3600
SECURE_COOKIE_ENV = "RESOLVER_SESSION_SECURE"


def create_app(runtime_factory: Callable[[], Runtime] = current_runtime,
               tokens: TokenBook | None = None) -> FastAPI:
    runtime = runtime_factory()
    tracing.setup(runtime.settings, "resolver-admin", runtime.engine)
    app = FastAPI(
        title="transfer-resolver admin API",
        version="1",
        description="Inspect, recheck and resolve transfers whose outcome is unknown. "
                    "Every route but /healthz, /readyz and /metrics needs a bearer token.",
        # The schema is served below, behind a token; the interactive docs are worker.admin.docs
        # (behind the web session, Swagger UI served from this machine).
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.tokens = tokens or parse_tokens(runtime.settings.admin_token,
                                              runtime.settings.admin_tokens)
    app.state.metrics = state.admin_registry(runtime.engine, runtime.redis, list(runtime.providers))
    app.state.login_guard = LoginGuard(runtime.redis, runtime.settings.admin_failed_token_limit,
                                       runtime.settings.admin_failed_token_window_s)
    app.state.session_max_age_s = SESSION_MAX_AGE_S

    app.include_router(api.health)
    app.include_router(api.api)
    app.include_router(bulk_api.api)
    app.include_router(proposal_api.router)
    app.include_router(web.pages)
    app.include_router(docs.docs)
    app.include_router(bulk_web.pages)
    app.include_router(proposal_web.pages)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_: auth.Reader) -> dict[str, Any]:
        return app.openapi()

    app.add_exception_handler(api.ApiProblem, _problem)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(web.SignInRequired, web.sign_in_redirect)
    app.add_exception_handler(web.Forbidden, web.forbidden_page)
    app.add_exception_handler(Exception, errors.unexpected)
    app.middleware("http")(_protective_headers)
    app.add_middleware(
        ServerSessions,
        store=SessionStore(runtime.redis),
        cookie=SESSION_COOKIE,
        secure=os.environ.get(SECURE_COOKIE_ENV, "").lower() in {"1", "true", "yes"},
    )
    # Outermost but for Starlette's own error handler: no body is read before it is checked.
    app.add_middleware(BodyLimit, max_bytes=runtime.settings.admin_max_body_bytes)
    return app


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, api.ApiProblem)
    return api.problem_response(exc)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's validation errors in this API's shape: one message naming the field."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    if not request.url.path.startswith("/api/"):  # a web page's form or address
        return web.invalid_form_page(request, str(first.get("loc", ("",))[0]))
    location = [str(part) for part in first.get("loc", ())]
    field = location[-1] if len(location) > 1 else (location[0] if location else None)
    if first.get("type") == "json_invalid":
        field = "body"
    detail = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
    body = ErrorBody(detail=detail, field=field)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode at all (not UTF-8, say): an invalid body
        # like any other, so 422 as documented.
        body = ErrorBody(detail="body: could not be read as JSON", field="body")
        return JSONResponse(body.model_dump(), status_code=422)
    return await http_exception_handler(request, exc)


async def _protective_headers(request: Request,
                              call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if not request.url.path.startswith("/static/"):
        # Transfer data and tokens' effects must not linger in shared caches or history.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


__all__ = ["create_app"]
