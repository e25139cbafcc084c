"""Generated intake requests: valid ones, and ones with exactly one field made wrong.

A wrong case says which field a refusal must name. Each bad value is tagged with what can
carry it: `TEXT` goes every way (the command line too), `JSON` any way that carries JSON
values (not the command line). The command line's `--direction` and `--as` are click choices,
refused by click itself, and over HTTP `by` is the token's name and there is no begin or
complete: those cases are drawn only for the ways that carry them.
"""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from worker.engine.intake.request import FIELDS, MAX_LENGTHS

TEXT, JSON = "text", "json"
PROVIDERS = ("scripted-a", "scripted-eur")  # scripted-eur deals in EUR and USDT only
EUR_CODES = ("EUR", "eur", "USDT", "Usdt")
MAX_DEADLINE_S = 3600.0
DIGITS = string.digits
PRINTABLE = "".join(chr(code) for code in range(0x20, 0x7F))
ASCII_SPACES = string.whitespace  # what intake strips around a value
# Control characters that are not stripped as spaces around a value: refused wherever they are.
CONTROLS = "".join(chr(code) for code in [*range(0x20), 0x7F, 0x85, 0x2028, 0x2029]
                   if chr(code) not in ASCII_SPACES)
# Characters that look like ASCII letters or turn into them under case folding.
LOOKALIKES = "\u00df\u017f\u0131\u0130\u212a\ufb00\u01c5\u01c6\u00b5\u0430\u0435\u043e" \
             "\u0440\u0441\u0443\u0445\u03bf\uff35\uff33\uff24\uff45"
_unique = itertools.count()


@dataclass
class Case:
    """One call: `op` with its arguments; `field` is what a refusal must name (None: valid)."""

    op: str  # register, begin or complete
    payload: Any = None
    deadline_s: Any = None
    complete_args: tuple[Any, ...] = ()
    by: Any = "test"
    field: str | None = None


def send(way: Any, case: Case) -> Any:
    if case.op == "register":
        return way.register(case.payload, by=case.by)
    if case.op == "begin":
        return way.begin(case.payload, deadline_s=case.deadline_s, by=case.by)
    return way.complete(*case.complete_args, by=case.by)


# Valid values

def ids(limit: int) -> st.SearchStrategy[str]:
    """Printable ASCII, spaces inside only, up to `limit` characters (one draw: cheap)."""
    return st.text(PRINTABLE, min_size=1, max_size=min(limit, 40)).map(
        lambda text: text.strip() or "x")


def amounts() -> st.SearchStrategy[str]:
    """Plain decimal text, positive: up to 16 integer digits and 4 decimals."""
    built = st.builds(lambda whole, fraction: _positive(whole + fraction),
                      st.text(DIGITS, min_size=1, max_size=16),
                      st.sampled_from(["", ".5", ".25", ".125", ".0001", ".9999", ".1000"]))
    edges = st.sampled_from(["9999999999999999.9999", "0.0001", "1", "0000000000000001.5"])
    return st.one_of(built, edges)


def _positive(amount: str) -> str:
    return amount if amount.strip("0.") else amount[:-1] + "1"


def currency_codes() -> st.SearchStrategy[str]:
    return st.builds(str.__add__, st.sampled_from(string.ascii_letters),
                     st.text(string.ascii_letters + DIGITS, min_size=2, max_size=9))


@st.composite
def sent_ats(draw: st.DrawFn) -> str:
    zone = draw(st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                 timezone(-timedelta(hours=8))]))
    ago = timedelta(seconds=draw(st.integers(60, 300 * 86400)))
    written = (datetime.now(UTC) - ago).astimezone(zone).isoformat()
    return written.replace("+00:00", "Z") if draw(st.booleans()) else written


