"""The records the simulated providers return: shapes, amounts, signs, ids and overrides."""

from __future__ import annotations

from decimal import Decimal

from tests.unit.sim.conftest import SimHarness
from tests.unit.sim.provider_calls import MERCHANTS


def test_minigame_amount_is_signed_decimal_string(sim: SimHarness) -> None:
    # given
    sim.load("minigame", "mg-w", ["succeeded"], direction="withdraw", amount="4299.1",
             currency="usdt")
    # when
    body = sim.query("minigame", "mg-w").json()
    # then
    assert body == {"code": 0, "msg": "ok",
                    "data": {"currency": "usdt", "amount": "-4299.1", "state": 1}}


def test_lucko_record_balances_give_the_amount(sim: SimHarness) -> None:
    # given
    sim.load("lucko", "lk-d", ["succeeded"], amount="25.75", player="testUid03")
    # when
    body = sim.query("lucko", "lk-d", player="testUid03").json()
    # then
    assert body["code"] == 200 and body["message"] == "success"
    data = body["data"]
    assert data["agent_id"] == MERCHANTS["lucko"]["agent_id"]
    assert (data["user_id"], data["txn_id"], data["currency"], data["status"]) == (
        "testUid03", "lk-d", "USD", 1)
    assert Decimal(data["after_balance"]) - Decimal(data["before_balance"]) == Decimal("25.75")


def test_hrg_record_fields(sim: SimHarness) -> None:
    # given
    sim.load("hrg", "1656647292425", ["succeeded"], direction="withdraw", amount="900.0",
             player="hrgpl00017")
    # when
    body = sim.query("hrg", "1656647292425").json()
    # then
    assert body["code"] == "0000"
    data = body["data"]
    assert (data["transactionCode"], data["agentId"], data["userId"], data["amount"]) == (
        "1656647292425", "hrgag", "hrgpl00017", "-900.0")
    assert Decimal(data["currentBalance"]) - Decimal(data["preBalance"]) == Decimal("-900.0")
    assert len(data["createDate"]) == 28 and data["createDate"].endswith("+0800")


def test_vct_amount_is_a_json_number_with_exact_digits(sim: SimHarness) -> None:
    # given
    sim.load("vct", "TXN202606152311001", ["succeeded"], amount="500.10", currency="CNY",
             player="TESTAGENT_PLAYER_USER_001")
    # when
    response = sim.query("vct", "TXN202606152311001")
    # then
    assert '"amount":500.10' in response.text
    data = response.json(parse_float=Decimal)["data"]
    assert data["transfer_type"] == "deposit" and data["status"] == "success"
    assert data["hub_member_id"] == "TESTAGENT_PLAYER_USER_001"
    assert data["balance_after"] - data["balance_before"] == Decimal("500.10")


def test_vct_merchant_with_a_member_prefix_answers_prefix_and_player(sim: SimHarness) -> None:
    # The hub's hub_member_id is MerchantPrefix_PlayerID.
    # given
    prefixed = {"api_key": "PREFIXED", "api_secret": "prefixed-secret", "member_prefix": "PFX"}
    registered = sim.control("POST", "/_sim/merchants", {"kind": "vct", "credentials": prefixed})
    assert registered.status_code == 200, registered.text
    sim.load("vct", "vct-m", ["succeeded"], merchant="PREFIXED", player="PLAYER_USER_001")

    # when
    data = sim.query("vct", "vct-m", credentials=prefixed).json()["data"]

    # then
    assert data["hub_member_id"] == "PFX_PLAYER_USER_001"


def test_vct_pending_as_code_3004(sim: SimHarness) -> None:
    # given
    sim.load("vct", "vct-p", [{"answer": "pending", "variant": "code"}])
    # when / then
    assert sim.query("vct", "vct-p").json() == {
        "code": 3004, "data": {}, "msg": "transfer pending, query later"}


def test_vct_not_found_shape(sim: SimHarness) -> None:
    # when
    response = sim.query("vct", "missing")
    # then
    assert response.status_code == 200
    assert response.json() == {"code": 7, "data": {}, "msg": "order not found"}


def test_naga_found_by_either_id(sim: SimHarness) -> None:
    # given
    sim.load("naga", "d93b49c8-native", ["succeeded"], direction="withdraw", amount="1000",
             currency="THB", player="player_transfer_01")
    # when
    by_native = sim.query("naga", "d93b49c8-native").json()
    # then
    assert by_native["nativeTransactionId"] == "d93b49c8-native"
    assert (by_native["status"], by_native["type"], by_native["amount"]) == (
        "SUCCEED", "WITHDRAW", 1000)
    assert by_native["player"]["nativeId"] == "player_transfer_01"
    assert by_native["brand"]["code"] == "srot" and by_native["group"]["code"] == "dpae"
    # when / then the record carries naga's own id, and a query by it finds the transfer
    naga_id = sim.history("naga", "d93b49c8-native")["provider_tx_id"]
    assert by_native["id"] == naga_id
    assert sim.query("naga", naga_id).json()["nativeTransactionId"] == "d93b49c8-native"
    assert sim.history("naga", "d93b49c8-native")["queries"] == 2


def test_naga_not_found_shape(sim: SimHarness) -> None:
    # when
    response = sim.query("naga", "missing")
    # then
    assert response.status_code == 400
    body = response.json()
    assert (body["message"], body["code"]) == ("Transaction Not Found", 1208)
    assert body["timestamp"].endswith("Z")


def test_record_override_makes_a_mismatch(sim: SimHarness) -> None:
    # given
    sim.load("minigame", "mm-1", ["succeeded"], amount="10.00", currency="USD",
             record={"amount": "11.00", "currency": "EUR"})
    # when
    data = sim.query("minigame", "mm-1").json()["data"]
    # then
    assert (data["amount"], data["currency"]) == ("11.00", "EUR")
    # given
    sim.load("vct", "mm-2", ["succeeded"], record={"direction": "withdraw", "player": "other"})
    # when
    data = sim.query("vct", "mm-2").json()["data"]
    # then
    assert (data["transfer_type"], data["hub_member_id"]) == ("withdraw", "other")
