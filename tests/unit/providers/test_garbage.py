"""Garbage in, never a final outcome out.

For each kind, hypothesis feeds `classify` and the full `check()` (over a canned HTTP session)
random bytes, random JSON trees, and the seed's valid answer with a field the adapter relies on
removed or given a wrong type. `classify` must always return a Verdict, and none of those bodies
may ever resolve a transfer (SUCCEEDED or FAILED). Removing fields the adapter ignores must not
change the outcome at all.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.providers.contract_table import HRG, LUCKO, MINIGAME, NAGA, VCT
from tests.unit.providers.support import Seed, edited, make_adapter, without
from worker.domain.types import Outcome, TransferRef
from worker.providers.base import Verdict

FINAL = {Outcome.SUCCEEDED, Outcome.FAILED}
# Modest example counts keep the whole file to a few seconds.
EXAMPLES = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW_EXAMPLES = settings(EXAMPLES, max_examples=30)


# What a field must be for the adapter to read it; anything else is a wrong value.
@dataclass(frozen=True)
class Text:
    only: frozenset[str] | None = None  # a documented set of values, if it has one


@dataclass(frozen=True)
class Integer:
    only: frozenset[int]


@dataclass(frozen=True)
class Amount:
    pass


@dataclass(frozen=True)
class Object:
    pass


@dataclass(frozen=True)
class Kind:
    seed: Seed  # the seed answer, its transfer and credentials
    read: dict[str, Text | Integer | Amount | Object]  # fields the adapter relies on
    ignored: tuple[str, ...]  # fields the adapter does not look at

    @property
    def name(self) -> str:
        return self.seed.kind


KINDS = {
    kind.name: kind
    for kind in (
        Kind(
            MINIGAME,
            {
                "code": Integer(frozenset({0})),
                "data": Object(),
                "data.state": Integer(frozenset({0, 1, 2})),
                "data.amount": Amount(),
                "data.currency": Text(),
            },
            ("msg",),
        ),
        Kind(
            LUCKO,
            {
                "code": Integer(frozenset({200})),
                "data": Object(),
                "data.status": Integer(frozenset({0, 1, 2})),
                "data.before_balance": Amount(),
                "data.after_balance": Amount(),
                "data.currency": Text(),
                "data.user_id": Text(),
                "data.txn_id": Text(),
            },
            ("message", "data.agent_id"),
        ),
        Kind(
            HRG,
            {
                "code": Text(frozenset({"0000"})),
                "data": Object(),
                "data.amount": Amount(),
                "data.userId": Text(),
                "data.transactionCode": Text(),
            },
            ("data.agentId", "data.freeCredit", "data.preBalance", "data.preFreeCredit",
             "data.currentBalance", "data.currentFreeCredit", "data.createDate"),
        ),
        Kind(
            VCT,
            {
                "code": Integer(frozenset({0})),
                "data": Object(),
                "data.status": Text(frozenset({"success", "failed", "pending"})),
                "data.transfer_type": Text(frozenset({"deposit", "withdraw"})),
                "data.amount": Amount(),
                "data.currency": Text(),
                "data.hub_member_id": Text(),
                "data.transfer_id": Text(),
            },
            ("msg", "data.balance_before", "data.balance_after", "data.remark",
             "data.created_at"),
        ),
        Kind(
            NAGA,
            {
                "status": Text(frozenset({"SUCCEED", "FAILED"})),
                "type": Text(frozenset({"DEPOSIT", "WITHDRAW"})),
                "amount": Amount(),
                "currency": Object(),
                "currency.code": Text(),
                "player": Object(),
                "player.nativeId": Text(),
                "nativeTransactionId": Text(),
            },
            ("brand", "group", "created", "id", "wallet", "player.id", "currency.id"),
        ),
    )
}

# A string that reads as a plain decimal could be a right amount: not a wrong value.
PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda children: st.lists(children, max_size=4)
        | st.dictionaries(keys, children, max_size=5),
        max_leaves=12,
    )


ANY_JSON = json_values(st.text(max_size=8))


@functools.cache  # strategies are built once: building them per example is the slow part
def wrong_values(field: Text | Integer | Amount | Object) -> st.SearchStrategy[Any]:
    if isinstance(field, Text):
        others = ANY_JSON.filter(lambda value: not isinstance(value, str))
        if field.only:
            allowed = field.only
            others |= st.text(max_size=12).filter(lambda value: value not in allowed)
        return others
    if isinstance(field, Integer):
        allowed_ints = field.only
        return ANY_JSON.filter(
            lambda value: isinstance(value, bool) or not isinstance(value, int)
        ) | st.integers().filter(lambda value: value not in allowed_ints)
    if isinstance(field, Amount):
        return ANY_JSON.filter(
            lambda value: isinstance(value, bool | type(None) | list | dict)
            or (isinstance(value, str) and not PLAIN_DECIMAL.fullmatch(value))
        )
    return ANY_JSON.filter(lambda value: not isinstance(value, dict))


@st.composite
def broken_answers(draw: st.DrawFn, kind: Kind) -> bytes:
    """The seed's valid answer with one field it relies on removed or mistyped."""
    path = draw(st.sampled_from(sorted(kind.read)))
    if draw(st.booleans()):
        document = without(kind.seed.document, path)
    else:
        document = edited(kind.seed.document, path, draw(wrong_values(kind.read[path])))
    return json.dumps(document).encode()


