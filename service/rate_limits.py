"""Per-key and per-tenant rate limits ([limits]): requests and tokens per minute.

Counted in fixed one-minute windows with the ``limits`` package's storage, in Redis when
``[redis] url`` is set (every replica shares the counts) and in process memory otherwise. A
request takes one from its key's and its tenant's request allowance at once (an atomic INCR in
Redis, whose result is the count: no second read); tokens are checked at admission (refused
while none remain) and counted when the answer is done, from the upstream's usage. Responses
carry the ``x-ratelimit-*`` headers OpenAI sends.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.errors import StorageError

from router.config import ClientKey, Config, RateLimit
from router.errors import LimitExceeded, NotReady

log = logging.getLogger("semroute.service")

_NAMESPACE = "semroute"


@dataclass(frozen=True, slots=True)
class LimitScope:
    """One counted identity: ``key:<name>`` or ``tenant:<name>``, and its allowances."""

    name: str
    requests: RateLimitItem | None
    tokens: RateLimitItem | None


@dataclass(frozen=True, slots=True)
class Admission:
    """What an admitted request was counted against, and the headers to send with it."""

    scopes: tuple[LimitScope, ...]
    headers: dict[str, str]


def reset_text(seconds: float) -> str:
    """A duration as OpenAI writes ``x-ratelimit-reset-*``: ``20ms``, ``17s``, ``1m0s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    whole = math.ceil(seconds)
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


def _item(amount: int | None) -> RateLimitItem | None:
    return None if amount is None else RateLimitItemPerMinute(amount, namespace=_NAMESPACE)


def build_storage(config: Config) -> Storage:
    """Redis storage when ``[redis] url`` is set (shared by replicas), else process memory."""
    redis = config.redis
    if redis.url is None:
        return MemoryStorage()
    return RedisStorage(
        "async+" + (redis.address() or ""),
        implementation="redispy",
        key_prefix=f"{redis.key_prefix}:limits",
        wrap_exceptions=True,
        socket_timeout=redis.socket_timeout_s,
        socket_connect_timeout=redis.socket_timeout_s,
    )


