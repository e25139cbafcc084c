"""The contract every provider adapter keeps, run over the table in contract_table.py.

Each test names one point of the contract and runs it for every row of its table: the request a
provider documents, the answers it documents (its seed, its statuses, its codes, the HTTP
statuses around them, what cannot be read) and the rules of its settings.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest
from pydantic import ValidationError

from tests.unit.providers.contract_table import (
    ANSWERS,
    DEFAULTS,
    KINDS,
    REFUSED,
    REQUESTS,
    SEEDS,
    Answer,
    Request,
    Setting,
)
from tests.unit.providers.support import assert_settings_rules, classify, make_adapter
from worker.providers.registry import ADAPTERS


@pytest.mark.parametrize("row", ANSWERS, ids=[row.id for row in ANSWERS])
def test_each_documented_answer_is_classified_as_documented(row: Answer) -> None:
    """Given the row's answer, settings and transfer, when the adapter classifies the answer,
    then the verdict is the row's."""
    # when
    verdict = classify(SEEDS[row.kind], row.body, row.transfer, row.http_status, **row.settings)

    # then
    assert verdict.outcome is row.outcome, verdict.detail
    for name, value in row.verdict.items():
        assert getattr(verdict, name) == value, name
    if row.verdict.get("provider_amount") is not None:
        assert isinstance(verdict.provider_amount, Decimal)
    if row.detail_has is not None:
        assert row.detail_has in (verdict.detail or "")
    if row.detail_starts is not None:
        assert (verdict.detail or "").startswith(row.detail_starts)


@pytest.mark.parametrize("row", REQUESTS, ids=[row.id for row in REQUESTS])
def test_request_is_the_documented_one(row: Request) -> None:
    # given
    seed = SEEDS[row.kind]
    transfer = seed.transfer if row.transfer is None else replace(seed.transfer, **row.transfer)

    # when
    request = make_adapter(row.kind, seed.credentials).build_request(transfer, now=row.now)

    # then
    assert request.method == row.method
    match = re.fullmatch(row.url, request.url)
    assert match, request.url
    assert request.body == row.body
    assert request.headers == row.headers(match)


@pytest.mark.parametrize("kind", KINDS)
def test_each_credential_is_required_and_an_unknown_key_refused(kind: str) -> None:
    # when / then
    assert_settings_rules(kind, SEEDS[kind].credentials)


@pytest.mark.parametrize("row", DEFAULTS, ids=[row.id for row in DEFAULTS])
def test_setting_defaults(row: Setting) -> None:
    """Given only the credentials, when the settings are read, then the setting has its
    default."""
    # when
    settings = ADAPTERS[row.kind].Settings.model_validate(SEEDS[row.kind].credentials)

    # then
    assert getattr(settings, row.name) == row.value


@pytest.mark.parametrize("row", REFUSED, ids=[row.id for row in REFUSED])
def test_refused_setting_values(row: Setting) -> None:
    """Given the credentials and a value the setting does not take, when the settings are read,
    then they are refused, naming the setting."""
    # given
    credentials = {**SEEDS[row.kind].credentials, row.name: row.value}

    # when / then
    with pytest.raises(ValidationError, match=row.name):
        ADAPTERS[row.kind].Settings.model_validate(credentials)
