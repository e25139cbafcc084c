"""The `resolver` group and what its commands share.

One rule for exit statuses across every command: 0 done; 1 something failed that the caller
could not have known (Postgres or Redis unreachable, a bug; `health` also says "unhealthy" with
1); 2 refused or bad usage: a bad option or value, an unknown id or name, a refusal by the
rules, or configuration that is missing or wrong. click's own usage errors already exit 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
import redis
from sqlalchemy import exc as sql_errors

from worker.process import runtime as process
from worker.process.runtime import Runtime
from worker.providers.config import ConfigError

F = TypeVar("F", bound=Callable[..., Any])
# A TCP port, as every command that serves or reaches one takes it.
PORT = click.IntRange(1, 65535)


class Refused(click.ClickException):
    """Bad input, an unknown name or a refusal: `resolver: <why>` and exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"resolver: {self.format_message()}", err=True)


class Failed(click.ClickException):
    """Something the caller could not have known failed: `resolver: <what>` and exit 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"resolver: {self.format_message()}", err=True)


class Resolver(click.Group):
    """The root group: a store that cannot be reached is one line naming it, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except sql_errors.OperationalError as error:
            raise Failed(f"cannot reach the database: {_first_line(error.orig)}") from None
        except sql_errors.ProgrammingError as error:
            if "does not exist" not in str(error.orig):
                raise
            raise Failed(f"the database has no schema yet ({_first_line(error.orig)}): run "
                         f"`resolver migrate`") from None
        except redis.exceptions.ConnectionError as error:
            raise Failed(f"cannot reach Redis: {_first_line(error)}") from None


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


@click.group(cls=Resolver, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="transfer-resolver", prog_name="resolver")
def main() -> None:
    """transfer-resolver: settles transfers whose outcome is unknown.

    Exit status: 0 done, 1 an unexpected failure, 2 refused or bad usage.
    """


def current_runtime() -> Runtime:
    """The runtime for a command that never calls a provider: the providers file is read
    without its `${VAR}` secrets, so `pending` or `show` work where only the database is known.
    An instance whose variables were unset refuses a provider call, naming the variable."""
    try:
        return process.current_runtime(secrets_required=False)
    except ConfigError as exc:
        raise Refused(str(exc)) from None


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
