"""The four ways a transfer comes in, behind one face, so one test can send the same request
each way and read the answer the same way: accepted with its summary, or refused naming a field.

- `Function`: worker.engine.intake.service, as a Python caller uses them;
- `Task`: the Celery tasks run in process, the message first through JSON as on the wire;
- `Http`: POST /api/v1/transfers on the admin app (register only; `by` is the token's name);
- `Cli`: `resolver enqueue|begin|complete` through click's runner (text only; `--direction` and
  `--as` are click choices, refused by click before intake sees them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from tests.integration.admin.support import OPERATOR_TOKEN, bearer, with_tokens
from worker.admin.app import create_app
from worker.cli import main
from worker.domain.refusal import InvalidInput
from worker.engine.intake import service
from worker.engine.intake.registration import ConflictError
from worker.process import tasks
from worker.process.runtime import Runtime


@dataclass(frozen=True)
class Answer:
    field: str | None  # the field a refusal names; None when accepted
    message: str = ""
    result: dict[str, Any] | None = None

    @property
    def accepted(self) -> bool:
        return self.field is None and self.result is not None


# One round trip for every table intake writes to.
_WRITTEN = text("""
    SELECT (SELECT count(*) FROM transfers), (SELECT count(*) FROM ledger_accounts),
           (SELECT count(*) FROM ledger_entries), (SELECT count(*) FROM outbox_events)
""")


def written(engine: Engine) -> tuple[int, ...]:
    """Rows in transfers, ledger accounts, ledger entries and events: what a refusal must leave
    as it was."""
    with engine.connect() as connection:
        return count_written(connection)


def count_written(connection: Connection) -> tuple[int, ...]:
    """`written` over a connection the caller holds (thousands of checks in a row)."""
    counts = tuple(int(count) for count in connection.execute(_WRITTEN).one())
    connection.rollback()  # each check sees what is committed now
    return counts


class Function:
    name = "function"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def register(self, payload: object, by: object = "test") -> Answer:
        return self._call(service.register, self.runtime, payload, by=by)

    def begin(self, payload: object, deadline_s: object = None, by: object = "test") -> Answer:
        return self._call(service.begin, self.runtime, payload, by=by, deadline_s=deadline_s)

    def complete(self, provider: object, tx_id: object, outcome: object,
                 by: object = "test") -> Answer:
        return self._call(service.complete, self.runtime, provider, tx_id, outcome, by=by)

    @staticmethod
    def _call(handler: Any, *args: Any, **kwargs: Any) -> Answer:
        try:
            return Answer(None, result=handler(*args, **kwargs))
        except InvalidInput as exc:
            return Answer(exc.field, exc.message)
        except ConflictError as exc:
            return Answer("conflict", str(exc))


class Task:
    name = "task"

    def register(self, payload: object, by: object = "test") -> Answer:
        return self._apply(tasks.register_transfer, [payload], {"by": by})

    def begin(self, payload: object, deadline_s: object = None, by: object = "test") -> Answer:
        return self._apply(tasks.begin_transfer, [payload], {"deadline_s": deadline_s, "by": by})

    def complete(self, provider: object, tx_id: object, outcome: object,
                 by: object = "test") -> Answer:
        return self._apply(tasks.complete_transfer, [provider, tx_id, outcome], {"by": by})

    @staticmethod
    def _apply(task: Any, args: list[Any], kwargs: dict[str, Any]) -> Answer:
        # What the wallet sends reaches the worker through JSON, as the broker carries it.
        args, kwargs = json.loads(json.dumps([args, kwargs]))
        reply = task.apply(args=args, kwargs=kwargs).get()
        if reply["ok"]:
            return Answer(None, result=reply)
        return Answer(reply["field"] if reply["error"] == "invalid" else reply["error"],
                      reply["message"])


class Http:
    name = "http"

    def __init__(self, runtime: Runtime) -> None:
        self.client = TestClient(create_app(lambda: with_tokens(runtime)))
        # Entered once: one event loop for every request, instead of one started per request.
        self.client.__enter__()

    def close(self) -> None:
        self.client.__exit__(None, None, None)

    def register(self, payload: object, by: object = None) -> Answer:
        assert by is None, "over HTTP the registrant is the token's holder"
        # As JSON text, so that None is sent as `null` rather than as no body.
        answer = self.client.post("/api/v1/transfers", content=json.dumps(payload),
                                  headers={**bearer(OPERATOR_TOKEN),
                                           "Content-Type": "application/json"})
        body = answer.json()
        if answer.status_code in (200, 201):
            assert body["created"] is (answer.status_code == 201)
            return Answer(None, result=body)
        if answer.status_code == 409:
            return Answer("conflict", body["detail"])
        assert answer.status_code == 422, (answer.status_code, body)
        return Answer(body["field"], body["detail"])


class Cli:
    name = "cli"
    OPTIONS = ("provider", "tx_id", "direction", "player_id", "player_ref", "amount",
               "currency", "sent_at")

    def __init__(self) -> None:
        self.runner = CliRunner()

    def register(self, payload: dict[str, str], by: str | None = None) -> Answer:
        return self._invoke(["enqueue", *self._transfer(payload), *self._by(by)])

    def begin(self, payload: dict[str, str], deadline_s: str | None = None,
              by: str | None = None) -> Answer:
        deadline = [] if deadline_s is None else [f"--deadline={deadline_s}"]
        return self._invoke(["begin", *self._transfer(payload), *deadline, *self._by(by)])

    def complete(self, provider: str, tx_id: str, outcome: str, by: str | None = None) -> Answer:
        return self._invoke(["complete", f"--provider={provider}", f"--tx-id={tx_id}",
                             f"--as={outcome}", *self._by(by)])

    def _transfer(self, payload: dict[str, str]) -> list[str]:
        # --name=value keeps a value that starts with "-" a value.
        return [f"--{name.replace('_', '-')}={payload[name]}"
                for name in self.OPTIONS if payload.get(name) is not None]

    @staticmethod
    def _by(by: str | None) -> list[str]:
        return [] if by is None else [f"--by={by}"]

    def _invoke(self, args: list[str]) -> Answer:
        outcome = self.runner.invoke(main, [*args, "--json"])
        if outcome.exit_code == 0:
            return Answer(None, result=json.loads(outcome.stdout))
        assert outcome.exit_code == 2, (outcome.exit_code, outcome.output, outcome.exception)
        assert outcome.stdout == "", outcome.stdout
        said = outcome.stderr.strip()
        assert said.startswith("resolver: "), said
        field, _, message = said.removeprefix("resolver: ").partition(": ")
        if "other facts" in said:
            return Answer("conflict", said)
        return Answer(field, message)
