"""The command line's table layout: 100 columns, nothing cut, money as people read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from worker.cli import layout

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_note_is_printed_whole_under_its_row_wrapped_and_indented():
    # given
    note = "why: " + " ".join(["disagrees"] * 40)
    # when
    lines = layout.table(["ID", "STATE"], [[1, "needs_review"]], notes=[note])
    # then
    assert lines[:2] == ["ID  STATE", "1   needs_review"]
    assert all(line.startswith("    ") and len(line) <= 100 for line in lines[2:])
    assert " ".join(" ".join(lines[2:]).split()) == note


@given(st.lists(st.text(alphabet="abc -_/:", min_size=1, max_size=150), min_size=3,
                max_size=3),
       st.text(alphabet="xyz .", max_size=400))
def test_no_line_is_wider_than_100_and_no_word_is_lost(cells, note):
    # when
    lines = layout.table(["A", "B", "C"], [cells], notes=[note])
    # then
    assert all(len(line) <= 100 for line in lines)
    assert "".join("".join(lines).split()).count("".join(note.split())) >= 1


def test_money_keeps_two_decimals_and_no_more_zeros():
    # when / then
    assert layout.money(Decimal("250.0000"), "EUR") == "250.00 EUR"
    assert layout.money("10.1250", "USDT") == "10.125 USDT"
    assert layout.money("0.0001", "BTC") == "0.0001 BTC"
    assert layout.money(Decimal("1E+2"), "USD") == "100.00 USD"


def test_age_and_until_use_the_largest_unit():
    # when / then
    assert [layout.age(s) for s in (0.4, 45, 61, 3599, 7200, 86400, 3 * 86400)] == [
        "0 s", "45 s", "1 min", "59 min", "2 h", "24 h", "3 d"]
    assert layout.until(NOW - timedelta(seconds=5), NOW) == "due now"
    assert layout.until(NOW + timedelta(minutes=12, seconds=5), NOW) == "in 12 min"
    assert layout.until(None, NOW) == "-"