class RateLimits:
    """Admission and settlement against the ``[limits]`` allowances."""

    def __init__(
        self, config: Config, storage: Storage, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config.limits
        self.redis = config.redis
        self.fail_open = config.redis.fail_mode == "open"
        self.storage = storage
        self.clock = clock
        self.store_errors = 0

    @classmethod
    def from_config(cls, config: Config) -> RateLimits | None:
        """``None`` when no key and no tenant has a limit (nothing to count)."""
        return cls(config, build_storage(config)) if _anything_limited(config) else None

    def reconfigured(self, config: Config) -> RateLimits | None:
        """For a reloaded config: the same counts (and storage) when ``[redis]`` did not
        change. The caller closes this one when the storage is no longer shared."""
        if not _anything_limited(config):
            return None
        if config.redis != self.redis:
            return RateLimits(config, build_storage(config), clock=self.clock)
        return RateLimits(config, self.storage, clock=self.clock)

    def scopes(self, tenant: str, key: ClientKey | None) -> tuple[LimitScope, ...]:
        found: list[LimitScope] = []
        if key is not None:
            own = _key_limit(key, self.config.per_key)
            if own.limited:
                found.append(_scope(f"key:{key.name}", own))
        by_tenant = self.config.tenant_limit(tenant)
        if by_tenant.limited:
            found.append(_scope(f"tenant:{tenant}", by_tenant))
        return tuple(found)

    async def admit(self, tenant: str, key: ClientKey | None) -> Admission | None:
        """Count one request; ``None`` when nothing limits this caller.

        Raises:
            LimitExceeded: the key's or the tenant's requests or tokens are spent (429).
            NotReady: the shared counts are unreachable and ``[redis] fail_mode = "closed"``.
        """
        scopes = self.scopes(tenant, key)
        if not scopes:
            return None
        try:
            return await self._admit(scopes)
        except StorageError as exc:
            return self._store_failed(exc, scopes)

    async def _admit(self, scopes: tuple[LimitScope, ...]) -> Admission:
        tokens = await self._window("tokens", scopes)
        if tokens is not None and tokens[1] <= 0:
            raise self._refusal("tokens", tokens, await self._window("requests", scopes))
        requests = await self._count_request(scopes)
        if requests is not None and requests[1] < 0:
            raise self._refusal("requests", requests, tokens)
        return Admission(scopes, _headers(requests, tokens, self.clock()))

    async def _count_request(
        self, scopes: tuple[LimitScope, ...]
    ) -> tuple[LimitScope, int, float] | None:
        """One request counted in every scope (INCR: atomic across replicas); the tightest
        scope's (scope, remaining, reset epoch), remaining < 0 when it was over its limit."""
        tightest: tuple[LimitScope, int] | None = None
        for scope in scopes:
            item = scope.requests
            if item is None:
                continue
            count = await self.storage.incr(item.key_for(scope.name), item.get_expiry())
            left = item.amount - count
            if tightest is None or left < tightest[1]:
                tightest = (scope, left)
        if tightest is None:
            return None
        scope, left = tightest
        assert scope.requests is not None
        reset = await self.storage.get_expiry(scope.requests.key_for(scope.name))
        return scope, left, reset

    async def _window(
        self, kind: str, scopes: tuple[LimitScope, ...]
    ) -> tuple[LimitScope, int, float] | None:
        """The tightest scope for ``kind``, without counting: (scope, remaining, reset epoch)."""
        tightest: tuple[LimitScope, int, str] | None = None
        for scope in scopes:
            item = scope.requests if kind == "requests" else scope.tokens
            if item is None:
                continue
            key = item.key_for(scope.name)
            left = item.amount - await self.storage.get(key)
            if tightest is None or left < tightest[1]:
                tightest = (scope, left, key)
        if tightest is None:
            return None
        scope, left, key = tightest
        return scope, left, await self.storage.get_expiry(key)

    def _refusal(
        self,
        kind: str,
        window: tuple[LimitScope, int, float],
        other: tuple[LimitScope, int, float] | None,
    ) -> LimitExceeded:
        scope, _, reset = window
        now = self.clock()
        wait = max(1.0, reset - now)
        item = scope.requests if kind == "requests" else scope.tokens
        limit = item.amount if item is not None else 0
        requests, tokens = (window, other) if kind == "requests" else (other, window)
        what = scope.name.replace(":", " ", 1)
        return LimitExceeded(
            f"Rate limit reached for {what} on {kind} per minute: limit {limit}. "
            f"Please try again in {reset_text(wait)}.",
            kind=kind,
            retry_after=wait,
            headers=_headers(requests, tokens, now),
        )

    def _store_failed(self, exc: StorageError, scopes: tuple[LimitScope, ...]) -> Admission:
        self.store_errors += 1
        if not self.fail_open:
            raise NotReady("the shared rate-limit counts (Redis) are unreachable") from exc
        if self.store_errors == 1 or self.store_errors % 1000 == 0:
            log.warning("rate limits not counted (%d times): %s", self.store_errors, exc)
        return Admission((), {})

    async def settle(self, admission: Admission, tokens: int) -> None:
        """Count the tokens an admitted request used (never raises: it has been answered)."""
        if tokens <= 0:
            return
        for scope in admission.scopes:
            if scope.tokens is None:
                continue
            try:
                item = scope.tokens
                await self.storage.incr(item.key_for(scope.name), item.get_expiry(), tokens)
            except StorageError as exc:
                self.store_errors += 1
                log.warning("tokens not counted for %s: %s", scope.name, exc)

    async def aclose(self) -> None:
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        close = getattr(client, "aclose", None)
        if close is not None:
            await close()


def _anything_limited(config: Config) -> bool:
    limits = config.limits
    keyed = any(_key_limit(k, limits.per_key).limited for k in config.auth.keys)
    tenants = limits.per_tenant.limited or any(t.limited for t in limits.tenants.values())
    return keyed or tenants or (config.auth.enabled and limits.per_key.limited)


def _key_limit(key: ClientKey, default: RateLimit) -> RateLimit:
    return RateLimit(
        requests_per_minute=key.requests_per_minute or default.requests_per_minute,
        tokens_per_minute=key.tokens_per_minute or default.tokens_per_minute,
    )


def _scope(name: str, limit: RateLimit) -> LimitScope:
    return LimitScope(name, _item(limit.requests_per_minute), _item(limit.tokens_per_minute))


def _headers(
    requests: tuple[LimitScope, int, float] | None,
    tokens: tuple[LimitScope, int, float] | None,
    now: float,
) -> dict[str, str]:
    headers: dict[str, str] = {}
    for kind, window in (("requests", requests), ("tokens", tokens)):
        if window is None:
            continue
        scope, remaining, reset = window
        item = scope.requests if kind == "requests" else scope.tokens
        if item is None:
            continue
        headers[f"x-ratelimit-limit-{kind}"] = str(item.amount)
        headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, remaining))
        headers[f"x-ratelimit-reset-{kind}"] = reset_text(max(0.0, reset - now))
    return headers
