"""The interactive API reference (Swagger UI) at /docs, for a person signed in to the page.

Served from this machine: the `fastapi-offline` package ships Swagger UI's script and style
(5.x, which reads the OpenAPI 3.1 schema FastAPI writes), so the page needs no CDN (admin
consoles often run where there is no internet); only its static files are used here. The schema the
page reads comes from /docs/openapi.json behind the same web session; calls made with "Try it
out" still need a bearer token (the Authorize button), as every API call does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from worker.admin.web import Person

docs = APIRouter(include_in_schema=False)

ASSETS = Path(fastapi_offline.__file__).parent / "static"
SERVED = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
          "favicon.png": "image/png"}
# Swagger UI styles some elements inline and draws its icons from data: URLs.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>API reference · transfer-resolver</title>
  <link rel="icon" href="/docs/assets/favicon.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-schema="/docs/openapi.json"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/static/docs.js"></script>
</body>
</html>
"""


@docs.get("/docs")
def reference(who: Person) -> Response:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": CSP})


@docs.get("/docs/openapi.json")
def schema(request: Request, who: Person) -> dict[str, Any]:
    found: dict[str, Any] = request.app.openapi()
    return found


@docs.get("/docs/assets/{name}")
def asset(name: str) -> Response:
    if name not in SERVED:
        return Response(status_code=404)
    return FileResponse(ASSETS / name, media_type=SERVED[name],
                        headers={"Cache-Control": "public, max-age=86400"})
