"""Who is asking: a bearer token for the API, a signed session cookie for the web page.

Viewers read; operators also register, recheck and resolve. The API answers 401 without a
valid token and 403 when a viewer tries to write.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from worker.admin.tokens import Principal, TokenBook

bearer = HTTPBearer(auto_error=False, scheme_name="AdminToken",
                    description="An admin token from RESOLVER_ADMIN_TOKEN(S): viewer or operator.")

SESSION_NAME = "who"
SESSION_FINGERPRINT = "fp"


def token_book(request: Request) -> TokenBook:
    book: TokenBook = request.app.state.tokens
    return book


def reader(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
           ) -> Principal:
    principal = token_book(request).identify(credentials.credentials if credentials else None)
    if principal is None:
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
    # A fresh session on sign-in: nothing chosen before it (such as a planted CSRF token) stays.
    request.session.clear()
    request.session[SESSION_NAME] = principal.name
    request.session[SESSION_FINGERPRINT] = principal.fingerprint


def sign_out(request: Request) -> None:
    request.session.clear()
