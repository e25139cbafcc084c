from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from worker import runtime
from worker.providers.config import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """transfer-resolver: settles transfers whose outcome is unknown."""


def current_runtime() -> runtime.Runtime:
    try:
        return runtime.current()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def emit(data: Any, as_json: bool, human: Callable[[Any], None] | None = None) -> None:
    if as_json or human is None:
        click.echo(json.dumps(data, default=str, indent=None if as_json else 2))
    else:
        human(data)


def refuse_on(*errors: type[Exception]) -> Callable[[F], F]:
    """Turn the domain's refusals into a one-line error and exit status 2."""

    def decorate(command: F) -> F:
        @wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except errors as exc:
                click.echo(f"resolver: {exc}", err=True)
                sys.exit(getattr(exc, "exit_code", 2))

        return wrapper  # type: ignore[return-value]

    return decorate
