"""The fallback chain's policy, with scripted mock providers, a fake clock and a fake sleep."""

from __future__ import annotations

import random

import pytest

from router import errors as e
from router.config.settings import Config, load_config
from router.execution.balancer import Balancer, Deployment
from router.execution.breakers import BreakerRegistry, BreakerState
from router.execution.calls import complete_call, open_stream
from router.execution.fallback import FallbackChain
from router.providers.mock import MockProvider
from router.types import Candidate, ChatRequest, Message, ModelTier
from tests.clock import Clock

REQUEST = ChatRequest(messages=(Message("user", "hello there"),))


def make_config(windows: dict[str, int] | None = None) -> Config:
    raw = load_config().model_dump()
    raw["providers"] = {p: {"kind": "mock"} for p in ("p1", "p2", "p3")}
    windows = windows or {}
    raw["models"] = {
        m: {
            "provider": p,
            "upstream": f"{m}-up",
            "input_price": 1,
            "output_price": 1,
            "context_window": windows.get(m, 8000),
        }
        for m, p in (("a", "p1"), ("b", "p2"), ("c", "p3"))
    }
    raw["tasks"] = {"chat": {"models": ["a", "b", "c"]}}
    raw["routing"]["default_route"] = ["a"]
    return Config.model_validate(raw)


class Harness:
    def __init__(self, config: Config | None = None, two_deployments: bool = False) -> None:
        self.config = config or make_config()
        self.clock = Clock(0.0)
        self.providers = {p: MockProvider(p) for p in ("p1", "p2", "p3")}
        self.breakers = BreakerRegistry(self.config.execution.breaker, self.clock)
        self.balancer = Balancer("round_robin", clock=self.clock)
        self.two = two_deployments
        self.chain = FallbackChain(
            self.config,
            self.providers,
            self.deployments,
            self.breakers,
            self.balancer,
            clock=self.clock,
            sleep=self.clock.sleep,
            rng=random.Random(0),
        )

    def deployments(self, model: str) -> list[Deployment]:
        spec = self.config.models[model]
        deps = [Deployment(model, spec.provider, spec.upstream)]
        if self.two and model == "a":
            deps.append(Deployment(model, "p3", "a-second"))
        return deps

    async def run(self, models: tuple[str, ...] = ("a", "b", "c")):  # type: ignore[no-untyped-def]
        cands = [
            Candidate(m, self.config.models[m].provider, ModelTier.STANDARD, "") for m in models
        ]
        return await self.chain.run(REQUEST, cands, complete_call)


def outcomes(attempts) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(a.model, a.outcome) for a in attempts]


async def test_primary_down_secondary_answers() -> None:
    h = Harness()
    h.providers["p1"].script("500", "503")
    done = await h.run()
    assert done.model == "b"
    assert outcomes(done.attempts) == [
        ("a", "provider_unavailable"),
        ("a", "provider_unavailable"),
        ("b", "ok"),
    ]
    assert "[mock b]" in done.result.message["content"]


async def test_rate_limit_retries_after_retry_after() -> None:
    h = Harness()
    h.providers["p1"].script("429:1.5")
    done = await h.run()
    assert done.model == "a"
    assert h.clock.slept == [1.5]
    assert outcomes(done.attempts) == [("a", "rate_limited"), ("a", "ok")]


async def test_rate_limit_without_retry_after_backs_off_with_jitter() -> None:
    h = Harness()
    h.providers["p1"].script("429")
    await h.run()
    assert len(h.clock.slept) == 1
    assert 1.0 <= h.clock.slept[0] <= 3.0  # 2 s backoff, 0.5x–1.5x jitter


async def test_a_long_retry_after_moves_on_instead_of_waiting() -> None:
    h = Harness()
    h.providers["p1"].script("429:30")
    done = await h.run()
    assert done.model == "b"
    assert h.clock.slept == []


async def test_rate_limited_deployment_hands_the_retry_to_its_twin_at_once() -> None:
    h = Harness(two_deployments=True)
    h.providers["p1"].script("429:5")
    done = await h.run()
    assert done.model == "a"
    assert done.deployment.provider == "p3"
    assert h.clock.slept == [0.0]