@st.composite
def valid_payloads(draw: st.DrawFn, text_only: bool = False) -> dict[str, Any]:
    """A request intake must accept, its tx_id made unique so that every one is new."""
    provider = draw(st.sampled_from(PROVIDERS))
    directions = ["deposit", "withdraw"] if text_only else ["deposit", "withdraw", "DEPOSIT",
                                                            "Withdraw"]
    payload = {
        "provider": provider,
        "tx_id": f"{draw(ids(100))}#{next(_unique)}",
        "direction": draw(st.sampled_from(directions)),
        "player_id": draw(ids(MAX_LENGTHS["player_id"])),
        "amount": draw(amounts()),
        "currency": draw(currency_codes() if provider == "scripted-a"
                         else st.sampled_from(EUR_CODES)),
    }
    if draw(st.booleans()):
        payload["player_ref"] = draw(st.one_of(st.just(""), ids(MAX_LENGTHS["player_ref"]))
                                     if text_only else
                                     st.one_of(st.none(), st.just(""),
                                               ids(MAX_LENGTHS["player_ref"])))
    if draw(st.booleans()):
        payload["sent_at"] = draw(sent_ats())
    if draw(st.booleans()):  # spaces around a value are not part of it
        name = draw(st.sampled_from(["amount", "currency", "tx_id", "player_id"]))
        payload[name] = draw(st.sampled_from(ASCII_SPACES)) + payload[name] + " "
    return payload


# Wrong values, by field

@st.composite
def inserted(draw: st.DrawFn, base: st.SearchStrategy[str], chars: st.SearchStrategy[str],
             inside: bool = False) -> str:
    """`base` with one of `chars` put in (strictly inside it when `inside`, where stripping
    the ends cannot remove it)."""
    text = draw(base)
    if inside:
        text = text if len(text) > 1 else text * 2
        at = draw(st.integers(1, len(text) - 1))
    else:
        at = draw(st.integers(0, len(text)))
    return text[:at] + draw(chars) + text[at:]


NON_ASCII = st.characters(min_codepoint=0x80, exclude_categories=["Cs"])
NON_TEXT = st.one_of(st.integers(), st.floats(), st.booleans(),
                     st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def is_plain_amount(text: str) -> bool:
    """The rule, written out here independently of the code under test."""
    core = text.strip(ASCII_SPACES)
    whole, point, fraction = core.partition(".")
    return (core.isascii() and whole.isdigit() and len(whole) <= 16
            and (not point or (fraction.isdigit() and len(fraction) <= 4))
            and any(digit not in "0." for digit in core))


def is_currency_code(text: str) -> bool:
    core = text.strip(ASCII_SPACES)
    return (core.isascii() and core.isalnum() and 3 <= len(core) <= 10
            and core[0].isalpha())


def bad_amounts() -> list[tuple[str, st.SearchStrategy[Any]]]:
    digits = st.text(DIGITS, min_size=1, max_size=8)
    return [
        (TEXT, st.builds(lambda a, e, s, n: f"{a}{e}{s}{n}", amounts(), st.sampled_from("eE"),
                         st.sampled_from(["", "+", "-"]), st.integers(0, 400))),
        (TEXT, inserted(amounts(), st.just("_"), inside=True)),
        (TEXT, inserted(amounts(), st.sampled_from(" \t\n\u00a0\u2009,'"), inside=True)),
        (TEXT, inserted(amounts(), st.characters(categories=["Nd"]).filter(
            lambda c: not c.isascii()))),
        (TEXT, st.builds(lambda s, a: s + a, st.sampled_from(["\u00a0", "\u3000", "\ufeff"]),
                         amounts())),
        (TEXT, st.integers(17, 6000).map(lambda n: "9" * n)),
        (TEXT, st.builds(lambda w, n: f"{w}.{'1' * n}", digits, st.integers(5, 60))),
        (TEXT, st.builds(lambda w, n: f"{w}.{'5' * n}", st.integers(17, 40).map("1".__mul__),
                         st.integers(5, 10))),
        (TEXT, st.builds(str.__add__, st.sampled_from("-+"), amounts())),
        (TEXT, st.sampled_from(["0", "00.00", "0.0000", ".5", "5.", ".", "", "  ", "NaN",
                                "nan", "Infinity", "-inf", "-0", "0x10", "1,000.00",
                                "\u0661\u0662\u0663", "\uff11\uff12", "1" * 17])),
        (TEXT, st.text(max_size=20).filter(lambda text: not is_plain_amount(text))),
        (JSON, st.one_of(NON_TEXT, st.none())),
    ]


def bad_currencies() -> list[tuple[str, st.SearchStrategy[Any]]]:
    return [
        (TEXT, inserted(currency_codes(), st.sampled_from(LOOKALIKES))),
        (TEXT, st.sampled_from(["usd\u00df", "\u0131sd", "\u212aRW", "\uff35\uff33\uff24",
                                "US", "", "1US", "U$D", "US D", "ABCDEFGHIJK"])),
        (TEXT, inserted(currency_codes(), st.sampled_from(CONTROLS + "$-_. ,/"),
                        inside=True)),
        (TEXT, st.text(string.ascii_letters, min_size=11, max_size=40)),
        (TEXT, st.text(max_size=14).filter(lambda text: not is_currency_code(text))),
        (JSON, st.one_of(NON_TEXT, st.none())),
    ]


def bad_text(name: str) -> list[tuple[str, st.SearchStrategy[Any]]]:
    limit = MAX_LENGTHS[name]
    cases = [
        (TEXT, st.builds(lambda n, c: c * n, st.integers(limit + 1, limit + 400),
                         st.sampled_from("x7-"))),
        (TEXT, inserted(ids(limit - 1), st.sampled_from(CONTROLS))),
        (TEXT, inserted(ids(limit - 1), st.sampled_from("\t\n\r\x0b\x0c"), inside=True)),
        (TEXT, inserted(ids(limit - 1), NON_ASCII)),
        (JSON, NON_TEXT),
    ]
    if name == "direction":
        cases.append((TEXT, ids(MAX_LENGTHS[name]).filter(
            lambda text: text.lower() not in ("deposit", "withdraw"))))
    if name != "player_ref":  # left out, blank or null, player_ref is simply absent
        cases += [(TEXT, st.sampled_from(["", "  ", "\t"])), (JSON, st.none())]
    return cases


def _from_now(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def bad_sent_ats() -> list[tuple[str, st.SearchStrategy[Any]]]:
    return [
        (TEXT, st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
         .map(datetime.isoformat)),  # no zone
        (TEXT, st.integers(600, 50 * 365 * 86400).map(_from_now)),  # in the future
        (TEXT, st.integers(-100 * 365 * 86400, -367 * 86400).map(_from_now)),  # over a year ago
        (TEXT, st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                "yesterday", "now", "2026-13-01T00:00:00Z", "T", "Z"])),
        (TEXT, inserted(sent_ats(), st.one_of(NON_ASCII, st.sampled_from(CONTROLS)))),
        (TEXT, st.text(string.ascii_letters, min_size=1, max_size=30)),
        (TEXT, st.integers(65, 500).map(lambda n: "2" * n)),
        (JSON, NON_TEXT),
    ]


