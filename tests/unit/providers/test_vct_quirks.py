"""VCT gaming hub's own rules: the form-encoded id, and the hub member id with its prefix."""

from __future__ import annotations

import pytest

from tests.unit.providers.contract_table import VCT
from tests.unit.providers.support import classify, edited, make_adapter, make_transfer
from worker.domain.types import Outcome


def test_transfer_id_is_form_encoded():
    # when
    request = make_adapter("vct", VCT.credentials).build_request(
        make_transfer(tx_id="a&b=c d"), now=0,
    )

    # then
    assert request.body == b"transfer_id=a%26b%3Dc+d"


# hub_member_id is MerchantPrefix_PlayerID: the seed's "TESTAGENT_PLAYER_USER_001" is player
# "PLAYER_USER_001" of the merchant whose prefix is "TESTAGENT".
WALLET_TRANSFER = {"player_ref": None}  # the wallet's own player id only


@pytest.mark.parametrize(("player_id", "player_ref"), [
    ("PLAYER_USER_001", None),  # {prefix}_{player_id}
    ("wallet-7", "PLAYER_USER_001"),  # {prefix}_{player_ref}
    ("wallet-7", "TESTAGENT_PLAYER_USER_001"),  # the hub's whole id as our reference
])
def test_with_a_member_prefix_our_player_matches_the_hub_member_id(player_id, player_ref):
    # given
    transfer = {"player_id": player_id, "player_ref": player_ref}

    # when
    verdict = classify(VCT, transfer=transfer, member_prefix="TESTAGENT")

    # then
    assert verdict.outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize(("prefix", "player_id", "answered", "ours"), [
    # Another player of ours.
    ("TESTAGENT", "PLAYER_USER_002", "TESTAGENT_PLAYER_USER_001", "'TESTAGENT_PLAYER_USER_002'"),
    # Another merchant's player of the same id.
    ("OTHERAGENT", "PLAYER_USER_001", "TESTAGENT_PLAYER_USER_001", "'OTHERAGENT_PLAYER_USER_001'"),
    # The hub always prefixes: a bare id is not ours, even when it equals our player id.
    ("TESTAGENT", "PLAYER_USER_001", "PLAYER_USER_001", "'TESTAGENT_PLAYER_USER_001'"),
    # Exact, case included: a near miss goes to a person, not to a guess.
    ("testagent", "PLAYER_USER_001", "TESTAGENT_PLAYER_USER_001", "'testagent_PLAYER_USER_001'"),
])
def test_with_a_member_prefix_anything_else_is_a_player_mismatch(prefix, player_id, answered,
                                                                 ours):
    # given
    answer = edited(VCT.document, "data.hub_member_id", answered)

    # when
    verdict = classify(VCT, answer, {**WALLET_TRANSFER, "player_id": player_id},
                       member_prefix=prefix)

    # then
    assert verdict.outcome is Outcome.MISMATCH
    assert f"player: provider {answered!r}, ours {ours}" in (verdict.detail or "")


def test_a_mismatch_names_both_forms_our_reference_may_take():
    # when
    verdict = classify(VCT, transfer={"player_ref": "PLAYER_USER_002"}, member_prefix="TESTAGENT")

    # then
    assert verdict.outcome is Outcome.MISMATCH
    assert ("player: provider 'TESTAGENT_PLAYER_USER_001', "
            "ours 'TESTAGENT_PLAYER_USER_002' or 'PLAYER_USER_002'") in (verdict.detail or "")


def test_without_a_member_prefix_the_hub_member_id_is_compared_as_it_is():
    # when / then the seed's transfer matches, a wallet transfer's does not
    assert classify(VCT).outcome is Outcome.SUCCEEDED  # our ref is the whole id
    assert classify(VCT, transfer=WALLET_TRANSFER).outcome is Outcome.MISMATCH
