"""Answers one provider status query: injected faults, the provider's checks, then the script."""

from __future__ import annotations

import asyncio

from resolver_tools.sim.exchange import Reply, SimRequest
from resolver_tools.sim.providers.base import AnswerContext, ProviderKind, Rejection
from resolver_tools.sim.script import Step
from resolver_tools.sim.simulator import Simulator
from resolver_tools.sim.store import Transaction

INJECTED_SERVER_ERROR = "injected_server_error"
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    b"<body><h1>Checking your browser before accessing the site.</h1></body></html>"
)


def server_error(status: int = 500) -> Reply:
    return Reply(status, b"Internal Server Error", "text/plain; charset=utf-8")


async def answer_query(simulator: Simulator, provider: ProviderKind, request: SimRequest) -> Reply:
    settings = simulator.settings
    if settings.latency_ms:
        await asyncio.sleep(settings.latency_ms / 1000)
    if settings.error_rate and simulator.rng.random() < settings.error_rate:
        simulator.stats.count(provider.kind, INJECTED_SERVER_ERROR)
        return server_error()
    now = simulator.now()
    checked = provider.verify(request, simulator.merchants, now)
    if isinstance(checked, Rejection):
        simulator.stats.count(provider.kind, checked.outcome)
        return checked.reply
    tx, step = simulator.store.take_step(
        provider.kind, checked.merchant.merchant_id, checked.tx_id, provider.provider_id_too
    )
    simulator.stats.count(provider.kind, step.answer)
    context = AnswerContext(now, settings, checked.merchant, step.variant)
    return play_step(provider, step, tx, context)


def play_step(
    provider: ProviderKind, step: Step, tx: Transaction | None, context: AnswerContext
) -> Reply:
    answer = step.then if step.answer in ("slow", "drip") else step.answer
    if answer == "server_error":
        reply = server_error(step.status or 500)
    elif answer == "html":
        reply = Reply(step.status or 200, HTML_PAGE, "text/html; charset=utf-8")
    elif answer == "truncated":
        whole = provider.render("succeeded", tx, context)
        reply = Reply(whole.status, whole.body[: len(whole.body) // 2], whole.content_type)
    else:
        reply = provider.render(answer, tx, context)
    if step.answer == "drip":
        reply.drip_s = step.delay_s
    else:
        reply.delay_s = step.delay_s
    return reply
