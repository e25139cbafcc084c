"""The provider contract as data: each provider's seed, and one row per answer it documents.

The seeds are the examples of the providers' status documents (answers verbatim); the codes,
statuses and request recipes are what their documentation says. test_contract.py runs every row
against the adapter of the row's kind; a behaviour only one adapter has is tested in that kind's
quirks module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.unit.providers.support import BASE_URL, Seed, body_of, edited, make_transfer, without
from worker.domain.types import Direction, Outcome

HRG = Seed(
    kind="hrg",
    credentials={"agent_id": "hrgag", "api_key": "hrg-api-key-123"},
    answer=b"""{
  "code": "0000",
  "data": {
    "transactionCode": "1656647292425",
    "agentId": "hrgag",
    "userId": "hrgpl00017",
    "amount": "-900.0",
    "freeCredit": "-100.0",
    "preBalance": "900.0",
    "preFreeCredit": "100.0",
    "currentBalance": "0.0",
    "currentFreeCredit": "0.0",
    "createDate": "2022-07-01T11:48:13.430+0800"
  }
}""",
    # A negative amount: the seed's record is a withdraw of 900.
    transfer=make_transfer(tx_id="1656647292425", player_id="hrgpl00017", amount=Decimal("900"),
                           direction=Direction.WITHDRAW),
)

LUCKO = Seed(
    kind="lucko",
    credentials={"agent_id": "agent001", "key": "lucko-merchant-key"},
    answer=b"""{
"code": 200,
"message": "success",
"data": {
"agent_id": "agent001",
"user_id": "testUid03",
"txn_id": "txniwsdfa342",
"before_balance": "-0.69",
"after_balance": "1000.00",
"currency": "VND2",
"status": 1
}
}""",
    # The balance went from -0.69 to 1000.00: a deposit of 1000.69.
    transfer=make_transfer(tx_id="txniwsdfa342", player_id="testUid03",
                           amount=Decimal("1000.69"), currency="VND2"),
)

MINIGAME = Seed(
    kind="minigame",
    credentials={"appid": "1005", "key": "39a6581c31ef3203a22edb2daa2ab6d1"},
    answer=b"""{
    "data": {
        "currency":"usdt",
        "amount": "4299.1",
        "state":1
    },
    "code": 0,
    "msg": "ok"
}""",
    # The transfer the seed's answer is about: a deposit of 4299.1 USDT.
    transfer=make_transfer(amount=Decimal("4299.1000"), currency="USDT"),
)

NAGA = Seed(
    kind="naga",
    credentials={"brand_code": "srot", "group_code": "dpae", "secret_key": "naga-secret-789"},
    answer=b"""{
  "amount": 1000,
  "brand": {
    "id": "2f740d6a-35dc-461d-a415-a927e342407a",
    "code": "srot"
  },
  "group": {
    "id": "81540e1e-dc99-40a7-a1fb-70d6c05de26d",
    "code": "dpae"
  },
  "created": "2023-07-21T08:09:28.267Z",
  "currency": {
    "id": "727d3d98-6294-bf23-a4ad-963f5b06bf74",
    "code": "THB"
  },
  "id": "d51dd942-fc93-20ab-29f3-6f00a43589c3",
  "nativeTransactionId": "d93b49c8-bd90-42eb-bbab-5697171b704a",
  "player": {
    "id": "50784686-4e24-4607-b125-9e7cc20a0148",
    "nativeId": "player_transfer_01"
  },
  "status": "SUCCEED",
  "type": "DEPOSIT",
  "wallet": {
    "id": "26729ffd-a63d-4fc3-9660-61ce360ed611",
    "balance": 1000
  }
}""",
    transfer=make_transfer(tx_id="d93b49c8-bd90-42eb-bbab-5697171b704a",
                           player_id="player_transfer_01", amount=Decimal("1000"), currency="THB"),
    not_found=b"""{
  "message": "Transaction Not Found",
  "code": 1208,
  "timestamp": "2023-05-10T04:48:05.565Z"
}""",
)

VCT = Seed(
    kind="vct",
    credentials={"api_key": "TESTAGENT", "api_secret": "vct-secret-456"},
    answer=b"""{
"code": 0,
"data": {
"transfer_id": "TXN202606152311001",
"hub_member_id": "TESTAGENT_PLAYER_USER_001",
"currency": "CNY",
"amount": 500.00,
"transfer_type": "deposit",
"balance_before": 1000.00,
"balance_after": 1500.00,
"status": "success",
"remark": "",
"created_at": "2026-06-15T23:11:00+08:00"
},
"msg": "ok"
}""",
    transfer=make_transfer(tx_id="TXN202606152311001", player_id="PLAYER_USER_001",
                           player_ref="TESTAGENT_PLAYER_USER_001", amount=Decimal("500"),
                           currency="CNY"),
    not_found=b"""{
"code": 7,
"data": {},
"msg": "order not found"
}""",
)

SEEDS = {seed.kind: seed for seed in (HRG, LUCKO, MINIGAME, NAGA, VCT)}
KINDS = sorted(SEEDS)


def _md5(text: bytes) -> str:
    return hashlib.md5(text).hexdigest()


def _hmac_sha256(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Request:
    """The status request a provider documents, for one transfer at one moment."""

    kind: str
    case: str
    now: float
    method: str
    url: str  # a regular expression the whole URL matches (re.escape'd where it is fixed)
    body: bytes | None
    # The headers, given the URL's match: a signature may cover a part of the URL drawn afresh.
    headers: Callable[[re.Match[str]], dict[str, str]]
    transfer: dict[str, Any] | None = None  # the transfer: by default the seed's

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.case}"


_HRG_TOKEN = base64.b64encode(b"hrgag:hrg-api-key-123").decode()
_LUCKO_SIGNED = (b"lucko-merchant-key&agent_id=agent001&timestamp=1732589849000"
                 b"&txn_id=txniwsdfa342&type=deposit&user_id=testUid03")
_MINIGAME_BODY = b'{"appid":"1005","timestamp":1711954264,"token":"tok-abc","tx_id":"tx-9"}'

REQUESTS = [
    Request(
        "hrg", "basic-auth-post", 0, "POST",
        re.escape(f"{BASE_URL}/api/check_transfer_operation"),
        b'{"agentId":"hrgag","transactionCode":"1656647292425"}',
        # Basic credentials are base64(agentId:apiKey).
        lambda _: {"Content-Type": "application/json", "Authorization": f"Basic {_HRG_TOKEN}"},
    ),
    Request(
        "lucko", "signed-get", 1732589849.0, "GET",
        # The parameters in the documented order, the timestamp in milliseconds, and the sign
        # recomputed from the recipe: MD5 of KEY & the sorted k=v pairs.
        re.escape(f"{BASE_URL}/api/wallet/check?agent_id=agent001&user_id=testUid03&type=deposit"
               f"&txn_id=txniwsdfa342&timestamp=1732589849000&sign={_md5(_LUCKO_SIGNED)}"),
        None,
        lambda _: {"Accept": "application/json"},
    ),
    Request(
        "minigame", "signed-post", 1711954264.9, "POST",
        re.escape(f"{BASE_URL}/api/cash/v1/transfer/status?") + r"(trace_id=[0-9a-f]{24})",
        _MINIGAME_BODY,
        # md5(query as sent + body as sent + key).
        lambda match: {
            "Content-Type": "application/json; charset=utf-8",
            "sign": _md5(match.group(1).encode() + _MINIGAME_BODY
                         + b"39a6581c31ef3203a22edb2daa2ab6d1"),
        },
        transfer={"tx_id": "tx-9", "player_ref": "tok-abc"},
    ),
    Request(
        "naga", "signed-get", 0, "GET",
        re.escape(f"{BASE_URL}/operator/transfer/transactions/"
               "d93b49c8-bd90-42eb-bbab-5697171b704a?brandCode=srot&groupCode=dpae"),
        None,
        # HMAC-SHA256 over JSON.stringify({brandCode, groupCode}).
        lambda _: {
            "X-Signature": _hmac_sha256("naga-secret-789",
                                        b'{"brandCode":"srot","groupCode":"dpae"}'),
            "Accept": "application/json",
        },
    ),
    Request(
        "vct", "bearer-form-post", 1781536260.8, "POST",
        re.escape(f"{BASE_URL}/papi/v1/order/status"),
        b"transfer_id=TXN202606152311001",
        # A fresh token: HMAC-SHA256(api_secret, api_key + "." + unix seconds).
        lambda _: {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Bearer TESTAGENT.1781536260."
            + _hmac_sha256("vct-secret-456", b"TESTAGENT.1781536260"),
        },
    ),
]


@dataclass(frozen=True)
class Answer:
    """One answer a provider can give, and how it must be classified."""

    kind: str
    case: str
    outcome: Outcome
    body: bytes | dict[str, Any] | None = None  # None: the seed's own answer
    http_status: int = 200
    transfer: dict[str, Any] = field(default_factory=dict)  # facts changed from the seed's
    settings: dict[str, Any] = field(default_factory=dict)
    verdict: dict[str, Any] = field(default_factory=dict)  # Verdict fields and their values
    detail_has: str | None = None
    detail_starts: str | None = None

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.case}"


def _edit(seed: Seed, *changes: tuple[str, Any]) -> dict[str, Any]:
    document = seed.document
    for path, value in changes:
        document = edited(document, path, value)
    return document


def _seed_answer(seed: Seed, status: str, amount: str, currency: str | None) -> Answer:
    return Answer(seed.kind, "seed-answer", Outcome.SUCCEEDED, verdict={
        "provider_status": status, "provider_amount": Decimal(amount),
        "provider_currency": currency,
    })


# The seed's answer for its own transfer, and the other readings every provider documents.
READINGS = [
    # HRG does not say the currency; the sign of its amount became the direction.
    _seed_answer(HRG, "0000", "900", None),
    _seed_answer(LUCKO, "1", "1000.69", "VND2"),
    _seed_answer(MINIGAME, "1", "4299.1", "USDT"),
    _seed_answer(NAGA, "SUCCEED", "1000", "THB"),
    _seed_answer(VCT, "success", "500.00", "CNY"),
    Answer("hrg", "amount-as-json-number", Outcome.SUCCEEDED,
           _edit(HRG, ("data.amount", -900)), verdict={"provider_amount": Decimal("900")}),
    Answer("minigame", "amount-as-json-number", Outcome.SUCCEEDED,
           MINIGAME.answer.replace(b'"4299.1"', b"4299.1"),
           verdict={"provider_amount": Decimal("4299.1")}),
    # Withdraws: each provider's own way of saying the money went the other way.
    Answer("lucko", "withdraw-is-a-falling-balance", Outcome.SUCCEEDED,
           _edit(LUCKO, ("data.before_balance", "50.00"), ("data.after_balance", "20.00")),
           transfer={"amount": Decimal("30"), "direction": Direction.WITHDRAW}),
    Answer("minigame", "withdraw-is-a-negative-amount", Outcome.SUCCEEDED,
           _edit(MINIGAME, ("data.amount", "-12.5")),
           transfer={"direction": Direction.WITHDRAW, "amount": Decimal("12.5")},
           verdict={"provider_amount": Decimal("12.5")}),  # size: the sign became the direction
    Answer("naga", "withdraw-record", Outcome.SUCCEEDED, _edit(NAGA, ("type", "WITHDRAW")),
           transfer={"direction": Direction.WITHDRAW}),
    Answer("vct", "withdraw-record", Outcome.SUCCEEDED,
           _edit(VCT, ("data.transfer_type", "withdraw")),
           transfer={"direction": Direction.WITHDRAW}),
    # Our player reference, when set, is the player the provider knows.
    Answer("lucko", "player-ref-is-the-player", Outcome.SUCCEEDED,
           transfer={"player_id": "ours-7", "player_ref": "testUid03"}),
    Answer("vct", "currency-ignoring-case", Outcome.SUCCEEDED, transfer={"currency": "cny"}),
]


def _mismatch(seed: Seed, case: str, facts: dict[str, Any], difference: str) -> Answer:
    return Answer(seed.kind, f"mismatch-{case}", Outcome.MISMATCH, transfer=facts,
                  detail_has=difference)


# The seed's answer for a transfer that differs from it in one fact.
MISMATCHES = [
    _mismatch(HRG, "amount", {"amount": Decimal("1000")},
              "amount: provider 900.0000, ours 1000.0000"),
    _mismatch(HRG, "direction", {"direction": Direction.DEPOSIT},
              "direction: provider withdraw, ours deposit"),
    _mismatch(HRG, "player", {"player_ref": "hrgpl99999"},
              "player: provider 'hrgpl00017', ours 'hrgpl99999'"),
    _mismatch(HRG, "tx-id", {"tx_id": "1656647292426"},
              "tx id: provider '1656647292425', ours '1656647292426'"),
    _mismatch(LUCKO, "amount", {"amount": Decimal("1000")},
              "amount: provider 1000.6900, ours 1000.0000"),
    _mismatch(LUCKO, "currency", {"currency": "VND"}, "currency: provider 'VND2', ours 'VND'"),
    _mismatch(LUCKO, "direction", {"direction": Direction.WITHDRAW},
              "direction: provider deposit, ours withdraw"),
    _mismatch(LUCKO, "player", {"player_id": "someone"},
              "player: provider 'testUid03', ours 'someone'"),
    _mismatch(LUCKO, "tx-id", {"tx_id": "other"}, "tx id: provider 'txniwsdfa342', ours 'other'"),
    _mismatch(MINIGAME, "amount", {"amount": Decimal("4299.0000")},
              "amount: provider 4299.1000, ours 4299.0000"),
    _mismatch(MINIGAME, "currency", {"currency": "USD"}, "currency: provider 'usdt', ours 'USD'"),
    _mismatch(MINIGAME, "direction", {"direction": Direction.WITHDRAW},
              "direction: provider deposit, ours withdraw"),
    # A failed record that names another amount is still not ours.
    Answer("minigame", "mismatch-failed-record-with-another-amount", Outcome.MISMATCH,
           _edit(MINIGAME, ("data.state", 0), ("data.amount", "1.0"))),
    _mismatch(NAGA, "amount", {"amount": Decimal("999.99")},
              "amount: provider 1000.0000, ours 999.9900"),
    _mismatch(NAGA, "currency", {"currency": "USD"}, "currency: provider 'THB', ours 'USD'"),
    _mismatch(NAGA, "direction", {"direction": Direction.WITHDRAW},
              "direction: provider deposit, ours withdraw"),
    _mismatch(NAGA, "player", {"player_id": "p2"},
              "player: provider 'player_transfer_01', ours 'p2'"),
    _mismatch(NAGA, "tx-id", {"tx_id": "other"},
              "tx id: provider 'd93b49c8-bd90-42eb-bbab-5697171b704a', ours 'other'"),
    _mismatch(VCT, "amount", {"amount": Decimal("50")}, "amount: provider 500.0000, ours 50.0000"),
    _mismatch(VCT, "currency", {"currency": "USD"}, "currency: provider 'CNY', ours 'USD'"),
    _mismatch(VCT, "direction", {"direction": Direction.WITHDRAW},
              "direction: provider deposit, ours withdraw"),
    _mismatch(VCT, "player", {"player_ref": None},
              "player: provider 'TESTAGENT_PLAYER_USER_001', ours 'PLAYER_USER_001'"),
    _mismatch(VCT, "tx-id", {"tx_id": "TXN2"}, "tx id: provider 'TXN202606152311001', ours 'TXN2'"),
]


def _status(seed: Seed, path: str, value: object, outcome: Outcome,
            status: str | None = None) -> Answer:
    verdict = {} if status is None else {"provider_status": status}
    return Answer(seed.kind, f"status-{value}", outcome, _edit(seed, (path, value)),
                  verdict=verdict)


# Every documented status of a record (HRG's records have none: a record is an applied one).
STATUSES = [
    _status(LUCKO, "data.status", 0, Outcome.PENDING),
    _status(LUCKO, "data.status", 1, Outcome.SUCCEEDED),
    _status(LUCKO, "data.status", 2, Outcome.FAILED),
    _status(MINIGAME, "data.state", 1, Outcome.SUCCEEDED, "1"),
    _status(MINIGAME, "data.state", 0, Outcome.FAILED, "0"),
    _status(MINIGAME, "data.state", 2, Outcome.PENDING, "2"),
    _status(NAGA, "status", "SUCCEED", Outcome.SUCCEEDED),
    _status(NAGA, "status", "FAILED", Outcome.FAILED),
    _status(VCT, "data.status", "success", Outcome.SUCCEEDED),
    _status(VCT, "data.status", "failed", Outcome.FAILED),
    _status(VCT, "data.status", "pending", Outcome.PENDING),
]


def _hrg_code(case: str, outcome: Outcome, setting: str | None) -> Answer:
    settings = {} if setting is None else {setting: ["0401"]}
    return Answer("hrg", case, outcome, {"code": "0401", "message": "words"}, settings=settings,
                  verdict={"provider_status": "0401", "detail": "code 0401: words"})


def _lucko_code(code: int, outcome: Outcome, undocumented: bool = False) -> Answer:
    detail = f"code {code}: Words" + (" (undocumented code)" if undocumented else "")
    return Answer("lucko", str(code), outcome, {"code": code, "message": "Words", "data": None},
                  verdict={"detail": detail})


def _minigame_code(code: int, outcome: Outcome) -> Answer:
    return Answer("minigame", str(code), outcome, {"code": code, "msg": "some words"},
                  verdict={"provider_status": str(code)}, detail_has=f"code {code}: some words")


def _naga_other_4xx(http_status: int, **settings: str) -> Answer:
    body = body_of({"message": "Invalid Brand", "code": 1001})
    if settings:
        return Answer("naga", f"1001-http-{http_status}-set-to-retry", Outcome.RETRY, body,
                      http_status, settings=settings)
    return Answer("naga", f"1001-http-{http_status}", Outcome.AUTH_ERROR, body, http_status,
                  verdict={"detail": f"code 1001: Invalid Brand (HTTP {http_status})"})


def _naga_refusal(http_status: int) -> Answer:
    return Answer(
        "naga", f"1001-http-{http_status}-refused-whatever-the-setting", Outcome.AUTH_ERROR,
        body_of({"message": "Invalid Signature", "code": 1001}), http_status,
        settings={"other_4xx_outcome": "RETRY"},
        verdict={"detail": f"HTTP {http_status}: credentials or address refused "
                           "(code 1001; Invalid Signature)"},
    )


def _vct_code(code: int, outcome: Outcome) -> Answer:
    return Answer("vct", str(code), outcome, {"code": code, "data": {}, "msg": "words"},
                  verdict={"provider_status": str(code)})


def _vct_401(case: str, body: bytes, **settings: Any) -> Answer:
    return Answer("vct", f"http-401-{case}", Outcome.AUTH_ERROR, body, 401, settings=settings,
                  detail_starts="HTTP 401")


def _vct_token(message: str, http_status: int) -> Answer:
    return Answer("vct", f"{message.lower().replace(' ', '-')}-http-{http_status}",
                  Outcome.AUTH_ERROR, body_of({"code": 99, "data": {}, "msg": message}),
                  http_status, verdict={"detail": f"HTTP {http_status}: {message}"})


_HRG_0404 = {"code": "0404", "message": "transaction not found"}
_VCT_EXPIRED = b'{"code":1003,"data":{},"msg":"Token expired"}'

# Every documented error code, and what an undocumented or unconfigured one becomes.
CODES = [
    # HRG's codes are not public: each list of them is a setting, and with none set a code
    # other than "0000" is retried.
    Answer("hrg", "0404-unconfigured", Outcome.RETRY, _HRG_0404),
    Answer("hrg", "0404-a-not-found-code", Outcome.NOT_FOUND, _HRG_0404,
           settings={"not_found_codes": ["0404"]}),
    _hrg_code("0401-a-not-found-code", Outcome.NOT_FOUND, "not_found_codes"),
    _hrg_code("0401-an-auth-error-code", Outcome.AUTH_ERROR, "auth_error_codes"),
    _hrg_code("0401-a-rate-limited-code", Outcome.RATE_LIMITED, "rate_limited_codes"),
    _lucko_code(408000, Outcome.AUTH_ERROR),
    _lucko_code(408003, Outcome.AUTH_ERROR),
    _lucko_code(408004, Outcome.RATE_LIMITED),
    _lucko_code(600100, Outcome.AUTH_ERROR),
    _lucko_code(700101, Outcome.AUTH_ERROR),
    _lucko_code(700103, Outcome.MISMATCH),
    _lucko_code(700201, Outcome.MISMATCH),
    _lucko_code(700202, Outcome.AUTH_ERROR),
    _lucko_code(700205, Outcome.NOT_FOUND),
    _lucko_code(123456, Outcome.RETRY, undocumented=True),
    _minigame_code(10002, Outcome.AUTH_ERROR),
    _minigame_code(10003, Outcome.PENDING),
    _minigame_code(10004, Outcome.NOT_FOUND),
    _minigame_code(10006, Outcome.RATE_LIMITED),
    _minigame_code(10009, Outcome.AUTH_ERROR),
    _minigame_code(10011, Outcome.AUTH_ERROR),
    _minigame_code(10012, Outcome.AUTH_ERROR),
    _minigame_code(10015, Outcome.RETRY),
    _minigame_code(10018, Outcome.AUTH_ERROR),
    _minigame_code(10020, Outcome.NOT_FOUND),
    _minigame_code(10022, Outcome.AUTH_ERROR),
    _minigame_code(99999, Outcome.RETRY),
    # The not-found codes are a setting.
    Answer("minigame", "10020-not-a-not-found-code", Outcome.RETRY, {"code": 10020, "msg": "x"},
           settings={"not_found_codes": [10004]}),
    Answer("minigame", "10077-a-not-found-code", Outcome.NOT_FOUND, {"code": 10077, "msg": "x"},
           settings={"not_found_codes": [10077]}),
    Answer("naga", "1208-seed-not-found", Outcome.NOT_FOUND, NAGA.not_found, 400,
           verdict={"provider_status": "1208", "detail": "code 1208: Transaction Not Found"}),
    # Other 4xx answers with a code are request or credential errors, unless set otherwise...
    _naga_other_4xx(400),
    _naga_other_4xx(400, other_4xx_outcome="RETRY"),
    _naga_other_4xx(404),
    _naga_other_4xx(404, other_4xx_outcome="RETRY"),
    _naga_other_4xx(409),
    _naga_other_4xx(409, other_4xx_outcome="RETRY"),
    # ...but a refusal is a refusal whatever that setting says.
    _naga_refusal(401),
    _naga_refusal(403),
    # A 4xx without a code is not an answer.
    Answer("naga", "http-400-html", Outcome.RETRY, b"<html>Bad Request</html>", 400),
    Answer("naga", "http-400-no-code", Outcome.RETRY, b'{"message":"no code"}', 400),
    Answer("vct", "7-seed-not-found", Outcome.NOT_FOUND, VCT.not_found,
           verdict={"detail": "code 7: order not found"}),
    _vct_code(7, Outcome.NOT_FOUND),
    _vct_code(1001, Outcome.AUTH_ERROR),
    _vct_code(1002, Outcome.AUTH_ERROR),
    _vct_code(1003, Outcome.RETRY),
    _vct_code(3004, Outcome.PENDING),
    _vct_code(55, Outcome.RETRY),
    # Token errors come with HTTP 401: an auth error whatever the body, even with no extra
    # auth-error statuses set.
    _vct_401("token-expired", _VCT_EXPIRED),
    _vct_401("token-expired-no-extra-statuses", _VCT_EXPIRED, auth_error_http_statuses=[]),
    _vct_401("html", b"<html>401 Unauthorized</html>"),
    _vct_401("html-no-extra-statuses", b"<html>401 Unauthorized</html>",
             auth_error_http_statuses=[]),
    _vct_401("empty", b""),
    _vct_401("empty-no-extra-statuses", b"", auth_error_http_statuses=[]),
    # Token messages are auth errors on any status.
    _vct_token("Token expired", 200),
    _vct_token("Token expired", 400),
    _vct_token("Invalid token signature", 200),
    _vct_token("Invalid token signature", 400),
]

# HTTP statuses around the answers: 429 is rate limited, and a status that is not an answer
# status is retried.
HTTP = [
    Answer("hrg", "http-429", Outcome.RATE_LIMITED, b"", 429),
    Answer("hrg", "http-404", Outcome.RETRY, http_status=404),
    Answer("hrg", "http-404-an-answer-status", Outcome.SUCCEEDED, http_status=404,
           settings={"answer_http_statuses": [200, 404]}),
    Answer("lucko", "http-429", Outcome.RATE_LIMITED, b"", 429),
    Answer("lucko", "http-404", Outcome.RETRY, http_status=404),
    Answer("minigame", "http-429", Outcome.RATE_LIMITED, b"slow down", 429),
    Answer("minigame", "http-404", Outcome.RETRY, http_status=404),
    Answer("naga", "http-429", Outcome.RATE_LIMITED, b'{"code":429}', 429),
    Answer("naga", "http-302", Outcome.RETRY, http_status=302),
    Answer("vct", "http-429", Outcome.RATE_LIMITED, b'{"code":429,"data":{},"msg":"too many"}',
           429),
    Answer("vct", "http-419", Outcome.RETRY, b"denied", 419),
    Answer("vct", "http-419-an-auth-error-status", Outcome.AUTH_ERROR, b"denied", 419,
           settings={"auth_error_http_statuses": [419]}),
]


def _unreadable(seed: Seed, case: str, body: bytes | dict[str, Any]) -> Answer:
    return Answer(seed.kind, f"unreadable-{case}", Outcome.RETRY, body,
                  detail_starts="unreadable answer")


# Answers that cannot be read: retried, with the reason.
MALFORMED = [
    _unreadable(HRG, "code-as-number", _edit(HRG, ("code", 0))),
    _unreadable(HRG, "amount-two-points", _edit(HRG, ("data.amount", "-900.0.0"))),
    _unreadable(HRG, "amount-in-a-list", _edit(HRG, ("data.amount", ["-900"]))),
    _unreadable(HRG, "user-id-null", _edit(HRG, ("data.userId", None))),
    _unreadable(HRG, "data-a-string", _edit(HRG, ("data", "none"))),
    _unreadable(HRG, "no-data", without(HRG.document, "data")),
    _unreadable(HRG, "no-transaction-code", without(HRG.document, "data.transactionCode")),
    _unreadable(LUCKO, "after-balance-false", _edit(LUCKO, ("data.after_balance", False))),
    _unreadable(LUCKO, "after-balance-with-a-comma",
                _edit(LUCKO, ("data.after_balance", "1,000.00"))),
    _unreadable(LUCKO, "status-7", _edit(LUCKO, ("data.status", 7))),
    _unreadable(LUCKO, "status-null", _edit(LUCKO, ("data.status", None))),
    _unreadable(LUCKO, "user-id-number", _edit(LUCKO, ("data.user_id", 3))),
    _unreadable(LUCKO, "code-as-text", _edit(LUCKO, ("code", "200"))),
    _unreadable(LUCKO, "no-txn-id", without(LUCKO.document, "data.txn_id")),
    _unreadable(LUCKO, "no-currency", without(LUCKO.document, "data.currency")),
    _unreadable(LUCKO, "a-list", b"[]"),
    _unreadable(MINIGAME, "amount-true", _edit(MINIGAME, ("data.amount", True))),
    _unreadable(MINIGAME, "amount-exponent", _edit(MINIGAME, ("data.amount", "4.2991e3"))),
    _unreadable(MINIGAME, "amount-nan", _edit(MINIGAME, ("data.amount", "NaN"))),
    _unreadable(MINIGAME, "amount-five-places", _edit(MINIGAME, ("data.amount", "4299.12345"))),
    _unreadable(MINIGAME, "state-as-text", _edit(MINIGAME, ("data.state", "1"))),
    _unreadable(MINIGAME, "state-3", _edit(MINIGAME, ("data.state", 3))),
    _unreadable(MINIGAME, "currency-number", _edit(MINIGAME, ("data.currency", 840))),
    _unreadable(MINIGAME, "code-as-text", _edit(MINIGAME, ("code", "0"))),
    _unreadable(MINIGAME, "no-data", without(MINIGAME.document, "data")),
    _unreadable(MINIGAME, "no-amount", without(MINIGAME.document, "data.amount")),
    _unreadable(MINIGAME, "html", b"<html>Bad gateway</html>"),
    _unreadable(MINIGAME, "cut-short", MINIGAME.answer[:40]),
    _unreadable(NAGA, "status-pending", _edit(NAGA, ("status", "PENDING"))),
    _unreadable(NAGA, "type-in-lower-case", _edit(NAGA, ("type", "deposit"))),
    _unreadable(NAGA, "amount-false", _edit(NAGA, ("amount", False))),
    _unreadable(NAGA, "amount-with-a-letter-o", _edit(NAGA, ("amount", "1000.0O"))),
    _unreadable(NAGA, "currency-not-an-object", _edit(NAGA, ("currency", "THB"))),
    _unreadable(NAGA, "native-id-null", _edit(NAGA, ("player.nativeId", None))),
    _unreadable(NAGA, "no-native-transaction-id", without(NAGA.document, "nativeTransactionId")),
    _unreadable(NAGA, "no-currency-code", without(NAGA.document, "currency.code")),
    _unreadable(NAGA, "cut-short", NAGA.answer[:-5]),
    _unreadable(VCT, "amount-true", _edit(VCT, ("data.amount", True))),
    _unreadable(VCT, "amount-exponent-as-text", _edit(VCT, ("data.amount", "5e2"))),
    _unreadable(VCT, "amount-an-object", _edit(VCT, ("data.amount", {"value": 500}))),
    _unreadable(VCT, "status-in-upper-case", _edit(VCT, ("data.status", "SUCCESS"))),
    _unreadable(VCT, "transfer-type-transfer", _edit(VCT, ("data.transfer_type", "transfer"))),
    _unreadable(VCT, "member-id-number", _edit(VCT, ("data.hub_member_id", 1))),
    _unreadable(VCT, "code-null", _edit(VCT, ("code", None))),
    _unreadable(VCT, "no-transfer-id", without(VCT.document, "data.transfer_id")),
    _unreadable(VCT, "no-code", without(VCT.document, "code")),
    _unreadable(VCT, "amount-infinity", VCT.answer.replace(b"500.00", b"Infinity")),
    _unreadable(VCT, "amount-1e400", VCT.answer.replace(b"500.00", b"1e400")),
]

# Every answer row, one table of the contract.
ANSWERS = READINGS + MISMATCHES + STATUSES + CODES + HTTP + MALFORMED


@dataclass(frozen=True)
class Setting:
    """A setting of a provider instance: its default, or a value it refuses."""

    kind: str
    name: str
    value: Any
    case: str = ""

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.name}" + (f"-{self.case}" if self.case else "")


DEFAULTS = [
    Setting("hrg", "not_found_codes", []),
    Setting("hrg", "free_credit", False),
    Setting("hrg", "basic_user", None),
    Setting("lucko", "answer_http_statuses", [200]),
    Setting("minigame", "not_found_codes", [10020, 10004]),
    Setting("minigame", "answer_http_statuses", [200]),
    Setting("naga", "lookup_by", "native"),
    Setting("naga", "other_4xx_outcome", "AUTH_ERROR"),
    Setting("vct", "auth_error_http_statuses", []),
    Setting("vct", "member_prefix", None),
]

REFUSED = [
    # HRG's codes are four characters, and "0000" is success, never an error.
    Setting("hrg", "not_found_codes", ["404"], "three-characters"),
    Setting("hrg", "not_found_codes", ["04040"], "five-characters"),
    Setting("hrg", "not_found_codes", ["0000"], "success"),
    Setting("hrg", "not_found_codes", [404], "a-number"),
    Setting("naga", "lookup_by", "naga_id", "unknown"),
    # A VCT member prefix is written bare.
    Setting("vct", "member_prefix", "", "empty"),
    Setting("vct", "member_prefix", "TESTAGENT_", "with-the-underscore"),
    Setting("vct", "member_prefix", " TESTAGENT", "leading-space"),
    Setting("vct", "member_prefix", "TESTAGENT ", "trailing-space"),
]
