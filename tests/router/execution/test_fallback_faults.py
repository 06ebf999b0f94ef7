"""The fallback chain under faults that used to lose requests or wedge a breaker: silent
providers (deadline shares), attempts that end in a bug or a cancellation (the probe slot comes
back), calls in flight when a breaker opens (stale successes), and streams that fail or stall
before their first content."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import pytest

from router import errors as e
from router.config.settings import Config
from router.execution.breakers import BreakerState
from router.execution.calls import complete_call, open_stream
from router.execution.fallback import FallbackChain
from router.providers.base import Health, UpstreamCall
from router.providers.mock import MockProvider
from router.types import Candidate, Chunk, Completion, ModelTier
from tests.router.execution.test_fallback import REQUEST, Harness, make_config, outcomes

DEP_A = "a@p1/a-up"


def cands(*models: str) -> list[Candidate]:
    return [Candidate(m, "", ModelTier.STANDARD, "") for m in models]


def with_execution(**execution: object) -> Config:
    raw = make_config().model_dump()
    raw["execution"].update(execution)
    return Config.model_validate(raw)


def real_time_chain(h: Harness) -> FallbackChain:
    """The harness's chain on the real clock (deadlines are enforced in real time)."""
    return FallbackChain(
        h.config, h.providers, h.deployments, h.breakers, h.balancer, clock=time.monotonic
    )


class Scripted:
    """A provider at the seam: its stream yields ``chunks`` with ``gap_s`` before each one
    after the first, then raises ``then`` (if given); ``complete`` raises ``crash``."""

    def __init__(
        self,
        name: str,
        chunks: list[Chunk],
        *,
        gap_s: float = 0.0,
        then: BaseException | None = None,
        crash: BaseException | None = None,
    ) -> None:
        self._name, self.chunks, self.gap_s = name, chunks, gap_s
        self.then, self.crash = then, crash

    @property
    def name(self) -> str:
        return self._name

    async def complete(self, call: UpstreamCall) -> Completion:
        if self.crash is not None:
            raise self.crash
        raise AssertionError("not scripted")

    async def stream(self, call: UpstreamCall) -> AsyncIterator[Chunk]:
        for i, chunk in enumerate(self.chunks):
            if i and self.gap_s:
                await anyio.sleep(self.gap_s)
            yield chunk
        if self.then is not None:
            raise self.then

    async def health(self) -> Health:
        return Health(ok=True)

    async def aclose(self) -> None:
        return None


ROLE = Chunk(delta={"role": "assistant", "content": ""})


# -- deadlines ----------------------------------------------------------------------------------


async def test_a_silent_provider_costs_its_share_not_the_whole_deadline() -> None:
    h = Harness(with_execution(deadline_s=0.9))
    h.providers["p1"] = MockProvider("p1", latency_ms=60_000)  # silent
    h.providers["p2"] = MockProvider("p2", latency_ms=60_000)  # silent
    chain = real_time_chain(h)
    started = time.monotonic()
    done = await chain.run(REQUEST, cands("a", "b", "c"), complete_call)
    assert done.model == "c"
    assert outcomes(done.attempts) == [("a", "timeout"), ("b", "timeout"), ("c", "ok")]
    assert time.monotonic() - started < 0.9


async def test_a_timed_out_attempt_is_not_retried_even_if_the_policy_allows_it() -> None:
    config = with_execution(deadline_s=0.4)
    raw = config.model_dump()
    raw["execution"]["retry"]["timeout"] = {"retries": 3, "backoff_s": 0}
    h = Harness(Config.model_validate(raw))
    h.providers["p1"] = MockProvider("p1", latency_ms=60_000)
    done = await real_time_chain(h).run(REQUEST, cands("a", "b"), complete_call)
    assert outcomes(done.attempts) == [("a", "timeout"), ("b", "ok")]


async def test_an_upstream_408_may_still_be_retried_by_policy() -> None:
    raw = make_config().model_dump()
    raw["execution"]["retry"]["timeout"] = {"retries": 1, "backoff_s": 0}
    h = Harness(Config.model_validate(raw))
    h.providers["p1"].script("408")
    done = await h.run(("a", "b"))
    assert outcomes(done.attempts) == [("a", "timeout"), ("a", "ok")]


def test_the_defaults_leave_room_to_fail_over() -> None:
    execution = make_config().execution
    assert execution.policy("timeout").retries == 0
    assert execution.deadline_s <= 60
    assert execution.first_token_timeout_s < execution.deadline_s / 3


# -- every path out of an attempt gives the probe back -------------------------------------------


