"""The answer to an error nobody foresaw: generic, with a reference that finds it in the log.

Without this, an unexpected exception reached the client as Starlette's bare "Internal Server
Error" or, worse, as a page naming an internal class. Here the client gets a short message and
a random reference; the log gets the same reference with the whole traceback.
"""

from __future__ import annotations

import logging
import secrets

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

log = logging.getLogger("worker.admin")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Something went wrong · transfer-resolver</title>
<link rel="stylesheet" href="/static/admin.css"></head>
<body><main id="content"><h1>Something went wrong</h1>
<p class="error" role="alert">The server could not answer this request. Nothing was lost by
trying; if it happens again, give your administrator this reference: <code>{ref}</code>.</p>
<p><a href="/">Back to the dashboard</a></p></main></body></html>
"""


def correlation_id() -> str:
    return secrets.token_hex(8)


def wants_json(request: Request) -> bool:
    path = request.url.path
    return (path.startswith("/api/") or path in {"/openapi.json", "/healthz", "/readyz"}
            or "application/json" in request.headers.get("accept", ""))


async def unexpected(request: Request, exc: Exception) -> Response:
    """Any exception no other handler took: 500, a reference, and the traceback in the log."""
    ref = correlation_id()
    log.error("unexpected error %s on %s %s", ref, request.method, request.url.path,
              exc_info=exc)
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if wants_json(request):
        return JSONResponse({"detail": f"internal error (reference {ref})"}, status_code=500,
                            headers=headers)
    # A self-contained page: the usual one needs the session, which may be what failed.
    return HTMLResponse(PAGE.format(ref=ref), status_code=500, headers=headers)
