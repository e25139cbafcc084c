"""HTTP 401 and 403 mean our credentials, signature or address were refused, at every provider.

None of the five documents otherwise, so for each kind: given the seed's own answer or the
provider's usual refusal body, a 401 or 403 is AUTH_ERROR (a person acts), never RETRY (which
would poll until max_age) and never a final outcome.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.unit.providers.contract_table import KINDS, NAGA, SEEDS
from tests.unit.providers.support import make_adapter
from worker.domain.types import Outcome
from worker.providers.registry import ADAPTERS

REFUSALS = [
    b"",
    b"<html><body>403 Forbidden</body></html>",
    b'{"code":1001,"message":"Invalid Signature"}',
    b'{"code":"0401","msg":"Token expired"}',
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("http_status", [401, 403])
@pytest.mark.parametrize("body", REFUSALS, ids=["empty", "html", "naga-like", "text-code"])
def test_a_refusal_is_an_auth_error_for_every_kind(kind, http_status, body):
    # given
    seed = SEEDS[kind]
    adapter = make_adapter(kind, seed.credentials)

    # when
    verdict = adapter.classify(seed.transfer, http_status, body)

    # then
    assert verdict.outcome is Outcome.AUTH_ERROR
    assert (verdict.detail or "").startswith(f"HTTP {http_status}: credentials or address refused")


@pytest.mark.parametrize("kind", KINDS)
def test_a_refusal_around_a_seed_answer_still_resolves_nothing(kind):
    # given
    seed = SEEDS[kind]
    adapter = make_adapter(kind, seed.credentials)

    # when a 401 comes with the seed's success
    verdict = adapter.classify(seed.transfer, 401, seed.answer)

    # then
    assert verdict.outcome is Outcome.AUTH_ERROR


def test_the_refusal_keeps_the_providers_code_and_message():
    # given
    adapter = make_adapter("naga", NAGA.credentials)

    # when naga refuses with its own code and message
    verdict = adapter.classify(NAGA.transfer, 401, REFUSALS[2])

    # then
    assert verdict.detail == (
        "HTTP 401: credentials or address refused (code 1001; Invalid Signature)"
    )


@pytest.mark.parametrize("kind", ["minigame", "lucko", "hrg"])
@pytest.mark.parametrize("status", [401, 403, 429])
def test_a_fixed_status_cannot_be_configured_as_an_answer(kind, status):
    # given a status that always means a refusal among the answer statuses
    credentials = {**SEEDS[kind].credentials, "answer_http_statuses": [200, status]}

    # when / then
    with pytest.raises(ValidationError, match=f"HTTP {status} cannot be an answer status"):
        ADAPTERS[kind].Settings.model_validate(credentials)