async def open_then_cool(h: Harness) -> None:
    b = h.breakers.get(DEP_A)
    for _ in range(3):
        b.record_failure(b.acquire())
    assert b.state is BreakerState.OPEN
    h.clock.now += h.config.execution.breaker.cooldown_s + 1
    assert h.breakers.get(DEP_A).state is BreakerState.HALF_OPEN


async def test_a_bug_in_the_probe_releases_its_slot() -> None:
    h = Harness()
    await open_then_cool(h)
    h.providers["p1"] = Scripted("p1", [], crash=AttributeError("'str' object has no .get"))  # type: ignore[assignment]
    h.chain.providers = h.providers
    with pytest.raises(AttributeError):
        await h.run(("a", "b"))
    assert await h.breakers.available(DEP_A)  # the next request may probe again
    h.providers["p1"] = MockProvider("p1")
    h.chain.providers = h.providers
    done = await h.run(("a", "b"))
    assert done.model == "a"
    assert h.breakers.get(DEP_A).state is BreakerState.CLOSED


async def test_a_cancelled_probe_releases_its_slot() -> None:
    h = Harness()
    await open_then_cool(h)
    h.providers["p1"] = MockProvider("p1", latency_ms=60_000)
    h.chain.providers = h.providers
    with anyio.move_on_after(0.05):
        await h.run(("a", "b"))
    assert await h.breakers.available(DEP_A)


async def test_successes_of_calls_started_before_the_breaker_opened_do_not_close_it() -> None:
    h = Harness()
    h.providers["p1"] = MockProvider("p1", latency_ms=200)
    h.chain.providers = h.providers
    async with anyio.create_task_group() as tg:
        tg.start_soon(h.run, ("a",))  # in flight (closed) while the breaker opens
        await anyio.sleep(0.02)
        b = h.breakers.get(DEP_A)
        for _ in range(3):
            b.record_failure(b.acquire())
        assert b.state is BreakerState.OPEN
    assert h.breakers.get(DEP_A).state is BreakerState.OPEN


# -- streams commit at the first content ---------------------------------------------------------


async def test_a_stream_failing_after_a_role_only_chunk_falls_over() -> None:
    h = Harness()
    cut = e.ProviderUnavailable("cut", provider="p1", model="a")
    h.providers["p1"] = Scripted("p1", [ROLE], then=cut)  # type: ignore[assignment]
    h.chain.providers = h.providers
    done = await h.chain.run(REQUEST, cands("a", "b"), open_stream)
    assert done.model == "b"
    assert outcomes(done.attempts)[0] == ("a", "provider_unavailable")
    assert any(c.delta.get("content") for c in done.result.head)


async def test_slow_content_after_a_role_chunk_is_a_first_token_timeout() -> None:
    h = Harness(with_execution(first_token_timeout_s=0.1))
    text = Chunk(delta={"content": "late"})
    h.providers["p1"] = Scripted("p1", [ROLE, text], gap_s=5)  # type: ignore[assignment]
    h.chain.providers = h.providers
    done = await h.chain.run(REQUEST, cands("a", "b"), open_stream)
    assert done.model == "b"
    assert outcomes(done.attempts)[0] == ("a", "timeout")


async def test_a_tool_call_delta_commits_the_stream() -> None:
    h = Harness()
    call = Chunk(delta={"tool_calls": [{"index": 0, "id": "t1", "function": {"name": "f"}}]})
    h.providers["p1"] = Scripted("p1", [ROLE, call])  # type: ignore[assignment]
    h.chain.providers = h.providers
    done = await h.chain.run(REQUEST, cands("a", "b"), open_stream)
    assert done.model == "a"
    assert done.result.head == (ROLE, call)


async def test_failures_after_the_first_content_count_against_the_breaker() -> None:
    h = Harness()
    cut = e.ProviderUnavailable("cut mid-stream", provider="p1", model="a")
    for _ in range(3):
        done = await h.chain.run(REQUEST, cands("a"), open_stream, defer_verdict=True)
        await h.chain.verdict(done.deployment, done.ticket, cut)
    assert h.breakers.get(DEP_A).state is BreakerState.OPEN


async def test_a_stream_the_client_left_gives_no_verdict_but_frees_the_probe() -> None:
    h = Harness()
    await open_then_cool(h)
    done = await h.chain.run(REQUEST, cands("a"), open_stream, defer_verdict=True)
    assert done.ticket is not None and done.ticket.probe
    assert not await h.breakers.available(DEP_A)
    await h.chain.verdict(done.deployment, done.ticket, e.RouterError("client left"))
    assert await h.breakers.available(DEP_A)
    assert h.breakers.get(DEP_A).state is BreakerState.HALF_OPEN
