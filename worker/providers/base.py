"""The adapter contract every provider module fulfils, and the HTTP call they all share.

An adapter is two pure functions around one HTTP exchange:
- `build_request(transfer, now)` -> the exact method, URL, headers and body bytes to send
  (signed over those very bytes);
- `classify(transfer, http_status, body)` -> a `Verdict` (normalized outcome and why).
`check()` joins them: it sends the request with connect/read timeouts, retries a few times on
connection errors and 5xx (tenacity), bounds the body it reads, and turns anything unexpected
into RETRY. Nothing raised inside an adapter escapes `check()`.

The whole call, every try included, runs under one total deadline (worker.providers.deadline):
no try starts unless MIN_TRY_S is left once its wait is over, and a try still running when the
deadline passes is cut off and reported as "deadline of N s passed (...)", a transport error.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar, Generic, TypeVar, cast

import requests
from pydantic import BaseModel
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    wait_exponential,
)

from worker.domain.types import Outcome, TransferRef
from worker.providers.deadline import Deadline, deadline_session, equip, within
from worker.providers.instance import ProviderInstance, mask

MAX_BODY_BYTES = 1024 * 1024  # an answer larger than this is not a status answer: RETRY
EXCERPT_CHARS = 2000  # what a check row keeps of the answer
HTTP_TRIES = 3
MIN_TRY_S = 0.5  # a new try starts only with at least this much of the deadline left


@dataclass(frozen=True)
class StatusRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def describe(self) -> str:
        """What was asked, for the check record: no headers, since they carry secrets."""
        line = f"{self.method} {self.url}"
        if self.body:
            line += " " + self.body[:500].decode("utf-8", "replace")
        return line


@dataclass(frozen=True)
class Verdict:
    """The classification of one answer."""

    outcome: Outcome
    detail: str | None = None  # why: the provider's code and message, or what disagrees
    provider_status: str | None = None
    provider_amount: Decimal | None = None
    provider_currency: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """One status query, as the engine records it."""

    outcome: Outcome
    detail: str | None
    http_status: int | None
    latency_ms: int
    request: str
    raw: str  # bounded excerpt of the answer, secrets masked
    provider_status: str | None = None
    provider_amount: Decimal | None = None
    provider_currency: str | None = None
    # Connection error, timeout or 5xx: what the circuit breaker counts.
    transport_error: bool = False


class _ServerError(Exception):
    def __init__(self, response: requests.Response, body: bytes) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.body = body


class _BodyTooLarge(Exception):
    pass


class DeadlinePassed(Exception):
    """The call's total deadline passed while a try was under way."""

    def __init__(self, deadline: Deadline, phase: str, tries: int) -> None:
        tried = "1 try" if tries == 1 else f"{tries} tries"
        shown = round(deadline.seconds, 1)  # a deadline cut from the lease is not round
        super().__init__(f"deadline of {shown:g} s passed ({phase}, {tried})")


SettingsT = TypeVar("SettingsT", bound=BaseModel)


