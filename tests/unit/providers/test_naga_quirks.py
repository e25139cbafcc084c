"""Naga Games' own rule: the transaction id travels in the path, escaped and unsigned."""

from __future__ import annotations

from tests.unit.providers.contract_table import NAGA
from tests.unit.providers.support import make_adapter, make_transfer


def test_path_id_is_escaped_and_not_signed():
    # given
    adapter = make_adapter("naga", NAGA.credentials)

    # when
    odd = adapter.build_request(make_transfer(tx_id="a/b c"), now=0)
    plain = adapter.build_request(make_transfer(tx_id="x"), now=0)

    # then
    assert "/transactions/a%2Fb%20c?" in odd.url
    assert odd.headers["X-Signature"] == plain.headers["X-Signature"]
