"""Events and webhooks on the command line: consume, tail, replay; list, deliver, redeliver."""

from __future__ import annotations

import importlib
import json
import sys
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import click
import redis
from sqlalchemy import text

import resolver_consumer as stream
from worker.cli.base import Refused, current_runtime, emit, main, refuse_on
from worker.process.settings import get_settings
from worker.providers.config import ConfigError
from worker.webhooks import runner
from worker.webhooks.redelivery import RedeliveryError, redeliver


@main.group()
def events() -> None:
    """Resolution events: consume with a group, tail, replay from the outbox."""


@events.command()
@click.option("--group", required=True, help="Consumer group; each group gets every event.")
@click.option("--consumer", default=None, help="This consumer's name (default: host-pid).")
@click.option("--handler", "handler_path", default=None, metavar="MODULE:FUNCTION",
              help="Called with each event (a resolver_consumer.ReceivedEvent); "
                   "default: print it as one JSON line.")
@click.option("--stream", "stream_name", default=None, help="Default: RESOLVER_EVENTS_STREAM.")
@click.option("--block-ms", type=click.IntRange(min=1), default=None)
@click.option("--batch", type=click.IntRange(min=1), default=None)
@click.option("--reclaim-idle-ms", type=click.IntRange(min=1), default=None,
              help="Take over entries another consumer left unacknowledged this long.")
@click.option("--no-dedup", is_flag=True, help="Skip the per-group de-duplication markers.")
def consume(group: str, consumer: str | None, handler_path: str | None,
            stream_name: str | None, block_ms: int | None, batch: int | None,
            reclaim_idle_ms: int | None, no_dedup: bool) -> None:
    """Handle every event as a member of GROUP until SIGTERM or Ctrl-C."""
    handler = _import_handler(handler_path) if handler_path else _print_event
    stop = stream.stop_on_signals()
    stats = stream.consume(group, handler, consumer=consumer, stream=stream_name,
                           block_ms=block_ms, batch=batch, reclaim_idle_ms=reclaim_idle_ms,
                           stop_event=stop, deduplicate=not no_dedup)
    click.echo(f"stopped: {json.dumps(vars(stats))}", err=True)


@events.command()
@click.option("--from-start", is_flag=True, help="Begin with the oldest entry in the stream.")
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="Stop after this many events.")
@click.option("--stream", "stream_name", default=None, help="Default: RESOLVER_EVENTS_STREAM.")
@click.option("--json", "as_json", is_flag=True, help="One CloudEvent JSON object a line.")
def tail(from_start: bool, count: int | None, stream_name: str | None, as_json: bool) -> None:
    """Print events as they arrive on the stream (no group; nothing is acknowledged)."""
    settings = get_settings()
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=10)
    stop = stream.stop_on_signals()
    name = stream_name or settings.events_stream
    # On stderr, so a pipe of the events reads only events; without it a quiet stream looks hung.
    click.echo(f"waiting for events on {name}{' (from its start)' if from_start else ''} "
               f"(Ctrl-C to stop)…", err=True)
    arriving = stream.tail(client, name, from_start=from_start, stop=stop)
    for event in islice(arriving, count):
        click.echo(json.dumps(event.event) if as_json else describe(event))
        sys.stdout.flush()


