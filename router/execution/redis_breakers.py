"""RedisBreakers: circuit breakers shared by every replica, one Redis hash per deployment.

The automaton is ``CircuitBreaker``'s (router/execution/breakers.py), run inside Redis so that all
replicas see one breaker: N consecutive upstream failures within ``window_s`` open it; after
``cooldown_s`` it is half-open and exactly one probe (across all replicas) is let through;
success closes it, failure re-opens it; ``release`` frees the probe slot; ``force`` is an
operator override seen by every replica.

Layout: ``{prefix}:breaker:{deployment}`` is a hash with the fields ``state`` (closed | open |
half_open), ``failures`` (space-separated timestamps inside the window), ``opened_at``,
``probe_at`` (when the probe was handed out; empty when none), ``epoch`` (how many times it
opened: verdicts of calls acquired in an older epoch are ignored, see router/breaker.py) and
``forced`` (empty, or the overriding state). Each operation is one Lua script, so it is atomic
across replicas. Time comes from the injected wall clock and is passed to the scripts, never
read in Redis, so tests are deterministic. Every write renews the key's TTL (``ttl_s``); a key
with an override does not expire (PERSIST) until the override is lifted.

A probe is a lease (as in process): a replica that dies while holding it would otherwise keep
the deployment half-open with its probe out for everyone, so a probe not settled within
``probe_lease_s`` (pass ``execution.deadline_s``) frees the slot.

Redis down, hung or answering errors: the call falls back to an in-process ``BreakerRegistry``
(fail-open: a fresh breaker lets calls through), the error is counted (``errors``) and logged
once per outage, and Redis is not asked again for ``retry_s`` so a hung server costs at most one
socket timeout per ``retry_s``. No Redis exception escapes. What the fallback learned is not
copied back when Redis returns.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from router.config import BreakerConfig
from router.execution.breaker_scripts import ACQUIRE, FAILURE, FORCE, RELEASE, STATE, SUCCESS
from router.execution.breakers import BreakerRegistry, BreakerState, Clock, Ticket
from router.redis_client import redis_client

log = logging.getLogger(__name__)


class RedisBreakers:
    """Breaker state by deployment id, shared through Redis (implements ``Breakers``).

    No method raises a Redis error: on failure it answers from the in-process fallback.
    """

    def __init__(
        self,
        url: str,
        config: BreakerConfig,
        *,
        key_prefix: str = "semroute",
        socket_timeout_s: float = 0.5,
        clock: Clock = time.time,
        ttl_s: int = 86_400,
        probe_lease_s: float = 120.0,
        retry_s: float = 5.0,
    ) -> None:
        if ttl_s <= 0 or probe_lease_s <= 0 or retry_s < 0:
            raise ValueError("ttl_s and probe_lease_s must be positive, retry_s not negative")
        self.config = config
        self.key_prefix = key_prefix
        self.clock = clock
        self.ttl_s = ttl_s
        self.probe_lease_s = probe_lease_s
        self.retry_s = retry_s
        self.errors = 0
        self.fallback = BreakerRegistry(config, clock)
        self._down_until: float | None = None  # set while Redis is considered down
        # Fails fast, no retries: a request must not wait on a Redis that is down.
        self._redis = redis_client(url, timeout_s=socket_timeout_s, decode_responses=True)
        script = self._redis.register_script
        self._state, self._acquire = script(STATE), script(ACQUIRE)
        self._success, self._failure = script(SUCCESS), script(FAILURE)
        self._release, self._force = script(RELEASE), script(FORCE)

    def key(self, deployment: str) -> str:
        """The Redis key of one deployment's breaker."""
        return f"{self.key_prefix}:breaker:{deployment}"

    async def available(self, deployment: str) -> bool:
        found = await self._run(self._state, deployment)
        if found is None:
            return await self.fallback.available(deployment)
        return bool(int(found[0]))

    async def acquire(self, deployment: str) -> Ticket | None:
        got = await self._run(self._acquire, deployment)
        if got is None:
            return await self.fallback.acquire(deployment)
        if not isinstance(got, list):
            return None
        return Ticket(int(got[1]), probe=bool(int(got[2])), shared=True)

    async def record_success(self, deployment: str, ticket: Ticket | None = None) -> None:
        if await self._run(self._success, deployment, *_ticket_args(ticket)) is None:
            await self.fallback.record_success(deployment, _local(ticket))

    async def record_failure(self, deployment: str, ticket: Ticket | None = None) -> None:
        if await self._run(self._failure, deployment, *_ticket_args(ticket)) is None:
            await self.fallback.record_failure(deployment, _local(ticket))

    async def release(self, deployment: str, ticket: Ticket | None = None) -> None:
        if await self._run(self._release, deployment, *_ticket_args(ticket)) is None:
            await self.fallback.release(deployment, _local(ticket))

    async def force(self, deployment: str, state: BreakerState | None) -> None:
        """An operator's override for every replica (also kept in the fallback)."""
        await self.fallback.force(deployment, state)
        await self._run(self._force, deployment, "" if state is None else state.value)

    async def states(self) -> dict[str, BreakerState]:
        """Every deployment Redis holds a breaker for (the fallback's while Redis is down)."""
        if self._is_down():
            return await self.fallback.states()
        prefix = self.key("")
        try:
            keys = [str(k) async for k in self._redis.scan_iter(match=_glob(prefix) + "*")]
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return await self.fallback.states()
        out: dict[str, BreakerState] = {}
        for deployment in sorted(k[len(prefix) :] for k in keys):
            found = await self._run(self._state, deployment)
            if found is None:
                return await self.fallback.states()
            out[deployment] = BreakerState(str(found[1]))
        return out

    async def aclose(self) -> None:
        """Close the connection pool; errors while closing are ignored."""
        with contextlib.suppress(RedisError, OSError):
            await self._redis.aclose()

    async def _run(self, script: AsyncScript, deployment: str, *extra: str) -> Any:
        """The script's answer, or None when Redis failed (the caller uses the fallback)."""
        if self._is_down():
            return None
        cfg = self.config
        args: list[str | int] = [
            repr(float(self.clock())),
            cfg.failures,
            repr(float(cfg.window_s)),
            repr(float(cfg.cooldown_s)),
            repr(float(self.probe_lease_s)),
            self.ttl_s,
            *extra,
        ]
        try:
            result = await script(keys=[self.key(deployment)], args=args)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None
        if self._down_until is not None:
            log.info("breaker state: Redis reachable again")
            self._down_until = None
        return result

    def _is_down(self) -> bool:
        return self._down_until is not None and self.clock() < self._down_until

    def _failed(self, exc: BaseException) -> None:
        self.errors += 1
        if self._down_until is None:
            log.warning(
                "breaker state: Redis unavailable (%s: %s); using in-process breakers",
                type(exc).__name__,
                exc,
            )
        self._down_until = self.clock() + self.retry_s


def _local(ticket: Ticket | None) -> Ticket | None:
    """A ticket Redis handed out means nothing to the fallback: its verdict counts as untracked."""
    return None if ticket is not None and ticket.shared else ticket


def _ticket_args(ticket: Ticket | None) -> tuple[str, str]:
    if ticket is None:
        return "", ""
    return str(ticket.epoch), "1" if ticket.probe else "0"


def _glob(text: str) -> str:
    """``text`` with SCAN's glob characters escaped."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
