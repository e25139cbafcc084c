"""The values the project's TOML files share, as pydantic types: a duration written as "10s",
"5m" or "72h", and a timeout in seconds. A file's model declares its fields with them, so every
file accepts and refuses such a value the same way, with the same message."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated

from pydantic import PlainValidator

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: object) -> timedelta:
    """'10s', '1m', '72h', '1h30m', '250ms' -> timedelta; anything else is a ValueError."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not a duration such as '10s', '5m' or '72h'")
    compact = text.strip().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not parts or "".join(number + unit for number, unit in parts) != compact:
        raise ValueError(f"{text!r} is not a duration such as '10s', '5m' or '72h'")
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    return timedelta(seconds=seconds)


def positive_seconds(value: object) -> float:
    """A number of seconds above zero (not a boolean, not infinite) -> float."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not 0 < value < math.inf:  # NaN fails both comparisons
        raise ValueError("must be a positive number of seconds")
    return float(value)


# A field written as a duration: `max_age = "72h"`.
Duration = Annotated[timedelta, PlainValidator(parse_duration)]
# A field written as seconds: `timeout_s = 10`, `connect_timeout_s = 2.5`.
Timeout = Annotated[float, PlainValidator(positive_seconds)]