def random_trees(kind: Kind) -> st.SearchStrategy[bytes]:
    """JSON trees whose keys are often the kind's own field names, to get past the first check."""
    names = {part for path in kind.read for part in path.split(".")}
    keys = st.sampled_from(sorted(names)) | st.text(max_size=6)
    return json_values(keys).map(lambda tree: json.dumps(tree).encode())


TREES = {name: random_trees(kind) for name, kind in KINDS.items()}
STATUSES = st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 418, 429])


class CannedResponse:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code = status
        self._body = body

    def iter_content(self, chunk_size: int) -> Iterator[bytes]:
        for start in range(0, len(self._body), chunk_size):
            yield self._body[start:start + chunk_size]

    def close(self) -> None:
        pass


class CannedSession:
    """Stands in for requests.Session: every request gets the same answer."""

    def __init__(self, status: int, body: bytes) -> None:
        self.answer = CannedResponse(status, body)

    def request(self, method: str, url: str, **options: Any) -> CannedResponse:
        return self.answer


def outcomes(kind: Kind, status: int, body: bytes) -> tuple[Outcome, Outcome]:
    """The outcome of `classify` alone, and of the whole `check()` around it."""
    adapter = make_adapter(kind.name, kind.seed.credentials)
    transfer: TransferRef = kind.seed.transfer
    verdict = adapter.classify(transfer, status, body)
    assert isinstance(verdict, Verdict)
    # Stands in for requests.Session.
    adapter.http = CannedSession(status, body)  # type: ignore[assignment]
    return verdict.outcome, adapter.check(transfer).outcome


@pytest.mark.parametrize("name", sorted(KINDS))
def test_the_seed_answer_itself_resolves(name):
    # The baseline the properties below break: without it they would prove nothing.
    # when / then
    assert outcomes(KINDS[name], 200, KINDS[name].seed.answer) == (
        Outcome.SUCCEEDED, Outcome.SUCCEEDED,
    )


@pytest.mark.parametrize("name", sorted(KINDS))
@EXAMPLES
@given(data=st.data())
def test_random_bytes_never_resolve(name, data):
    # given any bytes under any status
    body = data.draw(st.binary(max_size=300))
    status = data.draw(STATUSES)
    # when / then neither classify nor check resolves them
    assert FINAL.isdisjoint(outcomes(KINDS[name], status, body))


@pytest.mark.parametrize("name", sorted(KINDS))
@EXAMPLES
@given(data=st.data())
def test_random_json_never_resolves(name, data):
    # given any JSON under any status
    kind = KINDS[name]
    body = data.draw(TREES[name])
    status = data.draw(STATUSES)
    # when / then neither classify nor check resolves it
    assert FINAL.isdisjoint(outcomes(kind, status, body))


@pytest.mark.parametrize("name", sorted(KINDS))
@EXAMPLES
@given(data=st.data())
def test_a_missing_or_mistyped_field_never_resolves(name, data):
    # given the seed answer with a field missing or of the wrong type
    kind = KINDS[name]
    body = data.draw(broken_answers(kind))
    # when / then neither classify nor check resolves it
    assert FINAL.isdisjoint(outcomes(kind, 200, body))


@pytest.mark.parametrize("name", sorted(KINDS))
@FEW_EXAMPLES
@given(data=st.data())
def test_a_valid_answer_under_another_http_status_never_resolves(name, data):
    # given the seed answer under another status
    kind = KINDS[name]
    status = data.draw(st.integers(100, 499).filter(lambda code: code != 200))
    # when / then neither classify nor check resolves it
    assert FINAL.isdisjoint(outcomes(kind, status, kind.seed.answer))


@pytest.mark.parametrize("name", sorted(KINDS))
@FEW_EXAMPLES
@given(data=st.data())
def test_removing_fields_the_adapter_ignores_changes_nothing(name, data):
    # given the seed answer without some of the fields the adapter ignores
    kind = KINDS[name]
    document = kind.seed.document
    for path in data.draw(st.sets(st.sampled_from(kind.ignored))):
        document = without(document, path)
    # when / then it still resolves
    assert outcomes(kind, 200, json.dumps(document).encode()) == (
        Outcome.SUCCEEDED, Outcome.SUCCEEDED,
    )


PATHOLOGICAL = [
    b"[" * 100_000,  # nesting deep enough to exhaust the parser's recursion
    b'{"code": ' + b"9" * 5000 + b"}",  # an integer longer than Python converts by default
    b'{"code": "\xc3\x28"}',  # not valid UTF-8
    b'{"code": NaN}',
    b"",
]


@pytest.mark.parametrize("name", sorted(KINDS))
@pytest.mark.parametrize("body", PATHOLOGICAL)
def test_pathological_bodies_are_retried(name, body):
    # when / then
    assert outcomes(KINDS[name], 200, body) == (Outcome.RETRY, Outcome.RETRY)


@pytest.mark.parametrize("amount", [b"1e999999999", b"-1E+30", b"1e-999999999"])
def test_absurd_json_numbers_as_amounts_are_retried(amount):
    # given the seed answer with an absurd number as its amount
    body = VCT.answer.replace(b"500.00,", amount + b",", 1)
    assert body != VCT.answer
    # when / then
    assert outcomes(KINDS["vct"], 200, body) == (Outcome.RETRY, Outcome.RETRY)
