from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.integration.admin.support import with_tokens
from worker.admin.app import create_app
from worker.process.runtime import Runtime


@pytest.fixture
def admin_rt(runtime: Runtime) -> Runtime:
    return with_tokens(runtime)


@pytest.fixture
def app(admin_rt: Runtime) -> FastAPI:
    return create_app(lambda: admin_rt)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
