"""The simulated providers reject what the real ones reject."""

from __future__ import annotations

import base64
import time

import pytest

from resolver_tools.sim.providers.minigame import sign as minigame_sign
from tests.unit.sim.conftest import SimHarness
from tests.unit.sim.provider_calls import (
    KINDS,
    MERCHANTS,
    OTHER_MERCHANTS,
    read_answer,
    signed_call,
)


def _wrong_key(kind: str) -> dict[str, str]:
    credentials = dict(MERCHANTS[kind])
    secret = {"minigame": "key", "lucko": "key", "hrg": "api_key", "vct": "api_secret",
              "naga": "secret_key"}[kind]
    credentials[secret] = "not-the-key"
    return credentials


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_key_is_rejected_without_touching_the_script(sim: SimHarness, kind: str) -> None:
    # given
    sim.load(kind, "tx-1", ["succeeded"])
    # when
    response = sim.query(kind, "tx-1", credentials=_wrong_key(kind))
    # then
    assert read_answer(kind, response) == "auth_error"
    assert sim.history(kind, "tx-1")["queries"] == 0
    outcomes = sim.control("GET", "/_sim/stats").json()["kinds"][kind]["outcomes"]
    assert outcomes == {"auth_rejected": 1}
    assert read_answer(kind, sim.query(kind, "tx-1")) == "succeeded"


@pytest.mark.parametrize("kind", KINDS)
def test_another_merchant_does_not_see_the_transaction(sim: SimHarness, kind: str) -> None:
    # given
    sim.load(kind, "tx-mine", ["succeeded"])
    # when
    response = sim.query(kind, "tx-mine", credentials=OTHER_MERCHANTS[kind])
    # then
    assert read_answer(kind, response) == "not_found"
    assert sim.history(kind, "tx-mine")["queries"] == 0


@pytest.mark.parametrize(("kind", "age_s"), [("minigame", 301), ("lucko", 601), ("vct", 121)])
def test_stale_timestamp_is_rejected(sim: SimHarness, kind: str, age_s: int) -> None:
    # given
    sim.load(kind, "tx-1", ["succeeded"])
    # when / then
    for now in (time.time() - age_s, time.time() + age_s):
        response = sim.query(kind, "tx-1", now=now)
        assert read_answer(kind, response) != "succeeded"
    # then
    assert sim.history(kind, "tx-1")["queries"] == 0
    stats = sim.control("GET", "/_sim/stats").json()["kinds"][kind]["outcomes"]
    assert stats == {"stale_timestamp": 2}
    assert read_answer(kind, sim.query(kind, "tx-1", now=time.time() - age_s + 5)) == "succeeded"


def test_vct_expired_token_is_http_401(sim: SimHarness) -> None:
    # when
    response = sim.query("vct", "tx-1", now=time.time() - 200)
    # then
    assert response.status_code == 401
    assert response.json()["msg"] == "Token expired"
    # when
    response = sim.query("vct", "tx-1", credentials=_wrong_key("vct"))
    # then
    assert response.status_code == 401
    assert response.json()["msg"] == "Invalid token signature"


@pytest.mark.parametrize(
    ("kind", "content_type", "code"),
    [("minigame", "text/plain", 10009), ("vct", "application/json", 1001),
     ("hrg", "application/x-www-form-urlencoded", "0400")],
)
def test_wrong_content_type_is_rejected(
    sim: SimHarness, kind: str, content_type: str, code: object
) -> None:
    # given
    sim.load(kind, "tx-1", ["succeeded"])
    # when
    response = sim.query(kind, "tx-1", content_type=content_type)
    # then
    assert response.status_code == 200
    assert response.json()["code"] == code
    assert sim.history(kind, "tx-1")["queries"] == 0


def test_unknown_merchants_are_rejected(sim: SimHarness) -> None:
    # given
    ghost = {
        "minigame": {"appid": "9999", "key": "k"},
        "lucko": {"agent_id": "ghost", "key": "k"},
        "hrg": {"agent_id": "ghost", "api_key": "k"},
        "vct": {"api_key": "ghost", "api_secret": "k"},
        "naga": {"brand_code": "gh", "group_code": "st", "secret_key": "k"},
    }
    # when
    codes = {kind: sim.query(kind, "tx", credentials=creds) for kind, creds in ghost.items()}
    # then
    assert codes["minigame"].json()["code"] == 10012
    assert codes["lucko"].json()["code"] == 700101
    assert codes["hrg"].json()["code"] == "0401"
    assert codes["vct"].status_code == 401
    assert codes["naga"].status_code == 401
    stats = sim.control("GET", "/_sim/stats").json()
    assert stats["queries"] == 5
    assert all(k["outcomes"] == {"unknown_merchant": 1} for k in stats["kinds"].values())


