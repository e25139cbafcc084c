"""The API against its own OpenAPI document: no server error, every answer as documented.

Schemathesis generates requests from /openapi.json, valid ones and invalid ones, for every
operation, and sends them in-process to the app with an operator's token, over a database that
already holds a transfer in each interesting state.

(Driven with plain Hypothesis over each operation's strategy: schemathesis' own pytest
parametrization does not run under pytest 9 yet.)
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.admin.support import OPERATOR_TOKEN, bearer, in_review, settled
from tests.integration.support import register
from worker.process.runtime import Runtime

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Not `negative_data_rejection`: the token we inject makes "Authorization missing" cases valid,
# and some invalid values become valid once sent (a null query value is sent as empty). The
# invalid requests still run, so any 5xx or undocumented answer to them fails the test.


def test_the_api_keeps_to_its_schema(admin_rt: Runtime, app: FastAPI) -> None:
    # given
    # Ids 1..3: under review, settled, pending; generated ids sometimes hit them.
    in_review(admin_rt)
    settled(admin_rt)
    register(admin_rt, tx_id="tx-pending")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app,
                                            headers=bearer(OPERATOR_TOKEN))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9

    # when every operation gets its generated requests
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=bearer(OPERATOR_TOKEN), checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong, as in /healthz
            except Exception as exc:  # report every operation's failure, not just the first
                failures.append(f"{operation.label} ({mode.value}):\n{exc}")
    # then
    assert not failures, "\n\n".join(failures)
