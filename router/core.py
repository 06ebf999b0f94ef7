"""The Router facade: route() is request-path steps 1–5 (router/decision.py: budget view,
embed, classify, select, cache); complete() and stream() go on to reserve, execute, settle
and remember."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import partial

from router.budget import BudgetAdmission, Spending
from router.cache import CacheMemory, SemanticCache, hit_answer
from router.classify import (
    CentroidSet,
    Embedding,
    FirstStage,
    MultilingualStage,
    TaskClassifier,
    load_transformer_centroids,
)
from router.config import Config
from router.decision import Decided, decide
from router.encoders import EmbeddingMemo, Encoder, MicroBatcher
from router.errors import BudgetExhausted
from router.execution import (
    Balancer,
    BreakerRegistry,
    Breakers,
    Executed,
    FallbackChain,
    ProviderSet,
    StreamSession,
    StreamStart,
    build_providers,
    complete_call,
    completion_stub,
    open_stream,
)
from router.types import (
    Answer,
    ChatRequest,
    Completion,
    Decision,
    Usage,
)


class Router:
    """Routes and executes chat requests. Construct once at start-up; share across requests."""

    def __init__(
        self,
        config: Config,
        encoder: Encoder,
        centroids: CentroidSet,
        providers: ProviderSet | None = None,
        *,
        spending: Spending | None = None,
        cache: SemanticCache | None = None,
        breakers: Breakers | None = None,
        first_stage: FirstStage | None = None,
        multilingual: MultilingualStage | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.classifier = TaskClassifier(config, encoder, centroids, first_stage, multilingual)
        self.providers = providers if providers is not None else build_providers(config)
        self.spending = spending or Spending(config.budget)
        self.memory = CacheMemory(config, cache)
        self.breakers = breakers or BreakerRegistry(
            config.execution.breaker, clock, probe_lease_s=config.execution.deadline_s
        )
        self.balancer = Balancer(config.execution.balancing, rng=rng, clock=clock)
        self.chain = FallbackChain(
            config,
            self.providers.providers,
            lambda model: self.providers.deployments(config, model),
            self.breakers,
            self.balancer,
            clock=clock,
            rng=rng,
        )

    @classmethod
    def from_config(
        cls,
        config: Config,
        encoder: Encoder,
        providers: ProviderSet | None = None,
        *,
        spending: Spending | None = None,
        cache: SemanticCache | None = None,
        breakers: Breakers | None = None,
        first_stage: FirstStage | None = None,
        multilingual: MultilingualStage | None = None,
        centroids: CentroidSet | None = None,
    ) -> Router:
        """Providers from the config; ``centroids`` already loaded for ``encoder`` (those
        ``build_transformer`` checked the encoder with), else the configured version is loaded.

        Raises:
            ArtifactError: the centroids are missing, corrupt or built for another encoder.
        """
        if centroids is None:
            version = config.routing.centroid_version
            centroids = load_transformer_centroids(config, encoder, version)
        return cls(
            config,
            encoder,
            centroids,
            providers,
            spending=spending,
            cache=cache,
            breakers=breakers,
            first_stage=first_stage,
            multilingual=multilingual,
        )

    @property
    def cache(self) -> SemanticCache | None:
        return self.memory.cache

    # The classifier's parts, as callers (service, benchmarks, tests) name them.
    @property
    def encoder(self) -> Encoder:
        return self.classifier.encoder

    @property
    def centroids(self) -> CentroidSet:
        return self.classifier.centroids

    @property
    def first_stage(self) -> FirstStage | None:
        return self.classifier.first_stage

    @property
    def batcher(self) -> MicroBatcher:
        return self.classifier.batcher

    @property
    def memo(self) -> EmbeddingMemo:
        return self.classifier.memo

    # -- deciding --------------------------------------------------------------------------

    async def route(self, request: ChatRequest) -> Decision:
        """Decide which models should answer ``request``; nothing is executed or spent.

        Raises:
            InvalidRequest: ``model`` names neither ``auto``, ``auto:<task>`` nor a catalogue model.
            NoCandidate: no model meets the request's requirements.
            BudgetUnavailable: the shared budget ledger is down and fail-closed.
        """
        return (await self._decide(request, for_answer=False)).decision

    async def _decide(self, request: ChatRequest, *, for_answer: bool = True) -> Decided:
        return await decide(
            request,
            self.config,
            self.classifier,
            self.spending,
            self.memory,
            for_answer=for_answer,
        )

    # -- executing -------------------------------------------------------------------------

    async def complete(self, request: ChatRequest) -> Answer[Completion]:
        """Route, answer from the cache when safe, else execute through the fallback chain.

        Raises:
            BudgetExhausted: nothing may be spent and the cache has no answer (429).
            RoutingError: no candidate, or every candidate failed.
            BadRequest, ContentPolicy: the upstream refused the request itself (no fallback).
        """
        decided = await self._decide(request)
        if decided.hit is not None:
            return hit_answer(decided.decision, decided.hit)
        admission = self._admission(request, decided.decision)
        executed = await self.chain.run(
            request, decided.decision.candidates, complete_call, admission
        )
        completion = executed.result
        usage = completion.usage
        cost = await admission.settle(executed.reservation, executed.model, usage)
        answer = self._answer(decided.decision, executed, completion, usage, cost)
        await self._remember(request, decided.embedding, answer, completion)
        return answer

    async def stream(self, request: ChatRequest) -> StreamSession:
        """Route, then start a stream (or replay a cached answer); fallback happens only before
        the first content. Finish the session with ``close()``; its answer then carries the
        stream's usage and cost.

        Raises: as ``complete``.
        """
        decided = await self._decide(request)
        if decided.hit is not None:
            return StreamSession(request, hit_answer(decided.decision, decided.hit), None)
        admission = self._admission(request, decided.decision)
        executed = await self.chain.run(
            request, decided.decision.candidates, open_stream, admission, defer_verdict=True
        )
        answer = self._answer(decided.decision, executed, completion_stub(), Usage(), 0.0)
        return StreamSession(
            request,
            answer,
            executed.result,
            settle=partial(admission.settle, executed.reservation, executed.model),
            remember=partial(self._remember, request, decided.embedding),
            verdict=partial(self.chain.verdict, executed.deployment, executed.ticket),
        )

    def _admission(self, request: ChatRequest, decision: Decision) -> BudgetAdmission:
        """The budget's hold for every hop. Raises: BudgetExhausted when only the cache may
        answer (the decision has no candidates) and it had no answer."""
        if not decision.candidates:
            raise BudgetExhausted(
                "daily budget exhausted and no cached answer for this request",
                retry_after=self.spending.seconds_to_reset(),
            )
        return BudgetAdmission(self.spending, self.config, request, decision.route)

    def _answer(
        self,
        decision: Decision,
        executed: Executed[Completion] | Executed[StreamStart],
        result: Completion,
        usage: Usage,
        cost: float,
    ) -> Answer[Completion]:
        return Answer(
            decision,
            result,
            executed.model,
            executed.deployment.provider,
            self.config.models[executed.model].tier,
            executed.attempts,
            executed.reservation,
            usage=usage,
            cost_usd=cost,
        )

    async def _remember(
        self,
        request: ChatRequest,
        embedding: Embedding | None,
        answer: Answer[Completion],
        completion: Completion,
    ) -> None:
        vector = embedding.vector if embedding else None
        await self.memory.remember(request, answer, completion, vector)

    # -- operations ------------------------------------------------------------------------

    async def reload_credentials(self) -> dict[str, bool]:
        """Re-read every provider key (rotation without restart).

        Keys of enabled providers are swapped in place. If a disabled provider now has a key
        (or mock mode would end), the provider set is rebuilt from the config.
        Returns provider → key present.
        """
        present = self.providers.reload_credentials()
        if any(present.get(name) for name in self.providers.disabled):
            old, self.providers = self.providers, build_providers(self.config)
            self.chain.providers = self.providers.providers
            await old.aclose()
        return present

    async def aclose(self) -> None:
        await self.providers.aclose()
        await self.spending.aclose()
        await self.breakers.aclose()
        self.classifier.close()

    def reload_centroids(self, version: str | None = None) -> str:
        """Swap in another centroid version (default: CURRENT); returns the version now live.

        Raises:
            ArtifactError: the new version fails verification; the old one stays live.
        """
        return self.classifier.reload(version)