def test_minigame_signature_covers_query_and_body_as_sent(sim: SimHarness) -> None:
    # given a call whose query is changed after signing
    sim.load("minigame", "tx-1", ["succeeded"])
    call = signed_call("minigame", "tx-1")
    call.target = call.target.replace("trace_id=tr", "trace_id=xx")  # query changed after signing
    # when / then
    assert call.send(sim.session, sim.base_url).json()["code"] == 10002
    # given one whose body has other bytes
    call = signed_call("minigame", "tx-1")
    call.body = call.body.replace(b'", "', b'","')  # same JSON, other bytes
    # when / then
    assert call.send(sim.session, sim.base_url).json()["code"] == 10002


def test_minigame_published_worked_example() -> None:
    # given
    body = (b'{"player_logon_token":"b27cfe9b-f01c-11ee-a0b5-000c2901d9cc",'
            b'"account_id":"1002402","timestamp":1711971655}')
    # when / then
    assert minigame_sign(b"trace_id=dhf1aboc1iio", body, "39a6581c31ef3203a22edb2daa2ab6d1") == (
        "e3f8dc79e875e46f6755ef540c2d24f3")


def test_lucko_signature_is_case_insensitive_and_needs_every_parameter(sim: SimHarness) -> None:
    # given a signature in upper case
    sim.load("lucko", "tx-1", ["succeeded"])
    call = signed_call("lucko", "tx-1")
    upper = call.target.split("sign=")[0] + "sign=" + call.target.split("sign=")[1].upper()
    call.target = upper
    # when / then
    assert read_answer("lucko", call.send(sim.session, sim.base_url)) == "succeeded"
    # given a parameter changed after signing
    call = signed_call("lucko", "tx-1")
    call.target = call.target.replace("type=deposit", "type=withdraw")  # not what was signed
    # when / then
    assert call.send(sim.session, sim.base_url).json()["code"] == 600100
    # given a parameter left out
    call = signed_call("lucko", "tx-1")
    call.target = call.target.replace("user_id=player-1&", "")
    # when / then
    assert call.send(sim.session, sim.base_url).json()["code"] == 408000


def test_hrg_body_agent_must_match_the_credentials(sim: SimHarness) -> None:
    # given a body naming another agent
    sim.load("hrg", "tx-1", ["succeeded"])
    call = signed_call("hrg", "tx-1")
    call.body = call.body.replace(b'"hrgag"', b'"hrgother"')
    # when / then
    assert call.send(sim.session, sim.base_url).json()["code"] == "0401"
    # given a header without the API key
    call = signed_call("hrg", "tx-1")
    call.headers["Authorization"] = "Basic " + base64.b64encode(b"hrgag").decode()
    # when / then
    assert call.send(sim.session, sim.base_url).json()["code"] == "0401"


def test_hrg_not_found_code_is_a_setting(sim: SimHarness) -> None:
    # when / then
    assert sim.query("hrg", "missing").json()["code"] == "0404"
    # when another code is set
    sim.control("POST", "/_sim/settings", {"hrg_not_found_code": "1004"})
    # then
    assert sim.query("hrg", "missing").json()["code"] == "1004"


def test_naga_signature_is_over_brand_and_group_only(sim: SimHarness) -> None:
    # given a signature in upper case
    sim.load("naga", "tx-1", ["succeeded"])
    call = signed_call("naga", "tx-1")
    call.headers["X-Signature"] = call.headers["X-Signature"].upper()
    # when / then
    assert read_answer("naga", call.send(sim.session, sim.base_url)) == "succeeded"
    # given another group than the one signed
    call = signed_call("naga", "tx-1")
    call.target = call.target.replace("groupCode=dpae", "groupCode=yyyy")
    # when / then
    assert call.send(sim.session, sim.base_url).status_code == 401