async def test_auth_failure_moves_to_the_next_provider_without_retry() -> None:
    h = Harness()
    h.providers["p1"].script("401")
    done = await h.run()
    assert outcomes(done.attempts) == [("a", "auth_failed"), ("b", "ok")]
    assert h.providers["p1"].calls == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [("content_policy", e.ContentPolicy), ("400", e.BadRequest), ("422", e.BadRequest)],
)
async def test_client_side_refusals_are_returned_without_fallback(fault: str, error: type) -> None:
    h = Harness()
    h.providers["p1"].script(fault)
    with pytest.raises(error) as info:
        await h.run()
    assert h.providers["p2"].calls == 0
    assert [a.outcome for a in info.value.attempts] == [error.code]
    assert h.breakers.get("a@p1/a-up").state is BreakerState.CLOSED


async def test_context_too_long_skips_to_a_larger_window() -> None:
    h = Harness(make_config({"a": 8000, "b": 8000, "c": 32000}))
    h.providers["p1"].script("context_length")
    done = await h.run()
    assert done.model == "c"
    assert outcomes(done.attempts) == [("a", "context_too_long"), ("b", "skipped"), ("c", "ok")]
    assert "too small" in done.attempts[1].detail


async def test_every_candidate_failing_lists_every_attempt() -> None:
    h = Harness()
    for p in h.providers.values():
        p.script("500", "500")
    with pytest.raises(e.AllCandidatesFailed) as info:
        await h.run()
    assert len(info.value.attempts) == 6
    assert {a.outcome for a in info.value.attempts} == {"provider_unavailable"}


async def test_breaker_opens_skips_then_probes_and_closes() -> None:
    h = Harness()
    # Three failing requests in a row on "a" alone open its breaker.
    h.providers["p1"].script(*["500"] * 3)
    for _ in range(3):
        with pytest.raises(e.AllCandidatesFailed):
            await h.run(("a",))
    assert h.breakers.get("a@p1/a-up").state is BreakerState.OPEN
    calls = h.providers["p1"].calls
    done = await h.run()
    assert h.providers["p1"].calls == calls  # skipped while open
    assert outcomes(done.attempts)[0] == ("a", "skipped")
    h.clock.now += 31  # cooldown over: one probe goes through and succeeds
    done = await h.run()
    assert done.model == "a"
    assert h.breakers.get("a@p1/a-up").state is BreakerState.CLOSED


async def test_timeouts_count_but_client_errors_do_not() -> None:
    h = Harness()
    for _ in range(2):  # a timeout is not retried on the same candidate: one per request
        h.providers["p1"].script("timeout")
        assert (await h.run()).model == "b"
    h.providers["p1"].script("400")
    with pytest.raises(e.BadRequest):
        await h.run()
    assert h.breakers.get("a@p1/a-up").state is BreakerState.CLOSED  # 2 failures < 3


async def test_one_deadline_for_the_whole_chain() -> None:
    config = make_config()
    raw = config.model_dump()
    raw["execution"]["deadline_s"] = 0.2
    h = Harness(Config.model_validate(raw))
    h.clock.now = 0.0
    h.providers["p1"] = MockProvider("p1", latency_ms=5000)
    h.chain.providers = h.providers
    with pytest.raises(e.AllCandidatesFailed) as info:
        await h.chain.run(REQUEST, [Candidate("a", "p1", ModelTier.STANDARD, "")], complete_call)
    assert info.value.attempts[0].outcome == "timeout"


async def test_streams_fall_back_before_the_first_content() -> None:
    h = Harness()
    h.providers["p1"].script("503", "503")
    cands = [Candidate(m, "", ModelTier.STANDARD, "") for m in ("a", "b")]
    done = await h.chain.run(REQUEST, cands, open_stream)
    assert done.model == "b"
    assert done.result.head[0].delta["role"] == "assistant"
    chunks = [*done.result.head, *[c async for c in done.result.rest]]
    text = "".join(c.delta.get("content", "") for c in chunks)
    assert "[mock b]" in text
