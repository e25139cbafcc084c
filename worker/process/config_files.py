"""What the project's TOML files share: reading them, `${VAR}` from the environment, the
checks every `[section.NAME]` table gets, and turning a table's pydantic model's refusal into
one message. Each mistake is one message naming the file, the table and the field, never a
value (a value may be a secret); the value types the files share are in `config_types`."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """A configuration file is wrong; the message names the file, the table and the field."""


Fail = Callable[[str, str], Exception]
Model = TypeVar("Model", bound=BaseModel)


class NamedPlace(ValueError):
    """A validator's refusal that names a place below its field (a key of a table it reads):
    `field` replaces the field's own name in the message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def read_toml(path: str | os.PathLike[str], missing: str) -> dict[str, Any]:
    """The parsed file; `missing` says what to do when there is none."""
    file = Path(path)
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: {missing}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None


def named_table(source: str, section: str, name: str, table: Any,
                unset: set[str] | None = None) -> tuple[dict[str, Any], Fail]:
    """Check one `[section.NAME]` table's name and expand its variables; its keys and values
    are its model's to check (`validated`).

    Returns the expanded table and the `fail(field, message)` that builds this table's errors.
    With `unset` (a set to fill), an unset variable is no error: its name is added there and
    the `${VAR}` text stays as it is (see `expand`).
    """

    def fail(field: str, message: str) -> ConfigError:
        where = f"{section}.{name}" + (f".{field}" if field else "")
        return ConfigError(f"{source}: {where}: {message}")

    if not NAME.match(name):
        raise fail("", "names are lower case letters, digits, '-' and '_'")
    if not isinstance(table, dict):
        raise fail("", "must be a table")
    return expand(table, fail, unset=unset), fail


def expand(value: Any, fail: Fail, field: str = "", unset: set[str] | None = None) -> Any:
    """Replace ${VAR} in every string, naming the field whose variable is unset.

    A reader that never calls the provider (`resolver pending`, the admin server) passes a set
    as `unset`: an unset variable's name goes there and its `${VAR}` stays in the value, so the
    file's names and policies load without the secrets and nothing pretends to be a secret.
    """
    if isinstance(value, dict):
        return {
            key: expand(item, fail, f"{field}.{key}" if field else key, unset)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [expand(item, fail, f"{field}[{index}]", unset)
                for index, item in enumerate(value)]
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            variable = match.group(1)
            if variable not in os.environ:
                if unset is None:
                    raise fail(field, f"environment variable {variable} is not set")
                unset.add(variable)
                return match.group(0)
            return os.environ[variable]

        return _VAR.sub(substitute, value)
    return value


def validated(model: type[Model], table: dict[str, Any], fail: Fail) -> Model:
    """`table` read by its model, or one error for its first mistake: an unknown key first (the
    first in alphabetical order), then the first field, in the model's order, that is wrong."""
    try:
        return model.model_validate(table)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        unknown = sorted((error for error in errors if error["type"] == "extra_forbidden"),
                         key=lambda error: _place(error))
        error = (unknown or errors)[0]
        raise fail(_place(error), _message(error)) from None


def _place(error: ErrorDetails) -> str:
    parts = [str(part) for part in error["loc"]]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, NamedPlace):
        parts[-1:] = [cause.field]
    return ".".join(parts)


def _message(error: ErrorDetails) -> str:
    """Our own words for pydantic's kinds of refusal; never the value (it may be a secret)."""
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] in ("model_type", "dict_type"):
        return "must be a table"
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])  # a validator's own message, without "Value error, "
    return error["msg"]
