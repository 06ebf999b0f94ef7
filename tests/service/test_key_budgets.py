"""A client key's own daily budget (``daily_usd``) with ``[redis] url`` set: on the shared
ledger like the global budget, so every replica enforces it, and under ``fail_mode`` when
Redis is down. Real redis-server (tests/redis_server.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from router.budget import Spending
from router.config import Config, load_config
from router.errors import BudgetExhausted, BudgetUnavailable
from router.types import PriorityClass
from service.wiring import build_spending
from tests.redis_server import RedisServer

KEY = "key:batch"
STD = PriorityClass.STANDARD


def redis_config(url: str, fail_mode: str = "open") -> Config:
    """10 USD a day for everyone, 0.001 USD (1000 micro-USD) for the key ``batch``."""
    raw = load_config(environ={}).model_dump()
    raw["redis"].update(url=url, fail_mode=fail_mode, socket_timeout_s=0.2)
    raw["budget"]["daily_usd"] = 10.0
    raw["auth"]["keys"] = [{"name": "batch", "sha256": "0" * 64, "daily_usd": 0.001}]
    return Config.model_validate(raw)


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[tuple[Spending, Spending]]:
    config = redis_config(redis_url)
    a, b = build_spending(config), build_spending(config)
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_replicas_share_a_keys_own_budget(
    replicas: tuple[Spending, Spending], redis_process: RedisServer
) -> None:
    a, b = replicas
    held = await a.admit(KEY, 0.0008, STD, retry=False)
    assert held is not None and held.scope == KEY and not held.local
    await a.settle(held, 0.0008)
    seen = await b.view(KEY, STD)
    assert (seen.scope, seen.state.limit_micros, seen.state.spent_micros) == (KEY, 1000, 800)
    with pytest.raises(BudgetExhausted, match=KEY):  # 800 + 500 > 1000 - the 5 % reserve
        await b.admit(KEY, 0.0005, STD, retry=False)
    assert (await b.view("default", STD)).state.spent_micros == 0  # the global budget is apart
    client = redis_process.client()
    try:
        assert client.hget(f"semroute:budget:{KEY}:{b.day()}", "spent") == b"800"
    finally:
        client.close()


async def test_redis_down_fail_open_keeps_the_keys_limit_locally(
    redis_private: RedisServer,
) -> None:
    spending = build_spending(redis_config(redis_private.url, "open"))
    try:
        await spending.settle(await spending.admit(KEY, 0.0002, STD, retry=False), 0.0002)
        redis_private.stop()
        held = await spending.admit(KEY, 0.0008, STD, retry=False)
        assert held is not None and held.local and held.scope == KEY
        with pytest.raises(BudgetExhausted, match=KEY):  # the local stand-in has the limit
            await spending.admit(KEY, 0.0002, STD, retry=False)
        assert spending.ledger.failovers == 2
    finally:
        await spending.aclose()


async def test_redis_down_fail_closed_refuses_the_key(redis_private: RedisServer) -> None:
    spending = build_spending(redis_config(redis_private.url, "closed"))
    try:
        redis_private.stop()
        with pytest.raises(BudgetUnavailable):
            await spending.admit(KEY, 0.0001, STD, retry=False)
        with pytest.raises(BudgetUnavailable):
            await spending.view(KEY, STD)
    finally:
        await spending.aclose()