class ProviderAdapter(ABC, Generic[SettingsT]):
    kind: ClassVar[str]
    # The kind's `[providers.NAME.credentials]` table: credentials and assumption settings.
    Settings: ClassVar[type[BaseModel]]

    def __init__(
        self,
        instance: ProviderInstance,
        http: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.instance = instance
        self.http = http or deadline_session()
        equip(self.http)  # without it the deadline could not cut a call off
        self.clock = clock

    @property
    def conf(self) -> SettingsT:
        """The instance's settings as the kind's own model (the loader validated them with it)."""
        return cast(SettingsT, self.instance.settings)

    def derived_secrets(self) -> list[str]:
        """Values made from a secret that never change (a Basic token, a signature over fixed
        data): as good as the secret itself, so masked like it. None by default."""
        return []

    @abstractmethod
    def build_request(self, transfer: TransferRef, now: float) -> StatusRequest:
        """The exact request to send at unix time `now`."""

    @abstractmethod
    def classify(self, transfer: TransferRef, http_status: int, body: bytes) -> Verdict:
        """Normalize one answer. May raise on garbage: `check()` turns that into RETRY."""

    def check(self, transfer: TransferRef, deadline_s: float | None = None) -> CheckResult:
        """Ask once, within the instance's `deadline_s` (or the shorter `deadline_s` given)."""
        started = time.monotonic()
        secrets = self.instance.secret_values() + self.derived_secrets()
        request_line = ""
        limit = self.instance.deadline_s if deadline_s is None \
            else min(self.instance.deadline_s, deadline_s)
        try:
            with within(limit) as deadline:
                status, body, request_line = self._exchange(transfer, deadline)
        except Exception as exc:  # transport failures of every kind end here
            cause = (exc.last_attempt.exception() if isinstance(exc, RetryError) else exc) or exc
            http_status, raw = None, ""
            if isinstance(cause, _ServerError):
                http_status = cause.response.status_code
                raw = cause.body[:EXCERPT_CHARS].decode("utf-8", "replace")
            return CheckResult(
                outcome=Outcome.RETRY,
                detail=mask(_describe_error(cause), secrets),
                http_status=http_status,
                latency_ms=_elapsed_ms(started),
                request=mask(request_line, secrets),
                raw=mask(raw, secrets),
                transport_error=True,
            )
        latency_ms = _elapsed_ms(started)
        raw = mask(body[:EXCERPT_CHARS].decode("utf-8", "replace"), secrets)
        try:
            verdict = self.classify(transfer, status, body)
        except Exception as exc:  # a body we cannot read is never a final answer
            verdict = Verdict(Outcome.RETRY, f"unreadable answer: {_describe_error(exc)}")
        return CheckResult(
            outcome=verdict.outcome,
            detail=mask(verdict.detail, secrets) if verdict.detail else None,
            http_status=status,
            latency_ms=latency_ms,
            request=mask(request_line, secrets),
            raw=raw,
            provider_status=verdict.provider_status,
            provider_amount=verdict.provider_amount,
            provider_currency=verdict.provider_currency,
        )

    def _exchange(self, transfer: TransferRef, deadline: Deadline) -> tuple[int, bytes, str]:
        described = ""

        def out_of_tries_or_time(state: RetryCallState) -> bool:
            near = deadline.left() - state.upcoming_sleep < MIN_TRY_S
            return near or state.attempt_number >= HTTP_TRIES

        for attempt in Retrying(
            stop=out_of_tries_or_time,
            wait=wait_exponential(multiplier=0.2, max=1),
            retry=retry_if_exception_type((requests.ConnectionError, _ServerError)),
            reraise=False,
        ):
            with attempt:
                tries = attempt.retry_state.attempt_number
                # Built anew for every try: timestamps and signatures must be fresh.
                request = self.build_request(transfer, self.clock())
                described = request.describe()
                phase = "connecting or waiting for the answer's headers"
                try:
                    response = self.http.request(
                        request.method,
                        request.url,
                        headers=request.headers,
                        data=request.body,
                        timeout=(deadline.cap(self.instance.connect_timeout_s),
                                 deadline.cap(self.instance.timeout_s)),
                        stream=True,
                        allow_redirects=False,
                    )
                    phase = f"reading the answer's body, HTTP {response.status_code}"
                    body = _read_bounded(response)
                except Exception as exc:
                    # Cut off by the watchdog, or a timeout the time left had shortened.
                    if deadline.passed or deadline.left() <= 0:
                        raise DeadlinePassed(deadline, phase, tries) from exc
                    raise
                if response.status_code >= 500:
                    raise _ServerError(response, body)
                return response.status_code, body, described
        raise AssertionError("unreachable")  # pragma: no cover

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.instance.name}>"


def _read_bounded(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _BodyTooLarge(f"answer is larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
    finally:
        response.close()
    return b"".join(chunks)


def _describe_error(exc: BaseException) -> str:
    """What went wrong, in words an admin reads on the console: never a private class name."""
    if isinstance(exc, DeadlinePassed):
        return str(exc)
    if isinstance(exc, _ServerError):
        return f"server error: HTTP {exc.response.status_code}"
    if isinstance(exc, _BodyTooLarge):
        return str(exc)  # "answer is larger than N bytes"
    if isinstance(exc, requests.Timeout):
        return f"timeout: {type(exc).__name__}"
    if isinstance(exc, requests.ConnectionError):
        return "connection error: " + str(exc).split("(Caused by")[0][:300]
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
