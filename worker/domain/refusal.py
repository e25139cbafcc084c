"""The one error for refused input, whichever way it came in and whatever it describes.

A transfer handed over, an admin's filter or manual resolution: each is read by a pydantic
model, and a refusal always reaches the caller as `InvalidInput(field, message)`, shown the
same way everywhere (HTTP 422 `{"detail": message, "field": field}`, the command line's
"resolver: field: message" with exit status 2, a Celery task's `{"ok": false, "error":
"invalid", ...}`). Nothing was written when it is raised.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails


class InvalidInput(ValueError):
    """A field of the input is wrong; `field` names it. Nothing was written."""

    exit_code = 2

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def first_refusal(error: ValidationError, order: Sequence[str] = ()) -> InvalidInput:
    """The one refusal a model's ValidationError stands for: the error of the field that comes
    first in `order` (the order the rules are checked in; fields not in it after those, as the
    model reports them).

    The models' validators raise InvalidInput, which pydantic keeps as the error's cause; any
    other error (one no validator of ours worded) is named by its field and pydantic's text.
    """
    def rank(numbered: tuple[int, ErrorDetails]) -> tuple[int, int]:
        index, detail = numbered
        field = _field_of(detail)
        return (order.index(field) if field in order else len(order), index)

    _, detail = min(enumerate(error.errors()), key=rank)
    cause = detail.get("ctx", {}).get("error")
    if isinstance(cause, InvalidInput):
        return cause
    return InvalidInput(_field_of(detail) or "payload", detail["msg"])


def _field_of(detail: ErrorDetails) -> str:
    loc = detail["loc"]
    return str(loc[0]) if loc else ""
