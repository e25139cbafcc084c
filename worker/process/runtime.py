"""What a process needs to run the engine, built once: settings, database, Redis, providers."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis
import requests
from sqlalchemy import Engine

from worker.engine.check.throttle import Throttle
from worker.process.db import engine_for
from worker.process.settings import Settings, get_settings
from worker.providers.base import ProviderAdapter
from worker.providers.config import load_providers
from worker.providers.deadline import deadline_session
from worker.providers.instance import ProviderInstance
from worker.providers.registry import ADAPTERS


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    redis: redis.Redis
    providers: Mapping[str, ProviderInstance]
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _calls: ThreadPoolExecutor | None = field(default=None, repr=False)
    _guard: Throttle | None = field(default=None, repr=False)

    @property
    def guard(self) -> Throttle:
        if self._guard is None:
            self._guard = Throttle(self.redis)
        return self._guard

    @property
    def calls(self) -> ThreadPoolExecutor:
        """The process's pool for provider calls: as many threads as the worker has.

        A batch's calls run here concurrently; so a process never has more calls to providers
        under way than its `worker_concurrency`, however its checks are batched.
        """
        with _lock:
            if self._calls is None:
                self._calls = ThreadPoolExecutor(self.settings.worker_concurrency,
                                                 thread_name_prefix="provider-call")
            return self._calls

    def adapter_for(self, instance: ProviderInstance) -> ProviderAdapter[Any]:
        # One HTTP session per thread and instance: keep-alive, no pool shared across threads;
        # its connections are ones a call's total deadline can cut off.
        sessions: dict[str, requests.Session] = self._local.__dict__.setdefault("sessions", {})
        instance.require_secrets()
        http = sessions.get(instance.name)
        if http is None:
            http = sessions[instance.name] = instance_session(instance)
        return ADAPTERS[instance.kind](instance, http=http)


def instance_session(instance: ProviderInstance) -> requests.Session:
    """An HTTP session for one instance, its environment settings read once, not per call.

    requests reads the proxy variables (and walks the whole environment for them) on every
    request of a session that trusts the environment: a tenth of a worker's CPU in a drain.
    An instance's URL is fixed, so its proxy (HTTPS_PROXY, NO_PROXY...) and a CA bundle named
    by REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE are taken once here; ~/.netrc is never read, as
    every provider call carries its own credentials.
    """
    http = deadline_session()
    http.proxies.update(requests.utils.get_environ_proxies(instance.base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        http.verify = bundle
    http.trust_env = False
    return http


_current: Runtime | None = None
_lock = threading.Lock()


def build_runtime(settings: Settings | None = None,
                  providers: Mapping[str, ProviderInstance] | None = None,
                  secrets_required: bool = True) -> Runtime:
    """`secrets_required=False` for a process that never calls a provider (the command line's
    readers, the admin server): the providers file loads without its `${VAR}` secrets."""
    settings = settings or get_settings()
    if providers is None:
        providers = load_providers(settings.providers_file, secrets_required=secrets_required)
    return Runtime(
        settings=settings,
        engine=engine_for(settings.database_url),
        redis=redis.Redis.from_url(settings.redis_url, socket_timeout=5,
                                   socket_connect_timeout=3),
        providers=providers,
    )


def current_runtime(secrets_required: bool = True) -> Runtime:
    """The process's runtime, built on first use (see `build_runtime` for `secrets_required`)."""
    global _current
    with _lock:
        if _current is None:
            _current = build_runtime(secrets_required=secrets_required)
        return _current


def use_runtime(runtime: Runtime | None) -> None:
    """Install a runtime for this process (tests and the command line use this)."""
    global _current
    with _lock:
        _current = runtime
