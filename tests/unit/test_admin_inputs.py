"""What the console takes as a transfer id or a filter: pure checks, no I/O."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from worker.admin import inputs, queries
from worker.domain.refusal import InvalidInput


@pytest.mark.parametrize(("text", "expected"), [
    ("1", 1), ("42", 42), (str(queries.MAX_ID), queries.MAX_ID),
    ("0", None), (str(queries.MAX_ID + 1), None), ("", None), ("-1", None), ("+1", None),
    (" 1", None), ("1_000", None), ("²", None), ("1²", None), ("١٢", None), ("\U0001d7d9", None),
    ("\x00", None), ("1\x00", None),
])
def test_a_transfer_id_is_ascii_digits_within_bigint(text, expected):
    # when / then
    assert inputs.transfer_id(text) == expected


@pytest.mark.parametrize("ref", ["²", "¹²", "١٢"])
def test_a_unicode_digit_ref_is_refused_not_a_crash(ref):
    # given text str.isdigit() accepts but int() does not (or reads as another number)
    # when / then it is neither an id nor PROVIDER:TX_ID: refused, naming the field
    with pytest.raises(InvalidInput, match="ref"):
        inputs.transfer_ref(ref)


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "tab\there", "\x7f", "line\n"])
def test_a_filter_with_control_characters_is_refused(text):
    # when / then
    with pytest.raises(InvalidInput, match="provider: must not contain control"):
        inputs.text_filter("provider", text, 64)


def test_a_filter_is_stripped_and_bounded():
    # when / then
    assert inputs.text_filter("tx_id", "  dep-1 ", 128) == "dep-1"
    assert inputs.text_filter("tx_id", "   ", 128) is None
    with pytest.raises(InvalidInput, match="at most 5"):
        inputs.text_filter("tx_id", "abcdef", 5)


def test_a_cursor_with_unicode_digits_is_not_one_of_ours():
    # given a cursor we wrote
    genuine = queries.Cursor(datetime(2026, 1, 1, tzinfo=UTC), 12).encode()
    # when / then it reads back
    assert queries.Cursor.decode(genuine).id == 12
    # given one forged with Arabic-Indic digits
    forged = base64.urlsafe_b64encode("2026-01-01T00:00:00+00:00|١٢".encode())
    # when / then
    with pytest.raises(InvalidInput, match="cursor"):
        inputs.cursor(forged.decode())