def bad_deadlines() -> list[tuple[str, st.SearchStrategy[Any]]]:
    return [
        (TEXT, st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e9, 1e300, 0.0,
                                -0.0, 3600.001])),
        (TEXT, st.floats(max_value=0.0)),
        (TEXT, st.floats(min_value=MAX_DEADLINE_S, exclude_min=True)),
        (TEXT, st.one_of(st.integers(max_value=0), st.integers(min_value=3601))),
        (JSON, st.one_of(st.booleans(), st.text(max_size=5), st.lists(st.integers(),
                                                                      max_size=1))),
    ]


def bad_outcomes() -> list[tuple[str, st.SearchStrategy[Any]]]:
    return [(TEXT, st.text(max_size=12).filter(
        lambda text: text.strip(ASCII_SPACES).lower() not in ("succeeded", "failed"))),
        (JSON, st.one_of(NON_TEXT, st.none()))]


def not_objects() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=10),
                     st.booleans(), st.lists(st.integers(), max_size=3))


# Which fields each way can get wrong, and how: built once, as (every way, text-only ways)

def _by_carrier(choices: list[tuple[str, st.SearchStrategy[Any]]]
                ) -> tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]:
    return (st.one_of([strategy for _, strategy in choices]),
            st.one_of([strategy for kind, strategy in choices if kind == TEXT]))


BAD = {
    "amount": _by_carrier(bad_amounts()),
    "currency": _by_carrier(bad_currencies()),
    "sent_at": _by_carrier(bad_sent_ats()),
    "deadline": _by_carrier(bad_deadlines()),
    "outcome": _by_carrier(bad_outcomes()),
    **{name: _by_carrier(bad_text(name))
       for name in ("provider", "tx_id", "player_id", "player_ref", "direction", "by")},
}
PAYLOAD_FIELDS = ["amount", "currency", "sent_at", "provider", "tx_id", "player_id",
                  "player_ref", "direction"]
UNKNOWN_PROVIDERS = ids(64).filter(lambda name: name not in PROVIDERS)
UNLISTED_CURRENCIES = currency_codes().filter(lambda code: code.upper() not in ("EUR", "USDT"))
UNKNOWN_FIELDS = st.text(string.ascii_letters + "_", min_size=1, max_size=20).filter(
    lambda key: key not in FIELDS)