@events.command("replay")
@click.option("--after", type=click.IntRange(min=0), default=0, show_default=True,
              help="The last seq already handled.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help='One {"seq", "event"} object a line.')
def replay_events(after: int, limit: int | None, as_json: bool) -> None:
    """Print every event after seq AFTER from the outbox (the record), in order."""
    found = stream.outbox_events(current_runtime().engine, after)
    for event in islice(found, limit):
        line = {"seq": event.seq, "event": event.event}
        click.echo(json.dumps(line) if as_json else describe(event))


def describe(event: stream.ReceivedEvent) -> str:
    data = event.data
    return (f"{event.seq:>8}  {event.event.get('time', '')[:19]}  {event.type:<28} "
            f"transfer {data.get('transfer_id')}  {data.get('provider')}/{data.get('tx_id')}  "
            f"{data.get('direction')} {data.get('amount')} {data.get('currency')}  "
            f"-> {data.get('outcome')}  {event.id}")


def _print_event(event: stream.ReceivedEvent) -> None:
    click.echo(json.dumps({"seq": event.seq, "event": event.event}))
    sys.stdout.flush()  # acknowledged right after: the line must be out first


def _import_handler(path: str) -> stream.Handler:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise click.BadParameter("expected MODULE:FUNCTION", param_hint="--handler")
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise click.BadParameter(f"cannot load {path}: {exc}", param_hint="--handler") from None
    if not callable(handler):
        raise click.BadParameter(f"{path} is not callable", param_hint="--handler")
    return handler


@main.group()
def webhooks() -> None:
    """Webhook subscribers and their deliveries."""


def _setup() -> runner.WebhookSetup:
    try:
        return runner.setup_from(current_runtime().settings)
    except ConfigError as exc:
        raise Refused(str(exc)) from None


DELIVERY_COUNTS = text(
    "SELECT subscriber, status, count(*) AS n FROM webhook_deliveries GROUP BY subscriber, status"
)


@webhooks.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_subscribers(as_json: bool) -> None:
    """The configured subscribers (secrets never shown) and their deliveries by status."""
    setup = _setup()
    with current_runtime().engine.connect() as connection:
        counts: dict[str, dict[str, int]] = {}
        for row in connection.execute(DELIVERY_COUNTS):
            counts.setdefault(row.subscriber, {})[row.status] = row.n
    listed = [{**subscriber.describe(), "configured": True,
               "deliveries": counts.pop(subscriber.name, {})}
              for subscriber in setup.subscribers.values()]
    # Deliveries of subscribers since removed from the file wait, pending, until they return.
    listed += [{"name": name, "configured": False, "deliveries": by_status}
               for name, by_status in sorted(counts.items())]

    def table(rows: list[dict[str, Any]]) -> None:
        if not rows:
            click.echo("no webhook subscribers (set RESOLVER_WEBHOOKS_FILE)")
        for row in rows:
            where = row.get("url", "(not configured)")
            statuses = " ".join(f"{k}={v}" for k, v in sorted(row["deliveries"].items()))
            rotating = "  (previous secret still signs)" if row.get("rotating") else ""
            click.echo(f"{row['name']:<20} {where}  {statuses or 'no deliveries'}{rotating}")

    emit(listed, as_json, table)


# `attempts` is every POST made for the delivery, counted from its attempt log; the delivery's
# own `attempts` column is the step of the retry schedule (failures since it was created or
# last redelivered), shown as `schedule_step`: 0 for one delivered at the first try.
DELIVERIES = text(
    """
    SELECT d.id, d.subscriber, d.event_id, o.type, d.status,
           (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id) AS attempts,
           d.attempts AS schedule_step, d.next_attempt_at,
           d.last_http_status, d.last_error, d.delivered_at
    FROM webhook_deliveries d JOIN outbox_events o ON o.id = d.event_id
    WHERE (CAST(:status AS text) IS NULL OR d.status = :status)
    ORDER BY d.id DESC
    LIMIT :limit
    """
)


@webhooks.command()
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def deliveries(status: str | None, limit: int, as_json: bool) -> None:
    """The newest deliveries; `--status failed` finds what to redeliver."""
    with current_runtime().engine.connect() as connection:
        rows = [dict(row._mapping) for row in
                connection.execute(DELIVERIES, {"status": status, "limit": limit})]

    def table(found: list[dict[str, Any]]) -> None:
        if not found:
            click.echo(f"no {status + ' ' if status else ''}webhook deliveries")
        for row in found:
            click.echo(f"{row['event_id']}  {row['subscriber']:<16} {row['type']:<28} "
                       f"{row['status']:<9} attempts={row['attempts']} "
                       f"last={row['last_http_status'] or '-'} {row['last_error'] or ''}".rstrip())

    emit(rows, as_json, table)


@webhooks.command()
def deliver() -> None:
    """Run one delivery pass now, here (beat does this every second)."""
    setup = _setup()
    engine = current_runtime().engine
    counts = runner.run_once(engine, setup, runner.inline(engine, setup))
    click.echo(json.dumps(counts))


@webhooks.command("redeliver")
@click.argument("event_id")
@click.option("--subscriber", default=None, help="Only this subscriber (default: every one).")
@click.option("--by", default="cli", show_default=True, help="Who asks (for the audit trail).")
@click.option("--json", "as_json", is_flag=True)
@refuse_on(RedeliveryError)
def redeliver_event(event_id: str, subscriber: str | None, by: str, as_json: bool) -> None:
    """Start EVENT_ID's deliveries again from the first step of the schedule."""
    done = redeliver(current_runtime().engine, event_id, _setup().subscribers, by=by,
                     now=datetime.now(UTC), only=subscriber)

    def summary(result: Any) -> None:
        for name in result.restarted + result.created:
            click.echo(f"{result.event_id} -> {name}: due now")
        for name in result.in_progress:
            click.echo(f"{result.event_id} -> {name}: an attempt is under way; left alone")
        if not (result.restarted or result.created or result.in_progress):
            click.echo(f"{result.event_id}: no subscriber wants this event")

    emit(vars(done), as_json, lambda _: summary(done))
