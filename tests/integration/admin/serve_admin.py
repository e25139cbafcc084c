"""`python -m tests.integration.admin.serve_admin PORT`: the admin app in a process of its own.

For tests that measure the server itself (its memory), which a server in the test's own
process would blur. Settings come from the RESOLVER_* environment; no provider is configured.
"""

from __future__ import annotations

import sys

import uvicorn

from worker.admin.app import create_app
from worker.process.runtime import build_runtime


def main() -> None:
    port = int(sys.argv[1])
    runtime = build_runtime(providers={})
    uvicorn.run(create_app(lambda: runtime), host="127.0.0.1", port=port, log_level="warning",
                server_header=False, proxy_headers=False)


if __name__ == "__main__":
    main()