_BASE = {"provider": "scripted-a", "tx_id": "W-2026-000123", "direction": "deposit",
         "player_id": "p-881", "amount": "25.00", "currency": "USD"}
BASES_TEXT = [
    _BASE,
    {**_BASE, "direction": "withdraw", "amount": "9999999999999999.9999", "currency": "usdt",
     "player_ref": "naga 77812",
     "sent_at": (datetime.now(UTC) - timedelta(days=30)).isoformat()},
    {**_BASE, "provider": "scripted-eur", "currency": "eur", "amount": " 0.0001\t",
     "player_ref": ""},
    {**_BASE, "tx_id": "x" * 128, "player_id": "y" * 128, "player_ref": "z" * 256},
]
BASES = [*BASES_TEXT, {**_BASE, "direction": "DEPOSIT", "player_ref": None, "sent_at": None}]


def _value(draw: st.DrawFn, field: str, text_only: bool) -> Any:
    return draw(BAD[field][1 if text_only else 0])


@st.composite
def invalid_cases(draw: st.DrawFn, way: str) -> Case:
    """A call with exactly one thing wrong, for the way named."""
    cli, http = way == "cli", way == "http"
    ops = ["register"] if http else ["register", "register", "begin", "complete"]
    op = draw(st.sampled_from(ops))
    by: Any = None if http else "test"
    if op == "complete":
        args = {"provider": "scripted-a", "tx_id": "tx-1", "outcome": "succeeded"}
        targets = ["provider", "tx_id", "by"] + ([] if cli else ["outcome"])
        target = draw(st.sampled_from(targets))
        if target == "by":
            by = _value(draw, "by", cli)
        else:
            args[target] = _value(draw, target, cli)
        return Case(op, complete_args=tuple(args.values()), by=by, field=target)

    # The rest of the request is one of a few fixed valid ones: the wrong field is what varies
    # (and drawing a whole random request each time would cost more than sending it).
    payload = dict(draw(st.sampled_from(BASES_TEXT if cli else BASES)))
    targets = [name for name in PAYLOAD_FIELDS if not (cli and name == "direction")]
    targets += ["provider-unknown", "currency-not-listed"]
    if not http:
        targets.append("by")
    if not cli:
        targets += ["unknown-field", "payload"]
    if op == "begin":
        targets.append("deadline")
    target = draw(st.sampled_from(targets))
    deadline: Any = None
    if target in PAYLOAD_FIELDS:
        payload[target] = _value(draw, target, cli)
        expected = target
    elif target == "provider-unknown":
        payload["provider"] = draw(UNKNOWN_PROVIDERS)
        expected = "provider"
    elif target == "currency-not-listed":
        payload["provider"] = "scripted-eur"
        payload["currency"] = draw(UNLISTED_CURRENCIES)
        expected = "currency"
    elif target == "by":
        by = _value(draw, "by", cli)
        expected = "by"
    elif target == "unknown-field":
        name = draw(UNKNOWN_FIELDS)
        payload[name] = draw(st.one_of(st.none(), st.text(max_size=5), st.integers()))
        expected = name
    elif target == "payload":
        payload = draw(st.one_of(not_objects(), st.just([payload])))
        expected = "payload"
    else:
        deadline = _value(draw, "deadline", cli)
        expected = "deadline"
    if cli and deadline is not None:
        deadline = repr(deadline) if isinstance(deadline, float) else str(deadline)
    return Case(op, payload=payload, deadline_s=deadline, by=by, field=expected)


@st.composite
def valid_cases(draw: st.DrawFn, way: str) -> Case:
    """A request every way must accept: registered, or begun with a deadline in bounds."""
    cli, http = way == "cli", way == "http"
    payload = draw(valid_payloads(text_only=cli))
    if http or draw(st.booleans()):
        return Case("register", payload=payload, by=None if http else "test")
    deadline = draw(st.one_of(st.none(), st.integers(1, 3600),
                              st.floats(min_value=0.001, max_value=MAX_DEADLINE_S)))
    if cli and deadline is not None:
        deadline = repr(deadline) if isinstance(deadline, float) else str(deadline)
    return Case("begin", payload=payload, deadline_s=deadline, by=draw(ids(MAX_LENGTHS["by"])))
