"""MINI.GAME's own rules: its signature's published example, the trace id and the token."""

from __future__ import annotations

import json

from tests.unit.providers.contract_table import MINIGAME
from tests.unit.providers.support import make_adapter, make_transfer
from worker.providers import minigame


def test_signature_matches_the_published_example():
    # given the published example's body
    body = (b'{"player_logon_token":"b27cfe9b-f01c-11ee-a0b5-000c2901d9cc",'
            b'"account_id":"1002402","timestamp":1711971655}')

    # when
    signed = minigame.sign("trace_id=dhf1aboc1iio", body, MINIGAME.credentials["key"])

    # then
    assert signed == "e3f8dc79e875e46f6755ef540c2d24f3"


def test_each_request_has_a_fresh_trace_id():
    # given
    adapter = make_adapter("minigame", MINIGAME.credentials)
    assert isinstance(adapter, minigame.Adapter)
    transfer = make_transfer()

    # when
    urls = {adapter.build_request(transfer, now=1711954264).url for _ in range(5)}

    # then
    assert len(urls) == 5


def test_token_is_our_player_id_when_there_is_no_player_ref():
    # when
    request = make_adapter("minigame", MINIGAME.credentials).build_request(
        make_transfer(player_id="p-42"), now=0,
    )

    # then
    assert json.loads(request.body or b"")["token"] == "p-42"
