"""The one way semroute opens a Redis connection (budget ledger, cache sync, breakers, the
outcome stream): an asyncio client with bounded socket timeouts.

``fail_fast`` (the request path): no retries — redis-py's default, with backoff, would hold a
failing call for seconds, and the callers have their own answer to Redis being down (fail-open
ledger, local breakers, a cache that keeps serving locally). Lua scripts are registered with
redis-py's ``register_script`` (EVALSHA, reloaded after NOSCRIPT).
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def redis_client(
    url: str,
    *,
    timeout_s: float,
    connect_timeout_s: float | None = None,
    decode_responses: bool = False,
    fail_fast: bool = True,
) -> Redis:
    """A client for ``url`` (``redis://``, ``rediss://``, ``unix://``); nothing connects until
    the first command."""
    connect = timeout_s if connect_timeout_s is None else connect_timeout_s
    if not fail_fast:
        return Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=connect,
            decode_responses=decode_responses,
        )
    return Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=connect,
        retry=Retry(NoBackoff(), 0),
        decode_responses=decode_responses,
    )
