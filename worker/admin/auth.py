"""Who is asking: a bearer token for the API, a session (worker.admin.sessions) for the page.

Viewers read; operators also register, recheck and resolve. The API answers 401 without a
valid token, 403 when a viewer tries to write, and 429 to an address that has presented too
many wrong tokens lately (worker.admin.login_guard).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from worker.admin import login_guard, sessions
from worker.admin.tokens import Principal, TokenBook

bearer = HTTPBearer(auto_error=False, scheme_name="AdminToken",
                    description="An admin token from RESOLVER_ADMIN_TOKEN(S): viewer or operator.")

SESSION_NAME = "who"
SESSION_FINGERPRINT = "fp"


def token_book(request: Request) -> TokenBook:
    book: TokenBook = request.app.state.tokens
    return book


def guard(request: Request) -> login_guard.LoginGuard:
    found: login_guard.LoginGuard = request.app.state.login_guard
    return found


def reader(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
           ) -> Principal:
    if credentials is None:
        raise HTTPException(401, "a valid bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    address = login_guard.client_address(request)
    blocked = guard(request).check(address)
    if blocked is not None:
        raise HTTPException(429, "too many wrong tokens from this address; try again in "
                                 f"{blocked.retry_after_s} s",
                            headers={"Retry-After": str(blocked.retry_after_s)})
    principal = token_book(request).identify(credentials.credentials)
    if principal is None:
        guard(request).failed(address)
        raise HTTPException(401, "a valid bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


def operator(principal: Annotated[Principal, Depends(reader)]) -> Principal:
    if not principal.role.may_write:
        raise HTTPException(403, f"{principal.name} holds a viewer token; this needs an operator")
    return principal


Reader = Annotated[Principal, Depends(reader)]
Operator = Annotated[Principal, Depends(operator)]


def session_principal(request: Request) -> Principal | None:
    """The signed-in person of a web request, or None."""
    return token_book(request).session_holder(request.session.get(SESSION_NAME),
                                              request.session.get(SESSION_FINGERPRINT))


def sign_in(request: Request, principal: Principal) -> None:
    # A fresh session under a new id on sign-in: nothing chosen before it (a planted cookie or
    # CSRF token) carries over into the signed-in session.
    sessions.session_of(request).renew(request.app.state.session_max_age_s)
    request.session[SESSION_NAME] = principal.name
    request.session[SESSION_FINGERPRINT] = principal.fingerprint


def sign_out(request: Request) -> None:
    # The record goes from Redis: a copy of the cookie taken before is worth nothing now.
    sessions.session_of(request).end()
